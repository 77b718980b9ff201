//! The machine: Go's `m`. In Go an M is an OS thread; in gmpos it is a CPU
//! core, so there are exactly as many Ms as cores online and they are never
//! created or destroyed. An M's `g0` — the stack the scheduler itself runs
//! on — is the core's boot stack.

use core::cell::{Cell, UnsafeCell};
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};

use super::g::G;
use super::p::P;
use super::sched::sched;
use crate::arch::{cpu, interrupts};
use crate::arch::switch::{Context, call_on_stack, switch};

/// This core's M.
///
/// Go reaches its M from `g`, kept in thread-local storage; here each core
/// keeps a pointer to its M in its per-CPU data (one load through GS),
/// filled in by the first call on that core.
#[inline]
pub(super) fn getm() -> &'static M {
    let m = cpu::runtime_word() as *const M;
    if m.is_null() {
        return getm_first();
    }
    // SAFETY: only `getm_first` sets the word, to this core's M in `allm`,
    // which is never freed.
    unsafe { &*m }
}

#[cold]
fn getm_first() -> &'static M {
    // `cpu::current()` rather than `cpu::id()`, which reads the GS base
    // MSR to cope with cores not yet set up: the scheduler runs only on
    // cores that are.
    let m = &sched().allm[cpu::current().id];
    cpu::set_runtime_word(core::ptr::from_ref(m).cast_mut().cast());
    m
}

/// Runs `f` on this core's M with interrupts off.
///
/// A goroutine can be preempted at any instruction outside `acquirem` and
/// resumed on another core: between reading this core's M and using it, it
/// would use another core's M (read its goroutine, or count a lock on it).
/// Go has no such window: its runtime code is not an async-preemption safe
/// point, and `g` lives in a register that moves with the goroutine.
#[inline]
pub(super) fn with_this_m<R>(f: impl FnOnce(&'static M) -> R) -> R {
    let saved = interrupts::disable();
    let r = f(getm());
    interrupts::restore(saved);
    r
}

/// What g0 does with the G that just switched to it (Go's `mcall(fn)`).
pub type McallFn = fn(NonNull<G>);

/// A core running the scheduler (Go's `m`).
pub struct M {
    /// The core's index; also this M's id.
    pub id: usize,
    /// The scheduler's saved context while a G runs (Go's `m.g0.sched`).
    pub(super) g0: UnsafeCell<Context>,
    /// The G running on this M, or null while the scheduler runs (Go's `m.curg`).
    pub curg: AtomicPtr<G>,
    /// The P this M holds, or null (Go's `m.p`).
    pub p: AtomicPtr<P>,
    /// The P handed to this idle M by `startm` (Go's `m.nextp`).
    pub nextp: AtomicPtr<P>,
    /// Out of work and looking for some to steal (Go's `m.spinning`).
    pub spinning: AtomicBool,
    /// Halted in `stopm`, waiting for `startm` (Go's `m.blocked`).
    pub blocked: AtomicBool,
    /// The P this M left for a system call (Go's `m.oldp`).
    pub oldp: AtomicPtr<P>,
    /// Preemption is off while non-zero (Go's `m.locks`): see [`acquirem`].
    pub locks: AtomicU32,
    /// A preemption request that arrived while `locks > 0`, honoured by
    /// `releasem` (Go's `gp.preempt`).
    pub preempt: AtomicBool,
    /// Set by `mcall` for g0 to run after the switch.
    pub(super) mcall_fn: Cell<Option<McallFn>>,
    /// Set by `gopark`: releases the waiter's lock once the G is off its stack.
    pub(super) park_unlock: Cell<Option<*mut dyn FnMut()>>,
    /// State of this M's random number generator (Go's `m.fastrand`).
    pub(super) fastrand: Cell<u64>,
}

// SAFETY: the Cells and the UnsafeCell are touched only on this M's own
// core, so never by two cores at once, and never by two contexts of that
// core at once:
// - `g0` and `mcall_fn` are written by the running G in `mcall` (interrupts
//   off from before it reads its M to the switch), and by this core's timer
//   and IPI handlers in `preemptone`, which run with interrupts off and only
//   interrupt a G that had them on, so never one inside `mcall`; g0 reads
//   them after the switch in `execute`, with interrupts off;
// - `park_unlock` is set by `gopark` and taken by `park_m` on g0, both with
//   interrupts off;
// - `fastrand` is drawn by a G under `acquirem` (`cheaprandn`) and by g0 in
//   `stealWork`; no interrupt handler draws from it.
// Everything other cores read is atomic.
unsafe impl Sync for M {}
// SAFETY: as above: an `M` is only ever used by reference from `allm`.
unsafe impl Send for M {}

impl M {
    pub(super) fn new(id: usize) -> M {
        M {
            id,
            g0: UnsafeCell::new(Context::default()),
            curg: AtomicPtr::new(ptr::null_mut()),
            p: AtomicPtr::new(ptr::null_mut()),
            nextp: AtomicPtr::new(ptr::null_mut()),
            spinning: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            oldp: AtomicPtr::new(ptr::null_mut()),
            locks: AtomicU32::new(0),
            preempt: AtomicBool::new(false),
            mcall_fn: Cell::new(None),
            park_unlock: Cell::new(None),
            fastrand: Cell::new(0x9e37_79b9_7f4a_7c15 ^ (id as u64 + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9)),
        }
    }

    /// The P this M holds. Throws if it holds none: only code running with
    /// a P calls this.
    pub fn p(&self) -> &'static P {
        let pp = self.p.load(Ordering::Relaxed);
        assert!(!pp.is_null(), "M{} has no P", self.id);
        // SAFETY: Ps live in `allp`, which is never freed.
        unsafe { &*pp }
    }

    /// Go's `cheaprand`: wyrand, good enough for steal order and select.
    pub fn fastrand(&self) -> u64 {
        let s = self.fastrand.get().wrapping_add(0xa076_1d64_78bd_642f);
        self.fastrand.set(s);
        let t = (s as u128).wrapping_mul((s ^ 0xe703_7ed1_a0b4_28db) as u128);
        (t >> 64) as u64 ^ t as u64
    }
}

/// Go's `cheaprandn`: a random number in `0..n` from this M's generator
/// (multiply-shift, no division), for `select`'s poll order.
pub(super) fn cheaprandn(n: u32) -> u32 {
    let _m = acquirem();
    ((getm().fastrand() as u32 as u64 * n as u64) >> 32) as u32
}

/// Keeps the current goroutine on this M and P (Go's `acquirem`):
/// increments `m.locks`, and while it is non-zero the timer tick neither
/// preempts the G (so it cannot migrate) nor touches this P (so the G may
/// edit its run queue and free list). Interrupts stay on. Dropping the
/// guard is Go's `releasem`.
pub(super) struct AcquireM(&'static M);

pub(super) fn acquirem() -> AcquireM {
    // From reading this core's M to counting the lock, nothing may move
    // the G (`with_this_m`). Relaxed is enough: only this core reads
    // `locks` (its own tick interrupt included, which sees the core's
    // program order).
    AcquireM(with_this_m(|m| {
        m.locks.fetch_add(1, Ordering::Relaxed);
        m
    }))
}

impl AcquireM {
    /// The M this guard keeps the goroutine on.
    pub(super) fn m(&self) -> &'static M {
        self.0
    }
}

impl Drop for AcquireM {
    /// Go's `releasem`: a preemption requested meanwhile happens now, if
    /// this is the outermost guard and no lock keeps interrupts off.
    fn drop(&mut self) {
        let m = self.0;
        // Decided while the lock still keeps the G on `m`: once `locks` is
        // zero, the G may be preempted and moved before it reads `m` again.
        let preempt = m.locks.load(Ordering::Relaxed) == 1
            && interrupts::are_enabled()
            && m.preempt.swap(false, Ordering::Relaxed)
            && !m.curg.load(Ordering::Relaxed).is_null();
        if preempt {
            m.p().preempts.fetch_add(1, Ordering::Relaxed);
        }
        m.locks.fetch_sub(1, Ordering::Relaxed);
        if preempt {
            super::preempt::gopreempt();
        }
    }
}

/// Switches from the current G to g0 and has g0 run `f(gp)` (Go's `mcall`).
/// Returns when some M switches back to this G, which may be on another
/// core. Interrupts are off across the switch, and on when the G resumes.
pub(super) fn mcall(f: McallFn) {
    interrupts::disable();
    let m = getm();
    let gp = m.curg.load(Ordering::Relaxed);
    assert!(!gp.is_null(), "mcall called on g0");
    m.mcall_fn.set(Some(f));
    // SAFETY: `gp` is the running G, so its context is ours to save; g0's
    // context was saved by `execute` when it switched to this G.
    unsafe { switch((*gp).context.get(), m.g0.get()) };
    interrupts::enable();
}

/// Runs `f` on this M's g0 stack (Go's `systemstack`) and returns. A
/// goroutine's stack starts with one mapped page (4 KiB, grown by page
/// faults up to 256 KiB); runtime work that needs more — the
/// network stack's poll, for one — runs here, below the point where g0 is
/// suspended. On g0 already, `f` simply runs.
///
/// Interrupts must be off (the caller holds an `IrqLock`): the G can then be
/// neither preempted nor moved while it borrows g0's stack, and g0 itself
/// cannot be resumed, since only this core could resume it.
pub fn systemstack(f: &mut dyn FnMut()) {
    assert!(!interrupts::are_enabled(), "systemstack with interrupts on");
    let m = getm();
    if m.curg.load(Ordering::Relaxed).is_null() {
        return f();
    }
    extern "C" fn trampoline(f: usize) {
        // SAFETY: `f` is the `&mut &mut dyn FnMut()` passed below, alive
        // for the whole call.
        unsafe { (*(f as *mut &mut dyn FnMut()))() }
    }
    // SAFETY: g0 is suspended (its context was saved when it switched to
    // the current G) and stays so while interrupts are off, so the space
    // below its saved stack pointer is free; 256 bytes of margin, aligned.
    unsafe {
        let top = ((*m.g0.get()).sp() - 256) & !15;
        let mut f = f;
        call_on_stack(top, trampoline, &raw mut f as usize);
    }
}
