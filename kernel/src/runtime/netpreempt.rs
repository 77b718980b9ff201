//! Wake-up preemption for the network: a goroutine that the network card
//! readies does not wait for a whole time slice behind a goroutine that has
//! already run for a while. gmpos's own addition; Go has no such thing.
//!
//! **The problem.** With every P busy running CPU-bound goroutines, a packet
//! interrupts, but nobody polls: the idle core that `wakep` would wake does
//! not exist. In Go on Linux the same holds — the netpoller then runs only
//! from sysmon (every 10 ms) or when some goroutine reaches the scheduler,
//! and the readied goroutine waits on the global queue until a P passes
//! through `schedule`, at worst the end of a 10 ms slice. Measured on gmpos
//! before this file (`PROG=httpd N=4`, one connection): p50 12–13 ms, p99
//! about 29 ms, against 0.25 ms with the cores idle.
//!
//! **The fix.** gmpos owns both the interrupt and the scheduler, so it can
//! do what a Go program cannot: when the device has interrupted and no poll
//! has run since, the goroutine running on a core is preempted *if it has
//! run for at least [`MIN_RUN_NS`]* (a minimum run time, like Linux's
//! wake-up granularity, so that a burst of packets cannot cut a CPU-bound
//! goroutine into slivers). The check runs right in the device interrupt,
//! on the core it arrived on, and on every core's 1 ms tick while the
//! interrupt stays unpolled, so a goroutine too fresh at the interrupt is
//! taken at a later tick. Only one core acts per interrupt ([`CLAIMED`]).
//! The preempted goroutine goes to the global queue as any preempted one
//! does; its core, on g0, polls the network at once and puts the first
//! readied goroutine in its P's `runnext` with a fresh time slice, the rest
//! on the global queue. So a request waits for at most about one tick plus
//! [`MIN_RUN_NS`] instead of a slice, and a hog loses nothing but the
//! moment it takes to answer.
//!
//! `GODEBUG=netpollpreemptoff=1` turns it off (`asyncpreemptoff=1` too: it
//! is an asynchronous preemption): gmpos then behaves as Go does.
//! In the execution trace such a preemption is a `GoPreempt` immediately
//! followed, on the same P, by the network wake-up of the goroutine it made
//! room for. `docs/netpoller.md` has the measurements.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::g::{G, Status};
use super::m::M;
use super::p::P;
use super::debug::{self, Switch};
use super::netpoll;

/// A goroutine runs at least this long (in its time slice) before a
/// network wake-up may preempt it.
pub const MIN_RUN_NS: u64 = 1_000_000;

/// Some core has taken on the pending interrupt: it is preempting its G and
/// will poll. Cleared when a poll starts (`clear_claim`), so each interrupt
/// costs at most one preemption.
static CLAIMED: AtomicBool = AtomicBool::new(false);
/// Preemptions made for the network (for reports).
static PREEMPTS: AtomicU64 = AtomicU64::new(0);

/// Preemptions made so far for the network.
pub fn preempts() -> u64 {
    PREEMPTS.load(Ordering::Relaxed)
}

/// A poll is starting: the next interrupt may claim a preemption again.
pub(super) fn clear_claim() {
    CLAIMED.store(false, Ordering::Relaxed);
}

/// Whether the G running on `m`'s P should make room for a network wake-up
/// now, at `now`: the device interrupted since the last poll, the G has run
/// [`MIN_RUN_NS`] of its slice, and no other core has claimed this
/// interrupt. Called with interrupts off, from the device interrupt or the
/// tick, on `m`'s own core, after the caller checked that `m` runs a G
/// outside `acquirem`. The claim is taken last (a CAS), only when the rest
/// holds.
pub(super) fn should_preempt(pp: &P, now: u64) -> bool {
    if !netpoll::netpoll_pending() || debug::off(Switch::NetpollPreempt) || debug::off(Switch::AsyncPreempt) {
        return false;
    }
    // How long this slice has run, as this core's tick recorded it.
    if !super::preempt::slice_ran(pp, now, MIN_RUN_NS) {
        return false;
    }
    CLAIMED.compare_exchange(false, true, Ordering::Relaxed, Ordering::Relaxed).is_ok()
}

/// On g0 after a network preemption (the `mcall` function): requeue the
/// preempted G as `gopreempt_m` does, poll the network, and make the first
/// readied G this P's next, in a new time slice.
pub(super) fn gopreempt_netpoll_m(gp: NonNull<G>) {
    PREEMPTS.fetch_add(1, Ordering::Relaxed);
    super::preempt::gopreempt_m(gp);
    let pp = super::getm().p();
    // The slice ends with the preempted G: the readied one, which inherits
    // time from `runnext`, starts a new one.
    pp.schedtick.fetch_add(1, Ordering::Relaxed);
    if let Some(ready) = netpoll::netpoll_one() {
        super::proc::runqput(pp, ready, true);
    }
}

/// Go's `preemptone`'s caller for this cause, from the device interrupt
/// (after its EOI): preempt this core's G if it should make room.
pub(super) fn on_device_interrupt(m: &M, now: u64) {
    let pp = m.p.load(Ordering::Relaxed);
    let gp = m.curg.load(Ordering::Relaxed);
    if pp.is_null() || gp.is_null() || m.locks.load(Ordering::Relaxed) > 0 {
        return; // halted, in the scheduler, or not preemptible: the tick will look again
    }
    // SAFETY: Ps and Gs are never freed.
    let (pp, g) = unsafe { (&*pp, &*gp) };
    if g.status() == Status::Running && should_preempt(pp, now) {
        super::preempt::preemptone(m, pp, gopreempt_netpoll_m);
    }
}
