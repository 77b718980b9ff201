//! The goroutine dump: Go's `tracebackothers` and `goroutineheader`, what
//! a Go program prints on SIGQUIT (here Ctrl-\ on the console) and with a
//! deadlock. gmpos has no stack unwinder, so each goroutine gets its header
//! — id, status or wait reason, and how long it has waited — followed by
//! where it runs and where it was created:
//!
//! ```text
//! goroutine 7 [sleep, 153 ms]:
//! 	m=-1 p=-1
//! created by goroutine 1 at kernel/src/programs/dump.rs:40:21
//! ```
//!
//! Go prints the wait only once it reaches a minute ("[chan receive, 2
//! minutes]"); runs here are short, so gmpos always prints it, in ms.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Display, Formatter, Write};
use core::sync::atomic::{AtomicU64, Ordering};

use super::g::{G, NO_M, Status};
use super::proc::for_each_g;
use super::sched::{sched, try_sched};
use crate::arch::time::{rdtsc, tsc_hz};

/// Ctrl-\\ presses handled so far.
static SIGQUITS: AtomicU64 = AtomicU64::new(0);

/// Ctrl-\\ on the console (Go's SIGQUIT): print every goroutine, then go on
/// (Go exits after the dump; a teaching kernel keeps running). When an
/// execution trace is being recorded, it ends here and is sent out, so that
/// a program that never returns can be traced too. Before the scheduler
/// exists there is nothing to dump, and the key is ignored.
pub fn sigquit() {
    if try_sched().is_some() {
        // A consistent snapshot: stop the world (unless it is being stopped
        // already), print, restart it; then send the execution trace.
        let world = super::stw::try_stop_the_world("goroutine dump");
        crate::print!("\nSIGQUIT: goroutine dump ({} goroutines)\n\n{}", super::num_goroutine(), goroutine_dump());
        world.map(super::stw::start_the_world);
        super::trace::flush(false);
        SIGQUITS.fetch_add(1, Ordering::Release);
    }
}

/// How many Ctrl-\\ dumps have been printed (for programs that wait for one).
pub fn sigquits() -> u64 {
    SIGQUITS.load(Ordering::Acquire)
}

/// Every live goroutine, in Go's dump format (see the module comment), in
/// goroutine id order.
pub fn goroutine_dump() -> String {
    let now = rdtsc();
    let mut gs: Vec<&G> = Vec::new();
    for_each_g(|g| gs.push(g));
    gs.sort_by_key(|g| g.goid.load(Ordering::Relaxed));
    let mut out = String::new();
    for g in gs {
        let _ = write!(out, "{}", Header { g, now });
    }
    out
}

/// One goroutine of the dump; prints nothing for a dead (or not yet
/// initialised) G.
struct Header<'a> {
    g: &'a G,
    now: u64,
}

impl Display for Header<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let g = self.g;
        let status = g.status();
        let state = match status {
            Status::Dead | Status::Idle => return Ok(()),
            Status::Runnable => "runnable",
            Status::Running => "running",
            Status::Syscall => "syscall",
            Status::Preempted => "preempted",
            Status::Waiting => g.waitreason().as_str(),
        };
        write!(f, "goroutine {} [{state}", g.goid.load(Ordering::Relaxed))?;
        if matches!(status, Status::Waiting | Status::Syscall) {
            let ticks = self.now.saturating_sub(g.waitsince.load(Ordering::Relaxed));
            write!(f, ", {} ms", ticks / (tsc_hz() / 1000).max(1))?;
        }
        f.write_str("]:\n")?;
        // The M running it (also in a system call, which keeps its M), and
        // that M's P (none in a system call).
        let m = g.m.load(Ordering::Relaxed);
        // SAFETY: Ps live in `allp`.
        let p = (m != NO_M)
            .then(|| unsafe { sched().allm[m].p.load(Ordering::Relaxed).as_ref() })
            .flatten()
            .map(|pp| pp.id);
        match (m, p) {
            (NO_M, _) => f.write_str("\tm=-1 p=-1\n")?,
            (m, Some(p)) => writeln!(f, "\tm={m} p={p}")?,
            (m, None) => writeln!(f, "\tm={m} p=-1")?,
        }
        let parent = g.parent_goid.load(Ordering::Relaxed);
        match (parent, g.gopc()) {
            (0, Some(at)) => writeln!(f, "created by the runtime at {at}")?,
            (_, Some(at)) => writeln!(f, "created by goroutine {parent} at {at}")?,
            (_, None) => {}
        }
        f.write_str("\n")
    }
}
