//! `PROG=preempt`: a long checksum, computed once with preemption off (the
//! reference) and once with preemption on, while a goroutine that keeps
//! yielding shares its P (try GOMAXPROCS=1): preempted every 10 ms in the
//! middle of its loop — N=250000000 gives over a thousand preemptions — it
//! must still give the same value: every register survives a preemption.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::Args;
use crate::runtime::{self, WaitGroup};

/// Keeps many values live at once, so a lost register would show.
fn checksum(rounds: u64) -> u64 {
    let (mut a, mut b, mut c, mut d) = (1u64, 2u64, 3u64, 4u64);
    let (mut e, mut f, mut g, mut h) = (5u64, 6u64, 7u64, 8u64);
    for i in 0..rounds {
        a = a.wrapping_add(i ^ h).rotate_left(5);
        b = b.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(a);
        c ^= b.rotate_right(17);
        d = d.wrapping_add(c).wrapping_mul(3);
        e = e.rotate_left(11) ^ d;
        f = f.wrapping_sub(e);
        g = g.wrapping_add(f.rotate_left(23));
        h ^= g.wrapping_mul(5);
        core::hint::black_box(&mut a);
    }
    a ^ b ^ c ^ d ^ e ^ f ^ g ^ h
}

pub fn main(args: &Args) -> Result<(), String> {
    let rounds = args.n.unwrap_or(20_000_000);
    let expected = runtime::without_preemption(|| checksum(rounds));
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        runtime::go(move || {
            while !stop.load(Ordering::Relaxed) {
                runtime::gosched();
            }
        });
    }
    let before: u64 = runtime::p_stats().map(|s| s.preempts).sum();
    let got = Arc::new(AtomicU64::new(0));
    let wg = Arc::new(WaitGroup::new());
    wg.add(1);
    {
        let (got, wg) = (got.clone(), wg.clone());
        runtime::go(move || {
            got.store(checksum(rounds), Ordering::Relaxed);
            wg.done();
        });
    }
    wg.wait();
    stop.store(true, Ordering::Relaxed);
    let preempts = runtime::p_stats().map(|s| s.preempts).sum::<u64>() - before;
    let got = got.load(Ordering::Relaxed);
    crate::println!("preempt: checksum={got:#018x} expected={expected:#018x} preemptions={preempts}");
    if got != expected {
        return Err(format!("checksum {got:#x} != {expected:#x}: state lost across preemption"));
    }
    Ok(())
}
