//! `PROG=burst`: one goroutine spawns goroutines onto its own P's queue,
//! and the report shows who ran them and how many idle cores were woken.
//! First a burst of N (default 200) goroutines with a little work each:
//! stealing spreads them over the Ps (`GODEBUG=stealoff=1`: the spawner's
//! P runs nearly all). Then 1000 rounds of 3 tiny goroutines, each round
//! awaited: `wakep` wakes one spinning M for a round, and further cores
//! only as that one finds work (`GODEBUG=spinningoff=1`: a core, an IPI,
//! for every new goroutine while a P is idle, though the spawner's own P
//! runs most of them before the woken core gets there). The spins count
//! the times a core out of work spun instead of halting at once (none
//! with `spinningoff=1`).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use super::Args;
use crate::arch::cpu;
use crate::runtime::{self, WaitGroup};

pub fn main(args: &Args) -> Result<(), String> {
    let n = args.n.unwrap_or(200);
    let r = run(args.ncpu, n, 20_000);
    crate::println!(
        "burst: n={n} per_core={} busiest_share={}% steals={} wakeups={} spins={}",
        super::list(r.per_core.iter().copied()),
        r.busiest_share_pct(),
        r.steals,
        r.wakeups,
        r.spins
    );
    let (rounds, per_round) = (1000, 3);
    let (wakeups, spins) = rounds_of(rounds, per_round);
    crate::println!("burst: rounds={rounds} of {per_round} wakeups={wakeups} spins={spins}");
    Ok(())
}

/// `rounds` times: spawn `k` goroutines that do nothing, wait for them.
/// Returns the idle cores woken meanwhile, and the spins.
pub fn rounds_of(rounds: u64, k: u64) -> (u64, u64) {
    let before = runtime::wakeups_and_spins();
    let wg = Arc::new(WaitGroup::new());
    for _ in 0..rounds {
        wg.add(k as i64);
        for _ in 0..k {
            let wg = wg.clone();
            runtime::go(move || wg.done());
        }
        wg.wait();
    }
    let after = runtime::wakeups_and_spins();
    (after.0 - before.0, after.1 - before.1)
}

/// What [`run`] saw.
pub struct Burst {
    /// Goroutines that ran on each core.
    pub per_core: Vec<u64>,
    /// Steals, idle cores woken, and spins during the run.
    pub steals: u64,
    pub wakeups: u64,
    pub spins: u64,
}

impl Burst {
    /// The share of the goroutines that ran on the busiest core, in %.
    /// (Not "the spawner's": a preempted spawner may resume elsewhere.)
    pub fn busiest_share_pct(&self) -> u64 {
        100 * self.per_core.iter().max().unwrap_or(&0) / self.per_core.iter().sum::<u64>().max(1)
    }
}

/// A goroutine spawns `n` goroutines that each loop `work` times, without
/// yielding in between; returns once all have run.
pub fn run(ncpu: usize, n: u64, work: u64) -> Burst {
    let steals_before: u64 = runtime::p_stats().map(|s| s.steals).sum();
    let (wakeups_before, spins_before) = runtime::wakeups_and_spins();
    let per_core: Arc<Vec<AtomicU64>> = Arc::new((0..ncpu).map(|_| AtomicU64::new(0)).collect());
    let wg = Arc::new(WaitGroup::new());
    wg.add(1);
    {
        let (per_core, wg) = (per_core.clone(), wg.clone());
        runtime::go(move || {
            let inner = Arc::new(WaitGroup::new());
            inner.add(n as i64);
            // Queued at once: a preemption in the middle would move the
            // spawner, and the rest of the burst, to another P.
            runtime::without_preemption(|| for _ in 0..n {
                let (per_core, inner) = (per_core.clone(), inner.clone());
                runtime::go(move || {
                    let mut x = 0u64;
                    for i in 0..work {
                        x = core::hint::black_box(x.wrapping_add(i));
                    }
                    per_core[cpu::id()].fetch_add(1, Ordering::Relaxed);
                    inner.done();
                });
            });
            inner.wait();
            wg.done();
        });
    }
    wg.wait();
    Burst {
        per_core: per_core.iter().map(|c| c.load(Ordering::Relaxed)).collect(),
        steals: runtime::p_stats().map(|s| s.steals).sum::<u64>() - steals_before,
        wakeups: runtime::wakeups_and_spins().0 - wakeups_before,
        spins: runtime::wakeups_and_spins().1 - spins_before,
    }
}
