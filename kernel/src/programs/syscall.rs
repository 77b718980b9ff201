//! `PROG=syscall`: the syscall handoff. The main goroutine queues some
//! goroutines on its P, then blocks in a 200 ms "system call". sysmon takes
//! the P away and hands it (with its queue) to an idle core — or, with no
//! idle core, the other Ps steal the queue — so the queued goroutines run
//! while the caller is blocked.

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
    let r = run(queued);
    crate::println!(
        "syscall: gomaxprocs={} blocked_ms={} queued={queued} ran_before_return={} ran_on_other_cores={} handoffs={}",
        runtime::gomaxprocs(),
        r.blocked_ns / 1_000_000,
        r.ran_before_return,
        r.ran_elsewhere,
        r.handoffs
    );
    if r.ran_before_return != queued {
        return Err(format!(
            "only {} of {queued} queued goroutines ran before the blocking call returned: the rest were stranded",
            r.ran_before_return
        ));
    }
    Ok(())
}

/// What [`run`] saw.
pub struct Blocked {
    pub blocked_ns: u64,
    /// Queued goroutines that finished before the blocking call returned:
    /// none was stranded behind it. (Some may finish before it starts, on
    /// an idle core that stole them; that is not being stranded either.)
    pub ran_before_return: usize,
    /// Queued goroutines that ran on another core than the caller's.
    pub ran_elsewhere: usize,
    /// P handoffs during the run.
    pub handoffs: u64,
}

/// Queues `queued` goroutines on this P, then blocks for 200 ms in
/// `syscall::block_for`.
pub fn run(queued: usize) -> Blocked {
    let handoffs_before: u64 = runtime::p_stats().map(|s| s.handoffs).sum();
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
    // When the call returned: before `exitsyscall`, which may let the
    // queue run first (a preemption requested during the call).
    let end = syscall::block_for(BLOCK_NS);
    wg.wait();
    let handoffs_after: u64 = runtime::p_stats().map(|s| s.handoffs).sum();
    Blocked {
        blocked_ns: end - start,
        ran_before_return: finished_at.iter().filter(|t| (1..end).contains(&t.load(Ordering::Relaxed))).count(),
        ran_elsewhere: ran_on.iter().filter(|c| c.load(Ordering::Relaxed) != my_cpu).count(),
        handoffs: handoffs_after - handoffs_before,
    }
}
