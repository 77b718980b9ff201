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
//!
//! **Stoppable timers** (Go's `timer` with `stop` and `modify`, behind
//! `Timer`, `Ticker` and `after_func` in `timechan.rs`): a [`TimerCell`]
//! keeps the timer's state under its own lock; the heap holds entries that
//! point to it, each tagged with the cell's `version` when it was armed.
//! Stopping or resetting a timer bumps the version, which turns its heap
//! entry into a *zombie* (Go's `timerZombie`) in O(1): nothing is searched.
//! Zombies leave the heap lazily, as in Go: those at the top are popped
//! whenever the heap is touched (Go's `cleanHead`), and when more than a
//! quarter of the heap is zombies, one pass drops them all (Go's `adjust`)
//! — amortised O(1) per stop. Lock order: heap, then cell, then channel.

use alloc::collections::BinaryHeap;
use alloc::sync::Arc;
use core::cmp::Ordering as CmpOrdering;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};

use super::g::{G, WaitReason};
use super::p::P;
use super::{getg, getm, gopark, goready};
use crate::arch::time::nanotime;
use crate::sync::{IrqLock, IrqLockGuard};

pub use super::timechan::{Ticker, Timer, after, after_func};

/// A heap entry (Go's `timerWhen`): at `when`, do `what`.
struct Entry {
    when: u64,
    /// Order of arming, to break ties between equal deadlines (FIFO).
    seq: u64,
    what: What,
}

enum What {
    /// A runtime timer that is never stopped (sleep, socket deadlines):
    /// call `f(arg)`. Whoever uses it checks its own state when it runs,
    /// so one no longer wanted finds nothing to do.
    Func(fn(usize), usize),
    /// A stoppable timer, armed at this version of its cell.
    Cell(Arc<TimerCell>, u64),
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

impl Entry {
    /// A stopped or re-armed timer's stale entry (Go's `timerZombie`).
    /// Locks the cell: the heap's lock is held, which comes first.
    fn zombie(&self) -> bool {
        match &self.what {
            What::Func(..) => false,
            What::Cell(t, version) => !t.st.lock().armed_at(*version),
        }
    }
}

/// One P's timers (Go's `p.timers`: its heap, `timer0When`, `zombies`).
pub struct Timers {
    heap: IrqLock<BinaryHeap<Entry>>,
    /// Earliest deadline in the heap, or 0 when it is empty.
    pub timer0_when: AtomicU64,
    /// Length of the heap, zombies included (scheddetail's `timerslen`).
    pub len: AtomicU64,
    /// Zombie entries in the heap (Go's `timers.zombies`).
    pub zombies: AtomicU64,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

impl Timers {
    pub fn new() -> Timers {
        Timers {
            heap: IrqLock::new(BinaryHeap::new()),
            timer0_when: AtomicU64::new(0),
            len: AtomicU64::new(0),
            zombies: AtomicU64::new(0),
        }
    }

    fn publish(&self, heap: &BinaryHeap<Entry>) {
        self.timer0_when.store(heap.peek().map_or(0, |e| e.when), Ordering::Release);
        self.len.store(heap.len() as u64, Ordering::Relaxed);
    }

    /// Go's `cleanHead` and, past a quarter of zombies, `adjust`: drops the
    /// zombies at the top of the heap, or all of them. One load when there
    /// are none (a heap of sleepers never has any).
    fn clean(&self, heap: &mut BinaryHeap<Entry>) {
        if self.zombies.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut removed = 0;
        if self.zombies.load(Ordering::Relaxed) as usize > heap.len() / 4 {
            let before = heap.len();
            heap.retain(|e| !e.zombie());
            removed = before - heap.len();
        } else {
            while heap.peek().is_some_and(Entry::zombie) {
                heap.pop();
                removed += 1;
            }
        }
        // Every zombie was counted when it was made (under its cell's
        // lock, while its entry was in this heap), so this cannot wrap.
        self.zombies.fetch_sub(removed as u64, Ordering::Relaxed);
    }

    /// Go's `doaddtimer`, and `wakeNetPoller` when the timer is this P's
    /// earliest (a later one changes nothing for the waiting M). `arm`
    /// runs with the heap locked, so a cell is armed and pushed at once.
    fn add(&self, when: u64, arm: impl FnOnce() -> What) {
        let earliest = {
            let mut heap = self.heap.lock();
            self.clean(&mut heap);
            heap.push(Entry { when, seq: SEQ.fetch_add(1, Ordering::Relaxed), what: arm() });
            self.publish(&heap);
            heap.peek().is_some_and(|e| e.when == when)
        };
        if earliest {
            super::idle::wake_netpoller(when);
        }
    }

    /// Whether the heap holds a timer that can still fire (entries that
    /// are not zombies). Exact once every M is idle, as for `checkdead`.
    pub fn live(&self) -> bool {
        self.len.load(Ordering::Relaxed) > self.zombies.load(Ordering::Relaxed)
    }

    /// Whether a timer is due at `now` (lock-free).
    pub fn due(&self, now: u64) -> bool {
        let when = self.timer0_when.load(Ordering::Acquire);
        when != 0 && when <= now
    }
}

/// What a stoppable timer does when it fires.
pub(super) enum Fire {
    /// Send the time on the channel without blocking (Go's `sendTime`),
    /// unless the timer was stopped or reset meanwhile.
    Chan(super::chan::Chan<u64>),
    /// Run the function in a new goroutine (Go's `goFunc`, for
    /// `time.AfterFunc`).
    Func(Arc<dyn Fn() + Send + Sync>),
}

/// A stoppable timer (Go's `timer`): its state under its own lock (Go's
/// `timer.mu`).
pub(super) struct TimerCell {
    st: IrqLock<CellState>,
    fire: Fire,
}

struct CellState {
    /// The deadline while armed; 0 when stopped or fired (Go's `when`).
    when: u64,
    /// For a ticker, the period; re-armed `period` later when it fires.
    period: u64,
    /// Bumped by every stop and reset (Go's `seq`): the heap entry of the
    /// live arming carries the current version; older ones are zombies,
    /// and a firing that raced with a stop sends nothing.
    version: u64,
    /// The heap holding the live entry, while armed.
    heap: Option<&'static Timers>,
}

impl CellState {
    fn armed_at(&self, version: u64) -> bool {
        self.when != 0 && self.version == version
    }

    /// Disarms the timer; true if it was armed. Its entry becomes a zombie.
    fn disarm(&mut self) -> bool {
        self.version += 1;
        let pending = self.when != 0;
        self.when = 0;
        if let Some(heap) = self.heap.take() {
            heap.zombies.fetch_add(1, Ordering::Relaxed);
        }
        pending
    }
}

impl TimerCell {
    /// A timer armed for `when` (with `period` for a ticker), on this P.
    pub fn start(when: u64, period: u64, fire: Fire) -> Arc<TimerCell> {
        let t = Arc::new(TimerCell {
            st: IrqLock::new(CellState { when: 0, period: 0, version: 0, heap: None }),
            fire,
        });
        t.modify(when, period);
        t
    }

    /// Go's `timer.stop`: disarms the timer; true if it was armed. A
    /// channel timer's undelivered value is dropped too (Go 1.23: no stale
    /// value is received after `Stop`), which also counts as stopping it.
    pub fn stop(&self) -> bool {
        let pending = self.st.lock().disarm();
        self.drain() || pending
    }

    /// Go's `timer.modify` (what `Reset` calls): re-arms the timer for
    /// `when`, with `period`, on this P; true if it was armed (or, for a
    /// channel, had a value waiting, which is dropped as by `stop`).
    pub fn modify(self: &Arc<Self>, when: u64, period: u64) -> bool {
        // Disarm, and drop a stale value, before arming again: drained
        // after, a value sent by the new arming (a short timer, a slow
        // goroutine) would be lost.
        let pending = self.st.lock().disarm();
        let drained = self.drain();
        let _m = super::m::acquirem();
        let timers = &getm().p().timers;
        let when = when.max(1); // 0 means "not armed"
        timers.add(when, || {
            let mut st = self.st.lock();
            st.disarm(); // armed again meanwhile by a concurrent `modify`
            st.when = when;
            st.period = period;
            st.heap = Some(timers);
            What::Cell(self.clone(), st.version)
        });
        drained || pending
    }

    /// Go's `timerchandrain`: empties a channel timer's buffer; true if a
    /// value was waiting.
    fn drain(&self) -> bool {
        match &self.fire {
            Fire::Chan(c) => c.try_recv().is_some(),
            Fire::Func(_) => false,
        }
    }

    /// Does what the timer does, unless it was stopped or re-armed since
    /// `check_timers` popped it at `version`.
    fn run(&self, version: u64, now: u64) {
        match &self.fire {
            Fire::Chan(c) => {
                // Under the cell's lock, so that a `stop` either comes
                // first (the version moved: nothing is sent) or drains it.
                let st = self.st.lock();
                if st.version == version {
                    let _ = c.try_send(now);
                }
                drop(st);
            }
            Fire::Func(f) => {
                let f = f.clone();
                super::go(move || f());
            }
        }
    }
}

/// Go's `checkTimers`: runs `pp`'s timers that are due. Called by an M that
/// holds a P (its own `pp`, or another P's when stealing); readied Gs go to
/// the caller's P. Returns how many timers fired.
#[inline]
pub(super) fn check_timers(pp: &P) -> usize {
    // As in Go, a P with no timers returns before reading the clock: this
    // runs on every pass through `findRunnable`, so it is inlined there and
    // the rest is not.
    if pp.timers.timer0_when.load(Ordering::Acquire) == 0 {
        return 0;
    }
    run_timers(pp)
}

/// The rest of `check_timers`, for a P that has timers.
#[inline(never)]
fn run_timers(pp: &P) -> usize {
    let now = nanotime();
    if !pp.timers.due(now) && pp.timers.zombies.load(Ordering::Relaxed) == 0 {
        return 0;
    }
    let mut fired = 0;
    loop {
        // Pop one due timer under the lock, run it without the lock (its
        // function may take other locks, or add timers to this P).
        let what = {
            let mut heap = pp.timers.heap.lock();
            pp.timers.clean(&mut heap);
            let what = if heap.peek().is_some_and(|e| e.when <= now) { heap.pop().map(|e| pop(&pp.timers, e, &mut heap)) } else { None };
            pp.timers.publish(&heap);
            what
        };
        match what {
            None => return fired,
            Some(None) => continue, // stopped since `clean` looked at it
            Some(Some(What::Func(f, arg))) => f(arg),
            Some(Some(What::Cell(t, version))) => t.run(version, now),
        }
        super::trace::timer_fire(pp);
        fired += 1;
    }
}

/// A due entry has left `timers`' heap (locked): a cell is disarmed, or
/// for a ticker re-armed one period later, skipping periods already past
/// (Go's `unlockAndRun`). `None` if it turned out to be a zombie: stopped
/// since `clean` looked at it (and counted as one).
fn pop(timers: &Timers, e: Entry, heap: &mut IrqLockGuard<'_, BinaryHeap<Entry>>) -> Option<What> {
    if let What::Cell(t, version) = &e.what {
        let mut st = t.st.lock();
        if !st.armed_at(*version) {
            timers.zombies.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        if st.period > 0 {
            let behind = nanotime().saturating_sub(st.when) / st.period;
            st.when += (behind + 1) * st.period;
            heap.push(Entry { when: st.when, seq: SEQ.fetch_add(1, Ordering::Relaxed), what: What::Cell(t.clone(), *version) });
        } else {
            st.when = 0;
            st.heap = None;
        }
    }
    Some(e.what)
}

/// Go's `moveTimers`: moves every live timer of `from` (a P that
/// `procresize` is destroying, with the world stopped) to `to`, keeping
/// their deadlines and order; zombies are dropped.
pub(super) fn move_timers(from: &P, to: &'static P) {
    let entries = {
        let mut heap = from.timers.heap.lock();
        let entries = core::mem::take(&mut *heap);
        from.timers.publish(&heap);
        from.timers.zombies.store(0, Ordering::Relaxed);
        entries
    };
    let mut heap = to.timers.heap.lock();
    for e in entries {
        if let What::Cell(t, version) = &e.what {
            let mut st = t.st.lock();
            if !st.armed_at(*version) {
                continue;
            }
            st.heap = Some(&to.timers);
        }
        heap.push(e);
    }
    to.timers.publish(&heap);
}

/// Go's `addtimer`: calls `f(arg)` at `when` (nanotime), on this P.
pub fn start_timer(when: u64, f: fn(usize), arg: usize) {
    let _m = super::m::acquirem();
    getm().p().timers.add(when, || What::Func(f, arg));
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
            getm().p().timers.add(when, || What::Func(ready_sleeper, gp));
        },
        WaitReason::Sleep,
    );
}

/// Entries in every P's timer heap, zombies included (the sum of
/// scheddetail's `timerslen`).
pub fn heap_timers() -> u64 {
    super::sched::sched().allp().iter().map(|pp| pp.timers.len.load(Ordering::Relaxed)).sum()
}
