//! `PROG=stwstorm` (`N=` rounds, default 200): the workload of issue 15's
//! "stop-the-world that never ends". First hogs are preempted beside many
//! sleeping timers; then one goroutine stops and starts the world in a
//! loop, another alternates `set_gomaxprocs(2)` and `set_gomaxprocs(3)`,
//! while goroutines keep spawning themselves (`select { case <-stop: ;
//! default: go self() }`). It passes when every stop ends and the
//! self-spawning goroutines all finish; a stop that never ends is caught
//! by the watchdog, which prints the stuck state. Also one of
//! `PROG=torture`'s operations.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::Args;
use super::hog::spin_until;
use crate::arch::time::nanotime;
use crate::runtime::debug::{self, Switch};
use crate::runtime::{self, Chan, Select, WaitGroup, invariants, time, watchdog};

const MS: u64 = 1_000_000;

pub fn main(args: &Args) -> Result<(), String> {
    invariants::set_enabled(true);
    watchdog::arm(30_000 * MS);
    let line = run(args.n.unwrap_or(200), args.ncpu)?;
    crate::println!("stwstorm: {line}");
    Ok(())
}

/// One storm of `rounds` stops and as many GOMAXPROCS changes (between 2
/// and 3, or 1 and `ncpu` on smaller machines); what it did.
pub fn run(rounds: u64, ncpu: usize) -> Result<String, String> {
    // Phase 1: hogs preempted beside sleepers.
    let hogs = ncpu as u64 + 1;
    let stop = Arc::new(AtomicBool::new(false));
    let wg = Arc::new(WaitGroup::new());
    wg.add(hogs as i64 + 200);
    for _ in 0..hogs {
        let (stop, wg) = (stop.clone(), wg.clone());
        runtime::go(move || {
            spin_until(&stop);
            wg.done();
        });
    }
    for i in 0..200 {
        let wg = wg.clone();
        runtime::go(move || {
            time::sleep((1 + i % 40) * MS);
            wg.done();
        });
    }
    time::sleep(30 * MS);
    stop.store(true, Ordering::Relaxed);
    wg.wait();
    watchdog::progress();

    // Phase 2: the stopper, the resizer, and self-spawning goroutines.
    let (small, large) = if ncpu >= 3 { (2, 3) } else { (1, ncpu) };
    let quit: Chan<()> = Chan::new(0);
    let spawned = Arc::new(AtomicU64::new(0));
    let ended = Arc::new(AtomicU64::new(0));
    for _ in 0..4 {
        selfspawn(quit.clone(), spawned.clone(), ended.clone());
    }
    let loops = Arc::new(WaitGroup::new());
    loops.add(2);
    let longest = Arc::new(AtomicU64::new(0));
    {
        let (loops, longest) = (loops.clone(), longest.clone());
        runtime::go(move || {
            for _ in 0..rounds {
                let t0 = nanotime();
                let world = runtime::stop_the_world("stwstorm");
                longest.fetch_max(nanotime() - t0, Ordering::Relaxed);
                runtime::start_the_world(world);
                watchdog::progress();
            }
            loops.done();
        });
    }
    {
        let loops = loops.clone();
        runtime::go(move || {
            for i in 0..rounds {
                let n = if i % 2 == 0 { small } else { large };
                runtime::set_gomaxprocs(n).expect("GOMAXPROCS within 1..=ncpu");
            }
            loops.done();
        });
    }
    loops.wait();
    quit.close();
    // Every self-spawner spawns its successor before it ends: once the
    // count of ended ones (read first) reaches the count spawned, none is
    // left to spawn another.
    while ended.load(Ordering::Acquire) != spawned.load(Ordering::Relaxed) {
        time::sleep(MS / 4);
    }
    runtime::set_gomaxprocs(ncpu)?;
    Ok(format!(
        "rounds={rounds} gomaxprocs={small}<->{large} selfspawned={} longest_stop_us={}",
        spawned.load(Ordering::Relaxed),
        longest.load(Ordering::Relaxed) / 1000
    ))
}

/// A goroutine that, until `quit` is closed, replaces itself with a new one.
///
/// Each successor goes to `runnext` and inherits the time slice, so the
/// chain holds its P until the slice ends. Under `asyncpreemptoff=1` it
/// never would (gmpos has no preemption check at function calls, which Go
/// keeps under that switch): the stopper and the resizer queued behind it
/// would wait for ever. Under `fairnessoff=1` the chains starve the global
/// queue, where the preempted stopper and `main` wait, for as long as they
/// keep the local queue non-empty — for ever with one P and `runnextoff=1`
/// (successors then go to the local queue): what that switch's demo shows,
/// and what a `make torture` hour hit (`SEED=20261202 BOOT=1130`: the
/// watchdog fired with `main` runnable for 30 s). So under either switch
/// each goroutine yields, to the global queue, before it spawns.
fn selfspawn(quit: Chan<()>, spawned: Arc<AtomicU64>, ended: Arc<AtomicU64>) {
    spawned.fetch_add(1, Ordering::Relaxed);
    runtime::go(move || {
        let go_on = Select::new().recv(&quit, |_, _| false).default(|| true).run();
        if go_on && (debug::off(Switch::AsyncPreempt) || debug::off(Switch::Fairness)) {
            runtime::gosched();
        }
        if go_on {
            selfspawn(quit, spawned.clone(), ended.clone());
        }
        ended.fetch_add(1, Ordering::Release);
    });
}
