//! Watching the scheduler: Go's `GODEBUG=schedtrace=MS` line, printed by the
//! bootstrap core's timer tick every MS milliseconds.

use alloc::string::String;
use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use super::g::Status;
use super::sched::Sched;
use crate::arch::time;

/// The schedtrace period in nanoseconds (0: off), and when the next line is due.
static PERIOD_NS: AtomicU64 = AtomicU64::new(0);
static NEXT_NS: AtomicU64 = AtomicU64::new(0);

pub fn set_schedtrace(ms: u64) {
    PERIOD_NS.store(ms * 1_000_000, Ordering::Relaxed);
    NEXT_NS.store(ms * 1_000_000, Ordering::Relaxed);
}

/// Called on every tick of core 0 (so only one core writes NEXT_NS);
/// prints a line when a period has passed.
pub fn tick(s: &Sched) {
    let period = PERIOD_NS.load(Ordering::Relaxed);
    let next = NEXT_NS.load(Ordering::Relaxed);
    let now = time::nanotime();
    if period != 0 && now >= next {
        NEXT_NS.store(now - (now - next) % period + period, Ordering::Relaxed);
        crate::print!("{}", schedtrace(s));
    }
}

/// Go's goroutine dump (a traceback of every goroutine on SIGQUIT, here
/// without stacks): `goroutine 1 [running]:`, `goroutine 7 [chan receive]:`.
pub fn goroutine_dump() -> String {
    let mut out = String::new();
    let mut gp = super::proc::ALLGS.load(Ordering::Acquire);
    while let Some(g) = core::ptr::NonNull::new(gp) {
        // SAFETY: Gs are never freed.
        let g = unsafe { g.as_ref() };
        let state = match g.status() {
            Status::Dead | Status::Idle => None,
            Status::Runnable => Some("runnable"),
            Status::Running => Some("running"),
            Status::Syscall => Some("syscall"),
            Status::Preempted => Some("preempted"),
            Status::Waiting => Some(g.waitreason().as_str()),
        };
        if let Some(state) = state {
            let _ = writeln!(out, "goroutine {} [{state}]:", g.goid.load(Ordering::Relaxed));
        }
        gp = g.alllink.load(Ordering::Relaxed);
    }
    out
}

/// Go's `schedtrace(false)` line, in Go's format:
/// `SCHED 1000ms: gomaxprocs=4 idleprocs=0 threads=4 spinningthreads=0
/// needspinning=0 idlethreads=0 runqueue=12 [3 0 7 1] schedticks=[ 102 98 97 110 ]`.
/// `threads` counts Ms, i.e. cores online. `needspinning` is always 0:
/// gmpos has no equivalent of Go 1.21's `sched.needspinning` hint.
pub fn schedtrace(s: &Sched) -> String {
    let mut line = String::new();
    let _ = write!(
        line,
        "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} needspinning=0 idlethreads={} runqueue={} [",
        time::nanotime() / 1_000_000,
        s.gomaxprocs(),
        s.npidle.load(Ordering::Relaxed),
        s.allm.len(),
        s.nmspinning.load(Ordering::Relaxed),
        s.nmidle.load(Ordering::Relaxed),
        s.runqsize.load(Ordering::Relaxed),
    );
    for (i, pp) in s.allp().iter().enumerate() {
        let sep = if i == 0 { "" } else { " " };
        let _ = write!(line, "{sep}{}", pp.runq.len() + pp.runq.has_runnext() as u32);
    }
    line.push_str("] schedticks=[ ");
    for pp in s.allp().iter() {
        let _ = write!(line, "{} ", pp.schedtick.load(Ordering::Relaxed));
    }
    line.push_str("]\n");
    line
}
