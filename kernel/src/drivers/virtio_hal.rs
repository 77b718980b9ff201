//! What virtio-drivers needs from the kernel (its `Hal` trait): memory the
//! device can reach by physical address (DMA), and the translation between
//! the kernel's virtual addresses and physical ones.
//!
//! DMA memory comes from the kernel heap: the heap is one physically
//! contiguous run of RAM seen through the physical-memory window, so a
//! page-aligned heap block is contiguous physical memory too. Buffers the
//! driver shares with the device are translated through the page table.

use alloc::alloc::{alloc_zeroed, dealloc};
use core::alloc::Layout;
use core::ptr::NonNull;

use virtio_drivers::{BufferDirection, Hal, PAGE_SIZE, PhysAddr};
use x86_64::VirtAddr;

use crate::mm;

pub struct VirtioHal;

fn dma_layout(pages: usize) -> Layout {
    Layout::from_size_align(pages * PAGE_SIZE, PAGE_SIZE).expect("virtio: DMA layout")
}

/// The physical address of `len` bytes at `virt`, which must be physically
/// contiguous (true of the heap, which is all the driver shares).
fn phys_of(virt: *const u8, len: usize) -> PhysAddr {
    let start = VirtAddr::from_ptr(virt);
    let first = mm::virt_to_phys(start).expect("virtio: buffer not mapped");
    if len > 1 {
        let last = mm::virt_to_phys(start + (len as u64 - 1)).expect("virtio: buffer not mapped");
        assert_eq!(last - first, len as u64 - 1, "virtio: buffer not physically contiguous");
    }
    first.as_u64()
}

// SAFETY: `dma_alloc` returns zeroed, page-aligned, physically contiguous
// memory that nobody else uses until `dma_dealloc`; the translations are
// the page table's own.
unsafe impl Hal for VirtioHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        // SAFETY: the layout has a non-zero size.
        let Some(virt) = NonNull::new(unsafe { alloc_zeroed(dma_layout(pages)) }) else {
            return (0, NonNull::dangling());
        };
        (phys_of(virt.as_ptr(), pages * PAGE_SIZE), virt)
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, vaddr: NonNull<u8>, pages: usize) -> i32 {
        // SAFETY: `vaddr` came from `dma_alloc` with the same page count.
        unsafe { dealloc(vaddr.as_ptr(), dma_layout(pages)) };
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        let virt = mm::map_mmio(x86_64::PhysAddr::new(paddr), size as u64);
        NonNull::new(virt.as_mut_ptr()).expect("virtio: MMIO mapped at null")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        // x86 DMA is cache-coherent: sharing is only translating.
        phys_of(buffer.as_ptr().cast(), buffer.len())
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}
