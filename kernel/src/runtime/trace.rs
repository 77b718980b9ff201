//! The execution trace: Go's `runtime/trace` (`GODEBUG=trace=1` here, since
//! there is no `go test -trace`). Every scheduler decision worth drawing is
//! an event — a goroutine created, started, ended, blocked (with its wait
//! reason) or unblocked, preempted or yielding; a steal (thief, victim,
//! count); a system call entered and left, a P handed off; a P going idle
//! or starting; a timer firing; the netpoller waking a goroutine; a mark a
//! program sets — stamped with the TSC.
//!
//! # Buffers
//!
//! Each core (M) records into its own buffer, as Go 1.22's tracer keeps a
//! buffer per M: an M is a core here, and every event happens on some core,
//! with or without a P (the P is a field of the event). One writer per
//! buffer means no lock and no shared cache line on the recording path.
//! The buffers are allocated only when tracing is on. They come in two
//! modes:
//!
//! - **until full** (`GODEBUG=trace=1`, [`start`]): [`EVENTS_PER_CPU`]
//!   events per core; events beyond that are counted as lost, and the whole
//!   trace is sent at the end ([`flush`]).
//! - **continuous** ([`start_continuous`], what the dashboard turns on
//!   while a page is open, and off with [`stop_continuous`]): a ring of
//!   [`RING_EVENTS_PER_CPU`] events per core, where a new event overwrites
//!   the oldest; [`events_since`] reads the recent ones while the kernel
//!   runs, and nothing is sent at the end. It leaves out `GoCreate` and
//!   `GoEnd` (see [`FULL`]).
//!
//! # Memory ordering
//!
//! A buffer has one writer core but several writers in time: an event
//! recorded by a goroutine can be interrupted by the timer tick, which
//! records its own. So a slot is claimed with an atomic `fetch_add` on the
//! buffer's `head` (Relaxed: only this core writes it, and a core sees its
//! own interrupt handlers in program order), which gives an interrupted
//! writer and its interrupt different slots. A slot (`traceslot.rs`) is a
//! seqlock whose sequence number is the event word, which is never 0: a
//! reader on any core gets a whole event or nothing, even while the slot
//! is rewritten (the argument, and a loom model, are there).
//!
//! In the until-full mode a slot is written once, and a slot claimed but
//! not yet written (its writer was caught between the claim and the
//! Release) reads as nothing and is counted as lost, never read
//! half-written. In the ring a slot is rewritten every lap; the reader
//! reads each slot once per call and tells events apart by their
//! timestamps. Events may sit in a buffer slightly out of time order (an
//! interrupt's event after the interrupted one's slot); the readers sort by
//! timestamp.
//!
//! # Cost
//!
//! Off, each hook is one relaxed load of [`ENABLED`] (`go_create`'s and
//! `go_end`'s: of [`FULL`]) and a branch: the hooks are
//! `#[inline(always)]`, their arguments are references the caller already
//! holds (nothing is computed for them before the branch: a hook that
//! needs the current P and has none in hand finds it after the branch,
//! with [`current_p`]), and the recording path is out of line.
//! On, an event is a few dozen instructions (see docs/trace.md for the
//! measurement).
//!
//! # Leaving the machine
//!
//! At the end of the run ([`flush`], called when the main goroutine
//! returns, or on Ctrl-\\ for a program that never returns) the buffers go
//! out on the second serial port (COM2), which the host connects to a file
//! only when tracing, so the console is untouched. Goroutines may still be
//! finishing on other cores as main returns (the last one to call
//! `WaitGroup::done` records its end just after): Go stops the world to
//! end a trace; gmpos waits, up to [`QUIESCE_NS`], for every other core
//! to go idle.
//!
//! The bytes go straight to the serial driver (`drivers::serial`'s
//! `trace_port_init` and `trace_port_write`), with no sink in between: the
//! runtime sits above the drivers, so this call goes down, the direction
//! calls may go (hardware → drivers → runtime → programs is the way data
//! flows up; calls flow down). This is the one place the runtime names a
//! driver; everywhere else it writes through `println!`, the console.
//!
//! The format (little-endian) is read by `boot/src/trace.rs`:
//!
//! ```text
//! "GMPOSTRC" u32 version=1  u32 ncpu  u32 gomaxprocs  u32 0  u64 tsc_hz
//!            u32 n  n × (u8 len, name): the wait reasons, by number
//! per cpu:   u32 cpu  u32 0   events: u64 tsc, u64 word (kind | p<<8 | aux<<16 | arg<<32)
//!            16 zero bytes    u64 claimed  u64 written
//! "GMPOSEND"
//! ```

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use super::g::{G, WaitReason};
use super::traceslot::Slot;
use super::p::P;
use crate::arch::qemu::{self, ExitCode};
use crate::arch::{cpu, time};
use crate::drivers::serial;

/// Events each core can hold (16 bytes each: 8 MiB per core). A power of
/// two, as [`RING_EVENTS_PER_CPU`] is (`events_since` masks indices).
pub const EVENTS_PER_CPU: usize = 1 << 19;

/// Events each core's ring holds in continuous mode (16 bytes each: 1 MiB
/// per core); about a second of a busy core's `spawn` burst, and minutes of
/// a server's.
pub const RING_EVENTS_PER_CPU: usize = 1 << 16;

/// The event kinds, numbered as in the file format (0 is "no event").
#[derive(Clone, Copy)]
#[repr(u8)]
pub enum Ev {
    /// arg: the new G (the P's running G created it).
    GoCreate = 1,
    /// arg: the G now running on the P.
    GoStart = 2,
    /// arg: the G that exited.
    GoEnd = 3,
    /// arg: the G that parked; aux: its wait reason (`WaitReason as u8`).
    GoBlock = 4,
    /// arg: the G made runnable by the P's running G (or a timer).
    GoUnblock = 5,
    /// arg: the G that yielded (`Gosched`).
    GoSched = 6,
    /// arg: the G preempted after its 10 ms slice.
    GoPreempt = 7,
    /// p: the thief; aux: the victim P; arg: how many Gs.
    Steal = 8,
    /// arg: the G entering a system call; its P is detached.
    SyscallEnter = 9,
    /// arg: the G back from its call; p: the P it got (none: it queued).
    SyscallExit = 10,
    /// p: the P an M has just taken (`acquirep`).
    ProcStart = 11,
    /// p: the P an M has just released to go idle (`releasep`).
    ProcStop = 12,
    /// p: the P that sysmon took from a system call (`handoffp`).
    Handoff = 13,
    /// p: the P whose timer fired.
    TimerFire = 14,
    /// arg: the G the netpoller made runnable.
    NetpollWake = 15,
    /// arg: a value from the program ([`mark`]).
    Mark = 16,
}

/// How long [`flush`] waits for the other cores to go idle.
const QUIESCE_NS: u64 = 1_000_000_000;

/// `p` for events that happen without a P.
const NO_P: u64 = 0xff;

/// Whether events are recorded. Read by every hook.
static ENABLED: AtomicBool = AtomicBool::new(false);
/// Whether `GoCreate` and `GoEnd` are recorded too (read by their hooks
/// instead of [`ENABLED`]): by a trace until full, not by the continuous
/// one. Its reader (the dashboard) draws no creations, and ends a run's bar
/// at the P's next event (the next start, a block, a preemption, the P
/// stopping), which follows a goroutine's end by the scheduler's own time:
/// microseconds when there is more work, the search for work before the P
/// stops otherwise. On spawn-heavy work these two are two thirds of the
/// events.
static FULL: AtomicBool = AtomicBool::new(false);
/// See [`recording_since`].
static RECORDING_SINCE: AtomicU64 = AtomicU64::new(0);

struct Buffer {
    /// Slots claimed so far (may exceed the capacity: the rest were lost,
    /// or in a ring, overwrote older events).
    head: AtomicUsize,
    slots: Box<[Slot]>,
}

struct Buffers {
    /// Continuous mode: slots are reused, and nothing is sent at the end.
    ring: bool,
    /// What a claimed index is masked with: the ring's length less one (a
    /// power of two), or all ones until full (indices past the end are
    /// lost events).
    mask: usize,
    cpus: Box<[Buffer]>,
}

static BUFFERS: spin::Once<Result<Buffers, ()>> = spin::Once::new();
static FLUSHED: AtomicBool = AtomicBool::new(false);

/// Allocates `per_cpu` slots (a power of two) for each of `ncpu` cores, or
/// fails when the heap cannot hold them.
fn allocate(ncpu: usize, per_cpu: usize, ring: bool) -> Result<Buffers, ()> {
    let cpus = (0..ncpu)
        .map(|_| {
            let mut slots = Vec::new();
            slots.try_reserve_exact(per_cpu).map_err(|_| ())?;
            slots.extend((0..per_cpu).map(|_| Slot::new()));
            Ok(Buffer { head: AtomicUsize::new(0), slots: slots.into_boxed_slice() })
        })
        .collect::<Result<_, ()>>()?;
    Ok(Buffers { ring, mask: if ring { per_cpu - 1 } else { usize::MAX }, cpus })
}

fn buffers() -> Option<&'static Buffers> {
    BUFFERS.get().and_then(|b| b.as_ref().ok())
}

/// Turns tracing on, until the buffers are full, for `ncpu` cores
/// (start-up, before the first G). Ends the run with a clear message if
/// the heap cannot hold the buffers.
pub fn start(ncpu: usize) {
    if BUFFERS.call_once(|| allocate(ncpu, EVENTS_PER_CPU, false)).is_err() {
        crate::println!(
            "gmpos: GODEBUG=trace=1 needs {} MiB of heap per core for its buffers; give the machine more memory (MEM=)",
            EVENTS_PER_CPU * size_of::<Slot>() >> 20
        );
        qemu::exit(ExitCode::Failure);
    }
    FULL.store(true, Ordering::Release);
    ENABLED.store(true, Ordering::Release);
}

/// Turns continuous tracing on, into a ring per core, while the kernel
/// runs: the first call allocates the rings, later ones turn recording on
/// again after [`stop_continuous`]. A trace until full (`GODEBUG=trace=1`)
/// is left as it is: readers read its buffers. Returns an error, and
/// leaves tracing off, when the heap cannot hold the rings.
pub fn start_continuous() -> Result<(), String> {
    let ncpu = super::sched::sched().allm.len();
    let Ok(buffers) = BUFFERS.call_once(|| allocate(ncpu, RING_EVENTS_PER_CPU, true)) else {
        return Err(format!(
            "the trace rings need {} KiB of heap per core, and the heap is full",
            RING_EVENTS_PER_CPU * size_of::<Slot>() >> 10
        ));
    };
    if buffers.ring && !ENABLED.load(Ordering::Relaxed) {
        RECORDING_SINCE.store(time::rdtsc(), Ordering::Relaxed);
        // Release: a hook that sees ENABLED also finds BUFFERS (whose `get`
        // is an Acquire load of its own, so this is belt and braces).
        ENABLED.store(true, Ordering::Release);
    }
    Ok(())
}

/// When the continuous trace last started recording (a TSC value; 0 for a
/// trace until full): a reader has no events from before, back to when it
/// stopped.
pub fn recording_since() -> u64 {
    RECORDING_SINCE.load(Ordering::Relaxed)
}

/// Stops recording into the rings (they keep their events, and
/// [`start_continuous`] resumes); does nothing to a trace until full.
pub fn stop_continuous() {
    if buffers().is_some_and(|b| b.ring) {
        ENABLED.store(false, Ordering::Relaxed);
    }
}

#[inline(always)]
fn on() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// An event's word: `kind | p<<8 | aux<<16 | arg<<32`. Inlined into the
/// hooks, where the constant parts fold.
#[inline(always)]
fn word(kind: Ev, p: u64, aux: u64, arg: u64) -> u64 {
    kind as u64 | (p & 0xff) << 8 | (aux & 0xffff) << 16 | (arg & 0xffff_ffff) << 32
}

#[cold]
#[inline(never)]
fn record(word: u64) {
    let Some(buffers) = buffers() else { return };
    let Some(buf) = buffers.cpus.get(cpu::current().id) else { return };
    let i = buf.head.fetch_add(1, Ordering::Relaxed) & buffers.mask;
    let Some(slot) = buf.slots.get(i) else { return };
    slot.write(time::rdtsc(), word);
}

fn goid(g: &G) -> u64 {
    g.goid.load(Ordering::Relaxed)
}

/// Hook: `newproc` created the G `goid` on `pp` (not recorded by a
/// continuous trace: see [`FULL`]).
#[inline(always)]
pub fn go_create(pp: &P, goid: u64) {
    if FULL.load(Ordering::Relaxed) {
        record(word(Ev::GoCreate, pp.id as u64, 0, goid));
    }
}

/// Hook: `execute` starts running `g` on `pp`.
#[inline(always)]
pub fn go_start(pp: &P, g: &G) {
    if on() {
        record(word(Ev::GoStart, pp.id as u64, 0, goid(g)));
    }
}

/// Hook: `g` exited (`goexit0`; not recorded by a continuous trace: see
/// [`FULL`]).
#[inline(always)]
pub fn go_end(pp: &P, g: &G) {
    if FULL.load(Ordering::Relaxed) {
        record(word(Ev::GoEnd, pp.id as u64, 0, goid(g)));
    }
}

/// Hook: `g` parked (`park_m`), for its wait reason.
#[inline(always)]
pub fn go_block(g: &G) {
    if on() {
        record(word(Ev::GoBlock, current_p(), g.waitreason() as u64, goid(g)));
    }
}

/// Hook: `goready(g)` on `pp`.
#[inline(always)]
pub fn go_unblock(pp: &P, g: &G) {
    if on() {
        record(word(Ev::GoUnblock, pp.id as u64, 0, goid(g)));
    }
}

/// Hook: `g` yielded (`gosched_m`).
#[inline(always)]
pub fn go_sched(g: &G) {
    if on() {
        record(word(Ev::GoSched, current_p(), 0, goid(g)));
    }
}

/// Hook: `g` was preempted (`gopreempt_m`).
#[inline(always)]
pub fn go_preempt(g: &G) {
    if on() {
        record(word(Ev::GoPreempt, current_p(), 0, goid(g)));
    }
}

/// Hook: `thief` stole `count` Gs from P `victim` (`stealWork`).
#[inline(always)]
pub fn steal(thief: &P, victim: usize, count: u32) {
    if on() {
        record(word(Ev::Steal, thief.id as u64, victim as u64, count as u64));
    }
}

/// Hook: `g` enters a system call, leaving `pp` (`entersyscall`).
#[inline(always)]
pub fn syscall_enter(pp: &P, g: &G) {
    if on() {
        record(word(Ev::SyscallEnter, pp.id as u64, 0, goid(g)));
    }
}

/// Hook: `g` is back from its call, running on `pp`, or queued (None).
#[inline(always)]
pub fn syscall_exit(pp: Option<&P>, g: &G) {
    if on() {
        record(word(Ev::SyscallExit, pp.map_or(NO_P, |pp| pp.id as u64), 0, goid(g)));
    }
}

/// Hook: an M took `pp` (`acquirep`).
#[inline(always)]
pub fn proc_start(pp: &P) {
    if on() {
        record(word(Ev::ProcStart, pp.id as u64, 0, 0));
    }
}

/// Hook: an M released `pp` to go idle (`releasep`).
#[inline(always)]
pub fn proc_stop(pp: &P) {
    if on() {
        record(word(Ev::ProcStop, pp.id as u64, 0, 0));
    }
}

/// Hook: sysmon took `pp` from a system call (`handoffp`).
#[inline(always)]
pub fn handoff(pp: &P) {
    if on() {
        record(word(Ev::Handoff, pp.id as u64, 0, 0));
    }
}

/// Hook: one of `pp`'s timers fired (`checkTimers`).
#[inline(always)]
pub fn timer_fire(pp: &P) {
    if on() {
        record(word(Ev::TimerFire, pp.id as u64, 0, 0));
    }
}

/// Hook: the netpoller made `g` runnable (from `findRunnable`, or from
/// sysmon, which may run on a core without a P).
#[inline(always)]
pub fn netpoll_wake(g: &G) {
    if on() {
        record(word(Ev::NetpollWake, current_p(), 0, goid(g)));
    }
}

/// Puts a mark with `value` in the trace, on the calling goroutine's P
/// (Go's `trace.Log`, reduced to a number): programs use it to show where
/// their phases begin.
#[inline(always)]
pub fn mark(value: u64) {
    if on() {
        record(word(Ev::Mark, current_p(), 0, value));
    }
}

/// The id of the P this core holds, or [`NO_P`]. (A goroutine preempted
/// right after this may record its event on the P it just left: harmless.)
fn current_p() -> u64 {
    // SAFETY: Ps live in `allp`, which is never freed.
    let pp = unsafe { super::getm().p.load(Ordering::Relaxed).as_ref() };
    pp.map_or(NO_P, |pp| pp.id as u64)
}

/// Events claimed so far on every core (0 when tracing is off).
pub fn recorded() -> u64 {
    buffers().map_or(0, |buffers| buffers.cpus.iter().map(|b| b.head.load(Ordering::Relaxed) as u64).sum())
}

/// Stops tracing and sends the trace out on COM2 (once; later calls do
/// nothing). Called when the main goroutine returns, with `wait_idle`:
/// first wait (up to [`QUIESCE_NS`]) for the other cores to go idle; and
/// by Ctrl-\\, without (an interrupt handler must not stall its core).
/// A continuous trace is not sent: nobody asked for a file.
pub fn flush(wait_idle: bool) {
    let Some(buffers) = buffers().filter(|b| !b.ring) else { return };
    if FLUSHED.swap(true, Ordering::AcqRel) {
        return;
    }
    // An M halted in `stopm` has recorded all it will until woken. This
    // wait is a best effort (Relaxed; on x86 a core's stores become visible
    // in order): an event still in flight is counted as lost, never read
    // half-written (see "Memory ordering").
    let me = cpu::current().id;
    let deadline = time::nanotime() + QUIESCE_NS;
    let idle = || super::sched::sched().allm.iter().all(|m| m.id == me || m.blocked.load(Ordering::Relaxed));
    while wait_idle && !idle() && time::nanotime() < deadline {
        core::hint::spin_loop();
    }
    ENABLED.store(false, Ordering::Relaxed);
    FULL.store(false, Ordering::Relaxed);
    if !serial::trace_port_init() {
        crate::println!("trace: no second serial port (COM2): the trace is lost; run with `make trace`");
        return;
    }
    let out = |bytes: &[u8]| serial::trace_port_write(bytes);
    out(b"GMPOSTRC");
    out(&1u32.to_le_bytes());
    out(&(buffers.cpus.len() as u32).to_le_bytes());
    out(&(super::gomaxprocs() as u32).to_le_bytes());
    out(&0u32.to_le_bytes());
    out(&time::tsc_hz().to_le_bytes());
    // The wait reasons' names, so that the host tool needs no copy of them.
    out(&(WaitReason::ALL.len() as u32).to_le_bytes());
    for reason in WaitReason::ALL {
        out(&[reason.as_str().len() as u8]);
        out(reason.as_str().as_bytes());
    }
    let (mut total, mut lost) = (0u64, 0u64);
    for (id, buf) in buffers.cpus.iter().enumerate() {
        out(&(id as u32).to_le_bytes());
        out(&0u32.to_le_bytes());
        let claimed = buf.head.load(Ordering::Relaxed);
        let mut written = 0u64;
        for slot in buf.slots.iter().take(claimed) {
            if let Some((tsc, word)) = slot.read() {
                let mut event = [0u8; 16];
                event[..8].copy_from_slice(&tsc.to_le_bytes());
                event[8..].copy_from_slice(&word.to_le_bytes());
                out(&event);
                written += 1;
            }
        }
        out(&[0; 16]);
        out(&(claimed as u64).to_le_bytes());
        out(&written.to_le_bytes());
        total += written;
        lost += claimed as u64 - written;
    }
    out(b"GMPOSEND");
    crate::println!("trace: {total} events ({lost} lost) sent on COM2");
}

/// One event as [`events_since`] returns it.
#[derive(Clone, Copy)]
pub struct Event {
    pub tsc: u64,
    /// An [`Ev`] number.
    pub kind: u8,
    /// The P (255: none).
    pub p: u8,
    pub aux: u16,
    pub arg: u32,
}

/// How far before `since` [`events_since`] keeps looking in a buffer: an
/// event may sit after a later one (an interrupt's, see "Memory ordering"),
/// never by more than an interrupt handler's run.
const OUT_OF_ORDER_TSC: u64 = 1 << 20;

/// The events of every core stamped after `since` (a TSC value), oldest
/// first, at most `max` of them (the oldest: ask again from the last one's
/// timestamp for the rest), while tracing goes on; and whether some were
/// left for the next call. A reader on any core, lock-free (see "Memory
/// ordering"); an event still being written is left out. Empty when
/// tracing is off.
///
/// Each core's events are in time order but for an interrupt's few, so a
/// binary search finds the first one after `since` (less a margin for
/// those), and only the events returned are read: the cost does not grow
/// with the buffer.
pub fn events_since(since: u64, max: usize) -> (Vec<Event>, bool) {
    let mut out = Vec::new();
    let Some(buffers) = buffers() else { return (out, false) };
    let floor = since.saturating_sub(OUT_OF_ORDER_TSC);
    let mut more = false;
    for buf in buffers.cpus.iter() {
        let head = buf.head.load(Ordering::Relaxed);
        let len = buf.slots.len();
        let (end, oldest) = if buffers.ring { (head, head.saturating_sub(len)) } else { (head.min(len), 0) };
        let slot = |i: usize| buf.slots[i & (len - 1)].read();
        // The first slot at or after `floor` (an unreadable slot, being
        // written, counts as new).
        let (mut lo, mut hi) = (oldest, end);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if slot(mid).is_some_and(|(tsc, _)| tsc < floor) { lo = mid + 1 } else { hi = mid }
        }
        let mut taken = 0;
        for i in lo..end {
            let Some((tsc, word)) = slot(i) else { continue };
            if tsc > since {
                if taken == max {
                    more = true;
                    break;
                }
                out.push(Event { tsc, kind: word as u8, p: (word >> 8) as u8, aux: (word >> 16) as u16, arg: (word >> 32) as u32 });
                taken += 1;
            }
        }
    }
    out.sort_unstable_by_key(|e| e.tsc);
    more |= out.len() > max;
    out.truncate(max);
    (out, more)
}
