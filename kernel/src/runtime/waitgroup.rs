//! Go's `sync.WaitGroup`: wait for a collection of goroutines to finish.
//! Built directly on `gopark`/`goready`.

use alloc::vec::Vec;
use core::panic::Location;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicI64, Ordering};

use super::g::{G, WaitReason};
use super::panic::gopanic;
use super::{getg, gopark, goready};
use crate::sync::IrqLock;

pub struct WaitGroup {
    count: AtomicI64,
    waiters: IrqLock<Vec<NonNull<G>>>,
}

// SAFETY: the waiter pointers are to leaked Gs; the lock guards the list.
unsafe impl Send for WaitGroup {}
unsafe impl Sync for WaitGroup {}

impl Default for WaitGroup {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitGroup {
    pub const fn new() -> WaitGroup {
        WaitGroup { count: AtomicI64::new(0), waiters: IrqLock::new(Vec::new()) }
    }

    /// Adds `delta` (which may be negative) to the counter; when it reaches
    /// zero, every waiter is readied. A negative counter is a bug: Go's
    /// panic.
    #[track_caller]
    pub fn add(&self, delta: i64) {
        let after = self.count.fetch_add(delta, Ordering::AcqRel) + delta;
        if after < 0 {
            gopanic("sync: negative WaitGroup counter", Location::caller());
        }
        if after == 0 {
            // Taking the lock orders us after any waiter that saw a
            // non-zero count and is parking (it holds the lock until
            // it is off its stack). Draining keeps the list's memory, so
            // a WaitGroup used over and over allocates nothing.
            let mut waiters = self.waiters.lock();
            for gp in waiters.drain(..) {
                goready(gp);
            }
        }
    }

    #[track_caller]
    pub fn done(&self) {
        self.add(-1);
    }

    /// How many goroutines are parked in `wait`.
    pub fn waiters(&self) -> usize {
        self.waiters.lock().len()
    }

    /// Blocks until the counter is zero.
    pub fn wait(&self) {
        let mut waiters = self.waiters.lock();
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        waiters.push(getg());
        gopark(move || drop(waiters), WaitReason::SyncWaitGroupWait);
    }
}
