//! `PROG=fib`: parallel recursive fork-join Fibonacci. Each call above a
//! cut-off spawns a goroutine for fib(n-1), computes fib(n-2) itself, and
//! joins with a WaitGroup.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use super::Args;
use crate::arch::time;
use crate::runtime::{self, WaitGroup};

/// Below this, recurse sequentially.
const CUTOFF: u64 = 12;

fn fib_seq(n: u64) -> u64 {
    if n < 2 { n } else { fib_seq(n - 1) + fib_seq(n - 2) }
}

fn fib_par(n: u64) -> u64 {
    if n < CUTOFF {
        return fib_seq(n);
    }
    let result = Arc::new(AtomicU64::new(0));
    let wg = Arc::new(WaitGroup::new());
    wg.add(1);
    {
        let (result, wg) = (result.clone(), wg.clone());
        runtime::go(move || {
            result.store(fib_par(n - 1), Ordering::Relaxed);
            wg.done();
        });
    }
    let b = fib_par(n - 2);
    wg.wait();
    result.load(Ordering::Relaxed) + b
}

pub fn main(args: &Args) -> Result<(), String> {
    let n = args.n.unwrap_or(27);
    if n > 90 {
        return Err(format!("N={n} is too large (fib(N) must fit in 64 bits: N <= 90)"));
    }
    let start = time::nanotime();
    let got = fib_par(n);
    let elapsed_us = (time::nanotime() - start) / 1000;
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    crate::println!("fib: fib({n})={got} expected={a} goroutines_spawned={} elapsed_us={elapsed_us}", spawned(n));
    if got != a {
        return Err(format!("fib({n}) = {got}, expected {a}"));
    }
    Ok(())
}

/// How many goroutines `fib_par(n)` spawns.
fn spawned(n: u64) -> u64 {
    if n < CUTOFF { 0 } else { 1 + spawned(n - 1) + spawned(n - 2) }
}
