//! Goroutine stacks that grow by page faults.
//!
//! Each stack gets a slot of `SLOT_SIZE` bytes (256 KiB) of virtual address
//! space in a region of its own. The slot's lowest page is a guard that is
//! never mapped; of the rest, only the top page is backed by a frame when
//! the stack is made. When the goroutine touches the next page down, the
//! page-fault handler (on its own IST stack, see `arch::gdt`) calls
//! [`Stack::grow`], which maps fresh frames down to the faulting address,
//! and the goroutine resumes at the faulting instruction as if the page had
//! always been there. A fault in the guard is a stack overflow, reported
//! with the goroutine's id.
//!
//! Go starts a goroutine with 2 KiB and, when a function prologue finds the
//! stack too small (`morestack`), allocates one twice as large and copies
//! the frames over, adjusting every pointer into the stack — possible only
//! because Go's compiler knows where every pointer is. A kernel owns the
//! page tables, so gmpos grows a stack in place instead: nothing moves,
//! pointers into the stack stay valid, and Rust needs no help from its
//! compiler. The price is page granularity: a goroutine costs at least one
//! 4 KiB page, where Go's can cost 2 KiB.
//!
//! When a goroutine dies its stack stays with its G for the next one that
//! reuses the G (Go's `gfput` keeps the stack too), but only the top
//! `KEEP_PAGES` stay mapped: the others are unmapped, every core's TLB is
//! flushed (a stale entry would let a later goroutine scribble on a frame
//! that is someone else's), and their frames return to the pool.

use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::VirtAddr;

use super::{PAGE_SIZE, Region, frames, pte};

/// Virtual bytes reserved per stack, guard page included.
pub const SLOT_SIZE: u64 = 256 * 1024;
/// The unmapped guard at the bottom of each slot.
pub const GUARD_SIZE: u64 = PAGE_SIZE;
/// Pages a dead goroutine's stack keeps mapped for its G's next life.
pub const KEEP_PAGES: u64 = 4;

static STACKS: spin::Once<Region> = spin::Once::new();
/// Extra pages unmapped from dead goroutines' stacks (for measurements).
static RELEASED_PAGES: AtomicU64 = AtomicU64::new(0);
/// Pages mapped by page faults (for measurements).
static FAULTED_PAGES: AtomicU64 = AtomicU64::new(0);

/// A goroutine stack: `[guard_bottom, bottom)` is the guard, `[bottom, top)`
/// may be used, and `[low, top)` is mapped.
pub struct Stack {
    pub guard_bottom: VirtAddr,
    pub bottom: VirtAddr,
    pub top: VirtAddr,
    /// Lowest mapped address. Changed only by the core running the
    /// goroutine (its page faults) or by the owner of the dead G; the G's
    /// hand-over between cores (run queues, free lists) orders those.
    low: AtomicU64,
}

impl Stack {
    /// Reserves a slot and maps its top page, or `None` when out of memory.
    pub fn new() -> Option<Stack> {
        let region = STACKS.call_once(Region::new);
        let slot = region.reserve(SLOT_SIZE);
        let top = slot + SLOT_SIZE;
        let stack = Stack { guard_bottom: slot, bottom: slot + GUARD_SIZE, top, low: AtomicU64::new(top.as_u64()) };
        stack.map_down_to(top - PAGE_SIZE).then_some(stack)
    }

    /// Maps every page from the current low end down to the one holding
    /// `addr`. False when out of memory (what is mapped stays mapped).
    fn map_down_to(&self, addr: VirtAddr) -> bool {
        let target = addr.align_down(PAGE_SIZE).as_u64();
        let mut low = self.low.load(Ordering::Relaxed);
        while low > target {
            let page = low - PAGE_SIZE;
            let Some(pte) = pte::leaf(VirtAddr::new(page)) else { return false };
            let Some(frame) = frames::alloc() else { return false };
            pte::set(pte, frame);
            low = page;
            self.low.store(low, Ordering::Relaxed);
        }
        true
    }

    /// Whether `addr` is in the usable part of the slot but not mapped yet:
    /// a fault there means "grow" (Go's `morestack`).
    pub fn can_grow_to(&self, addr: VirtAddr) -> bool {
        self.bottom <= addr && addr.as_u64() < self.low.load(Ordering::Relaxed)
    }

    /// Maps the stack down to `addr` (from the page-fault handler, on the
    /// core running the goroutine). Lock-free; false when out of memory.
    pub fn grow(&self, addr: VirtAddr) -> bool {
        let before = self.low.load(Ordering::Relaxed);
        let ok = self.map_down_to(addr);
        FAULTED_PAGES.fetch_add((before - self.low.load(Ordering::Relaxed)) / PAGE_SIZE, Ordering::Relaxed);
        ok
    }

    /// Bytes of the stack that are mapped.
    pub fn mapped(&self) -> u64 {
        self.top.as_u64() - self.low.load(Ordering::Relaxed)
    }

    /// For a dead goroutine's stack: unmaps all but the top `KEEP_PAGES`,
    /// flushes every core's TLB and frees the frames. Returns the pages freed.
    pub fn shrink(&self) -> u64 {
        let keep = self.top.as_u64() - KEEP_PAGES * PAGE_SIZE;
        let low = self.low.load(Ordering::Relaxed);
        if low >= keep {
            return 0;
        }
        let mut released = [None; (SLOT_SIZE / PAGE_SIZE) as usize];
        let mut n = 0;
        for page in (low..keep).step_by(PAGE_SIZE as usize) {
            let pte = pte::leaf(VirtAddr::new(page)).expect("a mapped page has its tables");
            released[n] = pte::clear(pte);
            n += 1;
        }
        self.low.store(keep, Ordering::Relaxed);
        crate::arch::smp::tlb_shootdown();
        for frame in released[..n].iter().flatten() {
            frames::free(*frame);
        }
        RELEASED_PAGES.fetch_add(n as u64, Ordering::Relaxed);
        n as u64
    }

    /// Whether `addr` lies in this stack's guard.
    pub fn in_guard(&self, addr: VirtAddr) -> bool {
        self.guard_bottom <= addr && addr < self.bottom
    }
}

/// (pages mapped by faults, pages released from dead stacks) so far.
pub fn page_counts() -> (u64, u64) {
    (FAULTED_PAGES.load(Ordering::Relaxed), RELEASED_PAGES.load(Ordering::Relaxed))
}
