//! `PROG=yield`: K goroutines each call `gosched()` ROUNDS times and log
//! their turns. With GOMAXPROCS=1 the log shows round-robin: yielding puts
//! a G at the back of the global queue, behind every other runnable G.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::Args;
use crate::runtime::{self, WaitGroup};
use crate::sync::IrqLock;

const ROUNDS: usize = 5;

pub fn main(args: &Args) -> Result<(), String> {
    let k = args.n.unwrap_or(4) as usize;
    let log = Arc::new(IrqLock::new(Vec::new()));
    let wg = Arc::new(WaitGroup::new());
    wg.add(k as i64);
    for id in 0..k {
        let (log, wg) = (log.clone(), wg.clone());
        runtime::go(move || {
            for _ in 0..ROUNDS {
                log.lock().push(id);
                runtime::gosched();
            }
            wg.done();
        });
    }
    wg.wait();
    let log = log.lock();
    let turns: Vec<String> = log.iter().map(|id| format!("{id}")).collect();
    crate::println!("yield: goroutines={k} rounds={ROUNDS} gomaxprocs={} turns={}", runtime::gomaxprocs(), turns.join(""));
    for id in 0..k {
        let count = log.iter().filter(|&&x| x == id).count();
        if count != ROUNDS {
            return Err(format!("goroutine {id} took {count} turns, expected {ROUNDS}"));
        }
    }
    Ok(())
}
