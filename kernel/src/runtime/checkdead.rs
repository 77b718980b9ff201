//! Deadlock detection: Go's `checkdead` (proc.go) — "fatal error: all
//! goroutines are asleep - deadlock!".
//!
//! A program is dead when no goroutine can ever run again: none is
//! runnable or running, none is in a system call, and every waiting one
//! waits for something only another goroutine could do (a channel, a
//! lock, a WaitGroup) — with no timer left that could ready one, and no
//! device that could.
//!
//! Go checks this each time an M goes idle (`mput`), with `sched.lock`
//! held: if no M is running, nothing can change any more unless a timer
//! fires. gmpos does the same, and the argument carries over: every change
//! of a G's state or a timer heap is made by an M that is running (not
//! idle), and an M becomes idle only inside `sched.lock`; so with the lock
//! held and every M idle, what we read is final. In particular a sleeping
//! goroutine's timer is armed on g0 before its M can go idle (`sleep`
//! arms it in gopark's unlock step), so a sleeper always shows up as a
//! pending timer.
//!
//! Where gmpos differs:
//! - Go's network waiters keep an M blocked in `netpoll`, so they count as
//!   a running M. Here an interrupt readies them and idle cores just halt,
//!   so a G waiting for IO (`WaitReason::IoWait`) counts as one that can
//!   still be woken.
//! - Go throws if it finds a runnable G with no M running; gmpos is more
//!   careful and simply does not report a deadlock then.
//! - An idle core is an M halted in `stopm`; Ms without a P (more cores
//!   than GOMAXPROCS) are idle from the start.

use core::sync::atomic::Ordering;

use super::g::{Status, WaitReason};
use super::proc::for_each_g;
use super::sched::{Locked, Sched};
use super::traceback::goroutine_dump;

/// Go's `checkdead`: called by `mput` with `sched.lock` held (`locked`).
/// Ends the run with Go's message and a goroutine dump if the program can
/// never make progress again.
pub(super) fn checkdead(s: &Sched, locked: &Locked) {
    if !s.main_started.load(Ordering::Relaxed) {
        return; // still starting up: the cores join the idle list
    }
    // Ms not idle: running a G or the scheduler (spinning, parking a G),
    // or in a system call (Go's `run`).
    let run = s.allm.len() - locked.midle.count_ones() as usize;
    if run > 0 {
        return;
    }
    // A pending timer (a sleeper, time::after, a ticker) may still ready
    // someone. Checked before the Gs (as cheap as the number of Ps): a
    // machine idle until its next timer is the common case.
    // Stopped timers (zombies) wait in the heaps to be cleaned; they
    // cannot ready anyone.
    if s.allp().iter().any(|pp| pp.timers.live()) {
        return;
    }
    let mut can_run = false;
    for_each_g(|g| {
        can_run |= match g.status() {
            Status::Idle | Status::Dead => false,
            Status::Waiting => g.waitreason() == WaitReason::IoWait,
            Status::Runnable | Status::Running | Status::Syscall | Status::Preempted => true,
        };
    });
    if can_run {
        return;
    }
    let dump = goroutine_dump();
    crate::fault::fatal(format_args!("\nfatal error: all goroutines are asleep - deadlock!\n\n{dump}"))
}
