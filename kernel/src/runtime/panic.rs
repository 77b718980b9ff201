//! Go's panics and `recover` (`panic.go`: `gopanic`, `gorecover`): misuse
//! of a runtime object — a send on a closed channel, closing a channel
//! twice, a negative WaitGroup counter — or an explicit [`panic`] unwinds
//! the goroutine's stack, running the drops of its frames (Rust's
//! `defer`: lock guards unlock), up to the nearest [`recover`], which
//! returns the panic's message; the goroutine goes on from there. A panic
//! no `recover` catches is reported as Go reports it, naming the
//! goroutine, and ends the run.
//!
//! The unwinding is the `unwinding` crate's (a no_std unwinder reading the
//! kernel's `.eh_frame` tables; the kernel is built with
//! `-C panic=unwind`). Every goroutine's first frame catches what no
//! `recover` did (`run_goroutine`, from `gostart`): an unrecovered panic
//! is reported there, after its unwinding ran the frames' drops (Go runs
//! the deferred calls before it crashes), and `goexit` (Go's
//! `runtime.Goexit`) ends the goroutine there.
//!
//! Where gmpos differs: `recover` is a function that runs a closure
//! (Go's `defer func() { r := recover() }()` around the rest of a
//! function), and instead of a traceback the report gives the source line
//! that made the bad call. Rust's own `panic!` is a kernel bug, not a Go
//! panic: it stops the machine (`fault.rs`).

use alloc::boxed::Box;
use alloc::string::String;
use core::panic::Location;

use super::goid;

/// A recovered panic: Go's `plainError` message, and where it was raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panic {
    pub msg: String,
    pub file: &'static str,
    pub line: u32,
}

/// Go's `panic(v)` for a string `v`.
#[track_caller]
pub fn panic(msg: &str) -> ! {
    gopanic(msg, Location::caller())
}

/// Go's `gopanic`: unwinds to the nearest [`recover`] on this goroutine's
/// stack; with none, prints
///
/// ```text
/// panic: send on closed channel
///
/// goroutine 7 [running]:
///         at kernel/src/programs/chantest.rs:42
/// ```
///
/// and stops the machine with a failure status (Go exits with status 2).
/// `at` is where the program made the bad call (its `Location::caller()`).
pub fn gopanic(msg: &str, at: &'static Location<'static>) -> ! {
    let p = Panic { msg: String::from(msg), file: at.file(), line: at.line() };
    // Every goroutine's first frame catches (`run_goroutine`), which
    // reports the panic if no `recover` caught it first.
    unwinding::panic::begin_panic(Box::new(p));
    unreachable!("gopanic: no goroutine entry caught the panic");
}

/// Go's `defer func() { if r := recover(); r != nil { ... } }()` around
/// `f`: runs `f`; if it panics, the stack is unwound back to here and the
/// panic comes back as `Err`. A `goexit` passes through (as in Go,
/// `recover` returns nil during `Goexit`).
pub fn recover<R>(f: impl FnOnce() -> R) -> Result<R, Panic> {
    unwinding::panic::catch_unwind(f).map_err(|payload| match payload.downcast::<Panic>() {
        Ok(p) => *p,
        Err(goexit) => {
            // Go on unwinding, to the goroutine's first frame.
            unwinding::panic::begin_panic(goexit);
            unreachable!("goexit: no goroutine entry caught it");
        }
    })
}

/// What `goexit` unwinds with.
struct Goexit;

/// Go's `runtime.Goexit`: ends the calling goroutine, running the drops of
/// every frame on its stack; no `recover` stops it, and it is not a panic.
pub fn goexit() -> ! {
    unwinding::panic::begin_panic(Box::new(Goexit));
    unreachable!("goexit: no goroutine entry caught it");
}

/// Runs a goroutine's function (from `gostart`): a `goexit` ends it here,
/// and so does a panic that no `recover` caught — once its unwinding has
/// run the frames' drops, as Go runs deferred calls before it crashes —
/// which is then reported.
pub(super) fn run_goroutine(f: impl FnOnce()) {
    if let Err(payload) = unwinding::panic::catch_unwind(f) {
        if let Ok(p) = payload.downcast::<Panic>() {
            crate::fault::fatal(format_args!(
                "\npanic: {}\n\ngoroutine {} [running]:\n\tat {}:{}\n",
                p.msg,
                goid(),
                p.file,
                p.line
            ));
        }
    }
}
