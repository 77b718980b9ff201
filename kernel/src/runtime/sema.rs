//! Semaphores for `sync.Mutex`: Go's `semacquire1` and `semrelease1`
//! (`sema.go`). A count, and a queue of goroutines (sudogs) waiting for it
//! to be positive.
//!
//! Where gmpos differs: Go keeps one global table of wait queues keyed by
//! the semaphore's address (a treap per bucket), so that a semaphore is a
//! bare `uint32`; here each semaphore carries its own queue.

use core::sync::atomic::{AtomicU32, Ordering};

use super::g::WaitReason;
use super::proc::goyield;
use super::sudog::{Sudog, WaitQ};
use super::{getg, gopark, goready, with_this_m};
use crate::arch::interrupts;
use crate::sync::IrqLock;

pub(super) struct Sema {
    count: AtomicU32,
    /// Goroutines in `semacquire` past the fast path (Go's `root.nwait`):
    /// lets `semrelease` skip the lock when nobody waits.
    nwait: AtomicU32,
    waiters: IrqLock<WaitQ<()>>,
}

// SAFETY: the queue's raw pointers are to sudogs of parked goroutines,
// touched only under the lock (see sudog.rs).
unsafe impl Send for Sema {}
unsafe impl Sync for Sema {}

impl Sema {
    pub const fn new() -> Sema {
        Sema { count: AtomicU32::new(0), nwait: AtomicU32::new(0), waiters: IrqLock::new(WaitQ::new()) }
    }

    /// Go's `cansemacquire`: takes one from the count if it is positive.
    fn cansemacquire(&self) -> bool {
        let mut v = self.count.load(Ordering::SeqCst);
        loop {
            if v == 0 {
                return false;
            }
            match self.count.compare_exchange_weak(v, v - 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return true,
                Err(now) => v = now,
            }
        }
    }

    /// Go's `semacquire1`: waits until the count is positive and takes
    /// one. `lifo` queues at the front (a waiter that has already waited).
    ///
    /// No wakeup is lost: a waiter increments `nwait` and re-checks the
    /// count under the lock; `semrelease` increments the count and then
    /// reads `nwait`. Both are SeqCst (a StoreLoad pair, as in `wakep`), so
    /// either the waiter sees the count or the releaser sees the waiter —
    /// and then takes the lock, which the waiter holds until it is parked.
    pub fn semacquire(&self, lifo: bool, reason: WaitReason) {
        // Easy case.
        if self.cansemacquire() {
            return;
        }
        let mut s = Sudog::<()>::new(getg(), core::ptr::null_mut());
        let sp = &raw mut s;
        loop {
            let q = {
                let mut q = self.waiters.lock();
                // Add ourselves to nwait to disable "easy case" in semrelease.
                self.nwait.fetch_add(1, Ordering::SeqCst);
                // Check cansemacquire to avoid missed wakeup.
                if self.cansemacquire() {
                    self.nwait.fetch_sub(1, Ordering::SeqCst);
                    return;
                }
                // Any semrelease after the cansemacquire knows we're
                // waiting (we set nwait above), so go to sleep.
                // SAFETY: `s` lives in this frame until we return, and is
                // in no queue (a releaser dequeued it before waking us).
                unsafe {
                    (*sp).ticket = false;
                    if lifo {
                        q.enqueue_front(sp);
                    } else {
                        q.enqueue(sp);
                    }
                }
                q
            };
            gopark(move || drop(q), reason);
            // SAFETY: our own sudog, out of the queue.
            if unsafe { (*sp).ticket } || self.cansemacquire() {
                return;
            }
        }
    }

    /// Go's `semrelease1`: adds one to the count and wakes a waiter. With
    /// `handoff`, the count goes straight to that waiter (its `ticket`) and
    /// this goroutine yields so the waiter runs at once: `sync.Mutex`'s
    /// starvation mode, where ownership passes in queue order.
    pub fn semrelease(&self, handoff: bool) {
        self.count.fetch_add(1, Ordering::SeqCst);
        // Easy case: no waiters? This check must happen after the add
        // above, to avoid a missed wakeup (see `semacquire`).
        if self.nwait.load(Ordering::SeqCst) == 0 {
            return;
        }
        let sp = {
            let mut q = self.waiters.lock();
            if self.nwait.load(Ordering::SeqCst) == 0 {
                // The count is already consumed by another goroutine,
                // so no need to wake up another goroutine.
                return;
            }
            let sp = q.dequeue();
            if sp.is_some() {
                self.nwait.fetch_sub(1, Ordering::SeqCst);
            }
            sp
        };
        let Some(sp) = sp else { return };
        let ticket = handoff && self.cansemacquire();
        // SAFETY: dequeued, so ours until we ready its G (see sudog.rs).
        let gp = unsafe {
            (*sp).ticket = ticket;
            (*sp).g
        };
        goready(gp);
        // Direct G handoff: goready put the waiter in this P's runnext;
        // yield so that it runs now. Only from a plain goroutine context:
        // interrupts on and no `acquirem` on this core's M, read through
        // `with_this_m` (a preemption between finding this core's M and
        // reading its `locks` would read another core's count).
        if ticket && interrupts::are_enabled() && with_this_m(|m| m.locks.load(Ordering::Relaxed) == 0) {
            goyield();
        }
    }
}
