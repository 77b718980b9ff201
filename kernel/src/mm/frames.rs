//! Physical frames: a bump allocator over the bootloader's Usable regions,
//! plus a free list threaded through the freed frames themselves.

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
    /// Physical address of the first freed frame; each freed frame stores the
    /// address of the next one in its first eight bytes (0 ends the list).
    free_list: u64,
    free_frames: u64,
    total_frames: u64,
    used_frames: u64,
}

static FRAMES: IrqLock<Frames> = IrqLock::new(Frames {
    regions: [Region { start: 0, end: 0 }; MAX_REGIONS],
    count: 0,
    current: 0,
    next: 0,
    free_list: 0,
    free_frames: 0,
    total_frames: 0,
    used_frames: 0,
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
            frames.total_frames += (end - start) / PAGE;
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

/// Returns a frame to the pool.
///
/// # Safety
/// The frame must have come from [`alloc`] and must no longer be mapped or
/// used anywhere.
pub unsafe fn free(frame: PhysFrame) {
    let mut frames = FRAMES.lock();
    let addr = frame.start_address();
    // SAFETY: the caller gives the frame up; its first word links the list.
    unsafe { phys_to_virt(addr).as_mut_ptr::<u64>().write(frames.free_list) };
    frames.free_list = addr.as_u64();
    frames.free_frames += 1;
    frames.used_frames -= 1;
}

/// (frames in use, frames in the pool) — for memory reports.
pub fn usage() -> (u64, u64) {
    let frames = FRAMES.lock();
    (frames.used_frames, frames.total_frames)
}

impl Frames {
    fn alloc(&mut self) -> Option<PhysFrame> {
        let addr = if self.free_list != 0 {
            let addr = self.free_list;
            // SAFETY: every frame on the free list stores the next link.
            self.free_list = unsafe { phys_to_virt(PhysAddr::new(addr)).as_ptr::<u64>().read() };
            self.free_frames -= 1;
            addr
        } else {
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
            addr
        };
        self.used_frames += 1;
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
