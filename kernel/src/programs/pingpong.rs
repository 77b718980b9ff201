//! `PROG=pingpong` (`N=` round trips, default 10000): two goroutines pass
//! a counter back and forth over two unbuffered channels. Every send finds
//! the other goroutine waiting, hands it the value directly and readies it
//! into `runnext`: the pair runs on one P, taking turns.

use alloc::format;
use alloc::string::String;

use super::Args;
use crate::arch::time::nanotime;
use crate::runtime::{self, Chan};

pub fn main(args: &Args) -> Result<(), String> {
    let n = args.n.unwrap_or(10_000);
    let start = nanotime();
    rally(n)?;
    let ns = (nanotime() - start) / n.max(1);
    crate::println!("pingpong: n={n} ok");
    crate::println!("pingpong: {ns} ns per round trip (each: two sends, two receives, two parks)");
    Ok(())
}

/// `n` round trips between this goroutine and a partner, which adds one
/// to every value it is sent; checks every reply.
pub fn rally(n: u64) -> Result<(), String> {
    let ping: Chan<u64> = Chan::new(0);
    let pong: Chan<u64> = Chan::new(0);
    {
        let (ping, pong) = (ping.clone(), pong.clone());
        runtime::go(move || {
            for v in ping.iter() {
                pong.send(v + 1);
            }
        });
    }
    for i in 0..n {
        ping.send(2 * i);
        let (v, ok) = pong.recv();
        if !ok || v != 2 * i + 1 {
            return Err(format!("round {i}: sent {} and got ({v}, {ok}) back", 2 * i));
        }
    }
    ping.close();
    Ok(())
}
