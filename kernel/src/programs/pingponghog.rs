//! `PROG=pingponghog` (run it with GOMAXPROCS=1): Go's `TestPingPongHog`.
//! Two pairs of goroutines bounce a token over an unbuffered channel; one
//! pair does a million units of work per bounce (the hogs), the other a
//! thousand (the light pair). Each bounce readies the partner into
//! `runnext`, where it *inherits* the time slice — so without preemption
//! the pair that holds the P would keep it for ever, passing it back and
//! forth. The 10 ms preemption ends each pair's turn, and both pairs get
//! about the same CPU time.
//!
//! The bound, as Go's: the work counts are within a factor of 5 of each
//! other. With equal CPU time they would differ only by the light pair's
//! channel overhead per thousand units (under a factor of 2); a factor of 5
//! leaves room for a host that stalls a vCPU, while a pair that kept the P
//! would be off by far more than 5 — the other pair would do no work at all.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use super::Args;
use crate::runtime::{self, Chan, Select, time};

pub fn main(args: &Args) -> Result<(), String> {
    let ms = args.n.unwrap_or(500);
    let done = Arc::new(Chan::<bool>::new(0));
    let (hog_chan, light_chan) = (Arc::new(Chan::<bool>::new(0)), Arc::new(Chan::<bool>::new(0)));
    let (hog_count, light_count) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    for (limit, wake, counter) in [(1_000_000, &hog_chan, &hog_count), (1_000, &light_chan, &light_count)] {
        for _ in 0..2 {
            let (done, wake, counter) = (done.clone(), wake.clone(), counter.clone());
            runtime::go(move || bounce(limit, &counter, &wake, &done));
        }
    }
    // Start each pair, and let them run for a few dozen time slices.
    hog_chan.send(true);
    light_chan.send(true);
    time::sleep(ms * 1_000_000);
    done.close();
    hog_chan.recv();
    light_chan.recv();

    let (hog, light) = (hog_count.load(Ordering::Relaxed), light_count.load(Ordering::Relaxed));
    let preemptions: u64 = runtime::p_stats().map(|s| s.preempts).sum();
    crate::println!(
        "pingponghog: gomaxprocs={} ms={ms} hog={hog} light={light} ratio={:.2} preemptions={preemptions}",
        runtime::gomaxprocs(),
        hog as f64 / light.max(1) as f64
    );
    if light == 0 || hog == 0 || hog / light > 5 || light / hog > 5 {
        return Err(format!("want hog/light in [0.2, 5]; got {hog}/{light}"));
    }
    Ok(())
}

/// Go's `run`: wait for the token (or the end), do `limit` units of work,
/// pass the token on.
fn bounce(limit: u64, counter: &AtomicU64, wake: &Chan<bool>, done: &Chan<bool>) {
    loop {
        let woken = Select::new().recv(done, |_, _| false).recv(wake, |_, _| true).run();
        if !woken {
            return;
        }
        let mut work = 0u64;
        for _ in 0..limit {
            work = core::hint::black_box(work + 1);
        }
        counter.fetch_add(work, Ordering::Relaxed);
        wake.send(true);
    }
}
