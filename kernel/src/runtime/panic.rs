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
//! `-C panic=unwind`). Its first phase searches the stack for a catching
//! frame without changing anything; it stops at the goroutine's first
//! frame, below which there is no unwind table (the context switch's
//! trampoline), so an unrecovered panic is reported from where it
//! happened, with the goroutine's stack intact.
//!
//! Where gmpos differs: `recover` is a function that runs a closure
//! (Go's `defer func() { r := recover() }()` around the rest of a
//! function), and instead of a traceback the report gives the source line
//! that made the bad call. Rust's own `panic!` is a kernel bug, not a Go
//! panic: it stops the machine (`fault.rs`).

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt;
use core::panic::Location;

use super::goid;

/// A recovered panic: Go's `plainError` message, and where it was raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panic {
    pub msg: String,
    pub file: &'static str,
    pub line: u32,
}

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
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
    // Returns only if no frame of this goroutine catches the panic.
    unwinding::panic::begin_panic(Box::new(p));
    crate::fault::fatal(format_args!(
        "\npanic: {msg}\n\ngoroutine {} [running]:\n\tat {}:{}\n",
        goid(),
        at.file(),
        at.line()
    ))
}

/// Go's `defer func() { if r := recover(); r != nil { ... } }()` around
/// `f`: runs `f`; if it panics, the stack is unwound back to here and the
/// panic comes back as `Err`.
pub fn recover<R>(f: impl FnOnce() -> R) -> Result<R, Panic> {
    unwinding::panic::catch_unwind(f)
        .map_err(|payload| *payload.downcast::<Panic>().expect("recover: every unwinding panic is gopanic's"))
}
