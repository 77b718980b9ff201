//! `PROG=syscall`: the syscall handoff. The main goroutine queues some
//! goroutines on its P, then blocks in a 200 ms "system call". sysmon takes
//! the P away and hands it (with its queue) to an idle core, so the queued
//! goroutines run while the caller is blocked.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use super::Args;
use crate::arch::{cpu, time::nanotime};
use crate::runtime::{self, WaitGroup, syscall};

const BLOCK_NS: u64 = 200_000_000;

pub fn main(args: &Args) -> Result<(), String> {
    if args.ncpu < 2 {
        return Err("needs at least 2 cores (SMP=2): the handoff goes to another core".into());
    }
    let queued = args.n.unwrap_or(8) as usize;
    let finished_at: Arc<Vec<AtomicU64>> = Arc::new((0..queued).map(|_| AtomicU64::new(0)).collect());
    let ran_on: Arc<Vec<AtomicU64>> = Arc::new((0..queued).map(|_| AtomicU64::new(0)).collect());
    let wg = Arc::new(WaitGroup::new());
    wg.add(queued as i64);
    for i in 0..queued {
        let (finished_at, ran_on, wg) = (finished_at.clone(), ran_on.clone(), wg.clone());
        runtime::go(move || {
            ran_on[i].store(cpu::id() as u64, Ordering::Relaxed);
            finished_at[i].store(nanotime(), Ordering::Relaxed);
            wg.done();
        });
    }
    let my_cpu = cpu::id() as u64;
    let start = nanotime();
    syscall::block_for(BLOCK_NS);
    let end = nanotime();
    wg.wait();
    let during = finished_at.iter().filter(|t| (start..end).contains(&t.load(Ordering::Relaxed))).count();
    let elsewhere = ran_on.iter().filter(|c| c.load(Ordering::Relaxed) != my_cpu).count();
    let handoffs: u64 = runtime::p_stats().map(|s| s.handoffs).sum();
    crate::println!(
        "syscall: gomaxprocs={} blocked_ms={} queued={queued} ran_during_syscall={during} ran_on_other_cores={elsewhere} handoffs={handoffs}",
        runtime::gomaxprocs(),
        (end - start) / 1_000_000
    );
    if during != queued {
        return Err(format!("only {during} of {queued} queued goroutines ran while their P's M was blocked"));
    }
    Ok(())
}
