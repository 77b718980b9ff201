//! The scheduling loop: Go's `schedule`, `findRunnable`, `stealWork` and
//! `execute`. Every M runs `schedule` on its g0 stack, forever.

use core::ptr::NonNull;
use core::sync::atomic::Ordering;

use super::debug::{self, Switch};
use super::g::{G, Status};
use super::idle::{acquirep, releasep, resetspinning, stopm_or_poll};
use super::m::M;
use super::netpoll;
use super::p::P;
use super::sched::sched;
use super::stw::gcstopm;
use super::time::check_timers;
use super::trace;
use crate::arch::switch::switch;

/// Go's `schedule`: find a runnable G and run it; when it comes back to g0
/// (it parked, yielded or exited), do what it asked, and repeat. Runs with
/// interrupts off: the scheduler is never preempted.
pub(super) fn schedule(m: &M) -> ! {
    loop {
        let (gp, inherit_time) = find_runnable(m);
        // This M found work: if it was spinning, another may now be needed.
        if m.spinning.load(Ordering::Relaxed) {
            resetspinning(m);
        }
        execute(m, gp, inherit_time);
    }
}

/// Go's `execute`: runs `gp` on this M until it switches back to g0, then
/// runs the function it asked g0 for (`mcall`). `inherit_time` (the G came
/// from `runnext`) means it continues the current time slice: the P's
/// `schedtick` is not advanced.
fn execute(m: &M, gp: NonNull<G>, inherit_time: bool) {
    let pp = m.p();
    // SAFETY: Gs are never freed.
    let g = unsafe { gp.as_ref() };
    g.m.store(m.id, Ordering::Relaxed);
    m.curg.store(gp.as_ptr(), Ordering::Relaxed);
    g.casgstatus(Status::Runnable, Status::Running);
    if !inherit_time {
        pp.schedtick.fetch_add(1, Ordering::Relaxed);
    }
    pp.runs.fetch_add(1, Ordering::Relaxed);
    trace::go_start(pp, g);
    // SAFETY: `gp` was runnable, so its context is a suspended stack that
    // no other M is running (it was taken off a queue by this M alone).
    unsafe { switch(m.g0.get(), g.context.get()) };
    m.curg.store(core::ptr::null_mut(), Ordering::Relaxed);
    g.m.store(super::g::NO_M, Ordering::Relaxed);
    let f = m.mcall_fn.take().expect("schedule: a G returned to g0 without mcall");
    f(gp);
}

/// Go's `findRunnable`: the next G for this M's P, blocking (halting the
/// core) until there is one. Order as in Go: the global queue every 61
/// ticks (fairness), the local queue, the global queue, the network,
/// stealing from other Ps; then give up the P and halt.
fn find_runnable(m: &M) -> (NonNull<G>, bool) {
    let s = sched();
    'top: loop {
        // The world is being stopped: stop this P, wait to be restarted.
        if s.gcwaiting.load(Ordering::Acquire) {
            gcstopm(m);
            continue 'top;
        }
        let pp = m.p();
        check_timers(pp);
        // Check the global runnable queue once in a while to ensure
        // fairness: otherwise two goroutines can hold a P forever by
        // constantly respawning each other.
        // (`GODEBUG=fairnessoff=1` skips this, to show what it prevents.)
        if pp.schedtick.load(Ordering::Relaxed) % 61 == 0
            && s.runqsize.load(Ordering::Relaxed) > 0
            && !debug::off(Switch::Fairness)
        {
            if let Some(gp) = s.globrunqget(&mut s.lock.lock(), pp, 1) {
                return (gp, false);
            }
        }
        if let Some(found) = pp.runq.runqget() {
            return found;
        }
        if s.runqsize.load(Ordering::Relaxed) != 0 {
            if let Some(gp) = s.globrunqget(&mut s.lock.lock(), pp, 0) {
                return (gp, false);
            }
        }
        // Poll the network: only an optimisation before stealing (as in
        // Go); sysmon polls too, so nothing depends on it.
        if let Some(gp) = netpoll::findrunnable_netpoll() {
            return (gp, false);
        }

        // Spinning Ms: steal work from other Ps. Limit the number of
        // spinning Ms to half the number of busy Ps: this prevents
        // excessive CPU use when GOMAXPROCS>>1 but parallelism is low.
        // `GODEBUG=stealoff=1`: never steal (nor spin, which is for
        // stealing). `spinningoff=1`: one look at the others' queues, as
        // a plain M, then park.
        let busy = s.gomaxprocs() - s.npidle.load(Ordering::Relaxed);
        let steal = !debug::off(Switch::Steal);
        if steal && debug::off(Switch::Spinning) {
            if let Some(gp) = steal_work(m, pp) {
                return (gp, false);
            }
        } else if steal && (m.spinning.load(Ordering::Relaxed) || 2 * s.nmspinning.load(Ordering::Relaxed) < busy) {
            if !m.spinning.load(Ordering::Relaxed) {
                m.spinning.store(true, Ordering::Relaxed);
                s.nmspinning.fetch_add(1, Ordering::SeqCst);
                s.mspins.fetch_add(1, Ordering::Relaxed);
            }
            if let Some(gp) = steal_work(m, pp) {
                return (gp, false);
            }
        }

        // Nothing to do. Give up the P, joining the idle Ms in the same
        // critical section (see `idle.rs` for why), after a last look at
        // the global queue under the lock.
        let mut locked = s.lock.lock();
        if s.gcwaiting.load(Ordering::Acquire) {
            continue 'top; // stop the P rather than idle it
        }
        if let Some(gp) = s.globrunqget(&mut locked, pp, 0) {
            return (gp, false);
        }
        // Clear `spinning` before this M becomes visible as idle: once it
        // is on the idle list, `startm` may hand it a P and set `spinning`
        // for the wakeup it counted, which must not be wiped out here (that
        // leaked one `nmspinning` for good, and `wakep` then never woke a
        // core again).
        let was_spinning = m.spinning.swap(false, Ordering::Relaxed);
        let pp = releasep(m);
        s.pidleput(&mut locked, pp);
        s.mput(&mut locked, m);
        drop(locked);

        // Spinning → not spinning: decrement, then re-check every queue
        // (and the network: a device interrupt is a producer too).
        // A producer that published work before our decrement became
        // visible is seen here; one that published after sees
        // nmspinning == 0 and wakes a core itself (`wakep`).
        if was_spinning {
            let before = s.nmspinning.fetch_sub(1, Ordering::SeqCst);
            assert!(before > 0, "findRunnable: negative nmspinning");
            let stealable = !debug::off(Switch::Steal) && s.allp().iter().any(|p| !p.runq.runqempty());
            if stealable || netpoll::netpoll_pending() {
                let mut locked = s.lock.lock();
                // Unless `startm` already chose this M, take ourselves off
                // the idle list and a P back. "Chose" is decided under the
                // lock — `startm` takes the M off the idle list there — not
                // by `nextp`, which it sets only after dropping the lock: an
                // M that trusted `nextp` could take a second P and run with
                // the `spinning` that startm counted for it, leaking one
                // `nmspinning` (then `wakep` never wakes a core again).
                if locked.midle & (1 << m.id) != 0 {
                    if let Some(pp) = s.pidleget(&mut locked) {
                        s.mremove(&mut locked, m.id);
                        drop(locked);
                        acquirep(m, pp);
                        m.spinning.store(true, Ordering::Relaxed);
                        s.nmspinning.fetch_add(1, Ordering::SeqCst);
                        continue 'top;
                    }
                }
            }
        }
        stopm_or_poll(m);
    }
}

/// Go's `stealWork`: up to four passes over the other Ps in a random order,
/// stealing half of the first non-empty run queue found; `runnext` is only
/// taken on the last pass (it is about to run on its own P — taking it
/// would just bounce it between cores). The last pass also runs the other
/// Ps' due timers, idle Ps included; the Gs they ready land on our P.
fn steal_work(m: &M, pp: &P) -> Option<NonNull<G>> {
    const STEAL_TRIES: usize = 4;
    let s = sched();
    let n = s.allp().len();
    for i in 0..STEAL_TRIES {
        let steal_runnext = i == STEAL_TRIES - 1;
        for victim in RandomOrder::new(n, m.fastrand()) {
            if victim == pp.id {
                continue;
            }
            if steal_runnext && check_timers(&s.allp()[victim]) > 0 {
                if let Some((gp, _)) = pp.runq.runqget() {
                    return Some(gp);
                }
            }
            if s.idlepmask.load(Ordering::Relaxed) & (1 << victim) != 0 {
                continue;
            }
            if let Some((gp, count)) = pp.runq.runqsteal(&s.allp()[victim].runq, steal_runnext) {
                pp.steals.fetch_add(1, Ordering::Relaxed);
                trace::steal(pp, victim, count);
                return Some(gp);
            }
        }
    }
    None
}

/// Go's `randomOrder`: visits 0..n in a pseudo-random order by starting at a
/// random position and stepping by a random number coprime to n.
struct RandomOrder {
    n: usize,
    pos: usize,
    inc: usize,
    left: usize,
}

impl RandomOrder {
    fn new(n: usize, rand: u64) -> RandomOrder {
        let coprimes = (1..=n).filter(|&i| gcd(i, n) == 1);
        let count = coprimes.clone().count();
        let inc = coprimes.clone().nth((rand >> 32) as usize % count).unwrap_or(1);
        RandomOrder { n, pos: rand as u32 as usize % n, inc, left: n }
    }
}

impl Iterator for RandomOrder {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let pos = self.pos;
        self.pos = (self.pos + self.inc) % self.n;
        Some(pos)
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}
