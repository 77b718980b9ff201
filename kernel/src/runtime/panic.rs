//! Go's runtime panics (`gopanic` with a `plainError`): misuse of a
//! runtime object — a send on a closed channel, closing a channel twice —
//! is reported as Go reports it, naming the goroutine, and ends the run.
//!
//! Where gmpos differs: there is no `recover`, so every panic is fatal (as
//! an unrecovered one is in Go), and instead of a traceback the report gives
//! the source line that made the bad call.

use core::panic::Location;

use super::goid;

/// Go's `panic(plainError(msg))` left unrecovered: prints
///
/// ```text
/// panic: send on closed channel
///
/// goroutine 7 [running]:
///         at kernel/src/programs/chantest.rs:42
/// ```
///
/// then stops the machine with a failure status (Go exits with status 2).
/// `at` is where the program made the bad call (its `Location::caller()`).
pub fn gopanic(msg: &str, at: &Location) -> ! {
    crate::fault::fatal(format_args!(
        "\npanic: {msg}\n\ngoroutine {} [running]:\n\tat {}:{}\n",
        goid(),
        at.file(),
        at.line()
    ))
}
