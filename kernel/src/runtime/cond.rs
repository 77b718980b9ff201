//! Go's `sync.Cond` (`sync/cond.go`) on the runtime's `notifyList`
//! (`sema.go`: `notifyListAdd`, `notifyListWait`, `notifyListNotifyOne`,
//! `notifyListNotifyAll`): goroutines wait for a condition on data that a
//! `Mutex` guards, and are woken by `signal` (one) or `broadcast` (all).
//!
//! No wakeup is lost between unlocking the mutex and parking: `wait` takes
//! a ticket (`wait` counter) *before* it unlocks. A notification serves
//! tickets in order (`notify` counter); a waiter whose ticket was already
//! served when it comes to park returns at once instead. Tickets are
//! taken and served with SeqCst atomics; the list of parked waiters is
//! under a lock that the waiter holds until it is off its stack (gopark),
//! so a notifier that finds it in the list always finds it parked.
//!
//! Where gmpos differs: `Cond` is not tied to one Locker; `wait` takes the
//! guard of the `Mutex` it unlocks and gives back a guard of the same mutex
//! (as Rust's `Condvar` does). Go's `L` field is therefore the guard.

use alloc::vec::Vec;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};

use super::g::{G, WaitReason};
use super::mutex::MutexGuard;
use super::{getg, gopark, goready};
use crate::sync::IrqLock;

/// Go's `sync.Cond`.
pub struct Cond {
    /// Ticket of the next waiter (Go's `notifyList.wait`).
    wait: AtomicU32,
    /// Ticket of the next waiter to notify (Go's `notifyList.notify`).
    notify: AtomicU32,
    /// Parked waiters and their tickets.
    waiters: IrqLock<Vec<(u32, NonNull<G>)>>,
}

// SAFETY: the G pointers are to parked goroutines (Gs are never freed);
// the lock guards the list.
unsafe impl Send for Cond {}
unsafe impl Sync for Cond {}

impl Default for Cond {
    fn default() -> Self {
        Self::new()
    }
}

impl Cond {
    pub const fn new() -> Cond {
        Cond { wait: AtomicU32::new(0), notify: AtomicU32::new(0), waiters: IrqLock::new(Vec::new()) }
    }

    /// Go's `Cond.Wait`: unlocks the mutex, waits for a `signal` or
    /// `broadcast`, locks the mutex again. As in Go, the condition may no
    /// longer hold when it returns: call it in a loop.
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let t = self.wait.fetch_add(1, Ordering::SeqCst); // notifyListAdd
        let m = guard.mutex();
        drop(guard);
        self.notify_list_wait(t);
        m.lock()
    }

    /// Go's `notifyListWait`: parks until ticket `t` is notified.
    fn notify_list_wait(&self, t: u32) {
        let mut waiters = self.waiters.lock();
        // Return right away if this ticket has already been notified.
        if less(t, self.notify.load(Ordering::SeqCst)) {
            return;
        }
        waiters.push((t, getg()));
        gopark(move || drop(waiters), WaitReason::SyncCondWait);
    }

    /// Go's `Cond.Signal` (`notifyListNotifyOne`): wakes the goroutine that
    /// has waited longest, if any.
    pub fn signal(&self) {
        // Fast-path: if there are no new waiters since the last
        // notification we don't need to acquire the lock at all.
        if self.wait.load(Ordering::SeqCst) == self.notify.load(Ordering::SeqCst) {
            return;
        }
        let gp = {
            let mut waiters = self.waiters.lock();
            // Re-check under the lock if we need to do anything.
            let t = self.notify.load(Ordering::SeqCst);
            if t == self.wait.load(Ordering::SeqCst) {
                return;
            }
            // Update the next notify ticket number.
            self.notify.store(t.wrapping_add(1), Ordering::SeqCst);
            // Try to find the g that needs to be notified. If it hasn't
            // made it to the list yet we won't find it, but it won't park
            // itself once it sees the new notify number.
            waiters.iter().position(|&(ticket, _)| ticket == t).map(|i| waiters.remove(i).1)
        };
        if let Some(gp) = gp {
            goready(gp);
        }
    }

    /// Go's `Cond.Broadcast` (`notifyListNotifyAll`): wakes every waiting
    /// goroutine.
    pub fn broadcast(&self) {
        if self.wait.load(Ordering::SeqCst) == self.notify.load(Ordering::SeqCst) {
            return;
        }
        let woken = {
            let mut waiters = self.waiters.lock();
            self.notify.store(self.wait.load(Ordering::SeqCst), Ordering::SeqCst);
            core::mem::take(&mut *waiters)
        };
        for (_, gp) in woken {
            goready(gp);
        }
    }
}

/// Go's `less`: `a < b`, treating the tickets as a wrapping sequence.
fn less(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}
