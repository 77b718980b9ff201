//! `PROG=order` (GOMAXPROCS=1): the order in which N new goroutines
//! (default 6) first run. Each `go` puts the new G in `runnext`, pushing
//! the previous one to the tail of the queue, so the newest runs first and
//! the rest in order: `5 0 1 2 3 4`, as Go prints with GOMAXPROCS=1. With
//! `GODEBUG=runnextoff=1` they queue in order: `0 1 2 3 4 5`.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::Args;
use crate::runtime::{self, WaitGroup};
use crate::sync::IrqLock;

pub fn main(args: &Args) -> Result<(), String> {
    if runtime::gomaxprocs() != 1 {
        return Err("needs GOMAXPROCS=1 (with more Ps, the order depends on who steals what)".into());
    }
    let order = run(args.n.unwrap_or(6) as usize);
    crate::println!("order: {}", order.iter().map(|i| format!("{i}")).collect::<Vec<_>>().join(" "));
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
