//! `PROG=gosync` (`N=` operations per stress test, default 20000): Go's
//! `Mutex.TryLock`, `RWMutex` and `Cond`, one line `gosync: <what> ok`
//! per check; the first failure ends the run. (`PROG=chantest` checks
//! `Mutex`, `Once` and `WaitGroup`.)

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use super::{Args, check};
use crate::runtime::{self, Chan, Cond, Mutex, RWMutex, WaitGroup, time};

const MS: u64 = 1_000_000;

pub fn main(args: &Args) -> Result<(), String> {
    let n = args.n.unwrap_or(20_000) as u64;
    try_lock()?;
    readers_share()?;
    writers_exclude(n)?;
    writer_preferred()?;
    cond_signal_and_broadcast()?;
    cond_queue(n)?;
    crate::println!("gosync: all ok");
    Ok(())
}

/// Go 1.18's `TryLock`: succeeds on a free mutex, fails on a held one
/// (from another goroutine too), succeeds again once it is unlocked.
fn try_lock() -> Result<(), String> {
    let mu = Arc::new(Mutex::new(0u64));
    let g = mu.try_lock();
    check("try_lock", g.is_some(), "TryLock of a free mutex failed")?;
    check("try_lock", mu.try_lock().is_none(), "TryLock of a held mutex succeeded")?;
    let other: Chan<bool> = Chan::new(1);
    {
        let (mu, other) = (mu.clone(), other.clone());
        runtime::go(move || other.send(mu.try_lock().is_some()));
    }
    check("try_lock", !other.recv().0, "TryLock from another goroutine got a held mutex")?;
    drop(g);
    check("try_lock", mu.try_lock().is_some(), "TryLock after Unlock failed")?;
    let rw = RWMutex::new(());
    let r = rw.rlock();
    check("try_lock", rw.try_lock().is_none(), "RWMutex.TryLock succeeded with a reader in")?;
    check("try_lock", rw.try_rlock().is_some(), "RWMutex.TryRLock failed with only readers in")?;
    drop(r);
    let w = rw.try_lock();
    check("try_lock", w.is_some(), "RWMutex.TryLock of a free lock failed")?;
    check("try_lock", rw.try_rlock().is_none(), "RWMutex.TryRLock succeeded with a writer in")?;
    crate::println!("gosync: try_lock ok (Mutex and RWMutex: free: taken, held: refused, freed: taken)");
    Ok(())
}

/// Eight readers hold the read lock at once: each waits, holding it, until
/// all eight are in (with exclusive readers this would never end).
fn readers_share() -> Result<(), String> {
    const READERS: i64 = 8;
    let rw = Arc::new(RWMutex::new(7u64));
    let inside = Arc::new(WaitGroup::new());
    let done = Arc::new(WaitGroup::new());
    inside.add(READERS);
    done.add(READERS);
    let sum = Arc::new(AtomicU32::new(0));
    for _ in 0..READERS {
        let (rw, inside, done, sum) = (rw.clone(), inside.clone(), done.clone(), sum.clone());
        runtime::go(move || {
            let r = rw.rlock();
            inside.done();
            inside.wait();
            sum.fetch_add(*r as u32, Ordering::Relaxed);
            drop(r);
            done.done();
        });
    }
    done.wait();
    check("readers share", sum.load(Ordering::Relaxed) == 7 * READERS as u32, "a reader read the wrong value")?;
    crate::println!("gosync: readers share ok ({READERS} readers held the read lock at once)");
    Ok(())
}

/// Writers exclude readers and each other: four writers each add 1 to
/// both halves of a pair `n/4` times, yielding in between; four readers
/// check that the halves are always equal.
fn writers_exclude(n: u64) -> Result<(), String> {
    const WRITERS: u64 = 4;
    const READERS: u64 = 4;
    let rw = Arc::new(RWMutex::new((0u64, 0u64)));
    let torn = Arc::new(AtomicU32::new(0));
    let wg = Arc::new(WaitGroup::new());
    wg.add((WRITERS + READERS) as i64);
    let per = n / WRITERS;
    for _ in 0..WRITERS {
        let (rw, wg) = (rw.clone(), wg.clone());
        runtime::go(move || {
            for i in 0..per {
                let mut w = rw.lock();
                w.0 += 1;
                if i % 64 == 0 {
                    runtime::gosched(); // holding the lock: nobody may get in
                }
                w.1 += 1;
                drop(w);
            }
            wg.done();
        });
    }
    for _ in 0..READERS {
        let (rw, wg, torn) = (rw.clone(), wg.clone(), torn.clone());
        runtime::go(move || {
            for _ in 0..per {
                let r = rw.rlock();
                if r.0 != r.1 {
                    torn.fetch_add(1, Ordering::Relaxed);
                }
            }
            wg.done();
        });
    }
    wg.wait();
    let (a, b) = *rw.rlock();
    let torn = torn.load(Ordering::Relaxed);
    check("writers exclude", (a, b, torn) == (WRITERS * per, WRITERS * per, 0), &format!("pair=({a},{b}) torn={torn}"))?;
    crate::println!("gosync: writers exclude ok ({WRITERS} writers x {per}, {READERS} readers, pair=({a},{b}) torn=0)");
    Ok(())
}

/// Go's writer preference: with a reader in and a writer waiting, a new
/// reader waits for the writer (TryRLock fails, RLock returns after the
/// writer is done).
fn writer_preferred() -> Result<(), String> {
    let rw = Arc::new(RWMutex::new(Vec::<&'static str>::new()));
    let first = rw.rlock();
    let wg = Arc::new(WaitGroup::new());
    wg.add(2);
    {
        let (rw, wg) = (rw.clone(), wg.clone());
        runtime::go(move || {
            rw.lock().push("writer");
            wg.done();
        });
    }
    // Wait until the writer has announced itself (a negative reader count).
    let mut tries = 0;
    while rw.try_rlock().is_some() {
        tries += 1;
        check("writer preferred", tries < 10_000, "the writer never announced itself")?;
        time::sleep(MS / 10);
    }
    {
        let (rw, wg) = (rw.clone(), wg.clone());
        runtime::go(move || {
            let r = rw.rlock();
            let seen = r.clone();
            drop(r);
            rw.lock().push(if seen.is_empty() { "reader before writer" } else { "reader" });
            wg.done();
        });
    }
    time::sleep(10 * MS); // the new reader blocks in RLock meanwhile
    drop(first);
    wg.wait();
    let order = rw.rlock().clone();
    check("writer preferred", order == ["writer", "reader"], &format!("order {order:?}"))?;
    crate::println!("gosync: writer preferred ok (a reader arriving behind a waiting writer got in after it)");
    Ok(())
}

/// `Signal` wakes exactly one waiter, `Broadcast` all of them.
fn cond_signal_and_broadcast() -> Result<(), String> {
    const WAITERS: u32 = 6;
    let state = Arc::new((Mutex::new(0u32), Cond::new()));
    let woken = Arc::new(AtomicU32::new(0));
    let wg = Arc::new(WaitGroup::new());
    wg.add(WAITERS as i64);
    let ready = Arc::new(WaitGroup::new());
    ready.add(WAITERS as i64);
    for _ in 0..WAITERS {
        let (state, woken, wg, ready) = (state.clone(), woken.clone(), wg.clone(), ready.clone());
        runtime::go(move || {
            let (mu, cond) = &*state;
            let mut g = mu.lock();
            ready.done();
            let start = *g;
            while *g == start {
                g = cond.wait(g);
            }
            woken.fetch_add(1, Ordering::Relaxed);
            drop(g);
            wg.done();
        });
    }
    ready.wait();
    let (mu, cond) = &*state;
    // Every waiter is parked in Wait (or about to be: it took its ticket
    // under the mutex, which we take now).
    *mu.lock() += 1;
    cond.signal();
    // Wait for the one woken, then give any other (wrongly) woken time to
    // show up.
    let mut waited = 0;
    while woken.load(Ordering::Relaxed) == 0 && waited < 10_000 {
        time::sleep(MS);
        waited += 1;
    }
    time::sleep(20 * MS);
    let after_signal = woken.load(Ordering::Relaxed);
    *mu.lock() += 1;
    cond.broadcast();
    wg.wait();
    check("cond", after_signal == 1, &format!("Signal woke {after_signal} waiters, not 1"))?;
    crate::println!("gosync: cond signal and broadcast ok (Signal woke 1 of {WAITERS}, Broadcast the rest)");
    Ok(())
}

/// A bounded queue on one Mutex and two Conds (Go's classic): a producer
/// and a consumer pass `n` values through 4 slots, in order, none lost.
fn cond_queue(n: u64) -> Result<(), String> {
    const SLOTS: usize = 4;
    struct Queue {
        mu: Mutex<alloc::collections::VecDeque<u64>>,
        not_empty: Cond,
        not_full: Cond,
    }
    let q = Arc::new(Queue { mu: Mutex::new(Default::default()), not_empty: Cond::new(), not_full: Cond::new() });
    {
        let q = q.clone();
        runtime::go(move || {
            for v in 0..n {
                let mut g = q.mu.lock();
                while g.len() == SLOTS {
                    g = q.not_full.wait(g);
                }
                g.push_back(v);
                q.not_empty.signal();
            }
        });
    }
    for want in 0..n {
        let mut g = q.mu.lock();
        while g.is_empty() {
            g = q.not_empty.wait(g);
        }
        let v = g.pop_front().unwrap_or(u64::MAX);
        q.not_full.signal();
        check("cond queue", v == want, &format!("received {v}, expected {want}"))?;
    }
    crate::println!("gosync: cond queue ok ({n} values through {SLOTS} slots, in order)");
    Ok(())
}
