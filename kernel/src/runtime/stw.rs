//! Stopping the world: Go's `stopTheWorld` and `startTheWorld`.
//!
//! Some work needs every P at a safe point at once: a consistent goroutine
//! dump, or changing the set of Ps (`procresize`). "Stopped" means what it
//! means in Go: every P except the caller's is in `_Pgcstop`, held by no M,
//! so no goroutine runs but the caller, and no run queue, timer heap or free
//! list changes under it.
//!
//! How each P gets there (Go's `stopTheWorldWithSema`):
//!
//! 1. `sched.gcwaiting` is set. Every M checks it at the top of
//!    `findRunnable` and before giving up its P, and then stops its P itself
//!    (`gcstopm`): the P goes to `_Pgcstop`, the M joins the idle Ms and
//!    halts, and `sched.stopwait` is decremented.
//! 2. Idle Ps and Ps whose M is in a system call have no M to do that, so
//!    the stopper takes them itself, under `sched.lock` (idle) or by CAS
//!    from `_Psyscall` (racing `exitsyscall` and sysmon's `handoffp`, as
//!    Go's does).
//! 3. Running goroutines must be interrupted: Go sends each thread a signal
//!    (`preemptall`); gmpos sends each core an IPI whose handler preempts
//!    the running G exactly as the 10 ms tick does (`preempt::preempt_ipi`).
//!    Halted cores need nothing: they hold no P.
//!
//! The stopper waits for `stopwait` to reach zero. As Go does every 100 µs,
//! it repeats steps 2 and 3 every millisecond while waiting, which covers a
//! G that entered a system call or was scheduled after the first round.
//!
//! The caller keeps its P and stays on its core (`acquirem`) throughout. A
//! stopper may also be an interrupt handler (the console's Ctrl-\); its
//! core's P, if any, counts as stopped because the handler is running on
//! top of it — and so does a P that `startm` handed to the core while it
//! was halted in `stopm`, which only that core can take. While waiting,
//! the stopper runs the IPI calls queued for its core, so a TLB shootdown
//! started by a core that has not stopped yet (and waits with interrupts
//! off) can finish.

use alloc::vec::Vec;
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};

use super::getm;
use super::idle::mwake;
use super::m::{AcquireM, M, acquirem};
use super::p::{P, PStatus};
use super::preempt::preempt_ipi;
use super::proc::gosched;
use super::sched::{Sched, sched};
use crate::arch::{cpu, smp, time};

/// Held from `stop_the_world` to `start_the_world` (Go's `worldsema`).
static WORLDSEMA: AtomicBool = AtomicBool::new(false);

/// How often the stopper repeats its requests while waiting.
const RETRY_NS: u64 = 1_000_000;

/// Proof that the world is stopped, handed back to `start_the_world`
/// (Go's `worldStop`). Holds the caller on its M.
pub struct World {
    _m: AcquireM,
    reason: &'static str,
}

/// Go's `stopTheWorld`: from a goroutine, brings every other P to a safe
/// point and returns once they are all stopped. Waits for a stop already
/// in progress to end first.
pub fn stop_the_world(reason: &'static str) -> World {
    // Acquire: pairs with the Release in `start_the_world`.
    while WORLDSEMA.swap(true, Ordering::Acquire) {
        // Preemptible while waiting: the holder may need our P stopped.
        gosched();
    }
    let world = stop_the_world_with_sema(reason);
    super::invariants::check_stopped_world(sched(), world._m.m(), reason);
    world
}

/// Like [`stop_the_world`], but gives up (returns `None`) when a stop is in
/// progress already instead of waiting: for interrupt handlers, which
/// cannot wait for a goroutine.
pub fn try_stop_the_world(reason: &'static str) -> Option<World> {
    if WORLDSEMA.swap(true, Ordering::Acquire) {
        return None;
    }
    Some(stop_the_world_with_sema(reason))
}

/// Go's `stopTheWorldWithSema`.
fn stop_the_world_with_sema(reason: &'static str) -> World {
    let world = World { _m: acquirem(), reason };
    let s = sched();
    let m = getm();
    let mine = m.p.load(Ordering::Relaxed).cast_const();
    let others = s.allp().iter().filter(|pp| !ptr::eq(*pp, mine)).count();
    s.stopwait.store(others as u32, Ordering::SeqCst);
    // SeqCst store, then the lock in `stop_idle_ps`: an M that releases its
    // P later under the lock sees `gcwaiting` (`findRunnable`).
    s.gcwaiting.store(true, Ordering::SeqCst);
    let mut handed_counted = false;
    loop {
        stop_idle_ps(s, mine);
        // An interrupt handler that came in on a core halted in `stopm` may
        // find (now or later: `startm` takes idle Ms until their P stops) a
        // P handed to this M but not yet taken. Only this M can take it, and
        // it is busy here, so the P cannot change: it counts as stopped.
        if !handed_counted && !m.nextp.load(Ordering::Acquire).is_null() {
            handed_counted = true;
            s.stopwait.fetch_sub(1, Ordering::Release);
        }
        preemptall(m);
        let deadline = time::nanotime() + RETRY_NS;
        // Acquire: pairs with the Release decrement of each stopped P, so
        // everything its M did before stopping is visible here.
        while s.stopwait.load(Ordering::Acquire) != 0 && time::nanotime() < deadline {
            smp::run_calls();
            core::hint::spin_loop();
        }
        if s.stopwait.load(Ordering::Acquire) == 0 {
            return world;
        }
    }
}

/// Stops, on their behalf, the Ps that no M is running: idle ones and those
/// whose M is in a system call.
fn stop_idle_ps(s: &Sched, mine: *const P) {
    let mut locked = s.lock.lock();
    for pp in s.allp().iter().filter(|pp| !ptr::eq(*pp, mine)) {
        let idle = locked.pidle & (1 << pp.id) != 0;
        if idle {
            locked.pidle &= !(1 << pp.id);
            pp.set_status(PStatus::GcStop);
        }
        if idle || pp.cas_status(PStatus::Syscall, PStatus::GcStop) {
            s.stopwait.fetch_sub(1, Ordering::Release);
        }
    }
    s.idlepmask.store(locked.pidle, Ordering::Relaxed);
    s.npidle.store(locked.pidle.count_ones(), Ordering::Relaxed);
}

/// Go's `preemptall`: asks every other core to preempt its goroutine. A
/// full call queue means a request is already waiting there.
fn preemptall(m: &M) {
    for c in (0..cpu::online()).filter(|&c| c != m.id) {
        let _ = smp::call(c, preempt_ipi, 0);
    }
}

/// Go's `startTheWorld`: hands every stopped P to an idle M if it has work,
/// or to the idle list, and lets the Ms run again.
pub fn start_the_world(world: World) {
    let s = sched();
    let m = getm();
    let mine = m.p.load(Ordering::Relaxed).cast_const();
    // A P handed to this M and left untaken (see `stop_the_world_with_sema`);
    // this M takes it when its interrupt handler returns.
    let handed = m.nextp.load(Ordering::Acquire).cast_const();
    // Cleared first: an M woken below must not stop again.
    s.gcwaiting.store(false, Ordering::SeqCst);
    let mut handoff: Vec<(&'static M, &'static P)> = Vec::with_capacity(s.allp().len());
    {
        let mut locked = s.lock.lock();
        for pp in s.allp().iter().filter(|pp| !ptr::eq(*pp, mine) && !ptr::eq(*pp, handed)) {
            assert_eq!(pp.status(), PStatus::GcStop, "startTheWorld after {}: P{} not stopped", world.reason, pp.id);
            pp.set_status(PStatus::Idle);
            let has_work = !pp.runq.runqempty() || pp.timers.len.load(Ordering::Relaxed) > 0;
            match if has_work { s.mget(&mut locked) } else { None } {
                Some(mp) => handoff.push((mp, pp)),
                None => {
                    // Work but no idle M (the other cores are in system
                    // calls): Go would start a thread; gmpos has no more
                    // cores. The Gs go to the global queue, which every M
                    // checks, and the P joins the idle ones (sysmon hands
                    // it an M when its timers are due). An idle P with Gs
                    // queued would be a P nobody looks at.
                    pp.runq.runqdrain(|gp| s.globrunqput(&mut locked, gp));
                    s.pidleput(&mut locked, pp);
                }
            }
        }
    }
    for (mp, pp) in handoff {
        mwake(mp, pp, false);
    }
    WORLDSEMA.store(false, Ordering::Release);
    drop(world);
    super::idle::wakep();
}

/// Go's `gcstopm`: this M stops its P for a stop-the-world and halts until
/// `start_the_world` gives it a P again. On g0.
pub(super) fn gcstopm(m: &M) {
    let s = sched();
    if m.spinning.swap(false, Ordering::Relaxed) {
        s.nmspinning.fetch_sub(1, Ordering::SeqCst);
    }
    let pp = super::idle::releasep(m);
    pp.set_status(PStatus::GcStop);
    s.mput(&mut s.lock.lock(), m);
    // Release: the stopper sees this P's state as this M left it.
    s.stopwait.fetch_sub(1, Ordering::Release);
    super::idle::stopm(m);
}
