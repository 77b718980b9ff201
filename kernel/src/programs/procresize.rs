//! `PROG=procresize`: changes GOMAXPROCS 4 → 1 → 3 → 4 (capped at the
//! number of cores) while goroutines run — CPU-bound workers that spawn
//! children and sleepers on timers — and checks that every goroutine ran
//! exactly once: none lost on a P that went away.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU8, Ordering};

use super::Args;
use crate::runtime::{self, WaitGroup, time};

/// A little CPU work, checked by the caller.
fn work(i: u64) -> u64 {
    let mut x = i;
    for _ in 0..2000 {
        x = core::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407));
    }
    x
}

pub fn main(args: &Args) -> Result<(), String> {
    let n = args.n.unwrap_or(4000) as usize;
    let steps: Vec<usize> = [1, 3, 4].iter().map(|&p| p.min(args.ncpu)).collect();
    runtime::set_gomaxprocs(4.min(args.ncpu))?;
    let ran: Arc<Vec<AtomicU8>> = Arc::new((0..n).map(|_| AtomicU8::new(0)).collect());
    let wg = Arc::new(WaitGroup::new());
    wg.add(n as i64);
    // Half the goroutines compute, half sleep on timers (which live on Ps).
    let spawner = {
        let (ran, wg) = (ran.clone(), wg.clone());
        move |i: usize| {
            let (ran, wg) = (ran.clone(), wg.clone());
            runtime::go(move || {
                if i % 2 == 0 {
                    core::hint::black_box(work(i as u64));
                } else {
                    time::sleep(1_000_000 * (1 + i as u64 % 20));
                }
                ran[i].fetch_add(1, Ordering::Relaxed);
                wg.done();
            });
        }
    };
    let per_step = n / steps.len();
    let mut next = 0;
    for (k, &procs) in steps.iter().enumerate() {
        let end = if k + 1 == steps.len() { n } else { next + per_step };
        while next < end {
            spawner(next);
            next += 1;
        }
        let old = runtime::set_gomaxprocs(procs)?;
        crate::println!("procresize: GOMAXPROCS {old} -> {procs} (gomaxprocs={})", runtime::gomaxprocs());
        if runtime::gomaxprocs() != procs {
            return Err(format!("GOMAXPROCS is {} after setting {procs}", runtime::gomaxprocs()));
        }
        // Let the scheduler run a while at this size: long enough for
        // GODEBUG=schedtrace=100 to print a line at each size.
        time::sleep(150_000_000);
    }
    wg.wait();
    let once = ran.iter().filter(|r| r.load(Ordering::Relaxed) == 1).count();
    crate::println!("procresize: n={n} ran_once={once} gomaxprocs={}", runtime::gomaxprocs());
    if let Some(i) = ran.iter().position(|r| r.load(Ordering::Relaxed) != 1) {
        return Err(format!("goroutine {i} ran {} times", ran[i].load(Ordering::Relaxed)));
    }
    Ok(())
}
