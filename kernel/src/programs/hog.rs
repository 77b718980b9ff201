//! `PROG=hog` (best with GOMAXPROCS=1): one goroutine spins forever and
//! never yields; another wakes every 50 ms and measures how late it is. The
//! 10 ms preemption is what lets the sleeper run at all.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use super::Args;
use crate::arch::time::nanotime;
use crate::runtime::{self, WaitGroup, time};

const PERIOD_NS: u64 = 50_000_000;

/// Starts `n` goroutines that compute for ever and never yield: only
/// preemption takes their P away (httpd's and echo's `N=` uses them to keep
/// every P busy).
pub fn spawn_hogs(n: u64) {
    for _ in 0..n {
        runtime::go(|| {
            let mut x = 0u64;
            loop {
                x = core::hint::black_box(x.wrapping_add(1));
            }
        });
    }
}

pub fn main(args: &Args) -> Result<(), String> {
    let wakeups = args.n.unwrap_or(20);
    spawn_hogs(1);
    let max_late = Arc::new(AtomicU64::new(0));
    let wg = Arc::new(WaitGroup::new());
    wg.add(1);
    {
        let (max_late, wg) = (max_late.clone(), wg.clone());
        runtime::go(move || {
            for _ in 0..wakeups {
                let deadline = nanotime() + PERIOD_NS;
                time::sleep(PERIOD_NS);
                max_late.fetch_max(nanotime() - deadline, Ordering::Relaxed);
            }
            wg.done();
        });
    }
    wg.wait();
    let max_ms = max_late.load(Ordering::Relaxed) as f64 / 1e6;
    let preempts: u64 = runtime::p_stats().map(|s| s.preempts).sum();
    crate::println!("hog: wakeups={wakeups} max_delay_ms={max_ms:.1} preemptions={preempts}");
    if preempts == 0 {
        return Err(format!("the hog was never preempted"));
    }
    Ok(())
}
