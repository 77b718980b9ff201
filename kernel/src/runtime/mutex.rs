//! Go's `sync.Mutex` (`sync/mutex.go`), with its algorithm: a CAS fast
//! path, a short spin, then parking on a semaphore (`sema.rs`); and
//! starvation mode.
//!
//! The state word holds: locked (bit 0), woken (bit 1: a woken waiter is
//! on its way, so `unlock` need not wake another), starving (bit 2), and
//! the number of waiters (the bits above).
//!
//! Mutex fairness, in Go's words. The mutex can be in two modes of
//! operation: normal and starvation. In normal mode waiters are queued in
//! FIFO order, but a woken up waiter does not own the mutex and competes
//! with new arriving goroutines over the ownership. New arriving goroutines
//! have an advantage — they are already running on CPU and there can be
//! lots of them, so a woken up waiter has good chances of losing. In such
//! case it is queued at the front of the wait queue. If a waiter fails to
//! acquire the mutex for more than 1 ms, it switches the mutex to the
//! starvation mode.
//!
//! In starvation mode ownership of the mutex is directly handed off from
//! the unlocking goroutine to the waiter at the front of the queue. New
//! arriving goroutines don't try to acquire the mutex even if it appears
//! to be unlocked, and don't try to spin. Instead they queue themselves at
//! the tail of the wait queue.
//!
//! If a waiter receives ownership of the mutex and sees that either (1) it
//! is the last waiter in the queue, or (2) it waited for less than 1 ms,
//! it switches the mutex back to normal operation mode.
//!
//! Normal mode has considerably better performance as a goroutine can
//! acquire a mutex several times in a row even if there are blocked
//! waiters. Starvation mode is important to prevent pathological cases of
//! tail latency.
//!
//! Where gmpos differs: Rust style, the mutex owns the data it protects
//! and `lock` returns a guard; dropping the guard is `Unlock`.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicI32, Ordering};

use super::g::WaitReason;
use super::sched::sched;
use super::sema::Sema;
use super::{getm, without_preemption};
use crate::arch::time::nanotime;

const MUTEX_LOCKED: i32 = 1; // mutex is locked
const MUTEX_WOKEN: i32 = 2;
const MUTEX_STARVING: i32 = 4;
const MUTEX_WAITER_SHIFT: u32 = 3;
/// A waiter that waited this long switches the mutex to starvation mode.
const STARVATION_THRESHOLD_NS: u64 = 1_000_000;
/// Spins before parking (Go's `active_spin`), each of `ACTIVE_SPIN_CNT` pauses.
const ACTIVE_SPIN: u32 = 4;
const ACTIVE_SPIN_CNT: u32 = 30;

/// A mutual exclusion lock for goroutines (Go's `sync.Mutex`) guarding a
/// `T`. Waiters park instead of spinning.
pub struct Mutex<T> {
    state: AtomicI32,
    sema: Sema,
    data: UnsafeCell<T>,
}

// SAFETY: the data is only reached through a guard, and only one guard
// exists at a time (the lock's whole point).
unsafe impl<T: Send> Send for Mutex<T> {}
unsafe impl<T: Send> Sync for Mutex<T> {}

/// Proof of holding the lock; dropping it unlocks.
pub struct MutexGuard<'a, T> {
    m: &'a Mutex<T>,
}

impl<T> Mutex<T> {
    pub const fn new(value: T) -> Mutex<T> {
        Mutex { state: AtomicI32::new(0), sema: Sema::new(), data: UnsafeCell::new(value) }
    }

    /// Go's `Mutex.Lock`. Acquire on success pairs with the Release of
    /// the previous holder's unlock: its writes to the data are seen.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        // Fast path: grab unlocked mutex.
        if self.state.compare_exchange(0, MUTEX_LOCKED, Ordering::Acquire, Ordering::Relaxed).is_err() {
            self.lock_slow();
        }
        MutexGuard { m: self }
    }

    /// Whether the mutex is in starvation mode right now (a snapshot). Go
    /// keeps the mode private; gmpos shows it so that a program can watch
    /// the mutex enter and leave it.
    pub fn starving(&self) -> bool {
        self.state.load(Ordering::Relaxed) & MUTEX_STARVING != 0
    }

    /// Go 1.18's `Mutex.TryLock`: the lock if it is free right now, without
    /// waiting. A goroutine may be waiting for the mutex, but we are running
    /// now and can grab it before that one wakes up; a starving mutex
    /// belongs to its waiters, so it is not taken.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        let old = self.state.load(Ordering::Relaxed);
        if old & (MUTEX_LOCKED | MUTEX_STARVING) != 0 {
            return None;
        }
        self.state
            .compare_exchange(old, old | MUTEX_LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| MutexGuard { m: self })
    }

    /// Go's `Mutex.lockSlow`.
    fn lock_slow(&self) {
        let mut wait_start: u64 = 0;
        let mut starving = false;
        let mut awoke = false;
        let mut iter = 0;
        let mut old = self.state.load(Ordering::Relaxed);
        loop {
            // Don't spin in starvation mode, ownership is handed off to
            // waiters so we won't be able to acquire the mutex anyway.
            if old & (MUTEX_LOCKED | MUTEX_STARVING) == MUTEX_LOCKED && can_spin(iter) {
                // Active spinning makes sense. Try to set the woken flag to
                // inform Unlock to not wake other blocked goroutines.
                if !awoke
                    && old & MUTEX_WOKEN == 0
                    && old >> MUTEX_WAITER_SHIFT != 0
                    && self
                        .state
                        .compare_exchange(old, old | MUTEX_WOKEN, Ordering::Relaxed, Ordering::Relaxed)
                        .is_ok()
                {
                    awoke = true;
                }
                for _ in 0..ACTIVE_SPIN_CNT {
                    core::hint::spin_loop(); // Go's procyield
                }
                iter += 1;
                old = self.state.load(Ordering::Relaxed);
                continue;
            }
            let mut new = old;
            // Don't try to acquire starving mutex, new arriving goroutines
            // must queue.
            if old & MUTEX_STARVING == 0 {
                new |= MUTEX_LOCKED;
            }
            if old & (MUTEX_LOCKED | MUTEX_STARVING) != 0 {
                new += 1 << MUTEX_WAITER_SHIFT;
            }
            // The current goroutine switches mutex to starvation mode. But
            // if the mutex is currently unlocked, don't do the switch:
            // Unlock expects that a starving mutex has waiters.
            if starving && old & MUTEX_LOCKED != 0 {
                new |= MUTEX_STARVING;
            }
            if awoke {
                // The goroutine has been woken from sleep, so we need to
                // reset the flag in either case.
                assert!(new & MUTEX_WOKEN != 0, "sync: inconsistent mutex state");
                new &= !MUTEX_WOKEN;
            }
            if self.state.compare_exchange(old, new, Ordering::Acquire, Ordering::Relaxed).is_err() {
                old = self.state.load(Ordering::Relaxed);
                continue;
            }
            if old & (MUTEX_LOCKED | MUTEX_STARVING) == 0 {
                return; // locked the mutex with CAS
            }
            // If we were already waiting before, queue at the front.
            let queue_lifo = wait_start != 0;
            if wait_start == 0 {
                wait_start = nanotime();
            }
            self.sema.semacquire(queue_lifo, WaitReason::SyncMutexLock);
            starving = starving || nanotime().saturating_sub(wait_start) > STARVATION_THRESHOLD_NS;
            old = self.state.load(Ordering::Acquire);
            if old & MUTEX_STARVING != 0 {
                // Ownership was handed off to us, but the state is
                // inconsistent: the locked bit is not set and we are still
                // counted as a waiter. Fix that.
                assert!(
                    old & (MUTEX_LOCKED | MUTEX_WOKEN) == 0 && old >> MUTEX_WAITER_SHIFT != 0,
                    "sync: inconsistent mutex state"
                );
                let mut delta = MUTEX_LOCKED - (1 << MUTEX_WAITER_SHIFT);
                if !starving || old >> MUTEX_WAITER_SHIFT == 1 {
                    // Exit starvation mode. Critical to do it here and
                    // consider wait time: starvation mode is so inefficient
                    // that two goroutines can go lock-step infinitely once
                    // they switch the mutex to it.
                    delta -= MUTEX_STARVING;
                }
                self.state.fetch_add(delta, Ordering::Acquire);
                return;
            }
            awoke = true;
            iter = 0;
        }
    }

    /// Go's `Mutex.Unlock` (the guard's drop). Release: the next holder
    /// sees our writes to the data.
    fn unlock(&self) {
        // Fast path: drop lock bit.
        let new = self.state.fetch_sub(MUTEX_LOCKED, Ordering::Release) - MUTEX_LOCKED;
        if new != 0 {
            // Outlined slow path: somebody waits, or starvation mode.
            self.unlock_slow(new);
        }
    }

    /// Go's `Mutex.unlockSlow`.
    fn unlock_slow(&self, new: i32) {
        assert!((new + MUTEX_LOCKED) & MUTEX_LOCKED != 0, "sync: unlock of unlocked mutex");
        if new & MUTEX_STARVING != 0 {
            // Starving mode: hand the mutex to the next waiter, and yield
            // our time slice so that it can start to run immediately. The
            // locked bit is not set; the waiter sets it after wakeup. The
            // mutex still counts as locked while starving is set, so new
            // goroutines won't take it.
            self.sema.semrelease(true);
            return;
        }
        let mut old = new;
        loop {
            // If there are no waiters or a goroutine has already been woken
            // or grabbed the lock, no need to wake anyone. In starvation
            // mode ownership is directly handed off from unlocking
            // goroutine to the next waiter; we are not part of that chain,
            // since we did not see the starving bit when we unlocked.
            if old >> MUTEX_WAITER_SHIFT == 0 || old & (MUTEX_LOCKED | MUTEX_WOKEN | MUTEX_STARVING) != 0 {
                return;
            }
            // Grab the right to wake someone.
            let new = (old - (1 << MUTEX_WAITER_SHIFT)) | MUTEX_WOKEN;
            match self.state.compare_exchange(old, new, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => {
                    self.sema.semrelease(false);
                    return;
                }
                Err(now) => old = now,
            }
        }
    }
}

/// Go's `sync_runtime_canSpin`: spin only a few times, only on a
/// multicore machine with another P running (it may unlock soon), and only
/// if this P has no other work waiting.
fn can_spin(iter: u32) -> bool {
    let s = sched();
    if iter >= ACTIVE_SPIN
        || s.allm.len() <= 1
        || s.gomaxprocs() <= s.npidle.load(Ordering::Relaxed) + s.nmspinning.load(Ordering::Relaxed) + 1
    {
        return false;
    }
    without_preemption(|| getm().p().runq.runqempty())
}

impl<'a, T> MutexGuard<'a, T> {
    /// The mutex this guard holds (for `Cond::wait`, which unlocks and
    /// locks it again).
    pub(super) fn mutex(&self) -> &'a Mutex<T> {
        self.m
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves we hold the lock.
        unsafe { &*self.m.data.get() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only borrow.
        unsafe { &mut *self.m.data.get() }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.m.unlock();
    }
}
