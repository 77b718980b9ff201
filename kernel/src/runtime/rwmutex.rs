//! Go's `sync.RWMutex` (`sync/rwmutex.go`), with its algorithm: a reader
//! count, a writer mutex, and two semaphores (`sema.rs`).
//!
//! The lock can be held by an arbitrary number of readers or a single
//! writer. It prefers writers: once a writer is waiting, new readers wait
//! too, until that writer has had its turn — so a steady stream of readers
//! cannot starve a writer. In Go's words: if any goroutine calls Lock
//! while the lock is already held by one or more readers, concurrent calls
//! to RLock will block until the writer has acquired (and released) the
//! lock.
//!
//! How: `reader_count` counts readers; a writer subtracts
//! `RWMUTEX_MAX_READERS` from it, so that it turns negative and every
//! later `RLock` sees a writer pending and sleeps on `reader_sem`. The
//! readers that were already in are counted in `reader_wait`; the last of
//! them to leave wakes the writer on `writer_sem`. `Unlock` adds the
//! constant back and wakes as many readers as arrived meanwhile. Writers
//! queue among themselves on an ordinary `Mutex`.
//!
//! Memory ordering: the counts are SeqCst read-modify-writes, as Go's
//! atomics are; a reader that gets in pairs with the previous writer's
//! `Unlock` through `reader_count` (or through the semaphore that woke it),
//! and a writer with the last reader through `reader_wait` (or
//! `writer_sem`), so each sees the data the other wrote.
//!
//! Where gmpos differs: Rust style, the lock owns its data and hands out
//! guards (`RUnlock`/`Unlock` are their drops), so unlocking a lock that
//! is not held cannot be written.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicI32, Ordering};

use super::g::WaitReason;
use super::mutex::{Mutex, MutexGuard};
use super::sema::Sema;

const RWMUTEX_MAX_READERS: i32 = 1 << 30;

/// A reader/writer mutual exclusion lock for goroutines (Go's
/// `sync.RWMutex`) guarding a `T`.
pub struct RWMutex<T> {
    /// Held if there are pending writers.
    w: Mutex<()>,
    /// Semaphore for writers to wait for completing readers.
    writer_sem: Sema,
    /// Semaphore for readers to wait for completing writers.
    reader_sem: Sema,
    /// Number of pending readers (minus `RWMUTEX_MAX_READERS` while a
    /// writer is pending or in).
    reader_count: AtomicI32,
    /// Number of departing readers a pending writer waits for.
    reader_wait: AtomicI32,
    data: UnsafeCell<T>,
}

// SAFETY: readers share `&T` (hence `T: Sync`), a writer has it alone
// (hence `T: Send`); the algorithm above enforces exactly that.
unsafe impl<T: Send> Send for RWMutex<T> {}
unsafe impl<T: Send + Sync> Sync for RWMutex<T> {}

/// A read lock; dropping it is `RUnlock`.
pub struct RWMutexReadGuard<'a, T> {
    rw: &'a RWMutex<T>,
}

/// The write lock; dropping it is `Unlock`.
pub struct RWMutexWriteGuard<'a, T> {
    rw: &'a RWMutex<T>,
    /// The writers' mutex, held until `Unlock` has let the readers go.
    w: Option<MutexGuard<'a, ()>>,
}

impl<T> RWMutex<T> {
    pub const fn new(value: T) -> RWMutex<T> {
        RWMutex {
            w: Mutex::new(()),
            writer_sem: Sema::new(),
            reader_sem: Sema::new(),
            reader_count: AtomicI32::new(0),
            reader_wait: AtomicI32::new(0),
            data: UnsafeCell::new(value),
        }
    }

    /// Go's `RWMutex.RLock`: waits only while a writer holds the lock or
    /// is waiting for it.
    pub fn rlock(&self) -> RWMutexReadGuard<'_, T> {
        if self.reader_count.fetch_add(1, Ordering::SeqCst) + 1 < 0 {
            // A writer is pending, wait for it.
            self.reader_sem.semacquire(false, WaitReason::SyncRWMutexRLock);
        }
        RWMutexReadGuard { rw: self }
    }

    /// Go's `RWMutex.TryRLock`: a read lock if no writer holds the lock or
    /// waits for it.
    pub fn try_rlock(&self) -> Option<RWMutexReadGuard<'_, T>> {
        let mut c = self.reader_count.load(Ordering::SeqCst);
        loop {
            if c < 0 {
                return None;
            }
            match self.reader_count.compare_exchange(c, c + 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return Some(RWMutexReadGuard { rw: self }),
                Err(now) => c = now,
            }
        }
    }

    /// Go's `RWMutex.RUnlock` (the read guard's drop).
    fn runlock(&self) {
        let r = self.reader_count.fetch_sub(1, Ordering::SeqCst) - 1;
        if r < 0 {
            // Outlined slow-path (Go's rUnlockSlow). A writer is pending.
            if self.reader_wait.fetch_sub(1, Ordering::SeqCst) - 1 == 0 {
                // The last reader unblocks the writer.
                self.writer_sem.semrelease(false);
            }
        }
    }

    /// Go's `RWMutex.Lock`: waits for the other writers, then shuts out new
    /// readers and waits for those already in.
    pub fn lock(&self) -> RWMutexWriteGuard<'_, T> {
        // First, resolve competition with other writers.
        let w = self.w.lock();
        // Announce to readers there is a pending writer.
        let r = self.reader_count.fetch_sub(RWMUTEX_MAX_READERS, Ordering::SeqCst);
        // Wait for active readers.
        if r != 0 && self.reader_wait.fetch_add(r, Ordering::SeqCst) + r != 0 {
            self.writer_sem.semacquire(false, WaitReason::SyncRWMutexLock);
        }
        RWMutexWriteGuard { rw: self, w: Some(w) }
    }

    /// Go's `RWMutex.TryLock`: the write lock if nobody holds the lock.
    pub fn try_lock(&self) -> Option<RWMutexWriteGuard<'_, T>> {
        let w = self.w.try_lock()?;
        self.reader_count
            .compare_exchange(0, -RWMUTEX_MAX_READERS, Ordering::SeqCst, Ordering::SeqCst)
            .ok()
            .map(|_| RWMutexWriteGuard { rw: self, w: Some(w) })
    }

    /// Go's `RWMutex.Unlock` (the write guard's drop), before the writers'
    /// mutex is released.
    fn unlock(&self) {
        // Announce to readers there is no active writer.
        let r = self.reader_count.fetch_add(RWMUTEX_MAX_READERS, Ordering::SeqCst) + RWMUTEX_MAX_READERS;
        // Unblock blocked readers, if any.
        for _ in 0..r {
            self.reader_sem.semrelease(false);
        }
    }
}

impl<T> Deref for RWMutexReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: readers only share the data; no writer holds the lock.
        unsafe { &*self.rw.data.get() }
    }
}

impl<T> Drop for RWMutexReadGuard<'_, T> {
    fn drop(&mut self) {
        self.rw.runlock();
    }
}

impl<T> Deref for RWMutexWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write lock excludes every other guard.
        unsafe { &*self.rw.data.get() }
    }
}

impl<T> DerefMut for RWMutexWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only borrow.
        unsafe { &mut *self.rw.data.get() }
    }
}

impl<T> Drop for RWMutexWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.rw.unlock();
        // Allow other writers to proceed.
        drop(self.w.take());
    }
}
