//! `PROG=hog` (best with GOMAXPROCS=1): one goroutine spins, yielding only
//! every 200 ms; another wakes every 50–70 ms and measures how late it is.
//! The 10 ms preemption is what lets the sleeper run on time, and what
//! bounds how late it is; with `GODEBUG=asyncpreemptoff=1` it waits for
//! the hog's next yield.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
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
/// How long a hog computes between two yields.
pub const YIELD_EVERY_NS: u64 = 200_000_000;

/// Computes until `stop` is set, calling into the runtime (`gosched`) only
/// every 200 ms — like a Go loop whose only preemption points are rare
/// function calls: within those 200 ms only asynchronous preemption takes
/// its P away. (The yield keeps `asyncpreemptoff=1` runs finite.)
pub(super) fn spin_until(stop: &AtomicBool) {
    let mut x = 0u64;
    let mut yield_at = nanotime() + YIELD_EVERY_NS;
    while !stop.load(Ordering::Relaxed) {
        x = core::hint::black_box(x.wrapping_add(1));
        if nanotime() >= yield_at {
            runtime::gosched();
            yield_at = nanotime() + YIELD_EVERY_NS;
        }
    }
}

/// Starts `n` goroutines that spin for ever, yielding every 200 ms
/// (httpd's and echo's `N=`: keep every P busy while they serve).
pub fn spawn_hogs(n: u64) {
    static NEVER: AtomicBool = AtomicBool::new(false);
    for _ in 0..n {
        runtime::go(|| spin_until(&NEVER));
    }
}

pub fn main(args: &Args) -> Result<(), String> {
    let r = run(1, args.n.unwrap_or(20));
    crate::println!(
        "hog: wakeups={} max_delay_ms={:.1} median_delay_ms={:.1} preemptions={}",
        r.wakeups,
        r.max_late_ms(),
        r.median_late_ms(),
        r.preemptions
    );
    if r.preemptions == 0 {
        return Err(format!("the hog was never preempted"));
    }
    Ok(())
}

/// What [`run`] saw.
pub struct Hogged {
    /// Sleeps the sleeper came back from (counted as they end).
    pub wakeups: u64,
    /// How late each wakeup was, in ns, sorted.
    pub late_ns: Vec<u64>,
    /// Preemptions on every P during the run.
    pub preemptions: u64,
}

impl Hogged {
    pub fn max_late_ms(&self) -> f64 {
        self.late_ns.last().copied().unwrap_or(0) as f64 / 1e6
    }

    /// The median lateness: unlike the maximum, not moved by one wakeup
    /// that the host delayed (a vCPU thread off the CPU for milliseconds).
    pub fn median_late_ms(&self) -> f64 {
        self.late_ns.get(self.late_ns.len() / 2).copied().unwrap_or(0) as f64 / 1e6
    }
}

/// Starts `hogs` goroutines that spin, yielding every 200 ms, and a sleeper
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
    let late: Arc<Vec<AtomicU64>> = Arc::new((0..wakeups).map(|_| AtomicU64::new(0)).collect());
    let woken = Arc::new(AtomicU64::new(0));
    {
        let (late, woken, stop, wg) = (late.clone(), woken.clone(), stop.clone(), wg.clone());
        runtime::go(move || {
            for (i, slot) in (0u64..).zip(late.iter()) {
                let ns = PERIOD_NS + i * SPREAD_STEP_NS % SPREAD_NS;
                let deadline = nanotime() + ns;
                time::sleep(ns);
                slot.store(nanotime() - deadline, Ordering::Relaxed);
                woken.fetch_add(1, Ordering::Relaxed);
            }
            stop.store(true, Ordering::Relaxed);
            wg.done();
        });
    }
    wg.wait();
    let preempts_after: u64 = runtime::p_stats().map(|s| s.preempts).sum();
    let mut late_ns: Vec<u64> = late.iter().map(|l| l.load(Ordering::Relaxed)).collect();
    late_ns.sort_unstable();
    Hogged { wakeups: woken.load(Ordering::Relaxed), late_ns, preemptions: preempts_after - preempts_before }
}
