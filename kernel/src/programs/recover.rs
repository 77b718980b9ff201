//! `PROG=recover`: Go's `defer`/`recover` around the runtime's panics. Each
//! misuse Go forbids panics inside `runtime::recover`, which must hand back
//! Go's message while the goroutine goes on; the unwinding must run the
//! drops of the frames it leaves (a `Mutex` guard unlocks); `goexit` ends
//! a goroutine through a `recover`, running its drops. One line
//! `recover: <what> ok` per check; the first failure ends the run.
//! (`PROG=chanpanic` shows a panic that nothing recovers.)

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, Ordering};

use super::{Args, check};
use crate::runtime::{self, Chan, Mutex, Select, WaitGroup};

pub fn main(_args: &Args) -> Result<(), String> {
    messages()?;
    guards_run()?;
    in_goroutines()?;
    goexit_ends_goroutine()?;
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

/// Calls `goexit` from a few frames down.
#[inline(never)]
fn exit_from_deep(depth: u32) {
    if depth == 0 {
        runtime::goexit();
    }
    exit_from_deep(depth - 1);
}

/// Go's `runtime.Goexit`: a goroutine calls it from inside a `recover`,
/// a few frames down; the recover does not stop it, the code after it
/// never runs, and the drop guard of the goroutine's first frame does
/// (it is what tells main the goroutine is gone).
fn goexit_ends_goroutine() -> Result<(), String> {
    struct Done(Arc<WaitGroup>);
    impl Drop for Done {
        fn drop(&mut self) {
            self.0.done();
        }
    }
    let wg = Arc::new(WaitGroup::new());
    let went_on = Arc::new(AtomicU32::new(0));
    wg.add(1);
    {
        let (wg, went_on) = (wg.clone(), went_on.clone());
        runtime::go(move || {
            let _done = Done(wg);
            let _ = runtime::recover(|| exit_from_deep(4));
            went_on.fetch_add(1, Ordering::Relaxed);
        });
    }
    wg.wait();
    let went_on = went_on.load(Ordering::Relaxed);
    check("goexit", went_on == 0, "the goroutine went on after goexit (a recover stopped it, or it returned)")?;
    crate::println!("recover: goexit ok (through a recover, drops run, nothing after it ran)");
    Ok(())
}
