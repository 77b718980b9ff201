//! `PROG=chanpanic` (`N=` which misuse, default 0): a goroutine misuses a
//! channel the way Go forbids, and the run must end with Go's panic
//! message naming that goroutine. N=0: send on a closed channel; N=1:
//! close a closed channel; N=2: a `select` send case on a closed channel;
//! N=3: close a nil channel.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;

use super::Args;
use crate::runtime::{self, Chan, Select, WaitGroup};

pub fn main(args: &Args) -> Result<(), String> {
    let misuse = args.n.unwrap_or(0);
    if misuse > 3 {
        return Err(format!("N={misuse}: choose 0 (send), 1 (close), 2 (select send) or 3 (close nil)"));
    }
    let c: Chan<u64> = Chan::new(1);
    c.close();
    let wg = Arc::new(WaitGroup::new());
    wg.add(1);
    {
        let wg = wg.clone();
        runtime::go(move || {
            match misuse {
                0 => c.send(1),
                1 => c.close(),
                3 => Chan::<u64>::nil().close(),
                _ => Select::new().send(&c, 1, || ()).run(),
            }
            wg.done();
        });
    }
    wg.wait();
    Err("the misuse did not panic".into())
}
