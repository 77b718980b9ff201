//! Physical frames: a bump allocator over the bootloader's Usable regions.
//! Nothing returns frames yet: goroutine stacks are kept and reused with
//! their dead Gs.

use bootloader_api::info::{MemoryRegionKind, MemoryRegions};
use x86_64::PhysAddr;
use x86_64::structures::paging::{FrameAllocator, PhysFrame, Size4KiB};

use super::phys_to_virt;
use crate::sync::IrqLock;

const PAGE: u64 = 4096;
const MAX_REGIONS: usize = 32;

/// Memory below 1 MiB is left alone: it holds the BIOS data and the page the
/// application processors start from (see `arch::smp`).
const LOW_MEMORY_END: u64 = 0x10_0000;

#[derive(Clone, Copy)]
struct Region {
    start: u64,
    end: u64,
}

pub struct Frames {
    regions: [Region; MAX_REGIONS],
    count: usize,
    /// Index of the region the bump pointer is in, and the pointer itself.
    current: usize,
    next: u64,
    /// Frames handed out so far, and frames in the pool.
    used: u64,
    total: u64,
}

static FRAMES: IrqLock<Frames> = IrqLock::new(Frames {
    regions: [Region { start: 0, end: 0 }; MAX_REGIONS],
    count: 0,
    current: 0,
    next: 0,
    used: 0,
    total: 0,
});

/// Takes the Usable regions above 1 MiB, minus `[skip_start, skip_end)` (the
/// heap, carved out before), as the frame pool.
pub(super) fn init(regions: &MemoryRegions, skip_start: u64, skip_end: u64) {
    let mut frames = FRAMES.lock();
    let mut add = |start: u64, end: u64| {
        let start = start.max(LOW_MEMORY_END).next_multiple_of(PAGE);
        let end = end & !(PAGE - 1);
        if start < end && frames.count < MAX_REGIONS {
            let i = frames.count;
            frames.regions[i] = Region { start, end };
            frames.count += 1;
            frames.total += (end - start) / PAGE;
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
    frames.next = frames.regions[0].start;
}

/// Allocates one zeroed 4 KiB frame, or `None` when memory is exhausted.
pub fn alloc() -> Option<PhysFrame> {
    let frame = FRAMES.lock().alloc()?;
    // SAFETY: the frame was just handed out and nobody else refers to it;
    // the physical-memory window maps it writable.
    unsafe { core::ptr::write_bytes(phys_to_virt(frame.start_address()).as_mut_ptr::<u8>(), 0, PAGE as usize) };
    Some(frame)
}

/// (frames handed out, frames in the pool), each 4 KiB. Frames are never
/// returned, so the first only grows.
pub fn usage() -> (u64, u64) {
    let frames = FRAMES.lock();
    (frames.used, frames.total)
}

impl Frames {
    fn alloc(&mut self) -> Option<PhysFrame> {
        while self.current < self.count && self.next >= self.regions[self.current].end {
            self.current += 1;
            if self.current < self.count {
                self.next = self.regions[self.current].start;
            }
        }
        if self.current >= self.count {
            return None;
        }
        let addr = self.next;
        self.next += PAGE;
        self.used += 1;
        Some(PhysFrame::containing_address(PhysAddr::new(addr)))
    }
}

/// The handle `x86_64`'s page-table code asks for new table frames.
pub struct GlobalFrames;

// SAFETY: `alloc` returns unused, zeroed frames, each at most once.
unsafe impl FrameAllocator<Size4KiB> for GlobalFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame> {
        alloc()
    }
}
