//! `PROG=demo` (the default): a guided tour of the scheduler, one idea per
//! scene, in the order of "The Scheduler Saga": many goroutines on few
//! cores, per-P queues and stealing, runnext, preemption, the syscall
//! handoff, timers. Each scene says what it shows and what to look for,
//! runs, and prints what happened. Then the netpoller: the demo serves
//! HTTP until the user quits. docs/guide.md follows it scene by scene.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use super::{Args, hog, httpd, sleep, syscall};
use crate::arch::cpu;
use crate::arch::time::nanotime;
use crate::runtime::{self, Chan, PStats, WaitGroup};

struct Scene {
    title: &'static str,
    what: &'static str,
    look_for: &'static str,
    run: fn(&Args) -> Result<String, String>,
}

const SCENES: &[Scene] = &[
    Scene {
        title: "M:N multiplexing",
        what: "1000 goroutines share the Ps; each core is an M that runs one G at a time.",
        look_for: "every core ran some of them.",
        run: multiplexing,
    },
    Scene {
        title: "work stealing",
        what: "one goroutine spawns 10000 more: all land on its P's run queue (256 slots, overflow to the global queue).",
        look_for: "the other Ps steal half a queue at a time, so every P runs a share; steals > 0.",
        run: stealing,
    },
    Scene {
        title: "runnext",
        what: "two goroutines pass a value back and forth 10000 times over unbuffered channels.",
        look_for: "the partner runs on the sender's core almost every time: a send readies it into runnext, not the stealable queue.",
        run: runnext,
    },
    Scene {
        title: "preemption",
        what: "one goroutine per P spins forever without yielding; a sleeper wants to wake every 50 ms.",
        look_for: "the sleeper is late by about one 10 ms slice at most: the APIC tick preempts each hog when its slice ends.",
        run: preemption,
    },
    Scene {
        title: "syscall handoff",
        what: "a goroutine queues 8 others on its P, then blocks for 200 ms in a (simulated) system call.",
        look_for: "all 8 run before the call returns: sysmon hands the P off, or idle Ps steal its queue.",
        run: handoff,
    },
    Scene {
        title: "timers",
        what: "1000 goroutines sleep random durations up to 200 ms on per-P timer heaps.",
        look_for: "nobody wakes early; lateness is about the 1 ms tick.",
        run: timers,
    },
];

pub fn main(args: &Args) -> Result<(), String> {
    crate::println!(
        "demo: Go's scheduler on {} cores: {} Ps, {} Ms. {} scenes.",
        args.ncpu,
        runtime::gomaxprocs(),
        args.ncpu,
        SCENES.len()
    );
    for (i, scene) in SCENES.iter().enumerate() {
        crate::println!();
        crate::println!("demo: scene {}/{} — {}", i + 1, SCENES.len(), scene.title);
        crate::println!("demo:   what:     {}", scene.what);
        crate::println!("demo:   look for: {}", scene.look_for);
        runtime::trace::mark(i as u64 + 1); // `make trace`: a dashed line per scene
        let result = (scene.run)(args).map_err(|e| format!("scene {}: {e}", i + 1))?;
        crate::println!("demo:   result:   {result}");
    }
    crate::println!();
    crate::println!("demo: done: {} scenes", SCENES.len());
    crate::println!();
    crate::println!("demo: finale — the netpoller, and the scheduler live");
    crate::println!(
        "demo:   what:     httpd serves HTTP on port 80, one goroutine per connection; its page is a live \
         dashboard of this scheduler, fed through the netpoller it shows."
    );
    crate::println!(
        "demo:   look for: open the dashboard in a browser (the URL is the last line below). Spawn a burst \
         and watch the other Ps steal it; run 4 hogs and watch them cut into 10 ms slices (red ticks); set \
         GOMAXPROCS to 1 and watch the lanes fold. Ctrl-A X quits."
    );
    httpd::serve(0)
}

fn multiplexing(args: &Args) -> Result<String, String> {
    const GOROUTINES: usize = 1000;
    let per_core: Arc<Vec<AtomicU64>> = Arc::new((0..args.ncpu).map(|_| AtomicU64::new(0)).collect());
    let wg = Arc::new(WaitGroup::new());
    wg.add(GOROUTINES as i64);
    for _ in 0..GOROUTINES {
        let (per_core, wg) = (per_core.clone(), wg.clone());
        runtime::go(move || {
            let mut x = 0u64;
            for i in 0..20_000 {
                x = core::hint::black_box(x.wrapping_add(i));
            }
            per_core[cpu::id()].fetch_add(1, Ordering::Relaxed);
            wg.done();
        });
    }
    wg.wait();
    let counts: Vec<u64> = per_core.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    if counts.iter().sum::<u64>() != GOROUTINES as u64 {
        return Err(format!("{} goroutines ran, not {GOROUTINES}", counts.iter().sum::<u64>()));
    }
    Ok(format!("goroutines run per core: {}", list(counts)))
}

fn stealing(_: &Args) -> Result<String, String> {
    const GOROUTINES: u64 = 10_000;
    let before: Vec<PStats> = runtime::p_stats().collect();
    let done = Arc::new(AtomicU64::new(0));
    let wg = Arc::new(WaitGroup::new());
    wg.add(1);
    {
        let (done, wg) = (done.clone(), wg.clone());
        runtime::go(move || {
            let inner = Arc::new(WaitGroup::new());
            inner.add(GOROUTINES as i64);
            for _ in 0..GOROUTINES {
                let (done, inner) = (done.clone(), inner.clone());
                runtime::go(move || {
                    let mut x = 0u64;
                    for i in 0..2_000 {
                        x = core::hint::black_box(x.wrapping_add(i));
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                    inner.done();
                });
            }
            inner.wait();
            wg.done();
        });
    }
    wg.wait();
    let after: Vec<PStats> = runtime::p_stats().collect();
    let runs = after.iter().zip(&before).map(|(a, b)| a.runs - b.runs);
    let steals = after.iter().zip(&before).map(|(a, b)| a.steals - b.steals);
    let done = done.load(Ordering::Relaxed);
    if done != GOROUTINES {
        return Err(format!("{done} goroutines ran, not {GOROUTINES}"));
    }
    Ok(format!("Gs run per P: {}; steals per P: {}", list(runs), list(steals)))
}

fn runnext(_: &Args) -> Result<String, String> {
    const ROUNDS: u64 = 10_000;
    let (ping, pong): (Chan<u64>, Chan<u64>) = (Chan::new(0), Chan::new(0));
    {
        let (ping, pong) = (ping.clone(), pong.clone());
        runtime::go(move || {
            for _ in ping.iter() {
                pong.send(cpu::id() as u64);
            }
        });
    }
    let (mut same_core, start) = (0, nanotime());
    for _ in 0..ROUNDS {
        ping.send(0);
        let (partner_core, ok) = pong.recv();
        if !ok {
            return Err("the partner's channel closed".into());
        }
        same_core += u64::from(partner_core == cpu::id() as u64);
    }
    ping.close();
    let ns = (nanotime() - start) / ROUNDS;
    Ok(format!("{ROUNDS} round trips, {ns} ns each; the partner ran on the same core in {same_core} of them"))
}

fn preemption(_: &Args) -> Result<String, String> {
    let r = hog::run(runtime::gomaxprocs(), 10);
    if r.preemptions == 0 {
        return Err("no hog was preempted".into());
    }
    Ok(format!("{} wakeups, latest {:.1} ms late; {} preemptions", r.wakeups, r.max_late_ms(), r.preemptions))
}

fn handoff(args: &Args) -> Result<String, String> {
    if args.ncpu < 2 {
        return Ok("skipped: needs a second core (SMP=2 or more)".into());
    }
    let r = syscall::run(8);
    if r.ran_before_return != 8 {
        return Err(format!("only {} of 8 queued goroutines ran during the call", r.ran_before_return));
    }
    Ok(format!(
        "blocked {} ms; 8 of 8 ran meanwhile, {} on other cores; P handoffs: {}",
        r.blocked_ns / 1_000_000,
        r.ran_elsewhere,
        r.handoffs
    ))
}

fn timers(_: &Args) -> Result<String, String> {
    let l = sleep::sleepers(1000, 200_000_000);
    if l.early != 0 {
        return Err(format!("{} sleepers woke early", l.early));
    }
    Ok(format!("late p50 {} µs, p99 {} µs, max {} µs; early: 0", l.p50_us, l.p99_us, l.max_us))
}

fn list(values: impl IntoIterator<Item = u64>) -> String {
    let items: Vec<String> = values.into_iter().map(|v| format!("{v}")).collect();
    format!("[{}]", items.join(" "))
}
