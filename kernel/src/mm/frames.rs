//! Physical frames: a lock-free pool over the bootloader's Usable regions.
//!
//! The pool must be usable from the page-fault handler, which grows
//! goroutine stacks (see `stack.rs`) and may interrupt *any* code on its
//! core — including code that is itself allocating a frame. A lock would
//! deadlock there, so the pool has none:
//!
//! - frames never handed out are taken with one `fetch_add` on a bump
//!   index that numbers every usable frame (region after region);
//! - freed frames go on a lock-free stack of frame indices
//!   (`freestack.rs`), whose links live in a side table, one `u32` per
//!   frame (Linux keeps such per-frame data in its `struct page`).

use core::sync::atomic::{AtomicU64, Ordering};

use bootloader_api::info::{MemoryRegionKind, MemoryRegions};
use x86_64::PhysAddr;
use x86_64::structures::paging::{FrameAllocator, PhysFrame, Size4KiB};

use super::freestack::FreeStack;
use super::phys_to_virt;

const PAGE: u64 = 4096;
const MAX_REGIONS: usize = 32;

/// Memory below 1 MiB is left alone: it holds the BIOS data and the page the
/// application processors start from (see `arch::smp`).
const LOW_MEMORY_END: u64 = 0x10_0000;

#[derive(Clone, Copy)]
struct Region {
    start: u64,
    /// Frames in the region, and the index of its first in the pool's numbering.
    frames: u64,
    first: u64,
}

struct Pool {
    regions: [Region; MAX_REGIONS],
    count: usize,
    total: u64,
    /// Index of the next never-allocated frame.
    bump: AtomicU64,
    /// Freed frames, by index.
    free: FreeStack,
    /// Frames handed out and not freed (for measurements).
    in_use: AtomicU64,
}

static POOL: spin::Once<Pool> = spin::Once::new();

/// Takes the Usable regions above 1 MiB, minus `[skip_start, skip_end)` (the
/// heap, carved out before), as the frame pool. Needs the heap (for the links).
pub(super) fn init(regions: &MemoryRegions, skip_start: u64, skip_end: u64) {
    let mut pool_regions = [Region { start: 0, frames: 0, first: 0 }; MAX_REGIONS];
    let mut count = 0;
    let mut total = 0;
    let mut add = |start: u64, end: u64| {
        let start = start.max(LOW_MEMORY_END).next_multiple_of(PAGE);
        let end = end & !(PAGE - 1);
        if start < end && count < MAX_REGIONS {
            let frames = (end - start) / PAGE;
            pool_regions[count] = Region { start, frames, first: total };
            count += 1;
            total += frames;
        }
    };
    for r in regions.iter().filter(|r| r.kind == MemoryRegionKind::Usable) {
        if r.end <= skip_start || r.start >= skip_end {
            add(r.start, r.end);
        } else {
            add(r.start, skip_start);
            add(skip_end, r.end);
        }
    }
    POOL.call_once(|| Pool {
        regions: pool_regions,
        count,
        total,
        bump: AtomicU64::new(0),
        free: FreeStack::new(total as usize),
        in_use: AtomicU64::new(0),
    });
}

fn pool() -> &'static Pool {
    POOL.get().expect("mm::init first")
}

impl Pool {
    fn frame(&self, index: u64) -> PhysFrame {
        let r = self.regions[..self.count].iter().find(|r| index < r.first + r.frames).expect("frame index in range");
        PhysFrame::containing_address(PhysAddr::new(r.start + (index - r.first) * PAGE))
    }

    fn index(&self, frame: PhysFrame) -> u64 {
        let addr = frame.start_address().as_u64();
        let r = self.regions[..self.count]
            .iter()
            .find(|r| (r.start..r.start + r.frames * PAGE).contains(&addr))
            .expect("frames::free: not a pool frame");
        r.first + (addr - r.start) / PAGE
    }
}

/// Allocates one zeroed 4 KiB frame, or `None` when memory is exhausted.
/// Lock-free: safe in the page-fault handler.
pub fn alloc() -> Option<PhysFrame> {
    let pool = pool();
    let index = match pool.free.pop() {
        Some(i) => i as u64,
        None => {
            let i = pool.bump.fetch_add(1, Ordering::Relaxed);
            if i >= pool.total {
                return None;
            }
            i
        }
    };
    pool.in_use.fetch_add(1, Ordering::Relaxed);
    let frame = pool.frame(index);
    // SAFETY: the frame was just handed out and nobody else refers to it;
    // the physical-memory window maps it writable.
    unsafe { core::ptr::write_bytes(phys_to_virt(frame.start_address()).as_mut_ptr::<u8>(), 0, PAGE as usize) };
    Some(frame)
}

/// Returns a frame to the pool. The caller must no longer use it, and no
/// core may still reach it through a stale TLB entry.
pub fn free(frame: PhysFrame) {
    let pool = pool();
    pool.free.push(pool.index(frame) as usize);
    pool.in_use.fetch_sub(1, Ordering::Relaxed);
}

/// Frames handed out and not yet freed.
pub fn in_use() -> u64 {
    pool().in_use.load(Ordering::Relaxed)
}

/// (frames in use, frames in the pool), each 4 KiB.
pub fn usage() -> (u64, u64) {
    (in_use(), pool().total)
}

/// The handle `x86_64`'s page-table code asks for new table frames.
pub struct GlobalFrames;

// SAFETY: `alloc` returns unused, zeroed frames, each at most once.
unsafe impl FrameAllocator<Size4KiB> for GlobalFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame> {
        alloc()
    }
}
