//! `PROG=tracecost`: what the execution trace costs, measured with the
//! TSC. Under `ICOUNT=1` the TSC counts instructions, so the figures are
//! instruction counts; run it with `GODEBUG=trace=1` (recording) and
//! without (every hook is then a load and a branch).
//!
//! 1. `trace::mark` called N (default 100000) times, minus the same loop
//!    without the call: the cost of one event, including finding the P.
//! 2. A real workload: spawn N goroutines that each do nothing and wait
//!    for them; instructions per goroutine, and the events it recorded.
//!    (With and without tracing, the difference over the events recorded
//!    is the cost per event in the scheduler's own hooks.)

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;

use super::Args;
use crate::arch::time::rdtsc;
use crate::runtime::{self, WaitGroup, trace};

pub fn main(args: &Args) -> Result<(), String> {
    let n = args.n.unwrap_or(100_000);
    // Phase 2 records about 3 events per goroutine on one core, phase 1 one.
    if n == 0 || 4 * n as usize > trace::EVENTS_PER_CPU {
        return Err(format!("N must be 1..={} (one core's trace buffer)", trace::EVENTS_PER_CPU / 4));
    }
    // The calls must not be preempted or moved to another core mid-loop.
    let (base, with) = runtime::without_preemption(|| {
        let t0 = rdtsc();
        for i in 0..n {
            core::hint::black_box(i);
        }
        let t1 = rdtsc();
        for i in 0..n {
            trace::mark(core::hint::black_box(i));
        }
        (t1 - t0, rdtsc() - t1)
    });
    let per_mark = with.saturating_sub(base) as f64 / n as f64;
    crate::println!("tracecost: n={n} loop_tsc={base} marks_tsc={with} per_mark_tsc={per_mark:.1}");

    let wg = Arc::new(WaitGroup::new());
    wg.add(n as i64);
    let events_before = trace::recorded();
    let t0 = rdtsc();
    for _ in 0..n {
        let wg = wg.clone();
        runtime::go(move || wg.done());
    }
    wg.wait();
    let spent = rdtsc() - t0;
    let events = trace::recorded() - events_before;
    crate::println!(
        "tracecost: spawn n={n} tsc={spent} per_goroutine_tsc={:.1} events={events}",
        spent as f64 / n as f64
    );
    Ok(())
}
