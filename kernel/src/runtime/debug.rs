//! Go's `debug` variables (runtime1.go, set by `parsedebugvars` from
//! `GODEBUG`), for the switches that turn a scheduler mechanism off
//! (`cmdline::SWITCHES`; what each shows is in docs/experiments.md).
//!
//! The switches are read on hot paths (`goready`, `findRunnable`, the
//! tick), so they cost one load and a branch there: one word, written by
//! `start` before any other core enters the scheduler (published by its
//! Release store of `READY`, which every other core reads with Acquire),
//! and rewritten only by `PROG=demo` between scenes, to run each with and
//! without the mechanisms. Relaxed loads suffice: each read is a policy
//! decision on its own (no two reads must agree), so a core that acts on
//! the old value for a moment after a change only delays the change.

use core::sync::atomic::{AtomicU32, Ordering};

pub use crate::cmdline::Switch;
use crate::cmdline::SWITCHES;

/// Bit `Switch as u32` set: that mechanism is off.
static OFF: AtomicU32 = AtomicU32::new(0);

/// Sets the switches (bit `Switch as u32` set: off): `start`, and the
/// demo between scenes.
pub fn set(off: u32) {
    OFF.store(off, Ordering::Relaxed);
}

/// The switches as `set`: to test several with one load ([`bit`]), or
/// for the demo to restore them.
#[inline]
pub fn switches() -> u32 {
    OFF.load(Ordering::Relaxed)
}

/// Whether `GODEBUG` turned `switch` off.
#[inline]
pub fn off(switch: Switch) -> bool {
    OFF.load(Ordering::Relaxed) & bit(switch) != 0
}

/// The bit of `switch` in [`switches`], to test several with one load.
pub const fn bit(switch: Switch) -> u32 {
    1 << switch as u32
}

/// The `GODEBUG` keys of the switches that are off, in `SWITCHES` order.
pub fn off_keys() -> impl Iterator<Item = &'static str> {
    SWITCHES.iter().filter(|(s, _, _)| off(*s)).map(|(_, key, _)| *key)
}
