//! A lock-free LIFO of free indices (a Treiber stack): the free list of the
//! frame pool (`frames.rs`), which the page-fault handler uses and which
//! therefore cannot take a lock.
//!
//! Pure logic, compiled for the host too: `tests/freestack.rs` runs it on
//! threads and `tests/freestack_loom.rs` under loom.
//!
//! # Layout
//!
//! The links live in a side table, one `u32` per index (`links[i]` is the
//! index + 1 below `i`, 0 at the bottom), never in the freed objects
//! themselves: a popper may read the link of an entry that another core has
//! just popped, and that read must not race with the new owner's writes to
//! the object. `head` packs the top's index + 1 (0: empty) in its low 32
//! bits and a tag in its high 32 bits.
//!
//! # Memory ordering
//!
//! `push` stores the link (Relaxed) and publishes it with a Release CAS of
//! `head`; `pop` loads `head` with Acquire, so it sees the link written
//! before that head was published, reads the link and CASes `head` to it.
//! If another thread popped or pushed in between, `head` differs and the
//! CAS fails, so a stale link is never installed. The tag, incremented by
//! every successful push and pop, is what makes `head` differ even when the
//! same index is back on top (the ABA problem): a thread would have to stall
//! across exactly 2^32 operations for a stale CAS to succeed. The pop's CAS
//! is Acquire on success too: the popper then owns the index, and must see
//! what the pusher did with the object before freeing it.

use alloc::boxed::Box;

#[cfg(feature = "loom")]
use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering};
#[cfg(not(feature = "loom"))]
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

pub struct FreeStack {
    head: AtomicU64,
    links: Box<[AtomicU32]>,
}

impl FreeStack {
    /// An empty stack for indices `0..capacity` (below `u32::MAX`).
    pub fn new(capacity: usize) -> FreeStack {
        assert!(capacity < u32::MAX as usize, "FreeStack: too many indices for 32-bit links");
        FreeStack { head: AtomicU64::new(0), links: (0..capacity).map(|_| AtomicU32::new(0)).collect() }
    }

    /// Takes the index on top, if any.
    pub fn pop(&self) -> Option<usize> {
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            let top = head as u32;
            if top == 0 {
                return None;
            }
            let below = self.links[top as usize - 1].load(Ordering::Relaxed);
            let new = ((head >> 32).wrapping_add(1) << 32) | below as u64;
            match self.head.compare_exchange_weak(head, new, Ordering::Acquire, Ordering::Acquire) {
                Ok(_) => return Some(top as usize - 1),
                Err(h) => head = h,
            }
        }
    }

    /// Puts `index` (which the caller owns, and which is not on the stack)
    /// on top.
    pub fn push(&self, index: usize) {
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            self.links[index].store(head as u32, Ordering::Relaxed);
            let new = ((head >> 32).wrapping_add(1) << 32) | (index as u64 + 1);
            match self.head.compare_exchange_weak(head, new, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(h) => head = h,
            }
        }
    }
}
