//! `PROG=stw`: every P runs a hog — a goroutine that never yields — and the
//! main goroutine stops the world N times (default 20). While the world is
//! stopped no hog may advance; after it restarts every hog must advance.
//! Every stop preempts the hogs at arbitrary instructions; each hog checks,
//! on every turn of its loop, that the runtime still knows which goroutine
//! it is (`getg` must not read the core it ran on before being moved).
//! Last, another core takes a goroutine dump from its interrupt handler
//! (where Ctrl-\ takes it), which stops the world from interrupt context.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::Args;
use crate::arch::time::nanotime;
use crate::arch::{cpu, smp};
use crate::runtime::{self, start_the_world, stop_the_world, time};

/// Spins for `ns` nanoseconds (the world is stopped: there is no one to
/// yield to, and sleeping would need the scheduler).
fn spin_ns(ns: u64) {
    let end = nanotime() + ns;
    while nanotime() < end {
        core::hint::spin_loop();
    }
}

pub fn main(args: &Args) -> Result<(), String> {
    let stops = args.n.unwrap_or(20);
    let hogs = runtime::gomaxprocs();
    let counters: Arc<Vec<AtomicU64>> = Arc::new((0..hogs).map(|_| AtomicU64::new(0)).collect());
    let wrong_g = Arc::new(AtomicU64::new(0));
    for i in 0..hogs {
        let counters = counters.clone();
        let wrong_g = wrong_g.clone();
        runtime::go(move || {
            let me = runtime::goid();
            loop {
                counters[i].fetch_add(1, Ordering::Relaxed);
                if runtime::goid() != me {
                    wrong_g.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    let snapshot = |c: &Vec<AtomicU64>| c.iter().map(|x| x.load(Ordering::Relaxed)).collect::<Vec<u64>>();
    let mut longest = 0;
    for stop in 0..stops {
        // Let every hog get going again first.
        let before = snapshot(&counters);
        let deadline = nanotime() + 10_000_000_000;
        while snapshot(&counters).iter().zip(&before).any(|(a, b)| a == b) {
            if nanotime() > deadline {
                return Err(format!("stop {stop}: some hog made no progress for 10 s: {:?}", snapshot(&counters)));
            }
            time::sleep(1_000_000);
        }
        let t0 = nanotime();
        let world = stop_the_world("stw test");
        let took = nanotime() - t0;
        longest = longest.max(took);
        let frozen = snapshot(&counters);
        spin_ns(5_000_000);
        let later = snapshot(&counters);
        start_the_world(world);
        if frozen != later {
            return Err(format!("stop {stop}: hogs ran while the world was stopped: {frozen:?} -> {later:?}"));
        }
    }
    let wrong_g = wrong_g.load(Ordering::Relaxed);
    if wrong_g != 0 {
        return Err(format!("{wrong_g} times a preempted hog was told it was another goroutine"));
    }
    crate::println!("stw: stops={stops} hogs={hogs} frozen=ok getg=ok longest_stop_us={}", longest / 1000);

    static DUMPED: AtomicBool = AtomicBool::new(false);
    let other = (cpu::id() + 1) % args.ncpu;
    smp::call(
        other,
        |_| {
            runtime::sigquit();
            DUMPED.store(true, Ordering::Release);
        },
        0,
    )?;
    let deadline = nanotime() + 10_000_000_000;
    while !DUMPED.load(Ordering::Acquire) {
        if nanotime() > deadline {
            return Err("the goroutine dump from an interrupt handler did not finish in 10 s".into());
        }
        time::sleep(1_000_000);
    }
    crate::println!("stw: dump from interrupt context on cpu {other} done");
    Ok(())
}
