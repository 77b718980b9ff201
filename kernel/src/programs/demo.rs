//! `PROG=demo` (the default): a first look at M:N scheduling. Later scenes
//! (stealing, runnext, preemption, handoff, timers, the netpoller) arrive
//! with the features they show.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use super::Args;
use crate::runtime::{self, WaitGroup};

pub fn main(args: &Args) -> Result<(), String> {
    const GOROUTINES: usize = 1000;
    crate::println!("demo: scene 1 — M:N multiplexing");
    crate::println!(
        "demo:   {GOROUTINES} goroutines on {} Ps, run by {} Ms (one per core).",
        runtime::gomaxprocs(),
        args.ncpu
    );
    crate::println!("demo:   look for: every P ran some of them (spawned on one P, spread by stealing).");
    let per_core: Arc<Vec<AtomicU64>> = Arc::new((0..args.ncpu).map(|_| AtomicU64::new(0)).collect());
    let wg = Arc::new(WaitGroup::new());
    wg.add(GOROUTINES as i64);
    for _ in 0..GOROUTINES {
        let (per_core, wg) = (per_core.clone(), wg.clone());
        runtime::go(move || {
            let mut x = 0u64;
            for i in 0..20_000 {
                x = core::hint::black_box(x.wrapping_add(i));
            }
            per_core[crate::arch::cpu::id()].fetch_add(1, Ordering::Relaxed);
            wg.done();
        });
    }
    wg.wait();
    let counts: Vec<String> = per_core.iter().map(|c| format!("{}", c.load(Ordering::Relaxed))).collect();
    crate::println!("demo:   goroutines run per core: [{}]", counts.join(" "));
    crate::println!("demo: done");
    Ok(())
}
