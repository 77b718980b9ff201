//! The scheduler checking its own invariants while the world is stopped,
//! as xv6's `sched()` panics with "sched locks" when one is broken. Off
//! unless a program turns it on ([`set_enabled`]; `PROG=torture` does):
//! it walks every G, which costs time proportional to all the goroutines
//! ever created.
//!
//! With every P but the caller's stopped, nothing moves but the caller, so
//! the counts must agree exactly (Go has no such check; its `checkdead`
//! and `schedtrace` read the same fields):
//!
//! - every P but the caller's (and one handed to the caller's M) is
//!   `_Pgcstop` with no M, the Ps past GOMAXPROCS are `_Pdead` and empty,
//!   and no P is on the idle list (`idleprocs=0`);
//! - the idle M list matches its count, its Ms hold no P and run no G, the
//!   M waiting for timers is one of them, and `nmspinning` equals the Ms
//!   marked spinning (within 10 ms: a `wakep` in flight counts one early);
//! - every G is accounted for by its status: exactly one running (the
//!   caller), as many runnable as the run queues hold (global, local and
//!   `runnext`), as many dead as the free lists hold, none preempted, and
//!   `ngoroutines` equal to the live ones.
//!
//! A broken invariant ends the run with `gmpos: invariant broken ...`,
//! scheddetail and a goroutine dump.

use alloc::string::String;
use core::fmt::Write;
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};

use super::g::{NO_M, Status};
use super::m::M;
use super::p::{P, PStatus};
use super::proc::for_each_g;
use super::sched::Sched;
use crate::arch::qemu::{self, ExitCode};
use crate::arch::time::nanotime;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// How long `nmspinning` may take to match the spinning Ms (see below):
/// long, because what it waits for is an interrupt handler on another
/// vCPU, which the host may not run for milliseconds; a real leak lasts
/// for as long as the world stays stopped.
const SETTLE_NS: u64 = 1_000_000_000;

/// Turns the check at every stop-the-world on or off.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Checks the stopped world (see the module comment), if enabled; `mine`
/// is the stopper's M, `reason` the stop's.
pub(super) fn check_stopped_world(s: &Sched, mine: &M, reason: &str) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let broken = broken(s, mine);
    if !broken.is_empty() {
        crate::println!("gmpos: invariant broken at stop-the-world ({reason}):{broken}");
        crate::print!("{}", super::schedtrace::report(s, true));
        crate::print!("{}", super::traceback::goroutine_dump());
        qemu::exit(ExitCode::Failure);
    }
}

/// Every broken invariant, one per line (empty: none).
fn broken(s: &Sched, mine: &M) -> String {
    let mut out = String::new();
    let locked = s.lock.lock();
    let my_p = mine.p.load(Ordering::Relaxed).cast_const();
    let handed = mine.nextp.load(Ordering::Relaxed).cast_const();
    let mut fail = |what: core::fmt::Arguments| {
        let _ = write!(out, "\n  {what}");
    };

    // Ps.
    let mut queued = locked.runq.len as i64;
    for pp in s.allp_all() {
        let in_use = pp.id < s.allp().len();
        let expected = if !in_use {
            PStatus::Dead
        } else if ptr::eq(pp, my_p) {
            PStatus::Running
        } else if ptr::eq(pp, handed) {
            PStatus::Idle
        } else {
            PStatus::GcStop
        };
        if pp.status() != expected {
            fail(format_args!("P{} has status {:?}, expected {expected:?}", pp.id, pp.status()));
        }
        let m = pp.m.load(Ordering::Relaxed);
        let expected_m = if ptr::eq(pp, my_p) { mine.id } else { NO_M };
        if m != expected_m {
            fail(format_args!("P{} is held by M{m}, expected {}", pp.id, expected_m as isize));
        }
        if !in_use && !(pp.runq.runqempty() && pp.gfreecnt.load(Ordering::Relaxed) == 0) {
            fail(format_args!("P{} is dead but has Gs queued or free", pp.id));
        }
        queued += pp.runq.len() as i64 + pp.runq.has_runnext() as i64;
    }
    if locked.pidle != 0 || s.npidle.load(Ordering::Relaxed) != 0 || s.idlepmask.load(Ordering::Relaxed) != 0 {
        fail(format_args!(
            "Ps on the idle list: pidle={:#x} npidle={} idlepmask={:#x}",
            locked.pidle,
            s.npidle.load(Ordering::Relaxed),
            s.idlepmask.load(Ordering::Relaxed)
        ));
    }

    // Ms.
    if locked.midle.count_ones() != s.nmidle.load(Ordering::Relaxed) {
        fail(format_args!("midle={:#x} but nmidle={}", locked.midle, s.nmidle.load(Ordering::Relaxed)));
    }
    for m in s.allm.iter() {
        if locked.midle & (1 << m.id) != 0 && !(m.p.load(Ordering::Relaxed).is_null() && m.curg.load(Ordering::Relaxed).is_null()) {
            fail(format_args!("M{} is on the idle list but holds a P or runs a G", m.id));
        }
    }
    let timer_m = s.timer_m.load(Ordering::Relaxed);
    if timer_m != NO_M && locked.midle & (1 << timer_m) == 0 {
        fail(format_args!("M{timer_m} waits for timers but is not on the idle list"));
    }

    // Gs.
    let (mut running, mut runnable, mut dead, mut preempted, mut live) = (0i64, 0i64, 0i64, 0i64, 0i64);
    for_each_g(|g| match g.status() {
        Status::Running => {
            running += 1;
            live += 1;
        }
        Status::Runnable => {
            runnable += 1;
            live += 1;
        }
        Status::Dead => dead += 1,
        Status::Preempted => preempted += 1,
        Status::Idle => {}
        Status::Waiting | Status::Syscall => live += 1,
    });
    let free = locked.gfree.len as i64 + s.allp_all().iter().map(|pp: &P| pp.gfreecnt.load(Ordering::Relaxed) as i64).sum::<i64>();
    if running != 1 {
        fail(format_args!("{running} Gs are running; only the stopper should be"));
    }
    if runnable != queued {
        fail(format_args!("{runnable} Gs are runnable but the run queues hold {queued}"));
    }
    if dead != free {
        fail(format_args!("{dead} Gs are dead but the free lists hold {free}"));
    }
    if preempted != 0 {
        fail(format_args!("{preempted} Gs are preempted but not requeued"));
    }
    if live != s.ngoroutines.load(Ordering::Relaxed) {
        fail(format_args!("{live} Gs are live but ngoroutines={}", s.ngoroutines.load(Ordering::Relaxed)));
    }
    drop(locked);
    // `wakep` counts a spinning M before it looks for an idle P (none now)
    // and takes it back after, so `nmspinning` may be one high for a
    // moment when an interrupt handler on a halted core runs it (a
    // goroutine cannot be caught there: `wakep` holds `acquirem` across
    // the count); and it needs the lock to finish. So this one is checked
    // without the lock, and only a difference that lasts is broken.
    let spinning = || s.allm.iter().filter(|m| m.spinning.load(Ordering::Relaxed)).count() as u32;
    let deadline = nanotime() + SETTLE_NS;
    while spinning() != s.nmspinning.load(Ordering::SeqCst) {
        if nanotime() > deadline {
            let _ = write!(out, "\n  {} Ms are spinning but nmspinning={}", spinning(), s.nmspinning.load(Ordering::SeqCst));
            break;
        }
        core::hint::spin_loop();
    }
    out
}
