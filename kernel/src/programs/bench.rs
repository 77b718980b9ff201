//! `PROG=bench`: scheduler microbenchmarks, meant for one vCPU under
//! `qemu -icount shift=0,sleep=off` (`make bench`). There every guest
//! instruction advances the virtual clock by exactly 1 ns and the TSC counts
//! virtual nanoseconds, so an `rdtsc` delta is an exact count of the
//! instructions executed in between — including any interrupt handler that
//! ran — and it repeats to the unit from one boot to the next.
//!
//! Each benchmark warms up (a tenth of its iterations: free lists filled,
//! stacks allocated), then times `N` iterations (default 100000); `tick`
//! and `preempt_tick` instead time each tick that lands while a goroutine
//! spins (see [`tick_gaps`]), `mem_parked` parks `N` goroutines, and
//! `select_timer_stop` / `select_after` (see [`timeouts`]), timed last,
//! also count the timers and heap bytes their loop leaves behind. Results
//! are printed only once all have run, so that no console output falls
//! inside a timed region. One line per result:
//!
//! ```text
//! bench: name=yield unit=instructions/yield value=214.7 iterations=200000 ticks=42944609
//! bench: name=chan_buffered unit=instructions/message value=164.4 iterations=100000 ticks=16439236
//! ```
//!
//! `value` is `ticks / iterations` with one decimal. Adding a benchmark is
//! one function `fn(n) -> Measured` and its row in [`BENCHMARKS`].

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};

use super::Args;
use crate::arch::interrupts;
use crate::arch::switch::{Context, switch};
use crate::arch::time::rdtsc;
use crate::mm;
use crate::arch::time::nanotime;
use crate::runtime::g::{G, Status, WaitReason};
use crate::runtime::time::{self, Timer, start_timer};
use crate::runtime::{self, Chan, Select, WaitGroup};

/// What a benchmark measured: `ticks` (instructions, under icount) over `ops`
/// operations.
struct Measured {
    ticks: u64,
    ops: u64,
}

struct Bench {
    name: &'static str,
    unit: &'static str,
    run: fn(u64) -> Measured,
}

/// Every benchmark, in the order they run and print.
const BENCHMARKS: &[Bench] = &[
    Bench { name: "loop", unit: "instructions/iteration", run: loop_ },
    Bench { name: "ctx_switch", unit: "instructions/switch", run: ctx_switch },
    Bench { name: "yield", unit: "instructions/yield", run: yield_ },
    Bench { name: "park_ready", unit: "instructions/pair", run: park_ready },
    Bench { name: "spawn", unit: "instructions/spawn", run: spawn },
    Bench { name: "spawn_many", unit: "instructions/goroutine", run: spawn_many },
    Bench { name: "chan_pingpong", unit: "instructions/round-trip", run: chan_pingpong },
    Bench { name: "chan_buffered", unit: "instructions/message", run: chan_buffered },
    Bench { name: "timer", unit: "instructions/timer", run: timer },
    Bench { name: "tick", unit: "instructions/tick", run: tick },
    Bench { name: "preempt_tick", unit: "instructions/preemption", run: preempt_tick },
];

/// Goroutines spawned per round of `spawn_many`.
const SPAWN_BATCH: u64 = 1000;

pub fn main(args: &Args) -> Result<(), String> {
    if runtime::gomaxprocs() != 1 {
        return Err(format!("needs exactly one P (SMP=1, as `make bench` runs it), not {}", runtime::gomaxprocs()));
    }
    let n = args.n.unwrap_or(100_000);
    if n < SPAWN_BATCH {
        return Err(format!("N={n} is too small: at least {SPAWN_BATCH} iterations"));
    }
    crate::println!("bench: N={n}; timing every benchmark first, then printing the results");
    // Memory first, while no dead goroutine can be reused: every goroutine
    // it parks is then a new one. Its lines print last.
    let memory = memory(n);
    let mut lines = Vec::new();
    for b in BENCHMARKS {
        let m = (b.run)(n);
        lines.push(format!(
            "name={} unit={} value={} iterations={} ticks={}",
            b.name,
            b.unit,
            tenths(m.ticks, m.ops),
            m.ops,
            m.ticks
        ));
    }
    lines.extend(timeouts(n));
    lines.extend(memory);
    for line in &lines {
        crate::println!("bench: {line}");
    }
    crate::println!("bench: done");
    Ok(())
}

/// `a / b` rounded to one decimal, by integer arithmetic (so it prints the
/// same on every run).
fn tenths(a: u64, b: u64) -> String {
    let t = (a as u128 * 10 + b as u128 / 2) / b as u128;
    format!("{}.{}", t / 10, t % 10)
}

/// Warm-up iterations for a benchmark of `n`.
fn warmup(n: u64) -> u64 {
    n / 10
}

/// Runs `body(warmup(n))`, then returns the ticks taken by `body(n)`.
fn timed(n: u64, body: impl Fn(u64)) -> u64 {
    body(warmup(n));
    let t0 = rdtsc();
    body(n);
    rdtsc() - t0
}

/// A check of the method: a loop of exactly two instructions (`dec`, `jnz`),
/// with interrupts off, must measure 2.0 instructions per iteration.
fn loop_(n: u64) -> Measured {
    let saved = interrupts::disable();
    let ticks = timed(n, |k| {
        // SAFETY: only a register is touched, and the count is at least 1,
        // so the loop ends.
        unsafe { core::arch::asm!("2:", "dec {0}", "jnz 2b", inout(reg) k.max(1) => _, options(nomem, nostack)) }
    });
    interrupts::restore(saved);
    Measured { ticks, ops: n }
}

/// The two contexts of [`ctx_switch`].
struct Contexts {
    main: UnsafeCell<Context>,
    partner: UnsafeCell<Context>,
}

/// The partner side of [`ctx_switch`]: switches straight back, for ever.
extern "C" fn ctx_partner(contexts: usize) -> ! {
    // SAFETY: `ctx_switch` passes a pointer to its `Contexts`, alive while
    // it switches here.
    let c = unsafe { &*(contexts as *const Contexts) };
    loop {
        // SAFETY: `main` was saved by the `switch` that brought us here.
        unsafe { switch(c.partner.get(), c.main.get()) };
    }
}

/// The floor: the bare `arch::switch::switch` between two contexts, with
/// interrupts off and no scheduler. Per switch (a round trip is two).
fn ctx_switch(n: u64) -> Measured {
    let stack: Vec<u64> = vec![0; 512];
    let top = (stack.as_ptr() as u64 + 8 * stack.len() as u64) & !15;
    let contexts = Contexts { main: UnsafeCell::new(Context::default()), partner: UnsafeCell::new(Context::default()) };
    // SAFETY: `top` is the 16-byte-aligned end of the 4 KiB `stack`, which
    // outlives every switch to it and which nothing else uses.
    unsafe { *contexts.partner.get() = Context::new(top, ctx_partner, &contexts as *const Contexts as usize) };
    let saved = interrupts::disable();
    let ticks = timed(n, |k| {
        for _ in 0..k {
            // SAFETY: `partner` is a context made by `Context::new` or saved
            // by the partner's own `switch`; its stack is alive.
            unsafe { switch(contexts.main.get(), contexts.partner.get()) };
        }
    });
    interrupts::restore(saved);
    // The partner is left suspended on `stack`, and never resumed.
    drop(stack);
    Measured { ticks, ops: 2 * n }
}

/// Joins the goroutines of one benchmark.
static WG: WaitGroup = WaitGroup::new();

/// `yield`: two goroutines on one P take turns calling `gosched()`. The
/// timer runs the warm-up, then N yields, each answered by one of the
/// partner's: 2N yields in the timed span.
fn yield_(n: u64) -> Measured {
    let stop = Arc::new(AtomicBool::new(false));
    let ticks = Arc::new(AtomicU64::new(0));
    WG.add(2);
    {
        let stop = stop.clone();
        runtime::go(move || {
            while !stop.load(Ordering::Relaxed) {
                runtime::gosched();
            }
            WG.done();
        });
    }
    {
        let (stop, ticks) = (stop.clone(), ticks.clone());
        runtime::go(move || {
            for _ in 0..warmup(n) {
                runtime::gosched();
            }
            let t0 = rdtsc();
            for _ in 0..n {
                runtime::gosched();
            }
            ticks.store(rdtsc() - t0, Ordering::Relaxed);
            stop.store(true, Ordering::Relaxed);
            WG.done();
        });
    }
    WG.wait();
    Measured { ticks: ticks.load(Ordering::Relaxed), ops: 2 * n }
}

/// State shared by the two goroutines of [`park_ready`].
struct PingPong {
    initiator: AtomicPtr<G>,
    responder: AtomicPtr<G>,
    stop: AtomicBool,
    ticks: AtomicU64,
}

/// Parks the running goroutine; once it is off its stack, readies `other`
/// (which must be parked). This is the only way the two goroutines of
/// [`park_ready`] wake each other, so neither can be readied before it has
/// stopped, however they are scheduled.
fn park_then_ready(other: &AtomicPtr<G>) {
    let other = NonNull::new(other.load(Ordering::Relaxed)).expect("the partner has started");
    runtime::gopark(move || runtime::goready(other), WaitReason::Zero);
}

/// `park_ready`: two goroutines wake each other in turn with `gopark` and
/// `goready`. Per pair (one park, one ready, one switch to the other G).
fn park_ready(n: u64) -> Measured {
    let s = Arc::new(PingPong {
        initiator: AtomicPtr::new(ptr::null_mut()),
        responder: AtomicPtr::new(ptr::null_mut()),
        stop: AtomicBool::new(false),
        ticks: AtomicU64::new(0),
    });
    WG.add(2);
    {
        let s = s.clone();
        runtime::go(move || {
            s.responder.store(runtime::getg().as_ptr(), Ordering::Relaxed);
            // Wait for the initiator's first ready.
            runtime::gopark(|| {}, WaitReason::Zero);
            while !s.stop.load(Ordering::Relaxed) {
                park_then_ready(&s.initiator);
            }
            WG.done();
        });
    }
    {
        let s = s.clone();
        runtime::go(move || {
            s.initiator.store(runtime::getg().as_ptr(), Ordering::Relaxed);
            while !NonNull::new(s.responder.load(Ordering::Relaxed))
                // SAFETY: Gs are never freed.
                .is_some_and(|gp| unsafe { gp.as_ref() }.status() == Status::Waiting)
            {
                runtime::gosched();
            }
            // Each round: we park and ready the responder, it parks and
            // readies us — two pairs.
            for _ in 0..warmup(n) {
                park_then_ready(&s.responder);
            }
            let t0 = rdtsc();
            for _ in 0..n {
                park_then_ready(&s.responder);
            }
            s.ticks.store(rdtsc() - t0, Ordering::Relaxed);
            s.stop.store(true, Ordering::Relaxed);
            // The responder parked when it readied us; let it see `stop`.
            runtime::goready(NonNull::new(s.responder.load(Ordering::Relaxed)).expect("responder"));
            WG.done();
        });
    }
    WG.wait();
    Measured { ticks: s.ticks.load(Ordering::Relaxed), ops: 2 * n }
}

/// `spawn`: spawn an empty goroutine and wait for it (WaitGroup), one at a
/// time. Per spawn + run + exit + wait.
fn spawn(n: u64) -> Measured {
    let ticks = timed(n, |k| {
        for _ in 0..k {
            WG.add(1);
            runtime::go(|| WG.done());
            WG.wait();
        }
    });
    Measured { ticks, ops: n }
}

/// `spawn_many`: spawn 1000 empty goroutines, then wait for all of them;
/// one round to warm up, then N/1000 rounds. Per goroutine.
fn spawn_many(n: u64) -> Measured {
    let round = || {
        WG.add(SPAWN_BATCH as i64);
        for _ in 0..SPAWN_BATCH {
            runtime::go(|| WG.done());
        }
        WG.wait();
    };
    round();
    let rounds = n / SPAWN_BATCH;
    let t0 = rdtsc();
    for _ in 0..rounds {
        round();
    }
    Measured { ticks: rdtsc() - t0, ops: rounds * SPAWN_BATCH }
}

/// `chan_pingpong`: a value goes to a partner goroutine over one
/// unbuffered channel and comes back over another (Go's
/// `ping <- v; <-pong`). Per round trip: two sends, two receives, two
/// parks and two readies. Each run spawns the partner once.
fn chan_pingpong(n: u64) -> Measured {
    let ticks = timed(n, |k| {
        let (ping, pong) = (Chan::<u64>::new(0), Chan::<u64>::new(0));
        {
            let (ping, pong) = (ping.clone(), pong.clone());
            runtime::go(move || {
                for v in ping.iter() {
                    pong.send(v);
                }
            });
        }
        for i in 0..k {
            ping.send(i);
            pong.recv();
        }
        ping.close();
    });
    Measured { ticks, ops: n }
}

/// Slots of the channel in [`chan_buffered`].
const BUFFERED_CAP: usize = 128;

/// `chan_buffered`: a goroutine sends values through a channel with a
/// 128-slot buffer to this one, which receives them. Per value: one send
/// and one receive, plus the parks and readies when the buffer fills or
/// empties, shared among the values. Each run spawns the sender once.
fn chan_buffered(n: u64) -> Measured {
    let ticks = timed(n, |k| {
        let c = Chan::<u64>::new(BUFFERED_CAP);
        {
            let c = c.clone();
            runtime::go(move || {
                for i in 0..k {
                    c.send(i);
                }
                c.close();
            });
        }
        while c.recv().1 {}
    });
    Measured { ticks, ops: n }
}

/// The timer's function in [`timer`]: readies the goroutine that armed it.
fn ready_timer(gp: usize) {
    runtime::goready(NonNull::new(gp as *mut G).expect("timer: no goroutine"));
}

/// `timer`: the goroutine arms a timer due now (Go's `time.AfterFunc(0, f)`)
/// whose function readies it, and parks; the scheduler's `checkTimers`
/// fires it and the goroutine runs again. Per arm + park + fire + ready +
/// switch back. As in `time.Sleep`, the timer is armed in gopark's unlock
/// step, once the goroutine is off its stack.
fn timer(n: u64) -> Measured {
    let ticks = timed(n, |k| {
        for _ in 0..k {
            let gp = runtime::getg().as_ptr() as usize;
            runtime::gopark(
                move || {
                    start_timer(nanotime(), ready_timer, gp);
                },
                WaitReason::Sleep,
            );
        }
    });
    Measured { ticks, ops: n }
}

/// What [`tick_gaps`] saw: the summed cost of ticks that did not preempt
/// and of ticks that did, and how many of each.
struct TickGaps {
    quiet: Measured,
    preempting: Measured,
}

/// A gap between two `rdtsc` reads longer than this is an interrupt: the
/// loop of [`tick_gaps`] reads the clock every few instructions.
const GAP: u64 = 64;

/// The cost of timer ticks, seen from a goroutine that spins alone on the P
/// reading the clock: every tick shows up as a gap between two reads, of
/// the tick's instructions plus one loop iteration (the shortest gap seen,
/// subtracted). A tick whose P's `preempts` counter moved preempted the
/// goroutine: its gap also holds `gopreempt_m`, a pass through `schedule`
/// that finds the same goroutine on the global queue, and the switch back
/// (Go preempts a G that ran 10 ms even when nothing else waits, and so
/// does gmpos). Runs until `preemptions` preempting ticks have been seen.
fn tick_gaps(preemptions: u64) -> TickGaps {
    let preempts = || runtime::p_stats().map(|s| s.preempts).sum::<u64>();
    let (mut quiet, mut preempting) = (Measured { ticks: 0, ops: 0 }, Measured { ticks: 0, ops: 0 });
    let mut floor = u64::MAX;
    let mut seen = preempts();
    let mut prev = rdtsc();
    while preempting.ops < preemptions {
        let t = rdtsc();
        let gap = t - prev;
        prev = t;
        if gap <= GAP {
            floor = floor.min(gap);
            continue;
        }
        let now = preempts();
        let into = if now != seen { &mut preempting } else { &mut quiet };
        seen = now;
        // The first gap may be shortened by the warm-up; `floor` is final
        // by the time it matters, as every gap follows many short ones.
        into.ticks += gap - floor.min(gap);
        into.ops += 1;
    }
    TickGaps { quiet, preempting }
}

/// `tick`: a timer tick that does not preempt (it runs this P's due
/// timers, core 0's sysmon step, and checks the time slice). Per tick.
fn tick(n: u64) -> Measured {
    tick_gaps(preemptions(n)).quiet
}

/// `preempt_tick`: a timer tick that preempts the running goroutine, up to
/// the goroutine running again. Per preemption.
fn preempt_tick(n: u64) -> Measured {
    tick_gaps(preemptions(n)).preempting
}

/// Preemptions [`tick_gaps`] waits for in a benchmark of `n`: one per 10 ms
/// of virtual time (10 M instructions), so keep it small.
fn preemptions(n: u64) -> u64 {
    (n / 5000).max(1)
}

/// Memory per parked goroutine: N new goroutines park on one WaitGroup; the
/// growth of heap bytes and frames (stacks and their page tables) while they
/// wait, over N. From that and the memory still free, the number of
/// goroutines that fit (computed, not measured: spawning until memory runs
/// out panics in `newproc`).
/// A timeout longer than any benchmark run: it never fires.
const NEVER_NS: u64 = 3_600_000_000_000;

/// `select_timer_stop` and `select_after`: Go's loop
/// `for { select { case v := <-work: ...; case <-timeout: ... } }` with
/// `work` always ready and a timeout that never fires, per iteration — the
/// timeout a `Timer` stopped after the select, or a `time::after` (which
/// cannot be stopped). After its warm-up and N iterations, each line also
/// gives the timers left in the heaps and the heap bytes left in use. Run
/// after the other benchmarks, which the timers left behind would disturb.
fn timeouts(n: u64) -> [String; 2] {
    let work: Chan<u64> = Chan::new(1);
    [("select_timer_stop", true), ("select_after", false)].map(|(name, stop)| {
        let (timers0, heap0) = (time::heap_timers(), mm::heap::usage().0);
        let ticks = timed(n, |k| {
            for i in 0..k {
                work.send(i);
                if stop {
                    let t = Timer::new(NEVER_NS);
                    Select::new().recv(&work, |_, _| ()).recv(&t.c, |_, _| ()).run();
                    t.stop();
                } else {
                    let timeout = time::after(NEVER_NS);
                    Select::new().recv(&work, |_, _| ()).recv(&timeout, |_, _| ()).run();
                }
            }
        });
        let timers = time::heap_timers().saturating_sub(timers0);
        let bytes = mm::heap::usage().0.saturating_sub(heap0);
        format!(
            "name={name} unit=instructions/iteration value={} iterations={n} ticks={ticks} loops={} timers_left={timers} heap_bytes_left={bytes}",
            tenths(ticks, n),
            n + warmup(n)
        )
    })
}

fn memory(n: u64) -> [String; 2] {
    let (heap0, frames0) = (mm::heap::usage().0 as u64, mm::frames::usage().0);
    let release = Arc::new(WaitGroup::new());
    let parked = Arc::new(AtomicU64::new(0));
    release.add(1);
    WG.add(n as i64);
    for _ in 0..n {
        let (release, parked) = (release.clone(), parked.clone());
        runtime::go(move || {
            parked.fetch_add(1, Ordering::Relaxed);
            release.wait();
            WG.done();
        });
    }
    // With one P, a goroutine that has counted itself has also parked.
    while parked.load(Ordering::Relaxed) < n {
        runtime::gosched();
    }
    let (heap_used, heap_size) = mm::heap::usage();
    let (frames_used, frames_total) = mm::frames::usage();
    let live = runtime::num_goroutine() as u64;
    release.done();
    WG.wait();

    let heap = heap_used as u64 - heap0;
    let frames = frames_used - frames0;
    let free_heap = (heap_size - heap_used) as u64;
    let free_frames = frames_total - frames_used;
    // Whichever runs out first: frames (stacks) or heap (G structs).
    let (by_frames, by_heap) = (free_frames * n / frames.max(1), free_heap * n / heap.max(1));
    let (more, limit) = if by_frames <= by_heap { (by_frames, "frames") } else { (by_heap, "heap") };
    [
        format!(
            "name=mem_parked unit=bytes/goroutine value={} iterations={n} heap_bytes={heap} frames={frames}",
            tenths(heap + frames * mm::PAGE_SIZE, n)
        ),
        format!(
            "name=max_goroutines unit=goroutines value={} iterations={n} limit={limit} free_frames={free_frames} free_heap_bytes={free_heap}",
            live + more
        ),
    ]
}
