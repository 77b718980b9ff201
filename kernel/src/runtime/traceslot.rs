//! One slot of the execution trace's buffers (`trace.rs`): a timestamp and
//! an event word, written by one core and read by any core at any time — a
//! seqlock whose sequence number is the event word itself. Pure logic,
//! compiled for the host too and model-checked with loom
//! (`tests/traceslot_loom.rs`).
//!
//! # Memory ordering
//!
//! [`Slot::write`] stores 0 in the word (Relaxed), a Release fence, the
//! timestamp (Relaxed), and the event word with Release; an event's word is
//! never 0, so "word != 0" means "written". [`Slot::read`] loads the word
//! with Acquire, the timestamp (Relaxed), an Acquire fence, and the word
//! again (Relaxed), and keeps the pair only if both words are equal and
//! non-zero:
//!
//! - the first load sees some write's word, and with Acquire that write's
//!   timestamp store happens-before the timestamp load, which therefore
//!   sees that timestamp or a later write's;
//! - if it saw a later write's timestamp, that write's Release fence
//!   (before its timestamp store) and the reader's Acquire fence (after
//!   the load that saw it) synchronise, so the second word load sees that
//!   write's 0 or something later: the pair is dropped, unless the word
//!   found then equals the first — and then the pair is that later write's
//!   own, whole.
//!
//! So a pair read is always one whole event. Writes to one slot must not
//! overlap each other: `trace.rs` gives each claim of a core's buffer its
//! own slot, and a ring's slot comes round again only 65,536 claims later.

#[cfg(feature = "loom")]
use loom::sync::atomic::{AtomicU64, Ordering, fence};
#[cfg(not(feature = "loom"))]
use core::sync::atomic::{AtomicU64, Ordering, fence};

pub struct Slot {
    tsc: AtomicU64,
    word: AtomicU64,
}

impl Slot {
    /// An empty slot (it reads as nothing).
    pub fn new() -> Slot {
        Slot { tsc: AtomicU64::new(0), word: AtomicU64::new(0) }
    }

    /// Writes an event: `word` (not 0) stamped `tsc`. See the module
    /// comment for who may call this when.
    #[inline(always)]
    pub fn write(&self, tsc: u64, word: u64) {
        self.word.store(0, Ordering::Relaxed);
        fence(Ordering::Release);
        self.tsc.store(tsc, Ordering::Relaxed);
        self.word.store(word, Ordering::Release);
    }

    /// The event in the slot as `(tsc, word)`, if one is whole there.
    pub fn read(&self) -> Option<(u64, u64)> {
        let word = self.word.load(Ordering::Acquire);
        let tsc = self.tsc.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        (word != 0 && self.word.load(Ordering::Relaxed) == word).then_some((tsc, word))
    }
}

impl Default for Slot {
    fn default() -> Slot {
        Slot::new()
    }
}
