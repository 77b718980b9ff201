//! Memory: physical frames, the kernel's page table, the heap, and the
//! virtual regions for device registers and goroutine stacks.
//!
//! The bootloader maps all of physical memory at a fixed offset (the
//! "physical-memory window"); the kernel reaches page tables, free frames and
//! the heap through it. Device registers and goroutine stacks get their own
//! virtual regions, each a free 512 GiB slot of the top-level page table.
//! The generic mapping code below edits the page table under a lock; the
//! stack region is edited lock-free instead (`pte.rs`), because the
//! page-fault handler maps stack pages.

pub mod frames;
mod freestack;
pub mod heap;
mod pte;
pub mod stack;

pub use pte::mapped;

use core::sync::atomic::{AtomicU64, Ordering};

use bootloader_api::info::{MemoryRegionKind, MemoryRegions};
use x86_64::registers::control::Cr3;
use x86_64::structures::paging::{
    Mapper, OffsetPageTable, Page, PageTable, PageTableFlags as Flags, PhysFrame, Size4KiB, Translate,
};
use x86_64::{PhysAddr, VirtAddr};

use crate::sync::IrqLock;

pub const PAGE_SIZE: u64 = 4096;

static PHYS_OFFSET: AtomicU64 = AtomicU64::new(0);
static PAGE_TABLE: IrqLock<Option<OffsetPageTable<'static>>> = IrqLock::new_global(None);

/// The virtual address at which the physical-memory window shows `phys`.
pub fn phys_to_virt(phys: PhysAddr) -> VirtAddr {
    VirtAddr::new(phys.as_u64() + PHYS_OFFSET.load(Ordering::Relaxed))
}

/// The physical address that `virt` maps to, if it is mapped (for devices
/// that read memory by physical address: DMA).
pub fn virt_to_phys(virt: VirtAddr) -> Option<PhysAddr> {
    PAGE_TABLE.lock().as_ref().expect("mm::init first").translate_addr(virt)
}

/// Brings up memory management: the heap (a quarter of RAM, taken from the
/// largest Usable region) and the frame pool (the rest).
pub fn init(phys_offset: u64, regions: &MemoryRegions) -> Result<(), &'static str> {
    PHYS_OFFSET.store(phys_offset, Ordering::Relaxed);

    let usable = regions.iter().filter(|r| r.kind == MemoryRegionKind::Usable && r.start >= 0x10_0000);
    let total: u64 = usable.clone().map(|r| r.end - r.start).sum();
    let largest = usable.max_by_key(|r| r.end - r.start).ok_or("no usable memory above 1 MiB")?;
    let heap_size = (total / 4).clamp(8 << 20, (largest.end - largest.start) / 2) & !(PAGE_SIZE - 1);
    let heap_start = largest.start.next_multiple_of(PAGE_SIZE);
    // SAFETY: the range is Usable RAM, mapped writable by the physical-memory
    // window, and given to nothing else (the frame pool skips it).
    unsafe { heap::init(phys_to_virt(PhysAddr::new(heap_start)).as_mut_ptr(), heap_size as usize) };
    frames::init(regions, heap_start, heap_start + heap_size);

    let (l4_frame, _) = Cr3::read();
    // SAFETY: CR3 holds the active top-level table, reachable through the
    // window; from here on the kernel edits it only through PAGE_TABLE.
    let l4: &'static mut PageTable = unsafe { &mut *phys_to_virt(l4_frame.start_address()).as_mut_ptr() };
    // SAFETY: the whole of physical memory is mapped at `phys_offset`.
    *PAGE_TABLE.lock() = Some(unsafe { OffsetPageTable::new(l4, VirtAddr::new(phys_offset)) });
    Ok(())
}

/// A run of virtual address space that the kernel maps page by page.
pub struct Region {
    next: AtomicU64,
    end: u64,
}

impl Region {
    /// Claims a free top-level (512 GiB) slot of the page table.
    pub fn new() -> Region {
        let mut guard = PAGE_TABLE.lock();
        let table = guard.as_mut().expect("mm::init first");
        let l4 = table.level_4_table_mut();
        // Only the upper half, and never a slot the bootloader used; the
        // slot is claimed by giving it a (zeroed) lower-level table now.
        let index = (256..511).find(|&i| l4[i].is_unused()).expect("no free top-level page-table slot");
        let frame = frames::alloc().expect("out of memory for a page table");
        l4[index].set_frame(frame, Flags::PRESENT | Flags::WRITABLE);
        let start = (index as u64) << 39 | 0xffff_0000_0000_0000;
        Region { next: AtomicU64::new(start), end: start + (1 << 39) }
    }

    /// Reserves `size` bytes (page-aligned) of this region; nothing is mapped.
    pub fn reserve(&self, size: u64) -> VirtAddr {
        let start = self.next.fetch_add(size.next_multiple_of(PAGE_SIZE), Ordering::Relaxed);
        assert!(start + size <= self.end, "virtual region exhausted");
        VirtAddr::new(start)
    }
}

/// Maps `page` to `frame`.
///
/// # Safety
/// `page` must be unused and `frame` owned by the caller (or a device).
pub unsafe fn map(page: Page, frame: PhysFrame, flags: Flags) {
    let mut guard = PAGE_TABLE.lock();
    let table = guard.as_mut().expect("mm::init first");
    // SAFETY: guaranteed by the caller.
    unsafe { table.map_to(page, frame, flags, &mut frames::GlobalFrames) }
        .expect("mapping a page")
        .flush();
}

/// Removes the mapping of `page` on this core and returns its frame.
pub fn unmap(page: Page<Size4KiB>) -> Option<PhysFrame> {
    let mut guard = PAGE_TABLE.lock();
    let table = guard.as_mut().expect("mm::init first");
    let (frame, flush) = table.unmap(page).ok()?;
    flush.flush();
    Some(frame)
}

/// Maps `len` bytes of device registers at `phys`, uncached, and returns
/// where they appear.
pub fn map_mmio(phys: PhysAddr, len: u64) -> VirtAddr {
    static MMIO: spin::Once<Region> = spin::Once::new();
    let region = MMIO.call_once(Region::new);
    let first = PhysFrame::<Size4KiB>::containing_address(phys);
    let pages = (phys.as_u64() - first.start_address().as_u64() + len).div_ceil(PAGE_SIZE);
    let virt = region.reserve(pages * PAGE_SIZE);
    for i in 0..pages {
        let page = Page::containing_address(virt + i * PAGE_SIZE);
        let flags = Flags::PRESENT | Flags::WRITABLE | Flags::NO_CACHE | Flags::WRITE_THROUGH | Flags::NO_EXECUTE;
        // SAFETY: the page was just reserved; the frame is device memory.
        unsafe { map(page, first + i, flags) };
    }
    virt + (phys.as_u64() - first.start_address().as_u64())
}
