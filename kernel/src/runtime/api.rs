//! The runtime's face to programs: the running goroutine and the numbers
//! a Go program asks its runtime for. Mirrors Go's `getg` (stubs.go),
//! `runtime.GOMAXPROCS(0)` and `runtime.NumGoroutine` (debug.go); the rest
//! (per-P counters, wake-ups and spins, the schedtrace line) are gmpos's
//! own, for programs' reports.

use core::ptr::NonNull;
use core::sync::atomic::Ordering;

use super::g::G;
use super::m::{self, getm, with_this_m};
use super::sched::sched;

/// The running goroutine (Go's `getg()`, outside g0).
pub fn getg() -> NonNull<G> {
    NonNull::new(with_this_m(|m| m.curg.load(Ordering::Relaxed))).expect("getg: not on a goroutine")
}

/// The running goroutine's id.
pub fn goid() -> u64 {
    // SAFETY: Gs are never freed.
    unsafe { getg().as_ref() }.goid.load(Ordering::Relaxed)
}

/// Go's `runtime.GOMAXPROCS(0)`.
pub fn gomaxprocs() -> usize {
    sched().allp().len()
}

/// The id of the P running this goroutine. Meaningful only with preemption
/// off (`without_preemption`): a preempted G may resume on another P.
pub fn pid() -> usize {
    getm().p().id
}

/// Go's `runtime.NumGoroutine()`.
pub fn num_goroutine() -> usize {
    sched().ngoroutines.load(Ordering::Relaxed) as usize
}

/// A P's counters, for programs' reports.
pub struct PStats {
    /// Gs run (`execute` calls).
    pub runs: u64,
    /// Successful steals by this P.
    pub steals: u64,
    /// Gs preempted on this P.
    pub preempts: u64,
    /// Times sysmon took this P from a system call and handed it off.
    pub handoffs: u64,
}

/// Every P's counters, in P order.
pub fn p_stats() -> impl Iterator<Item = PStats> {
    sched().allp().iter().map(|pp| PStats {
        runs: pp.runs.load(Ordering::Relaxed),
        steals: pp.steals.load(Ordering::Relaxed),
        preempts: pp.preempts.load(Ordering::Relaxed),
        handoffs: pp.handoffs.load(Ordering::Relaxed),
    })
}

/// Idle cores woken so far to run a P (each by an IPI from `startm`), and
/// times a core out of work spun looking for some instead of halting.
pub fn wakeups_and_spins() -> (u64, u64) {
    let s = sched();
    (s.mwakeups.load(Ordering::Relaxed), s.mspins.load(Ordering::Relaxed))
}

/// The schedtrace line (Go's `GODEBUG=schedtrace` format) for right now:
/// Ps, idle Ps, spinning Ms, global and per-P run queue lengths.
pub fn schedtrace() -> alloc::string::String {
    alloc::format!("{}", super::schedtrace::report(sched(), false))
}

/// Runs `f` with preemption off (Go: between `acquirem` and `releasem`).
pub fn without_preemption<R>(f: impl FnOnce() -> R) -> R {
    let _m = m::acquirem();
    f()
}
