//! `PROG=nmiwalk`: the watchdog's stack walk, tried at whatever instruction
//! each core happens to be on. While goroutines on every P spawn children
//! that grow their stacks by page faults, yield, and sleep on timers, the
//! main goroutine samples every other core by NMI N times (default 1000),
//! as the watchdog does, and counts what the walks gave. An NMI lands in
//! prologues and epilogues, interrupt and page-fault handlers and the
//! context switch alike; a walk that read an unmapped word or looped would
//! fault or hang the kernel. Reports the samples answered and the frames
//! the walks found; fails when a core did not answer or the walks found
//! no more than the interrupted instruction itself.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, Ordering};

use super::Args;
use super::stackgrow::sum_down;
use crate::arch::cpu;
use crate::runtime::{self, WaitGroup, time, watchdog};

/// How long a sample waits for the cores' answers: far above an NMI's
/// delivery, so that only a core that never answers counts as missing,
/// not one the host kept off its CPU for a while.
const ANSWER_NS: u64 = 1_000_000_000;

pub fn main(args: &Args) -> Result<(), String> {
    let rounds = args.n.unwrap_or(1000);
    let stop = Arc::new(AtomicBool::new(false));
    let workers = Arc::new(WaitGroup::new());
    let nworkers = 3 * runtime::gomaxprocs();
    workers.add(nworkers as i64);
    for i in 0..nworkers {
        let (stop, workers) = (stop.clone(), workers.clone());
        runtime::go(move || {
            while !stop.load(Ordering::Relaxed) {
                work(i % 3);
            }
            workers.done();
        });
    }
    // A round that never ends is reported with every core's stack.
    watchdog::arm(10 * ANSWER_NS);
    let (mut samples, mut answered, mut frames, mut deepest, mut one_frame) = (0, 0, 0, 0, 0);
    for _ in 0..rounds {
        cpu::sample_others(ANSWER_NS, |_, sample| {
            samples += 1;
            if let Some(s) = sample {
                answered += 1;
                frames += s.stack.len();
                deepest = deepest.max(s.stack.len());
                one_frame += (s.stack.len() == 1) as usize;
            }
        });
        time::sleep(200_000);
        watchdog::progress();
    }
    stop.store(true, Ordering::Relaxed);
    workers.wait();
    let mean = frames as f64 / answered.max(1) as f64;
    crate::println!("nmiwalk: samples={samples} answered={answered} frames_mean={mean:.2} deepest={deepest} one_frame={one_frame}");
    if answered < samples {
        return Err(format!("{} of {samples} samples got no answer", samples - answered));
    }
    if samples > 0 && mean < 2.0 {
        return Err(format!("the walks found {mean:.2} frames on average: they stop at the interrupted instruction"));
    }
    Ok(())
}

/// One unit of a worker's work, by kind: a child that grows its stack by
/// page faults and exits, then a yield; a yield; a 50 µs sleep.
///
/// The first kind yields because a parent waiting for its child and the
/// child hand their P to each other through `runnext`, inheriting the
/// time slice (`schedtick` does not move), so only preemption ends their
/// turn. Under `asyncpreemptoff=1` gmpos has none at all — Go would still
/// preempt them at a function call — and `main`, in a queue, would wait
/// for ever.
fn work(kind: usize) {
    match kind {
        0 => {
            let child = Arc::new(WaitGroup::new());
            child.add(1);
            let done = child.clone();
            runtime::go(move || {
                core::hint::black_box(sum_down(200));
                done.done();
            });
            child.wait();
            runtime::gosched();
        }
        1 => runtime::gosched(),
        _ => time::sleep(50_000),
    }
}
