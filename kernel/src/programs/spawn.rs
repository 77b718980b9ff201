//! `PROG=spawn`: one goroutine spawns N goroutines; each does a little work
//! and signals completion. Work spreads to every P by stealing.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU8, Ordering};

use super::Args;
use crate::arch::time;
use crate::runtime::{self, WaitGroup};

pub fn main(args: &Args) -> Result<(), String> {
    let n = args.n.unwrap_or(100_000) as usize;
    let ran: Arc<Vec<AtomicU8>> = Arc::new((0..n).map(|_| AtomicU8::new(0)).collect());
    let wg = Arc::new(WaitGroup::new());
    let start = time::nanotime();
    wg.add(n as i64);
    let locks0 = crate::sync::global_lock_acquisitions();
    for i in 0..n {
        let (ran, wg) = (ran.clone(), wg.clone());
        runtime::go(move || {
            // A little work: enough that a G is not gone before thieves look.
            let mut x = i as u64;
            for _ in 0..200 {
                x = core::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
            ran[i].fetch_add(1, Ordering::Relaxed);
            wg.done();
        });
    }
    wg.wait();
    let elapsed_us = (time::nanotime() - start) / 1000;
    let locks = crate::sync::global_lock_acquisitions() - locks0;
    let done = ran.iter().filter(|r| r.load(Ordering::Relaxed) == 1).count();
    let (runs, steals): (Vec<u64>, Vec<u64>) = runtime::p_stats().map(|s| (s.runs, s.steals)).unzip();
    let runs_text: Vec<String> = runs.iter().map(|r| format!("{r}")).collect();
    crate::println!(
        "spawn: n={n} done={done} runs=[{}] steals={} elapsed_us={elapsed_us}",
        runs_text.join(" "),
        steals.iter().sum::<u64>()
    );
    crate::println!("spawn: global_lock_acquisitions={locks} per_spawn={:.3}", locks as f64 / n as f64);
    if let Some(i) = ran.iter().position(|r| r.load(Ordering::Relaxed) != 1) {
        return Err(format!("goroutine {i} ran {} times", ran[i].load(Ordering::Relaxed)));
    }
    Ok(())
}
