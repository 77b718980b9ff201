//! Goroutine stacks with guard pages.
//!
//! Each stack gets a slot of `SLOT_SIZE` bytes of virtual address space in a
//! region of its own; only the top `STACK_SIZE` bytes are mapped. Everything
//! below is left unmapped, so a goroutine that overflows its stack touches an
//! unmapped page and the page-fault handler (which runs on its own IST stack,
//! see `arch::gdt`) can name the goroutine instead of the core dying in a
//! double fault.
//!
//! Go starts a goroutine with 2 KiB and copies the stack when it grows; gmpos
//! maps a fixed 8 KiB, enough for the kernel's programs including the
//! register frame an interrupt pushes. Stacks are never freed: a dead G keeps
//! its stack and is reused through the free lists (Go's `gfput`/`gfget`).

use x86_64::VirtAddr;
use x86_64::structures::paging::{Page, PageTableFlags as Flags};

use super::{PAGE_SIZE, Region, frames, map};

/// Bytes of a stack that are mapped (usable).
pub const STACK_SIZE: u64 = 8 * 1024;
/// Virtual bytes reserved per stack; all but the top `STACK_SIZE` are guard.
pub const SLOT_SIZE: u64 = 32 * 1024;

static STACKS: spin::Once<Region> = spin::Once::new();

/// A goroutine stack: `[guard_bottom, bottom)` is the unmapped guard,
/// `[bottom, top)` is mapped.
pub struct Stack {
    pub guard_bottom: VirtAddr,
    pub bottom: VirtAddr,
    pub top: VirtAddr,
}

impl Stack {
    /// Allocates and maps a new stack, or `None` when memory is exhausted.
    pub fn new() -> Option<Stack> {
        let region = STACKS.call_once(Region::new);
        let slot = region.reserve(SLOT_SIZE);
        let top = slot + SLOT_SIZE;
        let bottom = top - STACK_SIZE;
        for i in 0..STACK_SIZE / PAGE_SIZE {
            let frame = frames::alloc()?;
            let page = Page::containing_address(bottom + i * PAGE_SIZE);
            // SAFETY: the slot was just reserved, the frame just allocated.
            unsafe { map(page, frame, Flags::PRESENT | Flags::WRITABLE | Flags::NO_EXECUTE) };
        }
        Some(Stack { guard_bottom: slot, bottom, top })
    }

    /// Whether `addr` lies in this stack's guard.
    pub fn in_guard(&self, addr: VirtAddr) -> bool {
        self.guard_bottom <= addr && addr < self.bottom
    }
}
