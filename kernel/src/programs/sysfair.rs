//! `PROG=sysfair` (`N=` the length of one system call in ns, default
//! 10000): fairness through system calls. A few goroutines per P loop on
//! a short system call (`syscall::busy_for`: enter, busy for `N` ns,
//! exit); main, which is to tell them to stop, yields and measures how
//! long it waits to run again. In Go that is a few time slices: a
//! goroutine coming back from a system call can be preempted, and the
//! P's slice is not reset by a round trip through one. The loopers give
//! up after `GIVE_UP_NS`, so a starved main still gets to report.
//!
//! Prints `sysfair: call_ns=N procs=P loopers=L main_waited_ms=W calls=C`;
//! `tests/gosem.rs` judges W.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::Args;
use crate::arch::time::nanotime;
use crate::runtime::{self, WaitGroup, syscall};

/// How long the loopers keep going if main never stops them.
const GIVE_UP_NS: u64 = 3_000_000_000;
/// Loopers per P, beyond one.
const EXTRA_LOOPERS: usize = 3;

pub fn main(args: &Args) -> Result<(), String> {
    let call_ns = args.n.unwrap_or(10_000);
    if call_ns == 0 || call_ns > 100_000_000 {
        return Err(format!("N={call_ns}: the call length must be 1 ns to 100 ms"));
    }
    let procs = runtime::gomaxprocs();
    let loopers = procs + EXTRA_LOOPERS;
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let wg = Arc::new(WaitGroup::new());
    wg.add(loopers as i64);
    let t0 = nanotime();
    for _ in 0..loopers {
        let (stop, calls, wg) = (stop.clone(), calls.clone(), wg.clone());
        runtime::go(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) && nanotime() - t0 < GIVE_UP_NS {
                syscall::busy_for(call_ns);
                n += 1;
            }
            calls.fetch_add(n, Ordering::Relaxed);
            wg.done();
        });
    }
    // Step aside, as a goroutine waiting for its turn does; come back when
    // the scheduler gives main a P again.
    runtime::gosched();
    let waited = nanotime() - t0;
    stop.store(true, Ordering::Relaxed);
    wg.wait();
    crate::println!(
        "sysfair: call_ns={call_ns} procs={procs} loopers={loopers} main_waited_ms={} calls={}",
        waited / 1_000_000,
        calls.load(Ordering::Relaxed)
    );
    Ok(())
}
