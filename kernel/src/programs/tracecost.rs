//! `PROG=tracecost`: what one execution-trace event costs. Times N
//! (default 100000) calls of `trace::mark` with the TSC, minus the same
//! loop without the call. Under `ICOUNT=1` the TSC counts instructions, so
//! the figure is instructions per event: run it with `GODEBUG=trace=1`
//! (recording) and without (a hook's cost when tracing is off).

use alloc::format;
use alloc::string::String;

use super::Args;
use crate::arch::time::rdtsc;
use crate::runtime::{self, trace};

pub fn main(args: &Args) -> Result<(), String> {
    let n = args.n.unwrap_or(100_000);
    if n == 0 || n as usize > trace::EVENTS_PER_CPU {
        return Err(format!("N must be 1..={} (one core's trace buffer)", trace::EVENTS_PER_CPU));
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
    let per_event = with.saturating_sub(base) as f64 / n as f64;
    crate::println!("tracecost: n={n} loop_tsc={base} marks_tsc={with} per_event_tsc={per_event:.1}");
    Ok(())
}
