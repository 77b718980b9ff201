//! `PROG=recover`: Go's `defer`/`recover` around the runtime's panics. Each
//! misuse Go forbids panics inside `runtime::recover`, which must hand back
//! Go's message while the goroutine goes on; the unwinding must run the
//! drops of the frames it leaves (a `Mutex` guard unlocks). One line
//! `recover: <what> ok` per check; the first failure ends the run.
//! (`PROG=chanpanic` shows a panic that nothing recovers.)

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;

use super::{Args, check};
use crate::runtime::{self, Chan, Mutex, Select, WaitGroup};

pub fn main(_args: &Args) -> Result<(), String> {
    messages()?;
    guards_run()?;
    in_goroutines()?;
    crate::println!("recover: all ok");
    Ok(())
}

/// The message of the panic `f` raises, as `recover` hands it back.
fn message(f: impl FnOnce()) -> String {
    match runtime::recover(f) {
        Ok(()) => String::from("(no panic)"),
        Err(p) => p.msg,
    }
}

/// Every runtime panic of Go comes back with Go's message.
fn messages() -> Result<(), String> {
    let closed: Chan<u64> = Chan::new(1);
    closed.close();
    let cases: [(&str, String); 6] = [
        ("send on closed channel", message(|| closed.send(1))),
        ("send on closed channel", message(|| Select::new().send(&closed, 1, || ()).run())),
        ("close of closed channel", message(|| closed.close())),
        ("close of nil channel", message(|| Chan::<u64>::nil().close())),
        ("sync: negative WaitGroup counter", message(|| WaitGroup::new().done())),
        ("boom", message(|| runtime::panic("boom"))),
    ];
    for (want, got) in &cases {
        check("messages", got == want, &format!("recovered {got:?}, expected {want:?}"))?;
    }
    // Nothing to recover: the closure's value comes back.
    check("messages", runtime::recover(|| 7) == Ok(7), "recover of a call that did not panic")?;
    crate::println!("recover: messages ok ({} panics recovered with Go's messages)", cases.len());
    Ok(())
}

/// A frame that held a lock when the panic passed through it unlocked it;
/// a recover inside a recover catches the inner panic only.
fn guards_run() -> Result<(), String> {
    let mu = Mutex::new(0u64);
    let closed: Chan<u64> = Chan::new(0);
    closed.close();
    let r = runtime::recover(|| {
        let mut g = mu.lock();
        *g += 1;
        closed.send(1); // panics with the lock held
        *g += 1;
    });
    check("guards", r.is_err(), "the send on a closed channel did not panic")?;
    check("guards", mu.try_lock().map(|g| *g) == Some(1), "the Mutex stayed locked, or the rest of the frame ran")?;
    let mut inner = None;
    let outer = runtime::recover(|| -> () {
        inner = Some(runtime::recover(|| -> () { runtime::panic("inner") }));
        runtime::panic("outer")
    });
    let inner_ok = inner.is_some_and(|r| r.is_err_and(|p| p.msg == "inner"));
    check("guards", inner_ok, "the inner recover missed its panic")?;
    check("guards", outer.is_err_and(|p| p.msg == "outer"), "the outer recover missed its panic")?;
    crate::println!("recover: guards ok (a Mutex held by the panicking frame was unlocked; nested recovers)");
    Ok(())
}

/// Goroutines on every P panic and recover, many times over, and go on
/// (their counts add up).
fn in_goroutines() -> Result<(), String> {
    const GOROUTINES: u64 = 16;
    const ROUNDS: u64 = 200;
    let recovered = Arc::new(Mutex::new(0u64));
    let wg = Arc::new(WaitGroup::new());
    wg.add(GOROUTINES as i64);
    for _ in 0..GOROUTINES {
        let (recovered, wg) = (recovered.clone(), wg.clone());
        runtime::go(move || {
            let closed: Chan<u64> = Chan::new(0);
            closed.close();
            for _ in 0..ROUNDS {
                if runtime::recover(|| closed.close()).is_err() {
                    *recovered.lock() += 1;
                }
                runtime::gosched();
            }
            wg.done();
        });
    }
    wg.wait();
    let n = *recovered.lock();
    check("goroutines", n == GOROUTINES * ROUNDS, &format!("{n} panics recovered, expected {}", GOROUTINES * ROUNDS))?;
    crate::println!("recover: goroutines ok ({GOROUTINES} goroutines each recovered {ROUNDS} panics and went on)");
    Ok(())
}
