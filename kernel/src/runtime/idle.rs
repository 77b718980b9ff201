//! Idle Ms and Ps: parking a core that has no work, and waking one when
//! work appears (Go's `stopm`, `startm`, `wakep`, `acquirep`, `releasep`).
//!
//! # Parking and unparking cores
//!
//! The problem is Go's: keep enough cores running to use the available
//! parallelism, and park the rest to save CPU — here an idle core executes
//! `hlt` until an interrupt. Two things make it hard: work is distributed
//! (per-P queues, so no one place knows whether there is work), and it may
//! appear on any core at any moment. Go's rejected designs all apply:
//! centralising all state (does not scale); handing a G straight to an idle
//! core when it is readied (thrashes and loses locality); waking a core for
//! every readied G without a P check (wakes too many).
//!
//! Go's answer, kept here: a core that would go idle first *spins* looking
//! for work (stealing from other Ps). New work only wakes another core if
//! there is an idle P and no spinning M (`wakep`). A spinning M that finds
//! work stops spinning and, if it was the last spinner, wakes another
//! (`resetspinning`), so bursts spread one core at a time.
//!
//! The delicate moment is spinning → not spinning. A producer submits work
//! and then (in `wakep`) reads `nmspinning`; the spinner decrements
//! `nmspinning` and then re-checks every P's queue. Both sides use SeqCst
//! (a StoreLoad barrier), so at least one of them sees the other: either the
//! producer sees no spinner and wakes a core, or the spinner sees the work.
//!
//! `GODEBUG=spinningoff=1` (docs/experiments.md) removes spinning: an M
//! out of work looks once at the other Ps and parks, and `wakep` wakes a
//! core whenever a P is idle, ignoring `nmspinning`. No G can be lost
//! without the protocol above: a producer whose `wakep` saw no idle P
//! (SeqCst fence, then `npidle`) left its G on a P that is running, which
//! runs it; global work is looked at again under `sched.lock` just before
//! an M parks, and `pidleput` in the same critical section makes the idle
//! P visible to the next `wakep`. What is lost is parallelism, not work.
//!
//! Where gmpos differs: Go's `startm` creates a new thread when no idle M
//! exists. Cores cannot be created, so gmpos keeps the invariant that an idle
//! P implies an idle M: an M releases its P and joins the idle Ms in one
//! critical section of `sched.lock` (`findRunnable`), and there are at least
//! as many Ms (cores) as Ps. So `startm` always finds an M for an idle P.

use core::ptr;
use core::sync::atomic::{Ordering, fence};

use super::debug::{self, Switch};
use super::g::NO_M;
use super::m::{M, acquirem};
use super::p::{P, PStatus};
use super::sched::sched;
use super::sysmon;
use crate::arch::time::nanotime;
use crate::arch::{interrupts, smp, time};

/// Go's `acquirep`: `m` takes `pp`, which must be idle.
pub(super) fn acquirep(m: &M, pp: &P) {
    assert_eq!(pp.status(), PStatus::Idle, "acquirep: P{} is not idle", pp.id);
    pp.set_status(PStatus::Running);
    pp.m.store(m.id, Ordering::Relaxed);
    m.p.store(ptr::from_ref(pp).cast_mut(), Ordering::Relaxed);
    super::trace::proc_start(pp);
    if m.id != 0 {
        sysmon::sysmonwake(); // core 0 itself restarts its tick in `stopm`
    }
}

/// Go's `releasep`: `m` gives up its P (the caller puts it on the idle list).
pub(super) fn releasep(m: &M) -> &'static P {
    let pp = m.p();
    super::trace::proc_stop(pp);
    pp.m.store(NO_M, Ordering::Relaxed);
    m.p.store(ptr::null_mut(), Ordering::Relaxed);
    pp
}

/// Go's `stopm`: halts this core until `startm` hands it a P, then takes it.
/// The caller has already put `m` on the idle list.
pub(super) fn stopm(m: &M) {
    m.blocked.store(true, Ordering::Relaxed);
    // A core without a P has nothing to tick for — no G to preempt, no
    // timers of its own — so it stops its tick and sleeps until `startm`'s
    // IPI (Go's idle M blocks on a futex the same way). Core 0's tick is
    // sysmon, which must watch the others while any P runs: it stops only
    // while every P is idle, and is looked at again after every wake-up.
    let sysmon_core = m.id == 0;
    if !sysmon_core {
        time::stop_tick();
    }
    // `sti; hlt` is atomic with respect to interrupts: an IPI sent after we
    // checked `nextp` still ends the `hlt`, so no wakeup is lost.
    while m.nextp.load(Ordering::Acquire).is_null() {
        if sysmon_core {
            sysmon::sleep_or_tick();
        }
        interrupts::enable_and_hlt_then_disable();
    }
    if sysmon_core {
        sysmon::wake_tick();
    } else {
        time::start_tick();
    }
    m.blocked.store(false, Ordering::Relaxed);
    let pp = m.nextp.swap(ptr::null_mut(), Ordering::Acquire);
    // SAFETY: `startm` stored a pointer into `allp`, which lives forever.
    acquirep(m, unsafe { &*pp });
}

/// The end of Go's `findRunnable` for an M that found no work and gave up
/// its P ("poll network until next timer"). If some P has a timer pending
/// and no other M is waiting for timers, this M becomes the one that is:
/// it halts until the earliest deadline of any P (Go: it blocks in
/// `netpoll(pollUntil - now)`), then takes an idle P — the one whose timer
/// is due, if that P is idle — and goes back to `findRunnable` spinning,
/// so that `stealWork` also runs timers that are due on busy Ps. Otherwise
/// it makes sure the waiting M wakes in time for this P's timers
/// (`netpoll_break`) and halts until `startm` hands it a P (`stopm`).
///
/// Where gmpos differs: Go's poller also waits for network readiness;
/// here the device interrupt wakes a core by itself
/// (`netpoll_device_event`), so the waiting M (`timer_m`) waits only for time. And where
/// Go's poller, woken early by a break, takes a P and looks for work, this
/// one just recomputes its deadline when no timer is due yet.
pub(super) fn stopm_or_poll(m: &M) {
    let s = sched();
    let Some(mut until) = earliest_timer() else { return stopm(m) };
    if s.timer_m.compare_exchange(NO_M, m.id, Ordering::SeqCst, Ordering::SeqCst).is_err() {
        // Go: "if pollerPollUntil == 0 || pollerPollUntil > pollUntil".
        let theirs = s.timer_m_until.load(Ordering::SeqCst);
        if theirs == 0 || theirs > until {
            netpoll_break();
        }
        return stopm(m);
    }
    loop {
        s.timer_m_until.store(until, Ordering::SeqCst);
        wait_for_timer(m, until);
        if !m.nextp.load(Ordering::Acquire).is_null() {
            break; // `startm` chose this M: `stopm` below takes its P
        }
        match earliest_timer() {
            Some(next) if next > nanotime() => until = next, // woken early
            _ => break,
        }
    }
    s.timer_m_until.store(0, Ordering::SeqCst);
    s.timer_m.store(NO_M, Ordering::SeqCst);
    if m.nextp.load(Ordering::Acquire).is_null() {
        let mut locked = s.lock.lock();
        // Still idle (not chosen by `startm` since): take a P, preferably
        // one whose timers are due, so that its own `findRunnable` runs them.
        if locked.midle & (1 << m.id) != 0 {
            let now = nanotime();
            let due = s.allp().iter().find(|pp| pp.status() == PStatus::Idle && pp.timers.due(now));
            let pp = due.and_then(|pp| s.pidletake(&mut locked, pp.id)).or_else(|| s.pidleget(&mut locked));
            if let Some(pp) = pp {
                s.mremove(&mut locked, m.id);
                drop(locked);
                acquirep(m, pp);
                m.spinning.store(true, Ordering::Relaxed);
                s.nmspinning.fetch_add(1, Ordering::SeqCst);
                return;
            }
        }
    }
    stopm(m);
}

/// The earliest timer that an idle M can run (Go computes it as
/// `pollUntil` while it checks the Ps' timers in `findRunnable` and
/// `stealWork`): any P's, since `steal_work`'s last pass runs the other
/// Ps' due timers — but under `GODEBUG=stealoff=1`, which skips that pass,
/// only the idle Ps' (an M can take those). Counting a busy P's due timer
/// there made an idle M loop with interrupts off (`wait_for_timer`
/// returned at once, `find_runnable` found nothing to run) and never take
/// the IPI of the TLB shootdown that the busy P's core was waiting on: a
/// deadlock (`make torture SEED=2027 BOOT=31`).
fn earliest_timer() -> Option<u64> {
    let any = !debug::off(Switch::Steal);
    sched()
        .allp()
        .iter()
        .filter(|pp| any || pp.status() == PStatus::Idle)
        .map(|pp| pp.timers.timer0_when.load(Ordering::Acquire))
        .filter(|&when| when != 0)
        .min()
}

/// Go's blocking `netpoll(delay)`, for time only: halts this core until
/// `until`, a `netpoll_break`, or `startm`'s IPI. A one-shot timer at
/// `until` replaces the core's tick meanwhile — on core 0 one at most a
/// tick ahead, because its tick is sysmon, unless sysmon may sleep (every
/// P idle: then sysmon's own wake-up, `sysmon::wake_at`).
fn wait_for_timer(m: &M, until: u64) {
    let s = sched();
    m.blocked.store(true, Ordering::Relaxed);
    let mut sysmon_at = nanotime() + time::TICK_NS;
    loop {
        // As in `stopm`, `sti; hlt` cannot miss an IPI sent after these checks.
        if s.timer_m_break.swap(false, Ordering::SeqCst) || !m.nextp.load(Ordering::Acquire).is_null() {
            break;
        }
        let now = nanotime();
        if now >= until {
            break;
        }
        let mut wake_at = until;
        if m.id == 0 && sysmon::may_sleep() {
            wake_at = wake_at.min(sysmon::wake_at(now));
        } else if m.id == 0 {
            if now >= sysmon_at {
                sysmon_at = now + time::TICK_NS;
            }
            wake_at = wake_at.min(sysmon_at);
        }
        time::arm_oneshot(wake_at.saturating_sub(now));
        interrupts::enable_and_hlt_then_disable();
    }
    if m.id == 0 {
        sysmon::wake_tick();
    }
    time::start_tick();
    m.blocked.store(false, Ordering::Relaxed);
}

/// Go's `netpollBreak`: wakes the M waiting for timers, so that it looks
/// at the timers again. As Go's `netpollWakeSig`, a break already pending
/// is not sent twice.
pub(super) fn netpoll_break() {
    let s = sched();
    if !s.timer_m_break.swap(true, Ordering::SeqCst) {
        let id = s.timer_m.load(Ordering::SeqCst);
        if id != NO_M {
            smp::wake(id);
        }
    }
}

/// Go's `wakeNetPoller`: a P's earliest timer is now at `when`. Make sure
/// an M wakes for it: break the waiting M if it would sleep past `when`;
/// if no M is waiting, wake one (`wakep`), which becomes the waiting M
/// when it finds nothing else to do. A P that stays busy would run the
/// timer from its tick anyway, but only ready the G behind the one it is
/// running; the waiting M runs it on an idle P, on time.
pub(super) fn wake_netpoller(when: u64) {
    let s = sched();
    if s.timer_m.load(Ordering::SeqCst) != NO_M {
        let until = s.timer_m_until.load(Ordering::SeqCst);
        if until == 0 || until > when {
            netpoll_break();
        }
    } else {
        wakep();
    }
}

/// Go's `startm`: wakes an idle M to run `pp` (spinning if asked).
/// Returns `pp` to the idle list if no M is idle (possible only while an M
/// is in a system call, which holds a core but no P).
fn startm(pp: &'static P, spinning: bool) {
    let s = sched();
    let mut locked = s.lock.lock();
    let Some(mp) = s.mget(&mut locked) else {
        s.pidleput(&mut locked, pp);
        if spinning {
            s.nmspinning.fetch_sub(1, Ordering::SeqCst);
        }
        return;
    };
    drop(locked);
    mwake(mp, pp, spinning);
}

/// The second half of `startm`: hands `pp` to the idle M `mp` (taken off
/// the idle list by the caller) and wakes its core.
pub(super) fn mwake(mp: &M, pp: &'static P, spinning: bool) {
    sched().mwakeups.fetch_add(1, Ordering::Relaxed);
    mp.spinning.store(spinning, Ordering::Relaxed);
    // Release: the woken M sees `spinning` (and the P's state) when it
    // reads `nextp` with Acquire in `stopm`.
    mp.nextp.store(ptr::from_ref(pp).cast_mut(), Ordering::Release);
    smp::wake(mp.id);
}

/// Go's `wakep` (as of Go 1.19): there is new work; wake a core to run it
/// if there is an idle P and no M is already spinning (a spinner will find
/// the work).
pub fn wakep() {
    let s = sched();
    // The producer's side of the spinning protocol (see above): the work
    // was published with a Release store; this full fence orders it before
    // the loads of `npidle` and `nmspinning` (StoreLoad, which Release
    // alone does not).
    fence(Ordering::SeqCst);
    // No idle P: every P has an M running it, and the work is on the
    // caller's own P (or the global queue, which every M checks), so it
    // will run. As in Go 1.19, a stale zero costs parallelism at most
    // (the M that just went idle re-checks the queues if it was spinning),
    // never a lost G. This is what keeps `wakep` off the sched lock when
    // all Ps are busy — always with GOMAXPROCS=1.
    if s.npidle.load(Ordering::Relaxed) == 0 {
        return;
    }
    // Preemption stays off from here until `startm` has handed the P to an
    // M (Go 1.21's `wakep`: "Otherwise preemption here would leave pp
    // stuck waiting to enter _Pgcstop"), for two reasons. Between
    // `pidleget` and `startm` the P is on no idle list and has no M, so a
    // stop-the-world cannot stop it: were this G preempted there (by that
    // very stop's IPI, when the caller is a goroutine, as
    // `start_the_world` is), the stop would never end (issue 15's storm;
    // `make torture SEED=7` found the same under `spinningoff=1`, whose
    // branch took the P unprotected). And a G preempted after counting a
    // spinner that does not exist yet would leave `nmspinning` one high
    // for as long as it stays queued: every other `wakep` would then wake
    // nobody (`make torture` caught it, as a stopped world with
    // `nmspinning=1` and no M spinning). In Go the window is not
    // preemptible either: runtime code has no asynchronous safe points;
    // here `acquirem` says so.
    let _m = acquirem();
    // `GODEBUG=spinningoff=1`: the design Go rejected, a core woken for
    // every new G while a P is idle, with nobody spinning to find it.
    if debug::off(Switch::Spinning) {
        let pp = s.pidleget(&mut s.lock.lock());
        if let Some(pp) = pp {
            startm(pp, false);
        }
        return;
    }
    if s.nmspinning.load(Ordering::SeqCst) != 0
        || s.nmspinning.compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst).is_err()
    {
        return;
    }
    let mut locked = s.lock.lock();
    let Some(pp) = s.pidleget(&mut locked) else {
        drop(locked);
        s.nmspinning.fetch_sub(1, Ordering::SeqCst);
        return;
    };
    drop(locked);
    startm(pp, true);
}

/// sysmon's answer to an idle P whose timers are due: wake an idle M and
/// hand it that very P, whose `findRunnable` runs them first thing.
/// (Go's sysmon calls `startm(nil, false)` and relies on the woken M, or a
/// spinning one, to find the timers in `stealWork`'s last pass; with Gs
/// to steal elsewhere that pass may not come for a while, and `wakep`
/// does nothing while any M spins. Naming the P avoids both.)
pub(super) fn startm_for_timers(pp: &'static P) {
    let s = sched();
    let mut locked = s.lock.lock();
    if locked.pidle & (1 << pp.id) == 0 || locked.midle == 0 {
        return; // someone took it meanwhile (and will run its timers)
    }
    s.pidletake(&mut locked, pp.id);
    let mp = s.mget(&mut locked).expect("an idle M was just seen");
    drop(locked);
    mwake(mp, pp, false);
}

/// Go's `resetspinning`: this M found work and stops spinning; if it was
/// the last spinner, another core may be needed.
pub(super) fn resetspinning(m: &M) {
    m.spinning.store(false, Ordering::Relaxed);
    let before = sched().nmspinning.fetch_sub(1, Ordering::SeqCst);
    assert!(before > 0, "resetspinning: negative nmspinning");
    wakep();
}
