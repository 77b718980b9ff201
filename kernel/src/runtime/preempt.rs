//! Asynchronous preemption: Go 1.14's `asyncPreempt`, driven by the local
//! APIC timer instead of a signal.
//!
//! Go's sysmon thread looks at every P every 20 µs–10 ms; a P whose
//! `schedtick` has not moved for `forcePreemptNS` (10 ms) is running one G
//! too long, and sysmon sends its thread a signal whose handler makes the G
//! call into the scheduler (`retake` → `preemptone` → `asyncPreempt` →
//! `gopreempt_m`). gmpos does the same check on each core's own timer tick
//! (`tick`), every millisecond. A kernel has it easier than Go: the timer
//! interrupt already saved the G's registers on its stack, so the tick
//! handler can switch to g0 right there. When the G is resumed — later, on
//! any core — `switch` returns into the interrupt handler, which restores
//! every register and `iretq`s back into the G's code as if nothing had
//! happened.
//!
//! Preemption never happens on g0 (the scheduler runs with interrupts off)
//! nor while the G holds a runtime lock (interrupts off) or is inside
//! `acquirem` (`m.locks > 0`). In the last case the request is remembered in
//! `m.preempt` and honoured by `releasem`, as in Go.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::debug::{self, Switch};
use super::g::{G, Status};
use super::m::{M, McallFn, mcall};
use super::netpreempt;
use super::p::{P, PStatus};
use super::sched::sched;
use super::time::check_timers;
use super::getm;
use crate::arch::switch::switch;

/// A G may run this long without passing through the scheduler (Go's
/// `forcePreemptNS`).
pub const FORCE_PREEMPT_NS: u64 = 10_000_000;

/// What sysmon last saw of a P (Go's `sysmontick`).
pub struct SysmonTick {
    pub schedtick: AtomicU32,
    pub schedwhen: AtomicU64,
    pub syscalltick: AtomicU32,
    pub syscallwhen: AtomicU64,
}

impl SysmonTick {
    pub fn new() -> SysmonTick {
        SysmonTick {
            schedtick: AtomicU32::new(0),
            schedwhen: AtomicU64::new(0),
            syscalltick: AtomicU32::new(0),
            syscallwhen: AtomicU64::new(0),
        }
    }
}

/// The `retake` test for a running P, or one in a system call (Go: `s ==
/// _Prunning || s == _Psyscall`, then `pd.schedwhen+forcePreemptNS <= now`
/// with `schedtick` unchanged): has its current time slice lasted 10 ms?
/// Only the core that holds or left the P calls it (from its tick). A
/// system call does not end the slice: only `execute` moves `schedtick`.
fn slice_expired(pp: &P, now: u64) -> bool {
    let t = pp.schedtick.load(Ordering::Relaxed);
    if pp.sysmontick.schedtick.load(Ordering::Relaxed) != t {
        pp.sysmontick.schedtick.store(t, Ordering::Relaxed);
        pp.sysmontick.schedwhen.store(now, Ordering::Relaxed);
        return false;
    }
    slice_over(pp, now)
}

/// Whether `pp`'s slice, as its core's tick last recorded it, has run
/// out: read-only, for sysmon looking at another core's P. Relaxed reads
/// of a heuristic: a stale value moves the decision by one tick at most.
pub(super) fn slice_over(pp: &P, now: u64) -> bool {
    slice_ran(pp, now, FORCE_PREEMPT_NS)
}

/// Whether `pp`'s current slice has run for at least `ns`, as its core's
/// tick last recorded it (a slice that began after that tick counts as
/// fresh). Read-only, as [`slice_over`].
pub(super) fn slice_ran(pp: &P, now: u64, ns: u64) -> bool {
    pp.sysmontick.schedtick.load(Ordering::Relaxed) == pp.schedtick.load(Ordering::Relaxed)
        && pp.sysmontick.schedwhen.load(Ordering::Relaxed) + ns <= now
}

/// This core's share of sysmon, on its timer tick (in the interrupt, after
/// EOI): run its P's due timers and preempt a G whose slice has expired
/// (unless `GODEBUG=asyncpreemptoff=1`, as Go's `preemptone` checks
/// `debug.asyncpreemptoff`: then a G runs until it blocks or yields).
/// A G in a system call cannot be stopped there; if its P's slice runs
/// out meanwhile, `m.preempt` asks `exitsyscall` to preempt it.
pub(super) fn tick(m: &M, now: u64) {
    let pp = m.p.load(Ordering::Relaxed);
    let gp = m.curg.load(Ordering::Relaxed);
    if gp.is_null() {
        return; // g0 halted or in the scheduler: nothing to do here
    }
    if pp.is_null() {
        // A G in a system call (entersyscall and exitsyscall change `p`
        // and `oldp` with interrupts off, so this tick sees them both).
        let oldp = m.oldp.load(Ordering::Relaxed);
        // SAFETY: Ps are never freed.
        if let Some(oldp) = unsafe { oldp.as_ref() } {
            if oldp.status() == PStatus::Syscall && slice_expired(oldp, now) && !debug::off(Switch::AsyncPreempt) {
                m.preempt.store(true, Ordering::Relaxed);
            }
        }
        return;
    }
    // SAFETY: Ps and Gs are never freed.
    let (pp, g) = unsafe { (&*pp, &*gp) };
    if m.locks.load(Ordering::Relaxed) > 0 {
        if slice_expired(pp, now) && !debug::off(Switch::AsyncPreempt) {
            m.preempt.store(true, Ordering::Relaxed);
        }
        return;
    }
    check_timers(pp);
    if g.status() == Status::Running && !debug::off(Switch::AsyncPreempt) {
        if slice_expired(pp, now) {
            preemptone(m, pp, gopreempt_m);
        } else if netpreempt::should_preempt(pp, now) {
            preemptone(m, pp, netpreempt::gopreempt_netpoll_m);
        }
    }
}

/// Go's `preemptall` as seen by one core: `stop_the_world` sends this call
/// to every other core, in its IPI handler. The running G is preempted as
/// by the tick, or, inside `acquirem`, when it leaves it; a core running no
/// G holds no P, or is in the scheduler, which checks `sched.gcwaiting`.
pub(super) fn preempt_ipi(_: usize) {
    let m = getm();
    let pp = m.p.load(Ordering::Relaxed);
    let gp = m.curg.load(Ordering::Relaxed);
    if pp.is_null() || gp.is_null() {
        return;
    }
    // SAFETY: Ps and Gs are never freed.
    let (pp, g) = unsafe { (&*pp, &*gp) };
    if m.locks.load(Ordering::Relaxed) > 0 {
        m.preempt.store(true, Ordering::Relaxed);
    } else if g.status() == Status::Running {
        preemptone(m, pp, gopreempt_m);
    }
}

/// Go's `preemptone` + `asyncPreempt`, from inside an interrupt (the
/// tick, an IPI, the network card's): the G's registers are already saved
/// on its stack by the interrupt; save the rest with `switch` and let g0
/// requeue it with `requeue` (`gopreempt_m`, or the network's variant in
/// `netpreempt.rs`).
pub(super) fn preemptone(m: &M, pp: &P, requeue: McallFn) {
    pp.preempts.fetch_add(1, Ordering::Relaxed);
    m.preempt.store(false, Ordering::Relaxed);
    let gp = m.curg.load(Ordering::Relaxed);
    m.mcall_fn.set(Some(requeue));
    // SAFETY: interrupts are off (we are in the handler); `gp` is the
    // running G and g0's context was saved when it switched to it. Unlike
    // `mcall`, nothing runs after the switch but the handler's `iretq`,
    // which restores the G's interrupt flag with the rest of its state.
    unsafe { switch((*gp).context.get(), m.g0.get()) };
}

/// A preemption point outside the tick (`releasem` with `m.preempt` set,
/// which counts it on its P): the G yields as if preempted.
pub(super) fn gopreempt() {
    mcall(gopreempt_m);
}

/// Go's `gopreempt_m`, on g0: the preempted G goes to the global run queue
/// (not the local one, so that a hog cannot keep its P by being re-queued
/// in front of the Gs it was starving).
pub(super) fn gopreempt_m(gp: NonNull<G>) {
    // SAFETY: Gs are never freed.
    unsafe { gp.as_ref() }.casgstatus(Status::Running, Status::Runnable);
    // SAFETY: as above.
    super::trace::go_preempt(unsafe { gp.as_ref() });
    let s = sched();
    s.globrunqput(&mut s.lock.lock(), gp);
    super::idle::wakep();
}
