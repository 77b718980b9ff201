//! Per-CPU data, reached through the GS base register.
//!
//! Each core has one [`Cpu`], allocated when the core is brought up and never
//! freed. Its first field points to itself, so `gs:[0]` gives the current
//! core's `Cpu` in one instruction without knowing where it lives.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use crossbeam_queue::ArrayQueue;
use x86_64::registers::control::{Cr4, Cr4Flags};
use x86_64::registers::model_specific::GsBase;
use x86_64::VirtAddr;

use super::unwind::Frame;

/// The most cores gmpos runs on: the scheduler keeps its idle Ps and Ms as
/// one 64-bit mask each. A machine with more is refused at boot (`kmain`),
/// not run on some of its cores.
pub const MAX_CPUS: usize = 64;

/// A function to run on a given core, with its argument: see [`super::smp::call`].
pub type Call = (fn(usize), usize);

#[repr(C)]
pub struct Cpu {
    /// Points to this struct (read through `gs:[0]`).
    self_ptr: *const Cpu,
    /// Dense index 0..n, in bring-up order; the bootstrap core is 0.
    pub id: usize,
    /// The local APIC id that IPIs are addressed to.
    pub apic_id: u32,
    /// Local APIC timer interrupts taken by this core.
    pub ticks: AtomicU64,
    /// Functions other cores asked this core to run (drained by the IPI handler).
    pub calls: ArrayQueue<Call>,
    /// One word the scheduler keeps per core (its M), reached in one
    /// instruction: see [`runtime_word`]. Written only by this core.
    runtime_word: AtomicPtr<()>,
    /// Where this core was when the last sampling NMI came ([`sample_others`]).
    sample: Sample,
}

/// Functions of a sampled stack, at most (one bit each in
/// [`Sample::interrupted`]).
const SAMPLE_FRAMES: usize = 16;

/// A core's interrupted instruction and stack pointer, interrupt flag and
/// stack, as its NMI handler saw them: `generation` is the [`SAMPLE_GEN`]
/// it answered, stored last (Release), after the other fields.
#[derive(Default)]
struct Sample {
    generation: AtomicU64,
    rip: AtomicU64,
    rsp: AtomicU64,
    interrupts: AtomicBool,
    pcs: [AtomicU64; SAMPLE_FRAMES],
    npcs: AtomicUsize,
    /// Bit `i`: `pcs[i]` is an interrupted instruction.
    interrupted: AtomicU32,
    /// The stack goes on past `pcs`.
    elided: AtomicBool,
}

/// What [`sample_others`] read of one core.
pub struct Sampled {
    pub rip: u64,
    pub rsp: u64,
    /// Whether the interrupted code had interrupts enabled.
    pub interrupts: bool,
    /// Its stack, innermost first, from `rip` itself.
    pub stack: Vec<Frame>,
    /// Whether the stack goes on past `stack`.
    pub elided: bool,
}

/// The current sampling request (0: none yet). While it is non-zero, an
/// NMI that is not a fatal error's is a sampling NMI.
static SAMPLE_GEN: AtomicU64 = AtomicU64::new(0);

// SAFETY: `self_ptr` only ever points to the struct itself; every other
// field is immutable after bring-up or synchronised.
unsafe impl Sync for Cpu {}

static CPUS: [AtomicPtr<Cpu>; MAX_CPUS] = [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_CPUS];
static ONLINE: AtomicU32 = AtomicU32::new(0);

/// Creates core `id`'s `Cpu`, publishes it and points this core's GS base at
/// it. Called once on each core, early in its bring-up.
pub fn init(id: usize, apic_id: u32) -> &'static Cpu {
    let cpu = Box::leak(Box::new(Cpu {
        self_ptr: core::ptr::null(),
        id,
        apic_id,
        ticks: AtomicU64::new(0),
        calls: ArrayQueue::new(16),
        runtime_word: AtomicPtr::new(core::ptr::null_mut()),
        sample: Sample::default(),
    }));
    cpu.self_ptr = cpu;
    GsBase::write(VirtAddr::from_ptr(cpu));
    // The kernel is soft-float and uses no SSE, but the unwinder behind
    // `recover` saves MXCSR (`stmxcsr`), which faults unless the OS says
    // it handles SSE state.
    // SAFETY: only allows SSE instructions; the compiler emits none.
    unsafe { Cr4::update(|f| f.insert(Cr4Flags::OSFXSR | Cr4Flags::OSXMMEXCPT_ENABLE)) };
    // Release: whoever finds the pointer in CPUS sees the initialised struct.
    CPUS[id].store(cpu, Ordering::Release);
    cpu
}

/// Marks this core online (after its interrupts and timer are working).
pub fn set_online() {
    ONLINE.fetch_add(1, Ordering::AcqRel);
}

/// How many cores are online.
pub fn online() -> usize {
    ONLINE.load(Ordering::Acquire) as usize
}

/// The current core's `Cpu`.
#[inline]
pub fn current() -> &'static Cpu {
    let ptr: *const Cpu;
    // SAFETY: GS base points to this core's `Cpu` (set in `init` before
    // anything calls `current`), whose first field is its own address.
    unsafe { core::arch::asm!("mov {}, gs:[0]", out(reg) ptr, options(nostack, readonly, preserves_flags)) };
    // SAFETY: the `Cpu` is leaked, so it lives forever.
    unsafe { &*ptr }
}

/// This core's runtime word (null until [`set_runtime_word`]): one load
/// through GS, as Go reaches `g` (and from it `m`) through thread-local
/// storage. Only after this core's `init`.
#[inline]
pub fn runtime_word() -> *mut () {
    let word: *mut ();
    // SAFETY: GS base points to this core's `Cpu` (`init` ran), which is
    // `repr(C)`; the field is only written by this core, so a plain load
    // sees the latest value.
    unsafe {
        core::arch::asm!(
            "mov {}, gs:[{off}]",
            out(reg) word,
            off = const core::mem::offset_of!(Cpu, runtime_word),
            options(nostack, readonly, preserves_flags),
        )
    };
    word
}

/// Sets this core's runtime word.
pub fn set_runtime_word(word: *mut ()) {
    current().runtime_word.store(word, Ordering::Relaxed);
}

/// The current core's index; 0 before the bootstrap core's `init`.
#[inline]
pub fn id() -> usize {
    if GsBase::read().is_null() { 0 } else { current().id }
}

/// Core `id`'s `Cpu`, if that core has been brought up.
pub fn get(id: usize) -> Option<&'static Cpu> {
    let ptr = CPUS.get(id)?.load(Ordering::Acquire);
    // SAFETY: published by `init` and never freed.
    (!ptr.is_null()).then(|| unsafe { &*ptr })
}

/// From the NMI handler: if a sample was asked for ([`sample_others`]),
/// records where this core was interrupted and returns true. Writes only
/// this core's `Cpu` and takes no lock (the stack walk only reads): safe
/// in an NMI, which can come at any instruction.
pub fn record_sample(rip: u64, rsp: u64, interrupts: bool) -> bool {
    let generation = SAMPLE_GEN.load(Ordering::Acquire);
    if generation == 0 {
        return false;
    }
    let s = &current().sample;
    s.rip.store(rip, Ordering::Relaxed);
    s.rsp.store(rsp, Ordering::Relaxed);
    s.interrupts.store(interrupts, Ordering::Relaxed);
    let (mut n, mut interrupted) = (0, 0);
    let elided = super::unwind::walk(rip, rsp, SAMPLE_FRAMES, |frame| {
        s.pcs[n].store(frame.pc, Ordering::Relaxed);
        interrupted |= (frame.interrupted as u32) << n;
        n += 1;
    });
    s.npcs.store(n, Ordering::Relaxed);
    s.interrupted.store(interrupted, Ordering::Relaxed);
    s.elided.store(elided, Ordering::Relaxed);
    s.generation.store(generation, Ordering::Release);
    true
}

/// Where every other core is: sends them an NMI (delivered even with
/// interrupts off) and waits up to `timeout_ns` for each to record its
/// interrupted RIP, RSP, interrupt flag and stack (walked by the frame
/// descriptions: `unwind`). Calls `each` with every core but this one, in
/// id order, and what it recorded (`None`: no answer in time).
pub fn sample_others(timeout_ns: u64, mut each: impl FnMut(usize, Option<Sampled>)) {
    let generation = SAMPLE_GEN.fetch_add(1, Ordering::AcqRel) + 1;
    let me = id();
    let others = || (0..MAX_CPUS).filter(move |&c| c != me).filter_map(|c| get(c).map(|cpu| (c, cpu)));
    if online() > 1 {
        super::apic::send_nmi_all_but_self();
    }
    let deadline = super::time::nanotime() + timeout_ns;
    while others().any(|(_, cpu)| cpu.sample.generation.load(Ordering::Acquire) != generation) && super::time::nanotime() < deadline {
        core::hint::spin_loop();
    }
    for (c, cpu) in others() {
        let s = &cpu.sample;
        // Acquire: the fields were stored before `generation`.
        let answered = s.generation.load(Ordering::Acquire) == generation;
        each(
            c,
            answered.then(|| Sampled {
                rip: s.rip.load(Ordering::Relaxed),
                rsp: s.rsp.load(Ordering::Relaxed),
                interrupts: s.interrupts.load(Ordering::Relaxed),
                stack: {
                    let interrupted = s.interrupted.load(Ordering::Relaxed);
                    let pcs = s.pcs[..s.npcs.load(Ordering::Relaxed)].iter().enumerate();
                    pcs.map(|(i, pc)| Frame { pc: pc.load(Ordering::Relaxed), interrupted: interrupted & (1 << i) != 0 }).collect()
                },
                elided: s.elided.load(Ordering::Relaxed),
            }),
        );
    }
}
