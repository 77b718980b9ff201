//! Timers: Go's per-P timer heaps (`runtime/time.go`), `time.Sleep`, and
//! timers that call a function when they fire (what `time.After`, tickers
//! and timeouts are built on).
//!
//! Each P keeps its timers in a min-heap ordered by `when`, with the
//! earliest deadline mirrored in an atomic (Go's `p.timer0When`) so that
//! anyone can see, without the lock, whether a P has a timer due. Expired
//! timers are run (Go's `checkTimers`):
//!
//! - by the P's own M at the top of `findRunnable`, and from its timer tick
//!   while it runs a goroutine (so a busy P's sleepers are not late);
//! - by other Ms in the last round of `stealWork` (so are an idle P's);
//! - and the sysmon tick on core 0 wakes an idle core and hands it an
//!   idle P whose timers are due (`startm_for_timers`), so no sleeper waits
//!   for a P that nobody runs.
//!
//! A timer's function runs with its P held and interrupts off; it must not
//! block. `goready` is the typical one.

use alloc::collections::BinaryHeap;
use core::cmp::Ordering as CmpOrdering;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};

use super::g::{G, WaitReason};
use super::p::P;
use super::{getg, getm, gopark, goready};
use crate::arch::time::nanotime;
use crate::sync::IrqLock;

pub use super::timechan::{Ticker, after};

/// A pending timer (Go's `timer`): at `when`, call `f(arg)`. Timers cannot
/// be stopped: what uses them (sleep, `after`, tickers, socket deadlines)
/// checks its own state when the function runs, so a timer that is no
/// longer wanted simply finds nothing to do.
struct Entry {
    when: u64,
    /// Order of arming, to break ties between equal deadlines (FIFO).
    seq: u64,
    f: fn(usize),
    arg: usize,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.when, self.seq) == (other.when, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest first;
    /// `seq` keeps timers with equal deadlines in the order they were set.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.when, other.seq).cmp(&(self.when, self.seq))
    }
}

/// One P's timers (Go's `p.timers` and `p.timer0When`).
pub struct Timers {
    heap: IrqLock<BinaryHeap<Entry>>,
    /// Earliest deadline in the heap, or 0 when it is empty.
    pub timer0_when: AtomicU64,
    /// Length of the heap (scheddetail's `timerslen`).
    pub len: AtomicU64,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

impl Timers {
    pub fn new() -> Timers {
        Timers { heap: IrqLock::new(BinaryHeap::new()), timer0_when: AtomicU64::new(0), len: AtomicU64::new(0) }
    }

    fn publish(&self, heap: &BinaryHeap<Entry>) {
        self.timer0_when.store(heap.peek().map_or(0, |e| e.when), Ordering::Release);
        self.len.store(heap.len() as u64, Ordering::Relaxed);
    }

    /// Go's `doaddtimer`, and `wakeNetPoller` when the timer is this P's
    /// earliest (a later one changes nothing for the waiting M).
    fn add(&self, when: u64, f: fn(usize), arg: usize) {
        let earliest = {
            let mut heap = self.heap.lock();
            heap.push(Entry { when, seq: SEQ.fetch_add(1, Ordering::Relaxed), f, arg });
            self.publish(&heap);
            heap.peek().is_some_and(|e| e.when == when)
        };
        if earliest {
            super::idle::wake_netpoller(when);
        }
    }

    /// Whether a timer is due at `now` (lock-free).
    pub fn due(&self, now: u64) -> bool {
        let when = self.timer0_when.load(Ordering::Acquire);
        when != 0 && when <= now
    }
}

/// Go's `checkTimers`: runs `pp`'s timers that are due. Called by an M that
/// holds a P (its own `pp`, or another P's when stealing); readied Gs go to
/// the caller's P. Returns how many timers fired.
pub(super) fn check_timers(pp: &P) -> usize {
    // As in Go, a P with no timers returns before reading the clock: this
    // runs on every pass through `findRunnable`.
    if pp.timers.timer0_when.load(Ordering::Acquire) == 0 {
        return 0;
    }
    let now = nanotime();
    if !pp.timers.due(now) {
        return 0;
    }
    let mut fired = 0;
    loop {
        // Pop one due timer under the lock, run it without the lock (its
        // function may take other locks, or add timers to this P).
        let entry = {
            let mut heap = pp.timers.heap.lock();
            let due = heap.peek().is_some_and(|e| e.when <= now);
            let entry = if due { heap.pop() } else { None };
            pp.timers.publish(&heap);
            entry
        };
        let Some(entry) = entry else { return fired };
        super::trace::timer_fire(pp);
        (entry.f)(entry.arg);
        fired += 1;
    }
}

/// Go's `moveTimers`: moves every timer of `from` (a P that `procresize`
/// is destroying) to `to`, keeping their deadlines and order.
pub(super) fn move_timers(from: &P, to: &P) {
    let entries = {
        let mut heap = from.timers.heap.lock();
        let entries = core::mem::take(&mut *heap);
        from.timers.publish(&heap);
        entries
    };
    let mut heap = to.timers.heap.lock();
    heap.extend(entries);
    to.timers.publish(&heap);
}

/// Go's `addtimer`: calls `f(arg)` at `when` (nanotime), on this P.
pub fn start_timer(when: u64, f: fn(usize), arg: usize) {
    let _m = super::m::acquirem();
    getm().p().timers.add(when, f, arg);
}

fn ready_sleeper(gp: usize) {
    // SAFETY: `sleep` passed its own G, which waits parked for this timer.
    goready(unsafe { NonNull::new_unchecked(gp as *mut G) });
}

/// Go's `time.Sleep` (`timeSleep`): parks the goroutine for at least `ns`
/// nanoseconds. As in Go, the timer is armed only once the G is parked
/// (in gopark's unlock step), so it cannot fire before the G sleeps.
pub fn sleep(ns: u64) {
    if ns == 0 {
        return;
    }
    let when = nanotime().saturating_add(ns);
    let gp = getg().as_ptr() as usize;
    gopark(
        move || {
            getm().p().timers.add(when, ready_sleeper, gp);
        },
        WaitReason::Sleep,
    );
}
