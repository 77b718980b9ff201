//! `PROG=chantest` (`N=` values per stress test, default 20000): checks the
//! semantics of channels, select, WaitGroup, Mutex, Once and the timer
//! channels, one line `chantest: <what> ok ...` per check; the first
//! failure ends the run with FAILED. The tests in `tests/sync.rs` run it
//! on one and on four cores.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use super::Args;
use crate::arch::time::nanotime;
use crate::runtime::{self, Chan, Mutex, Once, Select, WaitGroup, time};

const MS: u64 = 1_000_000;

pub fn main(args: &Args) -> Result<(), String> {
    let n = args.n.unwrap_or(20_000) as usize;
    fifo(n)?;
    for size in [0, 7] {
        many_senders_and_receivers(n, size)?;
    }
    close_wakes_every_waiter()?;
    closed_channel_drains_then_gives_zero()?;
    select_is_fair()?;
    select_default_never_blocks()?;
    parked_select_fires_one_case()?;
    select_stress(n)?;
    waitgroup_waits_for_all()?;
    mutex_excludes(n)?;
    mutex_starvation_handoff()?;
    once_runs_once()?;
    after_and_ticker()?;
    sleeper_is_not_a_deadlock()?;
    ping_pong_hog()?;
    crate::println!("chantest: all ok");
    Ok(())
}

fn fail<T>(what: &str, detail: String) -> Result<T, String> {
    Err(format!("{what}: {detail}"))
}

/// Values from one sender arrive in the order sent, with four senders on
/// one channel, unbuffered and buffered.
fn fifo(n: usize) -> Result<(), String> {
    const SENDERS: usize = 4;
    let per = (n / SENDERS) as u64;
    for size in [0, 8] {
        let c: Chan<(usize, u64)> = Chan::new(size);
        for id in 0..SENDERS {
            let c = c.clone();
            runtime::go(move || {
                for seq in 0..per {
                    c.send((id, seq));
                }
            });
        }
        let mut next = [0u64; SENDERS];
        for _ in 0..SENDERS as u64 * per {
            let ((id, seq), _) = c.recv();
            if seq != next[id] {
                return fail("fifo", format!("cap={size}: sender {id}'s value #{seq} came when #{} was due", next[id]));
            }
            next[id] += 1;
        }
        crate::println!("chantest: fifo cap={size} ok ({SENDERS} senders x {per} values, each in order)");
    }
    Ok(())
}

/// Every value sent by 8 senders is received exactly once by 8 receivers.
fn many_senders_and_receivers(n: usize, size: usize) -> Result<(), String> {
    const SENDERS: usize = 8;
    const RECEIVERS: usize = 8;
    let c: Chan<usize> = Chan::new(size);
    let seen: Arc<Vec<AtomicU32>> = Arc::new((0..n).map(|_| AtomicU32::new(0)).collect());
    let senders = Arc::new(WaitGroup::new());
    let receivers = Arc::new(WaitGroup::new());
    senders.add(SENDERS as i64);
    receivers.add(RECEIVERS as i64);
    for s in 0..SENDERS {
        let (c, senders) = (c.clone(), senders.clone());
        runtime::go(move || {
            for v in (s..n).step_by(SENDERS) {
                c.send(v);
            }
            senders.done();
        });
    }
    for _ in 0..RECEIVERS {
        let (c, seen, receivers) = (c.clone(), seen.clone(), receivers.clone());
        runtime::go(move || {
            for v in c.iter() {
                seen[v].fetch_add(1, Ordering::Relaxed);
            }
            receivers.done();
        });
    }
    senders.wait();
    c.close();
    receivers.wait();
    let lost = seen.iter().filter(|s| s.load(Ordering::Relaxed) == 0).count();
    let dup = seen.iter().filter(|s| s.load(Ordering::Relaxed) > 1).count();
    if lost != 0 || dup != 0 {
        return fail("mpmc", format!("cap={size}: {lost} values lost, {dup} received twice or more"));
    }
    crate::println!("chantest: mpmc cap={size} ok ({n} values, {SENDERS} senders, {RECEIVERS} receivers, lost=0 dup=0)");
    Ok(())
}

/// Closing a channel wakes every receiver blocked on it — plain receives
/// and selects — each with the zero value and ok=false.
fn close_wakes_every_waiter() -> Result<(), String> {
    const RECEIVERS: usize = 64;
    const SELECTS: usize = 32;
    let c: Chan<u64> = Chan::new(0);
    let other: Chan<u64> = Chan::new(0);
    let wrong = Arc::new(AtomicU64::new(0));
    let wg = Arc::new(WaitGroup::new());
    wg.add((RECEIVERS + SELECTS) as i64);
    for _ in 0..RECEIVERS {
        let (c, wrong, wg) = (c.clone(), wrong.clone(), wg.clone());
        runtime::go(move || {
            if c.recv() != (0, false) {
                wrong.fetch_add(1, Ordering::Relaxed);
            }
            wg.done();
        });
    }
    for _ in 0..SELECTS {
        let (c, other, wrong, wg) = (c.clone(), other.clone(), wrong.clone(), wg.clone());
        runtime::go(move || {
            let got = Select::new().recv(&c, |v, ok| (0, v, ok)).recv(&other, |v, ok| (1, v, ok)).run();
            if got != (0, 0, false) {
                wrong.fetch_add(1, Ordering::Relaxed);
            }
            wg.done();
        });
    }
    // Give them time to park (they would get the same answer if not yet).
    time::sleep(20 * MS);
    c.close();
    wg.wait();
    let wrong = wrong.load(Ordering::Relaxed);
    if wrong != 0 {
        return fail("close", format!("{wrong} waiters did not get (zero, ok=false)"));
    }
    // The selects took their sudogs off `other`: nobody waits there now.
    if other.try_send(1).is_ok() {
        return fail("close", "a select left a waiter queued on its other channel".into());
    }
    crate::println!("chantest: close ok (woke {RECEIVERS} receivers and {SELECTS} selects, each got (0, false))");
    Ok(())
}

/// A closed buffered channel still delivers what it holds, then the zero
/// value with ok=false, forever; `range` ends.
fn closed_channel_drains_then_gives_zero() -> Result<(), String> {
    let c: Chan<u64> = Chan::new(3);
    for v in 1..=3 {
        c.send(v);
    }
    if (c.len(), c.cap()) != (3, 3) {
        return fail("closed", format!("len={} cap={} with 3 of 3 slots used", c.len(), c.cap()));
    }
    c.close();
    let got: Vec<(u64, bool)> = (0..5).map(|_| c.recv()).collect();
    let want = [(1, true), (2, true), (3, true), (0, false), (0, false)];
    if got != want {
        return fail("closed", format!("received {got:?}, expected {want:?}"));
    }
    if c.iter().next().is_some() || c.len() != 0 {
        return fail("closed", "range over a drained closed channel yielded a value".into());
    }
    let s: Chan<String> = Chan::new(0);
    s.close();
    if s.recv() != (String::new(), false) {
        return fail("closed", "a closed Chan<String> did not give (\"\", false)".into());
    }
    crate::println!("chantest: closed ok (buffered values first, then (0, false); range ends)");
    Ok(())
}

/// With two channels always ready, each of 10000 selects picks either
/// with probability 1/2: each count must be within 50% ± 5%.
fn select_is_fair() -> Result<(), String> {
    const ROUNDS: usize = 10_000;
    let chans: [Chan<u64>; 2] = [Chan::new(1), Chan::new(1)];
    for c in &chans {
        c.send(0);
    }
    let mut counts = [0usize; 2];
    for _ in 0..ROUNDS {
        let i = Select::new().recv(&chans[0], |_, _| 0).recv(&chans[1], |_, _| 1).run();
        counts[i] += 1;
        chans[i].send(0);
    }
    let line = format!("a={} b={} of {ROUNDS}", counts[0], counts[1]);
    if counts.iter().any(|&c| !(ROUNDS * 45 / 100..=ROUNDS * 55 / 100).contains(&c)) {
        return fail("select fairness", format!("{line}: outside 50% ± 5%"));
    }
    crate::println!("chantest: select fairness ok ({line})");
    Ok(())
}

/// A select with a default case never waits: not on an empty channel, not
/// on a full one; and a ready case is preferred to the default.
fn select_default_never_blocks() -> Result<(), String> {
    const ROUNDS: usize = 1000;
    let empty: Chan<u64> = Chan::new(0);
    let full: Chan<u64> = Chan::new(1);
    full.send(1);
    for round in 0..ROUNDS {
        let got = Select::new().recv(&empty, |_, _| "recv").send(&full, 2, || "send").default(|| "default").run();
        if got != "default" {
            return fail("select default", format!("round {round}: chose {got} on an empty and a full channel"));
        }
    }
    let ready: Chan<u64> = Chan::new(1);
    ready.send(9);
    let got = Select::new().recv(&ready, |v, ok| Some((v, ok))).default(|| None).run();
    if got != Some((9, true)) {
        return fail("select default", format!("with a value ready, got {got:?}"));
    }
    if !Select::new().default(|| true).run() {
        return fail("select default", "a select with only a default did not run it".into());
    }
    crate::println!("chantest: select default ok ({ROUNDS} non-blocking selects; a ready case beats default)");
    Ok(())
}

/// A select parked on two channels is completed by exactly one of them,
/// and leaves no waiter behind on the other — for receive and send cases.
fn parked_select_fires_one_case() -> Result<(), String> {
    const ROUNDS: u64 = 200;
    for round in 0..ROUNDS {
        let chans: [Chan<u64>; 2] = [Chan::new(0), Chan::new(0)];
        let result: Chan<(usize, u64)> = Chan::new(1);
        let k = (round % 2) as usize;
        {
            let (chans, result) = (chans.clone(), result.clone());
            runtime::go(move || {
                let got = if round % 4 < 2 {
                    Select::new().recv(&chans[0], |v, _| (0, v)).recv(&chans[1], |v, _| (1, v)).run()
                } else {
                    Select::new().send(&chans[0], 100, || (0, 100)).send(&chans[1], 101, || (1, 101)).run()
                };
                result.send(got);
            });
        }
        let want = if round % 4 < 2 {
            chans[k].send(round);
            (k, round)
        } else {
            let (v, _) = chans[k].recv();
            if v != 100 + k as u64 {
                return fail("select wakeup", format!("round {round}: received {v} from a send case's channel {k}"));
            }
            (k, v)
        };
        let (got, _) = result.recv();
        if got != want {
            return fail("select wakeup", format!("round {round}: the select reported {got:?}, expected {want:?}"));
        }
        let other = &chans[1 - k];
        let stale = Select::new().recv(other, |_, _| true).send(other, 7, || true).default(|| false).run();
        if stale {
            return fail("select wakeup", format!("round {round}: a waiter was left on the other channel"));
        }
    }
    // The same channel in two cases (Go's TestSelectDuplicateChannel):
    // locked once, fired once.
    let c: Chan<u64> = Chan::new(0);
    let result: Chan<u64> = Chan::new(1);
    {
        let (c, result) = (c.clone(), result.clone());
        runtime::go(move || result.send(Select::new().recv(&c, |v, _| v).recv(&c, |v, _| v + 100).run()));
    }
    c.send(1);
    let (got, _) = result.recv();
    if got != 1 && got != 101 {
        return fail("select wakeup", format!("a select with one channel twice returned {got}"));
    }
    if c.try_send(2).is_ok() {
        return fail("select wakeup", "a select with one channel twice left a waiter queued".into());
    }
    crate::println!("chantest: select wakeup ok ({ROUNDS} parked selects, one case each, none left queued; duplicate channel)");
    Ok(())
}

/// Producers and consumers that all use selects over an unbuffered and a
/// buffered channel: every value arrives exactly once. Consumers set a
/// channel to nil once it is closed, which disables its case (Go's idiom).
fn select_stress(n: usize) -> Result<(), String> {
    const PRODUCERS: usize = 4;
    const CONSUMERS: usize = 4;
    let a: Chan<usize> = Chan::new(0);
    let b: Chan<usize> = Chan::new(4);
    let seen: Arc<Vec<AtomicU32>> = Arc::new((0..n).map(|_| AtomicU32::new(0)).collect());
    let producers = Arc::new(WaitGroup::new());
    let consumers = Arc::new(WaitGroup::new());
    producers.add(PRODUCERS as i64);
    consumers.add(CONSUMERS as i64);
    for p in 0..PRODUCERS {
        let (a, b, producers) = (a.clone(), b.clone(), producers.clone());
        runtime::go(move || {
            for v in (p..n).step_by(PRODUCERS) {
                Select::new().send(&a, v, || ()).send(&b, v, || ()).run();
            }
            producers.done();
        });
    }
    for _ in 0..CONSUMERS {
        let (mut a, mut b, seen, consumers) = (a.clone(), b.clone(), seen.clone(), consumers.clone());
        runtime::go(move || {
            while !a.is_nil() || !b.is_nil() {
                match Select::new().recv(&a, |v, ok| (0, v, ok)).recv(&b, |v, ok| (1, v, ok)).run() {
                    (_, v, true) => {
                        seen[v].fetch_add(1, Ordering::Relaxed);
                    }
                    (0, _, false) => a = Chan::nil(),
                    (_, _, false) => b = Chan::nil(),
                }
            }
            consumers.done();
        });
    }
    producers.wait();
    a.close();
    b.close();
    consumers.wait();
    let lost = seen.iter().filter(|s| s.load(Ordering::Relaxed) == 0).count();
    let dup = seen.iter().filter(|s| s.load(Ordering::Relaxed) > 1).count();
    if lost != 0 || dup != 0 {
        return fail("select stress", format!("{lost} values lost, {dup} received twice or more"));
    }
    crate::println!("chantest: select stress ok ({n} values via select, {PRODUCERS}+{CONSUMERS} goroutines, lost=0 dup=0)");
    Ok(())
}

/// `wait` returns only after every `done`, for several waiters at once.
fn waitgroup_waits_for_all() -> Result<(), String> {
    const WORKERS: u64 = 100;
    const WAITERS: usize = 3;
    let wg = Arc::new(WaitGroup::new());
    let finished = Arc::new(AtomicU64::new(0));
    let early = Arc::new(AtomicU64::new(0));
    let waiters = Arc::new(WaitGroup::new());
    wg.add(WORKERS as i64);
    waiters.add(WAITERS as i64);
    for i in 0..WORKERS {
        let (wg, finished) = (wg.clone(), finished.clone());
        runtime::go(move || {
            time::sleep((i % 7) * MS);
            finished.fetch_add(1, Ordering::Relaxed);
            wg.done();
        });
    }
    for _ in 0..WAITERS {
        let (wg, finished, early, waiters) = (wg.clone(), finished.clone(), early.clone(), waiters.clone());
        runtime::go(move || {
            wg.wait();
            if finished.load(Ordering::Relaxed) != WORKERS {
                early.fetch_add(1, Ordering::Relaxed);
            }
            waiters.done();
        });
    }
    wg.wait();
    let seen = finished.load(Ordering::Relaxed);
    waiters.wait();
    let early = early.load(Ordering::Relaxed);
    if seen != WORKERS || early != 0 {
        return fail("waitgroup", format!("wait returned with {seen} of {WORKERS} done; {early} other waiters early"));
    }
    crate::println!("chantest: waitgroup ok ({WORKERS} workers, {} waiters, none returned early)", WAITERS + 1);
    Ok(())
}

/// A counter updated by read, pause, write under the mutex by 8
/// goroutines ends exact. Some holders yield the processor inside the
/// critical section, so that waiters really park.
fn mutex_excludes(n: usize) -> Result<(), String> {
    const WORKERS: u64 = 8;
    let iters = (n as u64 / 4).max(1);
    let counter = Arc::new(Mutex::new(0u64));
    let wg = Arc::new(WaitGroup::new());
    wg.add(WORKERS as i64);
    for _ in 0..WORKERS {
        let (counter, wg) = (counter.clone(), wg.clone());
        runtime::go(move || {
            for i in 0..iters {
                let mut c = counter.lock();
                let v = *c;
                for _ in 0..20 {
                    core::hint::spin_loop();
                }
                if i % 64 == 0 {
                    runtime::gosched();
                }
                *c = core::hint::black_box(v) + 1;
            }
            wg.done();
        });
    }
    wg.wait();
    let total = *counter.lock();
    if total != WORKERS * iters {
        return fail("mutex", format!("counter is {total}, expected {}", WORKERS * iters));
    }
    crate::println!("chantest: mutex ok (counter={total} = {WORKERS} x {iters})");
    Ok(())
}

/// Holders that sleep 2 ms inside the lock make waiters wait over 1 ms:
/// the mutex goes into starvation mode and is handed from owner to
/// waiter, and leaves it when the last waiter takes it. Each holder notes
/// the mode it holds the mutex in, by its place in the order of holds (the
/// counter's value): some holds must be in starvation mode, the last must
/// not, and the mode must be left once entered. The holds never overlap:
/// the whole run lasts at least the sum of the sleeps (a sleep never ends
/// early).
fn mutex_starvation_handoff() -> Result<(), String> {
    const WORKERS: u64 = 4;
    const ROUNDS: u64 = 5;
    const HOLD: u64 = 2 * MS;
    const HOLDS: usize = (WORKERS * ROUNDS) as usize;
    let m = Arc::new(Mutex::new(0u64));
    let modes: Arc<Vec<AtomicBool>> = Arc::new((0..HOLDS).map(|_| AtomicBool::new(false)).collect());
    let wg = Arc::new(WaitGroup::new());
    wg.add(WORKERS as i64);
    let start = nanotime();
    for _ in 0..WORKERS {
        let (m, modes, wg) = (m.clone(), modes.clone(), wg.clone());
        runtime::go(move || {
            for _ in 0..ROUNDS {
                let mut c = m.lock();
                let v = *c;
                modes[v as usize % HOLDS].store(m.starving(), Ordering::Relaxed);
                time::sleep(HOLD);
                *c = v + 1;
            }
            wg.done();
        });
    }
    wg.wait();
    let elapsed = nanotime() - start;
    let total = *m.lock();
    if total != WORKERS * ROUNDS {
        return fail("mutex starvation", format!("counter is {total}, expected {}", WORKERS * ROUNDS));
    }
    if elapsed < WORKERS * ROUNDS * HOLD {
        return fail("mutex starvation", format!("{} holds of 2 ms took {} us: they overlapped", WORKERS * ROUNDS, elapsed / 1000));
    }
    // S: held in starvation mode (handed off), N: in normal mode.
    let modes: String = modes.iter().map(|s| if s.load(Ordering::Relaxed) { 'S' } else { 'N' }).collect();
    let entered = modes.find('S');
    let left = entered.is_some_and(|i| modes[i..].contains('N'));
    if entered.is_none() || !left || m.starving() {
        return fail("mutex starvation", format!("modes={modes} (entered={} left={left} starving_now={})", entered.is_some(), m.starving()));
    }
    crate::println!(
        "chantest: mutex starvation ok (counter={total}; {} ms for {} serial 2 ms holds; modes={modes}: entered and left)",
        elapsed / MS,
        WORKERS * ROUNDS
    );
    Ok(())
}

/// 32 goroutines race to `call_once`: the function runs once, and every
/// caller returns only after it has finished.
fn once_runs_once() -> Result<(), String> {
    const CALLERS: usize = 32;
    let once = Arc::new(Once::new());
    let calls = Arc::new(AtomicU64::new(0));
    let value = Arc::new(AtomicU64::new(0));
    let early = Arc::new(AtomicU64::new(0));
    let wg = Arc::new(WaitGroup::new());
    wg.add(CALLERS as i64);
    for _ in 0..CALLERS {
        let (once, calls, value, early, wg) = (once.clone(), calls.clone(), value.clone(), early.clone(), wg.clone());
        runtime::go(move || {
            once.call_once(|| {
                calls.fetch_add(1, Ordering::Relaxed);
                time::sleep(5 * MS);
                value.store(42, Ordering::Relaxed);
            });
            if value.load(Ordering::Relaxed) != 42 {
                early.fetch_add(1, Ordering::Relaxed);
            }
            wg.done();
        });
    }
    wg.wait();
    let (calls, early) = (calls.load(Ordering::Relaxed), early.load(Ordering::Relaxed));
    if calls != 1 || early != 0 {
        return fail("once", format!("the function ran {calls} times; {early} callers returned before it finished"));
    }
    crate::println!("chantest: once ok ({CALLERS} callers, 1 call)");
    Ok(())
}

/// `after(d)` delivers once, no earlier than d; a ticker's k-th tick comes
/// no earlier than k periods, ticks increase, and none come after `stop`;
/// a select with an `after` case times out.
fn after_and_ticker() -> Result<(), String> {
    let start = nanotime();
    let (t, ok) = time::after(20 * MS).recv();
    if !ok || t < start + 20 * MS {
        return fail("after", format!("fired at +{} us with ok={ok}, before 20 ms", t.saturating_sub(start) / 1000));
    }
    const PERIOD: u64 = 5 * MS;
    let start = nanotime();
    let ticker = time::Ticker::new(PERIOD);
    let mut last = start;
    for k in 1..=5 {
        let (t, _) = ticker.c.recv();
        if t < start + k * PERIOD || t <= last {
            return fail("ticker", format!("tick {k} at +{} us (previous +{} us)", (t - start) / 1000, (last - start) / 1000));
        }
        last = t;
    }
    ticker.stop();
    time::sleep(3 * PERIOD);
    let _ = Select::new().recv(&ticker.c, |_, _| ()).default(|| ()).run(); // one tick may have been in flight
    time::sleep(3 * PERIOD);
    if ticker.c.len() != 0 {
        return fail("ticker", "ticks kept coming after stop".into());
    }
    let never: Chan<u64> = Chan::new(0);
    let timeout = time::after(10 * MS);
    let timed_out = Select::new().recv(&never, |_, _| false).recv(&timeout, |_, _| true).run();
    if !timed_out {
        return fail("after", "a select on a silent channel and after(10 ms) did not time out".into());
    }
    crate::println!("chantest: after and ticker ok (5 ticks in order, none after stop, select timeout)");
    Ok(())
}

/// Main blocked on a channel that a sleeping goroutine will send on is
/// not a deadlock: the detector must wait for the sleeper's timer.
fn sleeper_is_not_a_deadlock() -> Result<(), String> {
    let c: Chan<u64> = Chan::new(0);
    {
        let c = c.clone();
        runtime::go(move || {
            time::sleep(50 * MS);
            c.send(7);
        });
    }
    let got = c.recv();
    if got != (7, true) {
        return fail("sleeper", format!("received {got:?} from the sleeper, expected (7, true)"));
    }
    crate::println!("chantest: sleeper ok (main waited 50 ms for a sleeping sender; no deadlock reported)");
    Ok(())
}

/// Go's TestPingPongHog: a ping-pong pair and a goroutine that never
/// yields share the processors; the pair must still finish.
fn ping_pong_hog() -> Result<(), String> {
    const ROUND_TRIPS: u64 = 2000;
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicBool::new(false));
    let spins = Arc::new(AtomicU64::new(0));
    let hog = Arc::new(WaitGroup::new());
    hog.add(1);
    {
        let (stop, started, spins, hog) = (stop.clone(), started.clone(), spins.clone(), hog.clone());
        runtime::go(move || {
            started.store(true, Ordering::Relaxed);
            let mut x = 0u64;
            while !stop.load(Ordering::Relaxed) {
                x = core::hint::black_box(x + 1);
            }
            spins.store(x, Ordering::Relaxed);
            hog.done();
        });
    }
    while !started.load(Ordering::Relaxed) {
        runtime::gosched();
    }
    super::pingpong::rally(ROUND_TRIPS)?;
    stop.store(true, Ordering::Relaxed);
    hog.wait();
    crate::println!(
        "chantest: pingpong hog ok ({ROUND_TRIPS} round trips beside a hog that spun {} times)",
        spins.load(Ordering::Relaxed)
    );
    Ok(())
}
