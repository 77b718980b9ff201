//! The network poller: Go's `netpoll` and `pollDesc` (runtime/netpoll.go).
//!
//! In Go every socket is non-blocking underneath. A goroutine that reads a
//! socket with no data parks on the socket's `pollDesc` ("IO wait"); the
//! OS (epoll, kqueue) reports readiness, and `netpoll` turns the reports
//! into a list of runnable Gs. In gmpos the "OS" is the device itself:
//!
//! 1. virtio-net raises its interrupt line. The handler only masks the line
//!    and calls [`netpoll_device_event`]: set [`PENDING`], wake an idle core
//!    (`wakep`). No lock, no network stack, no allocation.
//! 2. Someone polls ([`netpoll`]): `findRunnable` on any core, before it
//!    steals (as in Go), when an interrupt is pending or the TCP/IP stack
//!    asked to be polled by now — and a spinning M about to halt re-checks
//!    [`PENDING`] as it re-checks the run queues, since the interrupt's
//!    `wakep` may have counted on it; sysmon (core 0's tick) when nobody has
//!    polled for 10 ms; and the goroutines' own socket calls when they
//!    queued output (those ready others via [`injectglist`]). Polling runs
//!    the stack (`net::poll`, registered with [`netpollinit`]) under its
//!    lock: acknowledge the device, move packets, and for every socket that
//!    became ready hand its parked G to a list ([`PollDesc::ready`]).
//! 3. The list is made runnable: returned by `findRunnable` (its first G)
//!    and put on the global run queue (`injectglist`).
//!
//! Progress does not depend on an idle core: with every P busy running
//! CPU-bound Gs, sysmon still polls within 10 ms (Go's sysmon does the
//! same: `if lastpoll+10ms < now { list := netpoll(0); injectglist(list) }`),
//! and each preempted G passes through `findRunnable`, which polls when an
//! interrupt is pending.

use alloc::sync::Arc;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};

use super::debug::{self, Switch};
use super::g::{G, GList, Status, WaitReason};
use super::idle::wakep;
use super::sched::{sched, try_sched};
use super::time::start_timer;
use super::latency::Latency;
use super::{getg, gopark, goready};
use crate::arch::time::{nanotime, rdtsc};

/// sysmon polls the network when nobody has for this long (Go: 10 ms).
const SYSMON_POLL_NS: u64 = 10_000_000;

/// The network stack's poll function (Go's platform `netpoll`, e.g.
/// epoll_wait with a zero timeout): processes what the device has and
/// appends the Gs whose sockets became ready to the list.
static POLLER: spin::Once<fn(&mut GList)> = spin::Once::new();
/// The device interrupted since the last poll started. Set (Release) by
/// the interrupt handler; cleared (Acquire) by the poller before it polls,
/// so an interrupt during a poll is never lost: it sets the flag again.
static PENDING: AtomicBool = AtomicBool::new(false);
/// When the last poll started (Go's `sched.lastpoll`), in ns.
static LASTPOLL: AtomicU64 = AtomicU64::new(0);
/// When the TCP/IP stack next needs polling even without traffic
/// (retransmissions, delayed ACKs), in ns; 0 for never.
static POLL_AT: AtomicU64 = AtomicU64::new(0);
/// Gs parked in "IO wait".
static WAITERS: AtomicUsize = AtomicUsize::new(0);
/// Device interrupts taken, and polls run (for reports).
static INTERRUPTS: AtomicU64 = AtomicU64::new(0);
static POLLS: AtomicU64 = AtomicU64::new(0);
/// When the device first interrupted since the last poll started (ns),
/// 0 for none: the start of the wait that [`IRQ_WAITS`] measures.
static IRQ_AT: AtomicU64 = AtomicU64::new(0);
/// `rdtsc` at the last device interrupt and at the start of the last poll
/// (under `ICOUNT=1`, instruction counts: `PROG=httpd` reports where one
/// request's instructions go, `programs/reqpath.rs`).
static LAST_IRQ_TSC: AtomicU64 = AtomicU64::new(0);
static LAST_POLL_TSC: AtomicU64 = AtomicU64::new(0);
/// How long interrupts waited for the poll that served them, in 250 µs
/// buckets up to 50 ms.
static IRQ_WAITS: Latency<200, 250> = Latency::new();

/// Go's `netpollinit`: the network stack registers its poll function.
pub fn netpollinit(poll: fn(&mut GList)) {
    POLLER.call_once(|| poll);
}

/// Go's `netpollinited`.
fn netpollinited() -> bool {
    POLLER.is_completed()
}

/// Number of goroutines parked in "IO wait" (what a deadlock detector must
/// not count as deadlocked: the network may still wake them).
pub fn waiters() -> usize {
    WAITERS.load(Ordering::Relaxed)
}

/// Device interrupts and polls so far.
pub fn counts() -> (u64, u64) {
    (INTERRUPTS.load(Ordering::Relaxed), POLLS.load(Ordering::Relaxed))
}

/// `rdtsc` at the last device interrupt and at the start of the last poll.
pub fn last_interrupt_and_poll_tsc() -> (u64, u64) {
    (LAST_IRQ_TSC.load(Ordering::Relaxed), LAST_POLL_TSC.load(Ordering::Relaxed))
}

/// The `q`-quantile (0.0–1.0) of how long device interrupts waited for the
/// poll that served them, in µs, rounded up to the histogram's 250 µs
/// buckets; 0 before any was served.
pub fn irq_wait_quantile_us(q: f64) -> u64 {
    IRQ_WAITS.quantile_us(q)
}

/// The TCP/IP stack's next deadline (nanotime), 0 for none.
pub fn set_poll_at(when: u64) {
    POLL_AT.store(when, Ordering::Relaxed);
}

/// Called by the network device's interrupt handler (interrupts off): the
/// device has something. The equivalent of epoll reporting an event plus
/// Go's `netpollBreak`: record it, and wake an idle core to poll.
///
/// With `GODEBUG=netpollirqoff=1` it only records it, as epoll holds an
/// event that nobody waits for: the packet waits for the next poll, by a
/// `findRunnable` or sysmon (10 ms) — what Go on Linux does when no M is
/// blocked in `netpoll`.
pub fn netpoll_device_event() {
    INTERRUPTS.fetch_add(1, Ordering::Relaxed);
    LAST_IRQ_TSC.store(rdtsc(), Ordering::Relaxed);
    let _ = IRQ_AT.compare_exchange(0, nanotime(), Ordering::Relaxed, Ordering::Relaxed);
    PENDING.store(true, Ordering::Release);
    if try_sched().is_some() && !debug::off(Switch::NetpollIrq) {
        wakep();
    }
}

/// Whether the device interrupted since the last poll. SeqCst: this is the
/// spinning M's side of the wakep protocol (see `idle.rs`); the interrupt
/// handler's side is `wakep`'s SeqCst fence after setting PENDING.
pub(super) fn netpoll_pending() -> bool {
    PENDING.load(Ordering::SeqCst)
}

/// Go's `netpoll(0)`: polls the network stack without blocking and returns
/// the Gs that became runnable (still `_Gwaiting`).
fn netpoll() -> GList {
    let mut list = GList::new();
    let Some(poll) = POLLER.get() else { return list };
    LAST_POLL_TSC.store(rdtsc(), Ordering::Relaxed);
    let now = nanotime();
    LASTPOLL.store(now, Ordering::Relaxed);
    POLLS.fetch_add(1, Ordering::Relaxed);
    super::netpreempt::clear_claim();
    PENDING.swap(false, Ordering::Acquire);
    // After PENDING: an interrupt in between is served by this poll and
    // leaves IRQ_AT as it found it, so no wait is measured across polls.
    let at = IRQ_AT.swap(0, Ordering::Relaxed);
    if at != 0 {
        IRQ_WAITS.record_ns(now.saturating_sub(at));
    }
    poll(&mut list);
    list
}

/// Go's `injectglist`: makes every G on `list` runnable, on the global run
/// queue, and wakes an idle core to run them. (Go puts some on the current
/// P's local queue when it has one; the global queue serves every caller
/// here — findRunnable, sysmon in an interrupt, a goroutine that polled
/// the stack during a socket call — alike.)
pub fn injectglist(mut list: GList) {
    if list.len == 0 {
        return;
    }
    let s = sched();
    {
        let mut locked = s.lock.lock();
        while let Some(gp) = list.pop() {
            // SAFETY: Gs are never freed.
            unsafe { gp.as_ref() }.casgstatus(Status::Waiting, Status::Runnable);
            // SAFETY: as above.
            super::trace::netpoll_wake(unsafe { gp.as_ref() });
            s.globrunqput(&mut locked, gp);
        }
    }
    wakep();
}

/// The `netpoll` step of `findRunnable` (Go: "Poll network. This netpoll is
/// only an optimization before we resort to stealing"): if the device
/// interrupted or the stack has a deadline due, poll; run the first ready
/// G here and queue the rest.
pub(super) fn findrunnable_netpoll() -> Option<NonNull<G>> {
    if !netpollinited() {
        return None;
    }
    let at = POLL_AT.load(Ordering::Relaxed);
    if !PENDING.load(Ordering::Relaxed) && (at == 0 || at > nanotime()) {
        return None;
    }
    netpoll_one()
}

/// Polls the network; returns the first G that became ready, runnable
/// now, and puts the rest on the global run queue.
pub(super) fn netpoll_one() -> Option<NonNull<G>> {
    let mut list = netpoll();
    let gp = list.pop()?;
    injectglist(list);
    // SAFETY: Gs are never freed.
    unsafe { gp.as_ref() }.casgstatus(Status::Waiting, Status::Runnable);
    // SAFETY: as above.
    super::trace::netpoll_wake(unsafe { gp.as_ref() });
    Some(gp)
}

/// sysmon's share (Go: "poll network if not polled for more than 10ms"):
/// whatever every P is doing, sockets make progress. As Go's checks
/// `netpollAnyWaiters`, it skips the poll when there is nothing to find:
/// no interrupt pending, no stack deadline due, no goroutine waiting (so a
/// program without sockets pays nothing).
pub(super) fn sysmon_netpoll(now: u64) {
    if !netpollinited() || LASTPOLL.load(Ordering::Relaxed) + SYSMON_POLL_NS >= now {
        return;
    }
    let at = POLL_AT.load(Ordering::Relaxed);
    if PENDING.load(Ordering::Relaxed) || (at != 0 && at <= now) || waiters() > 0 {
        injectglist(netpoll());
    }
}

/// When a sleeping sysmon (`sysmon.rs`) must wake to poll for the TCP/IP
/// stack's next deadline: that deadline, but not before `sysmon_netpoll`
/// would poll (10 ms after the last poll); `None` when there is none.
pub(super) fn sysmon_poll_deadline() -> Option<u64> {
    let at = POLL_AT.load(Ordering::Relaxed);
    (at != 0 && netpollinited()).then(|| at.max(LASTPOLL.load(Ordering::Relaxed) + SYSMON_POLL_NS + 1))
}

const WAITING: u8 = 0;
const READY: u8 = 1;
const TIMED_OUT: u8 = 2;

/// A goroutine parked on a socket. The poller and the read-deadline timer
/// race to wake it: whoever moves `state` from WAITING first (a CAS, AcqRel
/// so the winner sees the G's published state) readies the G; the loser
/// does nothing. So a G is readied exactly once.
pub struct Waiter {
    g: NonNull<G>,
    state: AtomicU8,
}

// SAFETY: `g` points to a G, which is never freed; it is only used by the
// CAS winner to ready the G.
unsafe impl Send for Waiter {}
unsafe impl Sync for Waiter {}

/// Read or write readiness (Go's mode 'r' / 'w').
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Read,
    Write,
}

/// Go's `pollDesc`: the reader and the writer parked on one socket. Go's
/// fields are atomics because its netpoll runs without a lock; here every
/// PollDesc lives inside the network stack and is only touched under its
/// lock, which also closes the race between parking and readiness: the
/// lock is released only once the G is parked (gopark's unlock step).
#[derive(Default)]
pub struct PollDesc {
    rg: Option<Arc<Waiter>>,
    wg: Option<Arc<Waiter>>,
}

impl PollDesc {
    fn slot(&mut self, mode: Mode) -> &mut Option<Arc<Waiter>> {
        match mode {
            Mode::Read => &mut self.rg,
            Mode::Write => &mut self.wg,
        }
    }

    /// Whether a G is parked waiting for `mode`.
    pub fn waiting(&self, mode: Mode) -> bool {
        let w = match mode {
            Mode::Read => &self.rg,
            Mode::Write => &self.wg,
        };
        w.as_ref().is_some_and(|w| w.state.load(Ordering::Relaxed) == WAITING)
    }

    /// Go's `netpollready`: the socket is ready for `mode`; its parked G,
    /// if any, goes on `list`.
    pub fn ready(&mut self, mode: Mode, list: &mut GList) {
        if let Some(w) = self.slot(mode).take() {
            if w.state.compare_exchange(WAITING, READY, Ordering::AcqRel, Ordering::Acquire).is_ok() {
                list.push(w.g);
            }
        }
    }
}

/// The read deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut;

/// Go's `netpollblock` (behind `poll_runtime_pollWait`): parks the running
/// G on `pd` until the socket is ready for `mode` or `deadline` (nanotime)
/// passes. The caller holds the network stack's lock (`lock`), under which
/// it found the socket not ready; it is released only once the G is off its
/// stack, so readiness found by a poller after the release always finds
/// the G parked. Returns `Err(TimedOut)` if the deadline woke it.
///
/// Panics if another G already waits on `pd` for `mode` (Go reports
/// "concurrent read"; callers prevent it by taking `&mut self`).
pub fn netpollblock<L>(pd: &mut PollDesc, mode: Mode, lock: L, deadline: Option<u64>) -> Result<(), TimedOut> {
    assert!(!pd.waiting(mode), "netpollblock: two goroutines wait on one socket");
    let w = Arc::new(Waiter { g: getg(), state: AtomicU8::new(WAITING) });
    *pd.slot(mode) = Some(w.clone());
    WAITERS.fetch_add(1, Ordering::Relaxed);
    let timer_w = w.clone();
    gopark(
        move || {
            // On g0, the G parked: arm the deadline, then let pollers in.
            // The timer is never stopped: if the poller wins, it fires
            // later, loses the CAS and only drops its reference.
            if let Some(when) = deadline {
                start_timer(when, netpoll_deadline, Arc::into_raw(timer_w) as usize);
            }
            drop(lock);
        },
        WaitReason::IoWait,
    );
    WAITERS.fetch_sub(1, Ordering::Relaxed);
    match w.state.load(Ordering::Acquire) {
        TIMED_OUT => Err(TimedOut),
        _ => Ok(()),
    }
}

/// The deadline timer's function (Go's `netpollReadDeadline`).
fn netpoll_deadline(arg: usize) {
    // SAFETY: `netpollblock` leaked one reference for this timer.
    let w = unsafe { Arc::from_raw(arg as *const Waiter) };
    if w.state.compare_exchange(WAITING, TIMED_OUT, Ordering::AcqRel, Ordering::Acquire).is_ok() {
        goready(w.g);
    }
}
