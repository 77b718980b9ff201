//! `PROG=stackgrow`: goroutines recurse deep enough to grow their stacks
//! through dozens of page faults, check the result, and die; then a second
//! round reuses the dead Gs. Reports the pages faulted in and released.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use super::Args;
use crate::mm::{frames, stack};
use crate::runtime::{self, WaitGroup};

/// Each level keeps a 128-byte array live across the call, so a level costs
/// at least that much stack.
#[inline(never)]
pub(super) fn sum_down(n: u64) -> u64 {
    let frame = core::hint::black_box([n; 16]);
    if n == 0 { 0 } else { frame[(n % 16) as usize].wrapping_add(sum_down(n - 1)) }
}

pub fn main(args: &Args) -> Result<(), String> {
    let depth = args.n.unwrap_or(1200);
    let goroutines = 2 * args.ncpu as u64;
    let expected = depth * (depth + 1) / 2;
    let frames0 = frames::in_use();
    for round in 0..2 {
        let wrong = Arc::new(AtomicU64::new(0));
        // The sum one of the goroutines computed (any: `wrong` counts those
        // that differ from `expected`).
        let sum = Arc::new(AtomicU64::new(0));
        let deepest = Arc::new(AtomicU64::new(0));
        let wg = Arc::new(WaitGroup::new());
        wg.add(goroutines as i64);
        for _ in 0..goroutines {
            let (wrong, sum, deepest, wg) = (wrong.clone(), sum.clone(), deepest.clone(), wg.clone());
            runtime::go(move || {
                let got = sum_down(depth);
                sum.store(got, Ordering::Relaxed);
                if got != expected {
                    wrong.fetch_add(1, Ordering::Relaxed);
                }
                deepest.fetch_max(runtime::stack_mapped(), Ordering::Relaxed);
                wg.done();
            });
        }
        wg.wait();
        // Wait for them to have exited, not just signalled: their stacks
        // shrink in goexit.
        while runtime::num_goroutine() > 1 {
            crate::runtime::time::sleep(1_000_000);
        }
        let (faulted, released) = stack::page_counts();
        crate::println!(
            "stackgrow: round={round} goroutines={goroutines} depth={depth} sum={} expected={expected} wrong={} deepest_kib={} faulted_pages={faulted} released_pages={released} frames_in_use_delta={} redelivered_interrupts={}",
            sum.load(Ordering::Relaxed),
            wrong.load(Ordering::Relaxed),
            deepest.load(Ordering::Relaxed) / 1024,
            frames::in_use() as i64 - frames0 as i64,
            crate::arch::apic::redelivered()
        );
        if wrong.load(Ordering::Relaxed) != 0 {
            return Err(format!("{} goroutines computed a wrong sum", wrong.load(Ordering::Relaxed)));
        }
    }
    Ok(())
}
