//! Per-P caches of the runtime's fixed-size objects: Go's `mcache` →
//! `mcentral` → `mheap`, for the runtime's own objects (Gs here; sudogs and
//! the like can use it the same way).
//!
//! The kernel heap is one `linked_list_allocator` behind a global lock.
//! Taking it for every new G would make every core that spawns queue on
//! one lock. So, as in Go:
//!
//! - each P has a [`Local`] cache of free slots for each kind of object
//!   (Go's `p.mcache`); allocating and freeing touch only it, with no lock —
//!   its owner is the M holding the P, running on g0 or under `acquirem`,
//!   so neither another core nor this core's tick touches it meanwhile;
//! - an empty cache takes a batch of `BATCH` slots from the [`Central`]
//!   pool for that kind (Go's `mcentral`), under the central lock; a full
//!   one gives a batch back; a P that goes away (`procresize`) gives all;
//! - an empty central pool carves a new slab of `BATCH` slots out of the
//!   heap (Go's `mheap`) in one allocation.
//!
//! So a core takes a global lock once per `BATCH` allocations at most.
//! Slots are memory for one `T`: the cache never builds or drops a `T`;
//! whoever allocates writes one, and drops it before freeing the slot.
//! Slabs are never returned to the heap (Go returns spans; a teaching
//! kernel keeps it simple), so a slot's memory stays valid for ever.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::sync::IrqLock;

/// Slots moved between a P and the central pool at once.
pub const BATCH: usize = 32;

/// Memory for one `T`.
pub type Slot<T> = NonNull<MaybeUninit<T>>;

/// The central pool of free slots for one kind of object (Go's `mcentral`).
pub struct Central<T> {
    free: IrqLock<Vec<Slot<T>>>,
    /// Slots ever carved from the heap.
    created: AtomicUsize,
}

// SAFETY: the slots are plain memory handed from owner to owner under the lock.
unsafe impl<T> Sync for Central<T> {}
unsafe impl<T> Send for Central<T> {}

impl<T> Central<T> {
    pub const fn new() -> Central<T> {
        Central { free: IrqLock::new_global(Vec::new()), created: AtomicUsize::new(0) }
    }

    /// (slots in the central pool, slots ever created).
    pub fn counts(&self) -> (usize, usize) {
        (self.free.lock().len(), self.created.load(Ordering::Relaxed))
    }
}

/// One P's cache of free slots (Go's `mcache`, for one kind of object).
pub struct Local<T> {
    slots: UnsafeCell<[Option<Slot<T>>; 2 * BATCH]>,
    len: UnsafeCell<usize>,
}

// SAFETY: only the M holding the P uses a `Local` (see the module notes);
// the slots are plain memory, moved between cores with the P.
unsafe impl<T> Sync for Local<T> {}
unsafe impl<T> Send for Local<T> {}

impl<T> Local<T> {
    pub const fn new() -> Local<T> {
        Local { slots: UnsafeCell::new([None; 2 * BATCH]), len: UnsafeCell::new(0) }
    }

    /// A free slot; `None` only when the heap is exhausted. Caller: the
    /// P's owner, with preemption off.
    pub fn alloc(&self, central: &Central<T>) -> Option<Slot<T>> {
        // SAFETY: the P's owner alone touches its cache (module notes).
        let (slots, len) = unsafe { (&mut *self.slots.get(), &mut *self.len.get()) };
        if *len == 0 {
            let mut pool = central.free.lock();
            let from = pool.len() - pool.len().min(BATCH);
            for slot in pool.drain(from..) {
                slots[*len] = Some(slot);
                *len += 1;
            }
        }
        if *len == 0 {
            // Go's mheap: one allocation for a whole batch.
            let slab = Box::<[T]>::new_uninit_slice(BATCH);
            let base = Box::into_raw(slab).cast::<MaybeUninit<T>>();
            central.created.fetch_add(BATCH, Ordering::Relaxed);
            for i in 0..BATCH {
                // SAFETY: `base` points to BATCH leaked slots; i < BATCH.
                slots[i] = Some(unsafe { NonNull::new_unchecked(base.add(i)) });
            }
            *len = BATCH;
        }
        *len -= 1;
        slots[*len].take()
    }

    /// Returns a slot (whose `T` was dropped or moved out) to the cache;
    /// a full cache gives half to the central pool.
    pub fn free(&self, central: &Central<T>, slot: Slot<T>) {
        // SAFETY: as in `alloc`.
        let (slots, len) = unsafe { (&mut *self.slots.get(), &mut *self.len.get()) };
        if *len == 2 * BATCH {
            let mut pool = central.free.lock();
            for s in &mut slots[BATCH..] {
                pool.push(s.take().expect("cache slot below len"));
            }
            *len = BATCH;
        }
        slots[*len] = Some(slot);
        *len += 1;
    }

    /// Slots in this cache. Caller: the owner, or anyone with the world
    /// stopped or the P idle.
    pub fn len(&self) -> usize {
        // SAFETY: as in `alloc`.
        unsafe { *self.len.get() }
    }

    /// Gives every cached slot back to the central pool (a P going away).
    pub fn flush(&self, central: &Central<T>) {
        // SAFETY: as in `alloc` (the world is stopped).
        let (slots, len) = unsafe { (&mut *self.slots.get(), &mut *self.len.get()) };
        let mut pool = central.free.lock();
        for s in &mut slots[..*len] {
            pool.push(s.take().expect("cache slot below len"));
        }
        *len = 0;
    }
}
