//! `PROG=order` (GOMAXPROCS=1): who runs first on a P, and `runnext`.
//!
//! 1. N new goroutines (default 6) record the order they first run in.
//!    Each `go` puts the new G in `runnext`, pushing the previous one to
//!    the tail of the queue, so the newest runs first and the rest in
//!    order: `5 0 1 2 3 4`, as Go prints with GOMAXPROCS=1.
//! 2. Two goroutines pass a value back and forth 1000 times while 4 others
//!    keep the queue full, yielding to its tail (`goyield`). A send readies
//!    the partner into `runnext`, ahead of the queue, so the yielders get
//!    almost no turns during the rally (only after a preemption).
//!
//! With `GODEBUG=runnextoff=1` the new goroutines run in order,
//! `0 1 2 3 4 5`, and the partner waits behind every yielder: about 8
//! turns of theirs per round trip.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::Args;
use crate::runtime::{self, Chan, WaitGroup};
use crate::sync::IrqLock;

const YIELDERS: u64 = 4;
const ROUNDS: u64 = 1000;

pub fn main(args: &Args) -> Result<(), String> {
    if runtime::gomaxprocs() != 1 {
        return Err("needs GOMAXPROCS=1 (with more Ps, the order depends on who steals what)".into());
    }
    let order = run(args.n.unwrap_or(6) as usize);
    crate::println!("order: {}", order.iter().map(|i| format!("{i}")).collect::<Vec<_>>().join(" "));
    let turns = rally_behind_yielders();
    crate::println!(
        "order: rounds={ROUNDS} yielders={YIELDERS} yielder_turns={turns} per_round={}.{:02}",
        turns / ROUNDS,
        turns * 100 / ROUNDS % 100
    );
    Ok(())
}

/// Spawns `n` goroutines and returns their indices in the order they ran.
pub fn run(n: usize) -> Vec<usize> {
    let log = Arc::new(IrqLock::new(Vec::new()));
    let wg = Arc::new(WaitGroup::new());
    wg.add(n as i64);
    for i in 0..n {
        let (log, wg) = (log.clone(), wg.clone());
        runtime::go(move || {
            log.lock().push(i);
            wg.done();
        });
    }
    wg.wait();
    let order = log.lock().clone();
    order
}

/// [`ROUNDS`] round trips with a partner while [`YIELDERS`] goroutines
/// yield to the tail of the queue; returns their turns during the rally.
fn rally_behind_yielders() -> u64 {
    let (turns, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
    let wg = Arc::new(WaitGroup::new());
    wg.add(YIELDERS as i64);
    for _ in 0..YIELDERS {
        let (turns, stop, wg) = (turns.clone(), stop.clone(), wg.clone());
        runtime::go(move || {
            while !stop.load(Ordering::Relaxed) {
                turns.fetch_add(1, Ordering::Relaxed);
                runtime::goyield();
            }
            wg.done();
        });
    }
    let (ping, pong): (Chan<u64>, Chan<u64>) = (Chan::new(0), Chan::new(0));
    {
        let (ping, pong) = (ping.clone(), pong.clone());
        runtime::go(move || {
            for v in ping.iter() {
                pong.send(v);
            }
        });
    }
    ping.send(0); // the partner is parked in its receive from here on
    pong.recv();
    let before = turns.load(Ordering::Relaxed);
    for i in 0..ROUNDS {
        ping.send(i);
        pong.recv();
    }
    let during = turns.load(Ordering::Relaxed) - before;
    ping.close();
    stop.store(true, Ordering::Relaxed);
    wg.wait();
    during
}
