//! `PROG=timers` (`N=` iterations of the timeout loop, default 10000):
//! Go's `Timer.Stop`/`Reset` results, `AfterFunc` and `Ticker.Stop`/`Reset`
//! against Go's documentation (Go 1.23 semantics: no stale value after
//! Stop or Reset), then the select-with-timeout loop with and without
//! stopping its timer. One line `timers: <what> ok` per check; the first
//! failure ends the run.

use alloc::string::String;

use super::{Args, check};
use crate::arch::time::nanotime;
use crate::runtime::time::{self, Ticker, Timer, after_func};
use crate::runtime::{Chan, Select};

const MS: u64 = 1_000_000;

pub fn main(args: &Args) -> Result<(), String> {
    let n = args.n.unwrap_or(10_000);
    stop()?;
    reset()?;
    afterfunc()?;
    ticker()?;
    due_at_once(n)?;
    timeout_loop(n)?;
    crate::println!("timers: all ok");
    Ok(())
}

/// "Stop prevents the Timer from firing. It returns true if the call
/// stops the timer, false if the timer has already expired or been
/// stopped." And, Go 1.23: "any receive from t.C after Stop has returned
/// is guaranteed to block rather than receive a stale time value".
fn stop() -> Result<(), String> {
    let t = Timer::new(20 * MS);
    check("stop", t.stop(), "Stop of an armed timer returned false")?;
    check("stop", !t.stop(), "a second Stop returned true")?;
    time::sleep(60 * MS);
    check("stop", t.c.try_recv().is_none(), "a stopped timer sent a value")?;

    let t = Timer::new(MS);
    t.c.recv();
    check("stop", !t.stop(), "Stop after the value was received returned true")?;

    // Fired, value not yet received: Go 1.23 drops it and reports true.
    let t = Timer::new(MS);
    time::sleep(20 * MS);
    check("stop", t.stop(), "Stop of a fired, unreceived timer returned false")?;
    check("stop", t.c.try_recv().is_none(), "a stale value was received after Stop")?;
    crate::println!("timers: stop ok (armed: true, twice: false, after receive: false, unreceived: true and dropped)");
    Ok(())
}

/// "Reset changes the timer to expire after duration d. It returns true if
/// the timer had been active, false if the timer had expired or been
/// stopped."
fn reset() -> Result<(), String> {
    let t = Timer::new(10_000 * MS);
    let t0 = nanotime();
    check("reset", t.reset(5 * MS), "Reset of an active timer returned false")?;
    let (at, _) = t.c.recv();
    check("reset", at >= t0 + 5 * MS, "the reset timer fired before its new deadline")?;
    check("reset", nanotime() - t0 < 5_000 * MS, "the reset timer kept its old deadline")?;

    check("reset", !t.reset(MS), "Reset of a fired, received timer returned true")?;
    t.c.recv();
    t.stop();
    check("reset", !t.reset(MS), "Reset of a stopped timer returned true")?;
    t.c.recv();

    // A value from before the reset is not received (Go 1.23).
    let t = Timer::new(MS);
    time::sleep(20 * MS);
    let t0 = nanotime();
    check("reset", t.reset(30 * MS), "Reset of a fired, unreceived timer returned false")?;
    let (at, _) = t.c.recv();
    check("reset", at >= t0 + 30 * MS, "a stale value was received after Reset")?;
    crate::println!("timers: reset ok (active: true, fired: false, stopped: false, fires at the new deadline, no stale value)");
    Ok(())
}

/// "AfterFunc waits for the duration to elapse and then calls f in its own
/// goroutine. ... Stop returns true if it prevented f from running."
fn afterfunc() -> Result<(), String> {
    let ran: Chan<()> = Chan::new(8);
    let signal = ran.clone();
    let t = after_func(MS, move || {
        let _ = signal.try_send(());
    });
    ran.recv();
    check("after_func", !t.stop(), "Stop after f ran returned true")?;
    check("after_func", !t.reset(MS), "Reset after f ran returned true")?;
    ran.recv(); // runs again after Reset

    let signal = ran.clone();
    let t = after_func(20 * MS, move || {
        let _ = signal.try_send(());
    });
    check("after_func", t.stop(), "Stop before f ran returned false")?;
    time::sleep(60 * MS);
    check("after_func", ran.try_recv().is_none(), "f ran although Stop prevented it")?;
    crate::println!("timers: after_func ok (f runs, again after Reset; Stop before it runs: true, f never runs)");
    Ok(())
}

/// `Ticker.Stop`: "no more ticks will be sent"; `Ticker.Reset`: "stops a
/// ticker and resets its period to the specified duration".
fn ticker() -> Result<(), String> {
    let tk = Ticker::new(2 * MS);
    for _ in 0..3 {
        tk.c.recv();
    }
    tk.stop();
    time::sleep(20 * MS);
    check("ticker", tk.c.try_recv().is_none(), "a tick arrived after Stop")?;

    let tk = Ticker::new(10_000 * MS);
    let t0 = nanotime();
    tk.reset(2 * MS);
    for _ in 0..3 {
        tk.c.recv();
    }
    check("ticker", nanotime() - t0 < 5_000 * MS, "Reset did not change the period")?;
    crate::println!("timers: ticker ok (no tick after Stop; Reset changes the period)");
    Ok(())
}

/// A timer due at once always delivers, new or reset: `n` times each,
/// `Timer::new(0)` and `reset(0)`, then a receive (which would wait for
/// ever, and the run end as a deadlock, if the value were lost — as it
/// was when `reset` dropped stale values after arming, not before).
fn due_at_once(n: u64) -> Result<(), String> {
    let t = Timer::new(0);
    for _ in 0..n {
        Timer::new(0).c.recv();
        t.c.recv();
        t.reset(0);
    }
    crate::println!("timers: due at once ok ({n} new timers and {n} resets of one, each delivered)");
    Ok(())
}

/// Go's `for { select { case v := <-work: ...; case <-timer.C: ... } }`
/// with a 5 s timeout that is never reached: `n` iterations stopping the
/// timer keep the heaps bounded (stopped timers are zombies that leave
/// lazily); `n` iterations that do not stop it leave `n` timers behind.
fn timeout_loop(n: u64) -> Result<(), String> {
    let work: Chan<u64> = Chan::new(1);
    let mut max = 0;
    for i in 0..n {
        work.send(i);
        let t = Timer::new(5_000 * MS);
        Select::new().recv(&work, |_, _| ()).recv(&t.c, |_, _| ()).run();
        t.stop();
        max = max.max(time::heap_timers());
    }
    let (used_before, _) = crate::mm::heap::usage();
    let before = time::heap_timers();
    for i in 0..n {
        work.send(i);
        let t = Timer::new(5_000 * MS);
        Select::new().recv(&work, |_, _| ()).recv(&t.c, |_, _| ()).run();
    }
    let left = time::heap_timers().saturating_sub(before);
    let bytes = crate::mm::heap::usage().0.saturating_sub(used_before);
    crate::println!(
        "timers: timeout loop ok (n={n}; with stop: at most {max} timers in the heaps; without: {left} timers, {bytes} bytes left behind)"
    );
    // `left` may be short by the first loop's zombies (at most `max`),
    // cleaned while the second loop ran.
    check("timeout loop", left + max >= n, "the timers that were not stopped are gone from the heaps")
}
