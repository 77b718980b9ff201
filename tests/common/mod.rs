//! Harness for the integration tests: boots the kernel in QEMU through the
//! `boot` crate, captures the serial console and prints it into the test's
//! output, so that a failing test shows what the kernel said.
//!
//! Tests run in parallel, but a QEMU with several vCPUs under TCG wants
//! several host cores, so the harness lets only a few QEMUs run at once
//! (half the host's cores, at least one; `GMPOS_TEST_QEMUS=N` overrides).
//! Plain `cargo test` needs no `--test-threads`. A run's timeout starts when
//! its QEMU starts, not while it waits for a turn.
#![allow(dead_code, unused_imports)] // each test file uses a different part of this

pub mod http;

pub use boot::{Accel, Captured, Forward, Outcome, Qemu, Running, free_port};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Hard limit on one boot of the kernel in a test.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// Boots with `smp` vCPUs and the kernel words `args` (`"KEY=VALUE"`),
/// with [`TIMEOUT`].
pub fn boot(smp: u32, args: &[&str]) -> Captured {
    let mut q = Qemu::new(smp).args(args.iter().copied());
    q.timeout = Some(TIMEOUT);
    boot_with(&q)
}

/// Boots with any settings (icount, memory, timeout, ...).
pub fn boot_with(q: &Qemu) -> Captured {
    let c = {
        let _turn = Turn::take();
        q.run_captured().unwrap_or_else(|e| panic!("could not run QEMU: {e}"))
    };
    eprintln!("$ {}", c.command_line);
    eprintln!("--- serial: {}, {:.1} s, {} ---", q.describe(), c.elapsed.as_secs_f64(), c.outcome);
    eprint!("{}", c.serial);
    if !c.serial.is_empty() && !c.serial.ends_with('\n') {
        eprintln!();
    }
    eprintln!("--- end of serial ---");
    if !c.qemu_stderr.trim().is_empty() {
        eprintln!("--- QEMU's messages ---\n{}", c.qemu_stderr.trim_end());
    }
    c
}


/// A kernel that keeps running (a server) while the test talks to it.
pub struct Server {
    running: Option<Running>,
    _turn: Turn,
}

/// Boots a server program with host ports forwarded to it; returns once
/// QEMU has started (see [`Server::wait_for_line`]).
pub fn start_server(q: &Qemu) -> Server {
    let turn = Turn::take();
    let running = q.spawn_captured().unwrap_or_else(|e| panic!("could not run QEMU: {e}"));
    Server { running: Some(running), _turn: turn }
}

impl Server {
    /// Waits for a serial line starting with `prefix`; panics (showing the
    /// serial output) if it does not come within `secs` seconds.
    #[track_caller]
    pub fn wait_for_line(&mut self, prefix: &str, secs: u64) -> String {
        let running = self.running.as_mut().expect("server running");
        match running.wait_for_line(prefix, Duration::from_secs(secs)) {
            Some(line) => line,
            None => panic!("no serial line starting with {prefix:?} within {secs} s; serial:\n{}", running.serial()),
        }
    }

    /// Whether the kernel is still running (it has not crashed or exited).
    pub fn is_running(&mut self) -> bool {
        self.running.as_mut().is_some_and(|r| r.is_running())
    }

    /// Stops QEMU and prints the serial output into the test's output.
    pub fn stop(mut self) -> Captured {
        let c = self.running.take().expect("server running").stop();
        eprintln!("$ {}", c.command_line);
        eprintln!("--- serial: {:.1} s, {} ---\n{}\n--- end of serial ---", c.elapsed.as_secs_f64(), c.outcome, c.serial);
        c
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let c = running.stop();
            eprintln!("--- serial ({}) ---\n{}\n--- end of serial ---", c.outcome, c.serial);
        }
    }
}

/// Panics unless the kernel reported success.
#[track_caller]
pub fn assert_success(c: &Captured) {
    assert!(c.outcome.is_success(), "expected the kernel to report success, but {} (serial above)", c.outcome);
}

/// Panics unless the kernel itself reported failure (a reset or a timeout
/// is not the clean failure a rejected argument should give).
#[track_caller]
pub fn assert_failure(c: &Captured) {
    assert_eq!(
        c.outcome,
        Outcome::Failure,
        "expected the kernel to report failure, but {} (serial above)",
        c.outcome
    );
}

/// The first line of `serial` that starts with `prefix`.
pub fn line_starting_with<'a>(serial: &'a str, prefix: &str) -> Option<&'a str> {
    serial.lines().find(|l| l.starts_with(prefix))
}

/// The first serial line that starts with `prefix`; panics if there is none.
#[track_caller]
pub fn expect_line<'a>(c: &'a Captured, prefix: &str) -> &'a str {
    match line_starting_with(&c.serial, prefix) {
        Some(line) => line,
        None => panic!("no serial line starts with {prefix:?} ({}; serial above)", c.outcome),
    }
}

/// A counting semaphore: at most `limit()` QEMUs at once in this process.
struct Turn;

static RUNNING: Mutex<usize> = Mutex::new(0);
static FREED: Condvar = Condvar::new();

fn limit() -> usize {
    if let Some(n) = std::env::var("GMPOS_TEST_QEMUS").ok().and_then(|s| s.parse().ok()) {
        return std::cmp::max(n, 1);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::cmp::max(cores / 2, 1)
}

impl Turn {
    fn take() -> Turn {
        let limit = limit();
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        while *running >= limit {
            running = FREED.wait(running).unwrap_or_else(|e| e.into_inner());
        }
        *running += 1;
        Turn
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        *RUNNING.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        FREED.notify_one();
    }
}
