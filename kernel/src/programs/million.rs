//! `PROG=million`: parks N goroutines (default 1,000,000) on a WaitGroup,
//! measures what each costs, wakes them all and checks that each ran.
//!
//! The cost is measured, not computed: frames in use (stack pages and the
//! page tables that map them) and heap in use (the Gs, the WaitGroup's
//! waiter list) before the first spawn and once all N are parked, divided
//! by N.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU8, Ordering};

use super::Args;
use crate::arch::time::nanotime;
use crate::mm::{PAGE_SIZE, frames, heap};
use crate::runtime::{self, WaitGroup, time};

pub fn main(args: &Args) -> Result<(), String> {
    let n = args.n.unwrap_or(1_000_000) as usize;
    if n == 0 {
        return Err("N must be at least 1".into());
    }
    let ran: Arc<Vec<AtomicU8>> = Arc::new((0..n).map(|_| AtomicU8::new(0)).collect());
    let release = Arc::new(WaitGroup::new());
    let finished = Arc::new(WaitGroup::new());
    release.add(1);
    finished.add(n as i64);

    let (frames0, heap0) = (frames::in_use(), heap::usage().0);
    let t0 = nanotime();
    for i in 0..n {
        let (ran, release, finished) = (ran.clone(), release.clone(), finished.clone());
        runtime::go(move || {
            release.wait();
            ran[i].fetch_add(1, Ordering::Relaxed);
            finished.done();
        });
    }
    while release.waiters() < n {
        time::sleep(1_000_000);
    }
    let t1 = nanotime();
    let (frames1, heap1) = (frames::in_use(), heap::usage().0);
    let bytes = (frames1 - frames0) * PAGE_SIZE + (heap1 - heap0) as u64;
    crate::println!(
        "million: n={n} bytes_per_g={} heap_mb={} frames_mb={} goroutines={} spawn_and_park_ms={}",
        bytes / n as u64,
        heap1 >> 20,
        (frames1 * PAGE_SIZE) >> 20,
        runtime::num_goroutine(),
        (t1 - t0) / 1_000_000
    );

    release.done();
    finished.wait();
    let t2 = nanotime();
    let once = ran.iter().filter(|r| r.load(Ordering::Relaxed) == 1).count();
    crate::println!("million: woke={n} ran_once={once} wake_ms={}", (t2 - t1) / 1_000_000);
    if let Some(i) = ran.iter().position(|r| r.load(Ordering::Relaxed) != 1) {
        return Err(format!("goroutine {i} ran {} times", ran[i].load(Ordering::Relaxed)));
    }
    Ok(())
}
