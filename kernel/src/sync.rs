//! Locks that are safe to take anywhere in the kernel.
//!
//! A plain spinlock is not enough in a kernel with interrupts: if a core holds
//! a lock and an interrupt handler on the same core asks for it, the core
//! deadlocks against itself; and if a goroutine were preempted while holding
//! one, every other core that wants it would spin until the goroutine runs
//! again. `IrqLock` therefore disables interrupts on the local core for as long
//! as the lock is held (Linux's `spin_lock_irqsave`). With interrupts off, the
//! timer cannot preempt the holder, which is how gmpos honours Go's rule that
//! a G holding a runtime lock (`m.locks > 0`) is never preempted.

use core::mem::ManuallyDrop;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::interrupts;

/// A spinlock that keeps local interrupts disabled while held.
pub struct IrqLock<T> {
    inner: spin::Mutex<T>,
    /// Counts its acquisitions in [`global_lock_acquisitions`].
    global: bool,
}

/// Acquisitions of the locks made with [`IrqLock::new_global`].
static GLOBAL_ACQUISITIONS: AtomicU64 = AtomicU64::new(0);

/// How many times a global lock (one shared by every core: the scheduler's,
/// the heap's, the page table's) has been taken since boot. For measuring
/// how often hot paths serialise all cores.
pub fn global_lock_acquisitions() -> u64 {
    GLOBAL_ACQUISITIONS.load(Ordering::Relaxed)
}

/// Guard of an [`IrqLock`]; restores the interrupt flag when dropped.
pub struct IrqLockGuard<'a, T> {
    // Dropped by hand so that the lock is released before interrupts return.
    guard: ManuallyDrop<spin::MutexGuard<'a, T>>,
    saved: interrupts::Saved,
}

impl<T> IrqLock<T> {
    pub const fn new(value: T) -> Self {
        Self { inner: spin::Mutex::new(value), global: false }
    }

    /// A lock that every core may contend for, counted in
    /// [`global_lock_acquisitions`].
    pub const fn new_global(value: T) -> Self {
        Self { inner: spin::Mutex::new(value), global: true }
    }

    pub fn lock(&self) -> IrqLockGuard<'_, T> {
        if self.global {
            GLOBAL_ACQUISITIONS.fetch_add(1, Ordering::Relaxed);
        }
        let saved = interrupts::disable();
        IrqLockGuard { guard: ManuallyDrop::new(self.inner.lock()), saved }
    }

    /// Like `lock`, but gives up after `spins` attempts. Used by the panic
    /// path, which must not wait forever for a core that has been stopped.
    pub fn try_lock_for(&self, spins: usize) -> Option<IrqLockGuard<'_, T>> {
        let saved = interrupts::disable();
        for _ in 0..spins {
            if let Some(guard) = self.inner.try_lock() {
                return Some(IrqLockGuard { guard: ManuallyDrop::new(guard), saved });
            }
            core::hint::spin_loop();
        }
        interrupts::restore(saved);
        None
    }
}

impl<T> Deref for IrqLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for IrqLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T> Drop for IrqLockGuard<'_, T> {
    fn drop(&mut self) {
        // SAFETY: `guard` is dropped exactly once, here, and never touched
        // again; the lock is thus released before interrupts are restored.
        unsafe { ManuallyDrop::drop(&mut self.guard) };
        interrupts::restore(self.saved);
    }
}
