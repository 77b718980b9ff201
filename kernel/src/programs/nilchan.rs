//! `PROG=nilchan`: the nil channel, Go's zero value of a channel type.
//! Checks, one line `nilchan: <what> ok` each:
//!
//! - `merge`: Go's disable-a-case loop — a select over two channels that
//!   sets each one to nil once it is closed, until both are nil; every
//!   value arrives once and each close is seen exactly once;
//! - `select`: a case on a nil channel is never ready (`default` runs, a
//!   timeout fires), and a nil `try_send` gives its value back;
//! - `blocked`: goroutines that send, receive or select on nil channels
//!   block for good and show Go's wait reasons in the goroutine dump.
//!
//! `PROG=deadlock` shows them counted by the deadlock detector and
//! `PROG=chanpanic N=3` the panic of closing a nil channel.

use alloc::format;
use alloc::string::String;
use core::sync::atomic::{AtomicU32, Ordering};

use super::Args;
use crate::runtime::{self, Chan, Select, time};

pub fn main(_args: &Args) -> Result<(), String> {
    merge()?;
    select()?;
    blocked()?;
    crate::println!("nilchan: all ok");
    Ok(())
}

/// A channel on which `n` values `first..first + n` are sent, then closed.
fn producer(first: u64, n: u64) -> Chan<u64> {
    let c = Chan::new(0);
    let tx = c.clone();
    runtime::go(move || {
        for v in first..first + n {
            tx.send(v);
        }
        tx.close();
    });
    c
}

/// Go's loop:
///
/// ```go
/// for in1 != nil || in2 != nil {
///     select {
///     case v, ok := <-in1:
///         if !ok { in1 = nil; continue }
///         sum += v
///     case v, ok := <-in2:
///         if !ok { in2 = nil; continue }
///         sum += v
///     }
/// }
/// ```
fn merge() -> Result<(), String> {
    enum Got {
        Value(u64),
        Closed1,
        Closed2,
    }
    let (n1, n2) = (1000, 500);
    let mut in1 = producer(0, n1);
    let mut in2 = producer(n1, n2);
    let (mut sum, mut count, mut closes) = (0, 0, 0);
    while !in1.is_nil() || !in2.is_nil() {
        let got = Select::new()
            .recv(&in1, |v, ok| if ok { Got::Value(v) } else { Got::Closed1 })
            .recv(&in2, |v, ok| if ok { Got::Value(v) } else { Got::Closed2 })
            .run();
        match got {
            Got::Value(v) => {
                sum += v;
                count += 1;
            }
            Got::Closed1 => {
                in1 = Chan::nil();
                closes += 1;
            }
            Got::Closed2 => {
                in2 = Chan::nil();
                closes += 1;
            }
        }
    }
    let total = n1 + n2;
    let want = total * (total - 1) / 2;
    if (count, sum, closes) != (total, want, 2) {
        return Err(format!(
            "merge: {count} values (want {total}), sum {sum} (want {want}), {closes} closes seen (want 2)"
        ));
    }
    crate::println!("nilchan: merge ok ({count} values from two channels, each close seen once, sum={sum})");
    Ok(())
}

fn select() -> Result<(), String> {
    let nil: Chan<u64> = Chan::default();
    if !nil.is_nil() || nil.len() != 0 || nil.cap() != 0 {
        return Err("select: the zero Chan is not a nil channel of length and capacity 0".into());
    }
    if Select::new().recv(&nil, |_, _| 0).send(&nil, 1, || 1).default(|| 2).run() != 2 {
        return Err("select: a case on a nil channel fired instead of default".into());
    }
    let timeout = time::after(1_000_000);
    if Select::new().recv(&nil, |_, _| 0).send(&nil, 1, || 1).recv(&timeout, |_, _| 2).run() != 2 {
        return Err("select: a case on a nil channel fired instead of the timeout".into());
    }
    if nil.try_send(5) != Err(5) {
        return Err("select: try_send on a nil channel did not give the value back".into());
    }
    crate::println!("nilchan: select ok (nil cases never ready: default ran, timeout fired, try_send refused)");
    Ok(())
}

/// Three goroutines block on nil channels; 20 ms later none has moved on,
/// and the dump shows each with Go's wait reason.
fn blocked() -> Result<(), String> {
    static PASSED: AtomicU32 = AtomicU32::new(0);
    runtime::go(|| {
        Chan::<u64>::nil().send(1);
        PASSED.fetch_add(1, Ordering::Relaxed);
    });
    runtime::go(|| {
        Chan::<u64>::nil().recv();
        PASSED.fetch_add(1, Ordering::Relaxed);
    });
    runtime::go(|| {
        let nil = Chan::<u64>::nil();
        Select::new().recv(&nil, |_, _| ()).run();
        PASSED.fetch_add(1, Ordering::Relaxed);
    });
    time::sleep(20_000_000);
    let passed = PASSED.load(Ordering::Relaxed);
    if passed != 0 {
        return Err(format!("blocked: {passed} goroutines went past an operation on a nil channel"));
    }
    let dump = runtime::goroutine_dump();
    for reason in ["[chan send (nil chan), ", "[chan receive (nil chan), ", "[select, "] {
        if !dump.contains(reason) {
            return Err(format!("blocked: no goroutine shows {reason:?} in the dump:\n{dump}"));
        }
    }
    crate::println!("nilchan: blocked ok (send, receive and select on nil channels wait for good, as the dump shows)");
    Ok(())
}
