//! `PROG=torture N=SEED`: a seeded mix of everything the scheduler does,
//! each operation checked, while a second goroutine keeps stopping the
//! world and changing GOMAXPROCS — the rcutorture idea, run by `make
//! torture` (`boot/src/torture.rs`), which boots this again and again with
//! random cores, GOMAXPROCS and GODEBUG.
//!
//! The seed decides the workload: which operations, in which order, with
//! which sizes, and what the chaos goroutine does. (The interleaving is the
//! machine's, which is the point: the same workload, run again, meets other
//! races.) Every stop-the-world checks the runtime's invariants
//! (`runtime::invariants`), and the watchdog (`runtime::watchdog`) turns a
//! hang into a report.
//!
//! Operations, and what each checks:
//! - `spawn`: a burst of goroutines; each ran exactly once;
//! - `stwstorm`: hogs beside sleepers, then stop-the-world and GOMAXPROCS
//!   changes in a loop while goroutines spawn themselves (`programs::
//!   stwstorm`); every stop ends, every self-spawner finishes;
//! - `chan`: producers and consumers on a channel of random capacity;
//!   values received = values sent (count and sum);
//! - `select`: one receiver selecting over two channels, with `default`
//!   polls; every value arrives once;
//! - `mutex`: goroutines incrementing a `Mutex` counter; nothing lost;
//! - `sleep`: sleepers and `time::after`; none wakes early;
//! - `syscall`: blocking calls beside CPU-bound goroutines; all return;
//! - `stack`: deep recursion that grows stacks; the sums are right;
//! - `stw`: stop and start the world, or change GOMAXPROCS, inline.
//!
//! In half the boots (drawn from the seed, apart from the workload's own
//! stream) an echo server on TCP port 7 serves 1–8 client connections,
//! and the HTTP server (`programs::httpd`) on port 80 1–4, that the
//! host's torture runner opens while the operations run and checks byte
//! by byte; the boot ends only once all of them have closed (a client that
//! never comes is a hang the watchdog reports).

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use super::Args;
use super::{echo, httpd};
use super::hog::spin_until;
use super::stackgrow::sum_down;
use super::stwstorm;
use crate::arch::time::nanotime;
use crate::net::TcpListener;
use crate::runtime::{self, Chan, Mutex, Select, WaitGroup, invariants, syscall, time, watchdog};

/// Operations per boot.
const OPS: u64 = 24;
/// No operation may take longer than this (guest time) before the watchdog
/// reports a hang. Generous: 8 vCPUs share 2 host cores under TCG.
const WATCHDOG_NS: u64 = 30_000_000_000;
const MS: u64 = 1_000_000;

/// splitmix64: the workload from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

pub fn main(args: &Args) -> Result<(), String> {
    let seed = args.n.unwrap_or(1);
    let mut rng = Rng(seed);
    invariants::set_enabled(true);
    watchdog::arm(WATCHDOG_NS);
    let net = Net::start(seed)?;
    let chaos = Chaos::start(rng.next(), args.ncpu);
    for i in 0..OPS {
        let what = match rng.next() % 9 {
            0 => spawn(&mut rng),
            1 => stwstorm::run(rng.range(5, 50), args.ncpu).map(|r| format!("stwstorm {r}")),
            2 => chan(&mut rng),
            3 => select(&mut rng),
            4 => mutex(&mut rng),
            5 => sleep(&mut rng),
            6 => blocking(&mut rng),
            7 => stack(&mut rng),
            _ => stw(&mut rng, args.ncpu),
        }
        .map_err(|e| format!("seed={seed} op {i}: {e}"))?;
        crate::println!("torture: op {i} {what}: ok");
        watchdog::progress();
    }
    let (stops, resizes) = chaos.stop();
    let conns = net.map_or(0, Net::wait);
    crate::println!(
        "torture: seed={seed} ops={OPS} ok (chaos: {stops} stops, {resizes} GOMAXPROCS changes, invariants checked at each; \
         net: {conns} connections served)"
    );
    Ok(())
}

fn spawn(rng: &mut Rng) -> Result<String, String> {
    let n = rng.range(1, 3000) as usize;
    let ran: Arc<Vec<AtomicU32>> = Arc::new((0..n).map(|_| AtomicU32::new(0)).collect());
    let wg = Arc::new(WaitGroup::new());
    wg.add(n as i64);
    for i in 0..n {
        let (ran, wg) = (ran.clone(), wg.clone());
        runtime::go(move || {
            ran[i].fetch_add(1, Ordering::Relaxed);
            wg.done();
        });
    }
    wg.wait();
    match ran.iter().position(|r| r.load(Ordering::Relaxed) != 1) {
        Some(i) => Err(format!("spawn n={n}: goroutine {i} ran {} times", ran[i].load(Ordering::Relaxed))),
        None => Ok(format!("spawn n={n}")),
    }
}

fn chan(rng: &mut Rng) -> Result<String, String> {
    let cap = rng.range(0, 8) as usize;
    let (producers, consumers) = (rng.range(1, 4), rng.range(1, 4));
    let per = rng.range(1, 500);
    let c: Chan<u64> = Chan::new(cap);
    let got = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    let sent = Arc::new(WaitGroup::new());
    let received = Arc::new(WaitGroup::new());
    sent.add(producers as i64);
    received.add(consumers as i64);
    for p in 0..producers {
        let (c, sent) = (c.clone(), sent.clone());
        runtime::go(move || {
            for j in 1..=per {
                c.send(p * 1_000_000 + j);
            }
            sent.done();
        });
    }
    for _ in 0..consumers {
        let (c, got, received) = (c.clone(), got.clone(), received.clone());
        runtime::go(move || {
            for v in c.iter() {
                got.0.fetch_add(1, Ordering::Relaxed);
                got.1.fetch_add(v, Ordering::Relaxed);
            }
            received.done();
        });
    }
    sent.wait();
    c.close();
    received.wait();
    let count = producers * per;
    let sum: u64 = (0..producers).map(|p| p * 1_000_000 * per + per * (per + 1) / 2).sum();
    let (n, s) = (got.0.load(Ordering::Relaxed), got.1.load(Ordering::Relaxed));
    if (n, s) != (count, sum) {
        return Err(format!("chan cap={cap}: received {n} values summing to {s}, sent {count} summing to {sum}"));
    }
    Ok(format!("chan cap={cap} producers={producers} consumers={consumers} values={count}"))
}

fn select(rng: &mut Rng) -> Result<String, String> {
    let (cap_a, cap_b) = (rng.range(0, 4) as usize, rng.range(0, 4) as usize);
    let (na, nb) = (rng.range(0, 300), rng.range(0, 300));
    let (a, b): (Chan<u64>, Chan<u64>) = (Chan::new(cap_a), Chan::new(cap_b));
    for (c, n, base) in [(a.clone(), na, 0), (b.clone(), nb, 1_000_000)] {
        runtime::go(move || {
            for j in 1..=n {
                c.send(base + j);
            }
        });
    }
    enum Got {
        Value(u64),
        Nothing,
    }
    let (mut count, mut sum, mut polls) = (0, 0, 0);
    while count < na + nb {
        let mut s = Select::new().recv(&a, |v, _| Got::Value(v)).recv(&b, |v, _| Got::Value(v));
        if count % 3 == 0 {
            s = s.default(|| Got::Nothing);
        }
        match s.run() {
            Got::Value(v) => {
                count += 1;
                sum += v;
            }
            Got::Nothing => {
                polls += 1;
                runtime::gosched();
            }
        }
    }
    let want = na * (na + 1) / 2 + nb * 1_000_000 + nb * (nb + 1) / 2;
    if sum != want {
        return Err(format!("select: received values summing to {sum}, sent {want}"));
    }
    Ok(format!("select caps={cap_a},{cap_b} values={} default_polls={polls}", na + nb))
}

fn mutex(rng: &mut Rng) -> Result<String, String> {
    let (workers, iters) = (rng.range(1, 8), rng.range(1, 300));
    let m = Arc::new(Mutex::new(0u64));
    let wg = Arc::new(WaitGroup::new());
    wg.add(workers as i64);
    for w in 0..workers {
        let (m, wg) = (m.clone(), wg.clone());
        runtime::go(move || {
            for i in 0..iters {
                let mut c = m.lock();
                let v = *c;
                if (w + i) % 16 == 0 {
                    runtime::gosched(); // hold it across a reschedule
                }
                *c = v + 1;
            }
            wg.done();
        });
    }
    wg.wait();
    let total = *m.lock();
    if total != workers * iters {
        return Err(format!("mutex: counter {total}, expected {}", workers * iters));
    }
    Ok(format!("mutex workers={workers} iters={iters}"))
}

fn sleep(rng: &mut Rng) -> Result<String, String> {
    let n = rng.range(1, 50);
    let early = Arc::new(AtomicU64::new(0));
    let wg = Arc::new(WaitGroup::new());
    wg.add(n as i64);
    for i in 0..n {
        let ns = rng.range(0, 3 * MS);
        let (early, wg) = (early.clone(), wg.clone());
        runtime::go(move || {
            let start = nanotime();
            if i % 2 == 0 {
                time::sleep(ns);
            } else {
                time::after(ns).recv();
            }
            if nanotime() < start + ns {
                early.fetch_add(1, Ordering::Relaxed);
            }
            wg.done();
        });
    }
    wg.wait();
    match early.load(Ordering::Relaxed) {
        0 => Ok(format!("sleep sleepers={n}")),
        e => Err(format!("sleep: {e} of {n} sleepers woke early")),
    }
}

fn blocking(rng: &mut Rng) -> Result<String, String> {
    let (callers, spinners) = (rng.range(1, 4), rng.range(0, 4));
    let stop = Arc::new(AtomicBool::new(false));
    let wg = Arc::new(WaitGroup::new());
    wg.add((callers + spinners) as i64);
    for _ in 0..spinners {
        let (stop, wg) = (stop.clone(), wg.clone());
        runtime::go(move || {
            spin_until(&stop);
            wg.done();
        });
    }
    let returned = Arc::new(AtomicU64::new(0));
    let calls = Arc::new(WaitGroup::new());
    calls.add(callers as i64);
    for _ in 0..callers {
        let ns = rng.range(0, 2 * MS);
        let (returned, calls, wg) = (returned.clone(), calls.clone(), wg.clone());
        runtime::go(move || {
            syscall::block_for(ns);
            returned.fetch_add(1, Ordering::Relaxed);
            calls.done();
            wg.done();
        });
    }
    calls.wait();
    stop.store(true, Ordering::Relaxed);
    wg.wait();
    match returned.load(Ordering::Relaxed) {
        r if r == callers => Ok(format!("syscall callers={callers} spinners={spinners}")),
        r => Err(format!("syscall: {r} of {callers} blocking calls returned")),
    }
}

fn stack(rng: &mut Rng) -> Result<String, String> {
    let (n, depth) = (rng.range(1, 8), rng.range(10, 1500));
    let wrong = Arc::new(AtomicU64::new(0));
    let wg = Arc::new(WaitGroup::new());
    wg.add(n as i64);
    for _ in 0..n {
        let (wrong, wg) = (wrong.clone(), wg.clone());
        runtime::go(move || {
            if sum_down(depth) != depth * (depth + 1) / 2 {
                wrong.fetch_add(1, Ordering::Relaxed);
            }
            wg.done();
        });
    }
    wg.wait();
    match wrong.load(Ordering::Relaxed) {
        0 => Ok(format!("stack goroutines={n} depth={depth}")),
        w => Err(format!("stack: {w} of {n} goroutines computed a wrong sum at depth {depth}")),
    }
}

fn stw(rng: &mut Rng, ncpu: usize) -> Result<String, String> {
    if rng.next() % 2 == 0 {
        runtime::start_the_world(runtime::stop_the_world("torture"));
        Ok(String::from("stw stop-start"))
    } else {
        // (The chaos goroutine may change it again at once: nothing to check
        // but that the change is accepted; `invariants` checks the rest.)
        let n = rng.range(1, ncpu as u64) as usize;
        let old = runtime::set_gomaxprocs(n)?;
        Ok(format!("stw gomaxprocs {old}->{n}"))
    }
}

/// The goroutine that stops the world and changes GOMAXPROCS while the
/// operations run, at seeded moments.
struct Chaos {
    stop: Arc<AtomicBool>,
    done: Arc<WaitGroup>,
    counts: Arc<(AtomicU64, AtomicU64)>,
}

impl Chaos {
    fn start(seed: u64, ncpu: usize) -> Chaos {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(WaitGroup::new());
        let counts = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
        done.add(1);
        let (s, d, c) = (stop.clone(), done.clone(), counts.clone());
        runtime::go(move || {
            let mut rng = Rng(seed);
            while !s.load(Ordering::Relaxed) {
                match rng.next() % 4 {
                    0 | 1 => {
                        runtime::start_the_world(runtime::stop_the_world("torture chaos"));
                        c.0.fetch_add(1, Ordering::Relaxed);
                    }
                    2 => {
                        let n = rng.range(1, ncpu as u64) as usize;
                        runtime::set_gomaxprocs(n).expect("GOMAXPROCS within 1..=ncpu");
                        c.1.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => runtime::gosched(),
                }
                time::sleep(rng.range(0, 2 * MS));
            }
            d.done();
        });
        Chaos { stop, done, counts }
    }

    /// Stops the chaos goroutine; how many stops and resizes it made.
    fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.done.wait();
        (self.counts.0.load(Ordering::Relaxed), self.counts.1.load(Ordering::Relaxed))
    }
}

/// The echo and HTTP servers the host's clients use (`boot/src/torture.rs`),
/// in a seeded share of the boots.
struct Net {
    /// Echo connections the host opens (the line that announces the
    /// servers says how many).
    conns: u64,
    /// Echo connections that have ended (the client closed them).
    ended: Arc<AtomicU64>,
    /// HTTP connections the host opens.
    http: u64,
}

impl Net {
    /// Draws from `seed` (on a stream of its own, so the workload of a seed
    /// does not depend on it) whether this boot serves clients, and if so
    /// starts the servers and announces them.
    fn start(seed: u64) -> Result<Option<Net>, String> {
        let mut rng = Rng(seed ^ 0x6e65_7477_6f72_6b21);
        if rng.next() % 2 == 0 {
            return Ok(None);
        }
        let (conns, http) = (rng.range(1, 8), rng.range(1, 4));
        let mut listener = TcpListener::bind(echo::PORT, echo::BACKLOG)
            .map_err(|e| format!("listen on tcp port {}: {e}", echo::PORT))?;
        let ended = Arc::new(AtomicU64::new(0));
        let e = ended.clone();
        runtime::go(move || {
            while let Ok(conn) = listener.accept() {
                let e = e.clone();
                runtime::go(move || {
                    echo::serve(conn);
                    e.fetch_add(1, Ordering::Release);
                });
            }
        });
        runtime::go(|| {
            if let Err(e) = httpd::serve(0) {
                crate::println!("torture: http: {e}");
            }
        });
        crate::println!(
            "torture: net: echo on tcp port {} for {conns} connections, http on port {} for {http} connections",
            echo::PORT,
            httpd::PORT
        );
        Ok(Some(Net { conns, ended, http }))
    }

    /// Waits until the host's connections have all ended; how many did.
    fn wait(self) -> u64 {
        let mut seen = 0;
        while seen < self.conns + self.http {
            time::sleep(10 * MS);
            let ended = self.ended.load(Ordering::Acquire) + httpd::closed();
            if ended > seen {
                seen = ended;
                watchdog::progress();
            }
        }
        seen
    }
}
