//! Watching the scheduler: Go's `GODEBUG=schedtrace=MS` line, printed by the
//! bootstrap core's timer tick every MS milliseconds.

use alloc::string::String;
use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use super::sched::Sched;
use crate::arch::time;

static SCHEDTRACE_MS: AtomicU64 = AtomicU64::new(0);

pub fn set_schedtrace(ms: u64) {
    SCHEDTRACE_MS.store(ms, Ordering::Relaxed);
}

/// Called on every tick of core 0; prints when a period has passed.
pub fn tick(s: &Sched, ticks: u64) {
    let ms = SCHEDTRACE_MS.load(Ordering::Relaxed);
    let ticks_per_ms = time::TICK_HZ / 1000;
    if ms != 0 && ticks % (ms * ticks_per_ms) == 0 {
        crate::print!("{}", schedtrace(s));
    }
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
    for (i, pp) in s.allp.iter().enumerate() {
        let sep = if i == 0 { "" } else { " " };
        let _ = write!(line, "{sep}{}", pp.runq.len() + pp.runq.has_runnext() as u32);
    }
    line.push_str("] schedticks=[ ");
    for pp in s.allp.iter() {
        let _ = write!(line, "{} ", pp.schedtick.load(Ordering::Relaxed));
    }
    line.push_str("]\n");
    line
}
