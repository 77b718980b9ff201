//! Go's `sysmon`: the monitor for what no single core owns, run here on
//! core 0's timer tick — and, like Go's, asleep when there is nothing to
//! monitor.
//!
//! Go's sysmon is a thread of its own that loops with a back-off (20 µs up
//! to 10 ms) and, when every P is idle (`sched.npidle == gomaxprocs`),
//! sleeps on `sched.sysmonnote` until `sysmonwake` — called as soon as a
//! P starts running again — or its next deadline. gmpos's sysmon is core
//! 0's 1 ms tick, so its sleep is the tick itself stopping: when core 0 is
//! idle and **every P is idle**, core 0 stops its tick ([`sleep_or_tick`])
//! and halts; a core that starts running a P wakes it
//! ([`sysmonwake`], from `acquirep`). Nothing is lost meanwhile, because
//! with every P idle sysmon has nothing to do: no G runs (nothing to
//! preempt, no P in a system call to retake); the timers of idle Ps have
//! their own waiting M (`idle::stopm_or_poll`, with a one-shot interrupt);
//! a packet's interrupt wakes an idle core itself (`wakep`), which polls.
//! What remains is the TCP/IP stack's own deadlines (retransmissions,
//! delayed ACKs): a sleeping sysmon arms a one-shot interrupt for the next
//! one ([`netpoll::sysmon_poll_deadline`]), or at most [`MAX_SLEEP_NS`]
//! ahead. `schedtrace` and an armed `watchdog` keep the tick running:
//! their lines are due whatever the Ps do (a hang with every P idle is
//! just what the watchdog must report).
//!
//! # Why no wakeup is lost
//!
//! The sleeper (core 0) sets [`SLEEPING`], then a SeqCst fence, then reads
//! every P's status; a P's new M sets the status to running, then a SeqCst
//! fence, then reads [`SLEEPING`] (`sysmonwake`). Of the two fences one
//! comes first in their total order, so either the sleeper sees the
//! running P (and keeps ticking) or the waker sees the flag (and sends its
//! IPI, which ends core 0's `hlt` — `sti; hlt` cannot miss it).

use core::sync::atomic::{AtomicBool, Ordering, fence};

use super::p::PStatus;
use super::sched::{Sched, sched};
use super::{idle, netpoll, p, schedtrace, syscall, watchdog};
use crate::arch::{smp, time};

/// Core 0's sysmon sleeps: its tick is stopped (set and cleared by core 0;
/// cleared by `sysmonwake` too, to send a single IPI).
static SLEEPING: AtomicBool = AtomicBool::new(false);
/// Core 0's tick is stopped (only core 0 touches it).
static TICK_STOPPED: AtomicBool = AtomicBool::new(false);

/// The longest sysmon sleeps without looking (Go's sysmon sleeps at most
/// `forcegcperiod/2`, a minute). A bound is also what keeps QEMU's icount
/// mode delivering device interrupts: with no timer armed at all, a halted
/// vCPU under `-icount sleep=off` was not woken by a packet (seen: 0 of 4
/// boots answered ARP; with this bound, every one did).
const MAX_SLEEP_NS: u64 = 100_000_000;

/// When a sleeping sysmon wakes: the network stack's next deadline, or
/// [`MAX_SLEEP_NS`] from `now`, whichever is first.
pub(super) fn wake_at(now: u64) -> u64 {
    netpoll::sysmon_poll_deadline().unwrap_or(u64::MAX).min(now + MAX_SLEEP_NS)
}

/// Go's `sysmon`, one step per tick of core 0, for what no single core
/// owns: take Ps from long system calls, wake a core and hand it an idle P
/// whose timers are due (nobody else would run them), poll the network if nobody
/// has for 10 ms, print schedtrace lines, and report a hang (`watchdog`).
/// (Preempting long-running Gs is done by each core's own tick.)
pub(super) fn sysmon(s: &'static Sched, now: u64) {
    syscall::retake_syscalls(s, now);
    for pp in s.allp().iter().filter(|pp| pp.status() == p::PStatus::Idle && pp.timers.due(now)) {
        idle::startm_for_timers(pp);
    }
    netpoll::sysmon_netpoll(now);
    schedtrace::tick(s);
    watchdog::tick(s, now);
}

/// Core 0, idle (no P) and about to halt: if sysmon may sleep, stop the
/// tick — arming a one-shot for [`wake_at`] — and return true; otherwise make sure the tick runs and return false.
/// Called again after every wake-up, so the tick follows the Ps' state.
pub(super) fn sleep_or_tick() -> bool {
    if may_sleep() {
        time::stop_tick();
        TICK_STOPPED.store(true, Ordering::Relaxed);
        let now = time::nanotime();
        time::arm_oneshot(wake_at(now).saturating_sub(now));
        true
    } else {
        wake_tick();
        false
    }
}

/// Core 0 takes a P or starts waiting for timers: sysmon is awake, and
/// its tick runs.
pub(super) fn wake_tick() {
    SLEEPING.store(false, Ordering::Relaxed);
    if TICK_STOPPED.swap(false, Ordering::Relaxed) {
        time::start_tick();
    }
}

/// Whether sysmon has nothing to watch: no schedtrace, no armed watchdog,
/// and every P idle. Leaves [`SLEEPING`] set when it returns true (see the
/// module comment).
pub(super) fn may_sleep() -> bool {
    if schedtrace::enabled() || watchdog::armed() {
        return false;
    }
    SLEEPING.store(true, Ordering::Relaxed);
    fence(Ordering::SeqCst);
    if sched().allp().iter().any(|pp| pp.status() != PStatus::Idle) {
        SLEEPING.store(false, Ordering::Relaxed);
        return false;
    }
    true
}

/// Go's `sysmonwake`: a P has just started running (`acquirep`, after its
/// status was set): if sysmon sleeps, wake it.
pub(super) fn sysmonwake() {
    fence(Ordering::SeqCst);
    if SLEEPING.load(Ordering::Relaxed) && SLEEPING.swap(false, Ordering::Relaxed) {
        smp::wake(0);
    }
}
