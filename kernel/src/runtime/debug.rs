//! Go's `debug` variables (runtime1.go: `dbgvars`, set by `parsedebugvars`
//! from `GODEBUG`), for the switches that turn a scheduler mechanism off
//! ([`SWITCHES`]; what each shows is in docs/experiments.md). The command
//! line (`cmdline.rs`) parses `GODEBUG` against this table; `start` sets
//! the result. Pure logic: compiled for the host too.
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

/// A scheduler mechanism that a `GODEBUG` switch turns off, to show the
/// problem it solves (docs/experiments.md). Its value is its bit in
/// `cmdline::GoDebug::off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    AsyncPreempt,
    Steal,
    Runnext,
    Fairness,
    Spinning,
    Handoff,
    NetpollIrq,
    Go10,
    NetpollPreempt,
}

/// Every switch: its `GODEBUG` key (Go's own where Go has one) and what
/// turning it off does.
pub const SWITCHES: &[(Switch, &str, &str)] = &[
    (Switch::AsyncPreempt, "asyncpreemptoff", "1: no tick-driven preemption; a G runs until it blocks or yields (Go still preempts at calls)"),
    (Switch::Steal, "stealoff", "1: idle Ps never take Gs from other Ps' run queues"),
    (Switch::Runnext, "runnextoff", "1: a readied or new G goes to the tail of its P's queue, not runnext"),
    (Switch::Fairness, "fairnessoff", "1: no look at the global queue every 61st schedtick"),
    (Switch::Spinning, "spinningoff", "1: an M without work parks at once; every new G wakes an idle core"),
    (Switch::Handoff, "handoffoff", "1: sysmon never takes a P from a blocking call"),
    (Switch::NetpollIrq, "netpollirqoff", "1: a packet wakes no idle core; it waits for an M to poll"),
    (Switch::Go10, "go10sched", "1: per-P run queues off, as in Go 1.0: every runnable G on the global queue, under sched.lock"),
    (Switch::NetpollPreempt, "netpollpreemptoff", "1: a packet's goroutine waits for a poll and a time slice behind busy Ps, as in Go (gmpos preempts a G that ran 1 ms)"),
];

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
