//! `PROG=hog` (best with GOMAXPROCS=1): one goroutine spins and never
//! yields; another wakes every 50–70 ms and measures how late it is. The
//! 10 ms preemption is what lets the sleeper run at all, and what bounds
//! how late it is.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::Args;
use crate::arch::time::nanotime;
use crate::runtime::{self, WaitGroup, time};

const PERIOD_NS: u64 = 50_000_000;
/// Each sleep is `PERIOD_NS` plus a multiple of `SPREAD_STEP_NS` below
/// `SPREAD_NS`: varied, so that the deadlines fall at every point of the
/// hog's time slice, the worst included (a fixed period could keep hitting
/// the same point of the same slice).
const SPREAD_NS: u64 = 20_000_000;
const SPREAD_STEP_NS: u64 = 7_300_000;

/// Computes until `stop` is set, with no call into the runtime: only
/// preemption takes its P away.
pub(super) fn spin_until(stop: &AtomicBool) {
    let mut x = 0u64;
    while !stop.load(Ordering::Relaxed) {
        x = core::hint::black_box(x.wrapping_add(1));
    }
}

/// Starts `n` goroutines that spin for ever (httpd's and echo's `N=`: keep
/// every P busy while they serve).
pub fn spawn_hogs(n: u64) {
    static NEVER: AtomicBool = AtomicBool::new(false);
    for _ in 0..n {
        runtime::go(|| spin_until(&NEVER));
    }
}

pub fn main(args: &Args) -> Result<(), String> {
    let r = run(1, args.n.unwrap_or(20));
    crate::println!("hog: wakeups={} max_delay_ms={:.1} preemptions={}", r.wakeups, r.max_late_ms(), r.preemptions);
    if r.preemptions == 0 {
        return Err(format!("the hog was never preempted"));
    }
    Ok(())
}

/// What [`run`] saw.
pub struct Hogged {
    /// Sleeps the sleeper came back from (counted as they end).
    pub wakeups: u64,
    pub max_late_ns: u64,
    /// Preemptions on every P during the run.
    pub preemptions: u64,
}

impl Hogged {
    pub fn max_late_ms(&self) -> f64 {
        self.max_late_ns as f64 / 1e6
    }
}

/// Starts `hogs` goroutines that spin without ever yielding, and a sleeper
/// that wakes `wakeups` times, 50–70 ms apart, recording how late it is; stops
/// the hogs when the sleeper is done.
pub fn run(hogs: usize, wakeups: u64) -> Hogged {
    let preempts_before: u64 = runtime::p_stats().map(|s| s.preempts).sum();
    let stop = Arc::new(AtomicBool::new(false));
    let wg = Arc::new(WaitGroup::new());
    wg.add(hogs as i64 + 1);
    for _ in 0..hogs {
        let (stop, wg) = (stop.clone(), wg.clone());
        runtime::go(move || {
            spin_until(&stop);
            wg.done();
        });
    }
    let max_late = Arc::new(AtomicU64::new(0));
    let woken = Arc::new(AtomicU64::new(0));
    {
        let (max_late, woken, stop, wg) = (max_late.clone(), woken.clone(), stop.clone(), wg.clone());
        runtime::go(move || {
            for i in 0..wakeups {
                let ns = PERIOD_NS + i * SPREAD_STEP_NS % SPREAD_NS;
                let deadline = nanotime() + ns;
                time::sleep(ns);
                max_late.fetch_max(nanotime() - deadline, Ordering::Relaxed);
                woken.fetch_add(1, Ordering::Relaxed);
            }
            stop.store(true, Ordering::Relaxed);
            wg.done();
        });
    }
    wg.wait();
    let preempts_after: u64 = runtime::p_stats().map(|s| s.preempts).sum();
    Hogged {
        wakeups: woken.load(Ordering::Relaxed),
        max_late_ns: max_late.load(Ordering::Relaxed),
        preemptions: preempts_after - preempts_before,
    }
}
