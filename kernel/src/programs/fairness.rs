//! `PROG=fairness` (GOMAXPROCS=1): what the 1-in-61 look at the global
//! run queue is for. Two goroutines hold the P by yielding to each other
//! through its local queue (`goyield`), N times each (default 5000); the
//! main goroutine yields to the global queue (`gosched`) and counts how
//! many of their turns pass before it runs again. With the check, at most
//! 61 (`findRunnable` takes a G from the global queue every 61st
//! schedtick); with `GODEBUG=fairnessoff=1`, all of them: the local queue
//! is never empty, so the global one is never looked at.

use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use super::Args;
use crate::runtime::{self, WaitGroup};

/// The most turns the main goroutine may wait with the check on: one
/// schedtick period.
pub const BOUND: u64 = 61;

pub fn main(args: &Args) -> Result<(), String> {
    if runtime::gomaxprocs() != 1 {
        return Err("needs GOMAXPROCS=1 (with more Ps, the others steal the yielders)".into());
    }
    let turns = args.n.unwrap_or(5000);
    let waited = run(turns);
    crate::println!("fairness: turns={} waited={waited} bound={BOUND}", 2 * turns);
    Ok(())
}

/// Starts the two yielders, `turns` turns each, then yields to the global
/// queue; returns how many of their turns passed before this G ran again.
pub fn run(turns: u64) -> u64 {
    let passed = Arc::new(AtomicU64::new(0));
    let wg = Arc::new(WaitGroup::new());
    wg.add(2);
    for _ in 0..2 {
        let (passed, wg) = (passed.clone(), wg.clone());
        runtime::go(move || {
            for _ in 0..turns {
                passed.fetch_add(1, Ordering::Relaxed);
                runtime::goyield();
            }
            wg.done();
        });
    }
    runtime::gosched();
    let waited = passed.load(Ordering::Relaxed);
    wg.wait();
    waited
}
