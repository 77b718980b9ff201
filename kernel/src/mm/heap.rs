//! The kernel heap: `linked_list_allocator` over one physically contiguous
//! piece of RAM, reached through the physical-memory window.
//!
//! The heap lock is an [`IrqLock`]: allocation never races with an interrupt
//! handler on the same core, and a goroutine is never preempted while it
//! holds the heap (which would leave every other core spinning).

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use linked_list_allocator::Heap;

use crate::sync::IrqLock;

pub struct KernelHeap(IrqLock<Heap>);

#[global_allocator]
static HEAP: KernelHeap = KernelHeap(IrqLock::new_global(Heap::empty()));

/// Hands `[start, start + size)` (a virtual range) to the allocator.
///
/// # Safety
/// The range must be mapped, writable and unused, and `init` called once.
pub(super) unsafe fn init(start: *mut u8, size: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe { HEAP.0.lock().init(start, size) };
}

/// (bytes in use, heap size).
pub fn usage() -> (usize, usize) {
    let heap = HEAP.0.lock();
    (heap.used(), heap.size())
}

// SAFETY: `Heap` hands out disjoint, suitably aligned blocks; the lock
// serialises every access.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.0.lock().allocate_first_fit(layout).map_or(core::ptr::null_mut(), |p| p.as_ptr())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(ptr) = NonNull::new(ptr) {
            // SAFETY: `ptr` came from `alloc` with this layout (GlobalAlloc's contract).
            unsafe { self.0.lock().deallocate(ptr, layout) };
        }
    }
}
