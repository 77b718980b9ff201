//! Blocking calls: Go's `entersyscall`, `exitsyscall` and `handoffp`.
//!
//! A G that blocks in the kernel below the runtime (Go: a system call; here
//! a wait on a device) keeps its M — the core is busy blocking — but must
//! not keep its P, or the Gs queued on that P would wait behind it.
//! `entersyscall` therefore detaches the P and marks it `_Psyscall`. If the
//! call is quick, `exitsyscall` simply takes the P back. If not, sysmon
//! (core 0's tick, see `retake_syscalls`) takes the P away and `handoffp`
//! gives it to an idle M — in Go a thread from the pool, here a halted
//! core, woken by IPI — together with its local run queue.
//!
//! Where gmpos differs: Go creates a new thread when no idle M exists. With
//! GOMAXPROCS equal to the number of cores there may be none (every other
//! core runs its own P); sysmon then leaves the P in `_Psyscall`, where its
//! run queue stays visible to the other Ms' `stealWork`, so they take its
//! Gs as soon as they run out of their own.

use core::ptr::{self, NonNull};
use core::sync::atomic::Ordering;

use super::debug::{self, Switch};
use super::g::{G, NO_M, Status};
use super::idle::{acquirep, mwake, stopm};
use super::m::mcall;
use super::p::{P, PStatus};
use super::sched::{Sched, sched};
use super::trace;
use super::{getg, getm};
use crate::arch::{interrupts, time};

/// Go's `entersyscall`: the running G is about to block outside the
/// runtime. Its P stays attached loosely (`m.oldp`, status `_Psyscall`).
pub fn entersyscall() {
    let saved = interrupts::disable();
    assert!(saved.were_enabled(), "entersyscall with interrupts off (a lock held across a blocking call?)");
    let m = getm();
    let pp = m.p();
    // SAFETY: the running G is ours.
    let g = unsafe { getg().as_ref() };
    g.casgstatus(Status::Running, Status::Syscall);
    pp.syscalltick.fetch_add(1, Ordering::Relaxed);
    trace::syscall_enter(pp, g);
    pp.m.store(NO_M, Ordering::Relaxed);
    m.oldp.store(ptr::from_ref(pp).cast_mut(), Ordering::Relaxed);
    m.p.store(ptr::null_mut(), Ordering::Relaxed);
    // Release: sysmon, seeing `_Psyscall`, also sees the P detached.
    pp.set_status(PStatus::Syscall);
    interrupts::restore(saved);
}

/// Go's `exitsyscall`: the G is back. Take the old P if sysmon left it
/// (the fast path), else an idle P, else queue the G globally and park
/// the M until a P is free (`exitsyscall0`).
///
/// On a fast path, a preemption requested while the G was in the call
/// (its P's slice ran out: see `preempt::tick`) is honoured now, as Go's
/// `exitsyscall` does by setting `stackguard0` from `gp.preempt`: without
/// it, a G looping on short calls would never leave its P, since the
/// tick mostly finds it inside a call, where it cannot be stopped.
pub fn exitsyscall() {
    let saved = interrupts::disable();
    let m = getm();
    let s = sched();
    // SAFETY: the running G is ours.
    let g = unsafe { getg().as_ref() };
    let preempt = m.preempt.swap(false, Ordering::Relaxed);
    let oldp = m.oldp.swap(ptr::null_mut(), Ordering::Relaxed);
    // SAFETY: `oldp` points into `allp`, which lives for ever.
    let oldp = unsafe { &*oldp };
    let pp = if oldp.cas_status(PStatus::Syscall, PStatus::Idle) { Some(oldp) } else { s.pidleget(&mut s.lock.lock()) };
    let Some(pp) = pp else {
        mcall(exitsyscall0);
        return;
    };
    acquirep(m, pp);
    trace::syscall_exit(Some(pp), g);
    g.casgstatus(Status::Syscall, Status::Running);
    interrupts::restore(saved);
    if preempt {
        pp.preempts.fetch_add(1, Ordering::Relaxed);
        super::preempt::gopreempt();
    }
}

/// Go's `exitsyscall0`, on g0 (this M has no P): try an idle P once more,
/// else put the G on the global queue and park this M.
fn exitsyscall0(gp: NonNull<G>) {
    let s = sched();
    let m = getm();
    // Runnable only under the lock, where it is also queued (or its P
    // taken): so a G is never seen runnable in no queue and on no P
    // (`invariants.rs` counts them under this lock).
    let mut locked = s.lock.lock();
    // SAFETY: Gs are never freed.
    unsafe { gp.as_ref() }.casgstatus(Status::Syscall, Status::Runnable);
    // SAFETY: as above.
    trace::syscall_exit(None, unsafe { gp.as_ref() });
    if let Some(pp) = s.pidleget(&mut locked) {
        drop(locked);
        acquirep(m, pp);
        pp.runq.runqput(gp, true, |_| unreachable!("an idle P's run queue is empty"));
        return;
    }
    s.globrunqput(&mut locked, gp);
    s.mput(&mut locked, m);
    drop(locked);
    stopm(m);
}

/// sysmon's `retake` for system calls (core 0's tick): a P that has been in
/// `_Psyscall` for a whole sysmon tick (≥ 20 µs in Go; here a 1 ms tick) is
/// taken from its M and handed off — if it has work, or nobody else is
/// looking for work, or it has been in the call for 10 ms. A P whose time
/// slice has run out (Go's `sysretake`) is taken even if its G keeps
/// re-entering short calls, which would otherwise look like a new call on
/// every tick.
///
/// With `GODEBUG=handoffoff=1` it does nothing: a P stays with its M
/// through the call (its queue can still be stolen).
pub(super) fn retake_syscalls(s: &'static Sched, now: u64) {
    for pp in s.allp().iter().filter(|pp| pp.status() == PStatus::Syscall) {
        if debug::off(Switch::Handoff) {
            return;
        }
        let t = pp.syscalltick.load(Ordering::Relaxed);
        let sysretake = super::preempt::slice_over(pp, now);
        if !sysretake && pp.sysmontick.syscalltick.load(Ordering::Relaxed) != t {
            pp.sysmontick.syscalltick.store(t, Ordering::Relaxed);
            pp.sysmontick.syscallwhen.store(now, Ordering::Relaxed);
            continue;
        }
        let others_looking = s.nmspinning.load(Ordering::Relaxed) + s.npidle.load(Ordering::Relaxed) > 0;
        let long = pp.sysmontick.syscallwhen.load(Ordering::Relaxed) + super::preempt::FORCE_PREEMPT_NS <= now;
        if pp.runq.runqempty() && others_looking && !long {
            continue;
        }
        handoffp(s, pp);
    }
}

/// Go's `handoffp`: gives `pp`, taken from an M in a system call, to an idle
/// M if it has work; otherwise it becomes idle. The idle-M check and the
/// claim (`_Psyscall` → `_Pidle`, racing `exitsyscall`) happen under
/// `sched.lock`, so a P is never claimed without somewhere to go.
fn handoffp(s: &Sched, pp: &'static P) {
    let mut locked = s.lock.lock();
    let has_work = !pp.runq.runqempty() || locked.runq.len != 0;
    if has_work && locked.midle == 0 {
        return; // no idle core: the other Ms will steal its queue
    }
    if !pp.cas_status(PStatus::Syscall, PStatus::Idle) {
        return; // its G came back first
    }
    pp.syscalltick.fetch_add(1, Ordering::Relaxed);
    pp.handoffs.fetch_add(1, Ordering::Relaxed);
    trace::handoff(pp);
    if has_work {
        let mp = s.mget(&mut locked).expect("handoffp: an idle M was just seen");
        drop(locked);
        mwake(mp, pp, false);
    } else {
        s.pidleput(&mut locked, pp);
    }
}

/// A real blocking operation that goes through this path: the core waits,
/// halted, for `ns` nanoseconds, running no Go code. It models a blocking
/// system call such as `read(2)` on a slow device or `nanosleep(2)`: the M
/// is stuck until the hardware (here the timer interrupt) says it is done.
/// Returns when the call itself ended ([`syscall_for`]).
pub fn block_for(ns: u64) -> u64 {
    syscall_for(ns, x86_64::instructions::hlt)
}

/// A short system call that keeps its core busy for `ns` nanoseconds (say,
/// `read(2)` copying a buffer out of the page cache): unlike
/// [`block_for`], which waits for the next interrupt, it returns on time,
/// so a loop of them re-enters the runtime every few microseconds.
/// Returns when the call itself ended ([`syscall_for`]).
pub fn busy_for(ns: u64) -> u64 {
    syscall_for(ns, core::hint::spin_loop)
}

/// `entersyscall`, `wait()` until `ns` nanoseconds have passed,
/// `exitsyscall`. Returns the time (`nanotime`) at which the call itself
/// ended, before `exitsyscall`: that may preempt the goroutine (a
/// preemption requested during the call), and what ran meanwhile ran after
/// the call, not during it.
fn syscall_for(ns: u64, wait: fn()) -> u64 {
    entersyscall();
    let deadline = time::nanotime() + ns;
    let mut now = time::nanotime();
    while now < deadline {
        wait();
        now = time::nanotime();
    }
    exitsyscall();
    now
}
