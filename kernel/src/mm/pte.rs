//! Lock-free edits of the page tables under one [`Region`](super::Region):
//! what lets the page-fault handler map a goroutine's next stack page.
//!
//! The kernel's page table is shared by every core and otherwise edited
//! under `PAGE_TABLE`, an `IrqLock`. The page-fault handler cannot take it:
//! a fault may hit code on the same core that holds it (mapping device
//! registers, say, or growing its own stack while doing so), and waiting
//! would deadlock the core against itself. So the tables below a stack
//! region — a top-level slot that no locked code ever walks into — are
//! edited only here, entry by entry, with atomics:
//!
//! - a missing intermediate table is created by allocating a zeroed frame
//!   and CASing it into the empty entry; the loser of a race frees its
//!   frame and uses the winner's. The CAS is AcqRel so that whoever uses a
//!   table sees it zeroed (the MMU reads tables in program order on x86, so
//!   the zeroing is also visible to this core's page walker);
//! - a leaf entry belongs to the one goroutine whose stack contains the
//!   page: it is written by the core running that goroutine (its fault) or
//!   by whoever holds it dead; never by two cores at once.
//!
//! Entries are 8-byte aligned, so each store is atomic for the MMU too.

use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::structures::paging::{PageTableFlags as Flags, PhysFrame};
use x86_64::{PhysAddr, VirtAddr};

use super::{frames, phys_to_virt};

/// Bits 12..52 of an entry: the frame's physical address.
const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

type Table = [AtomicU64; 512];

fn table_at(phys: u64) -> &'static Table {
    // SAFETY: `phys` is a page-table frame (from CR3 or a present entry),
    // reachable through the physical-memory window; every access to it from
    // here is atomic, and the tables are never freed.
    unsafe { &*phys_to_virt(PhysAddr::new(phys & ADDR_MASK)).as_ptr::<Table>() }
}

/// The table `entry` points to, created if the entry is empty; `None` when
/// out of memory.
fn next_table(entry: &AtomicU64) -> Option<&'static Table> {
    let value = entry.load(Ordering::Acquire);
    if value & Flags::PRESENT.bits() != 0 {
        return Some(table_at(value));
    }
    let frame = frames::alloc()?;
    let new = frame.start_address().as_u64() | (Flags::PRESENT | Flags::WRITABLE).bits();
    match entry.compare_exchange(0, new, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => Some(table_at(new)),
        Err(winner) => {
            frames::free(frame);
            Some(table_at(winner))
        }
    }
}

/// The leaf (level-1) entry mapping `addr`, creating the tables on the way;
/// `None` when out of memory. `addr` must lie in a region whose top-level
/// entry is present (claimed by `Region::new`).
pub(super) fn leaf(addr: VirtAddr) -> Option<&'static AtomicU64> {
    let (l4, _) = x86_64::registers::control::Cr3::read();
    let l4 = table_at(l4.start_address().as_u64());
    let l4e = &l4[usize::from(addr.p4_index())];
    assert!(l4e.load(Ordering::Acquire) & Flags::PRESENT.bits() != 0, "pte::leaf outside a claimed region");
    let l3 = next_table(l4e)?;
    let l2 = next_table(&l3[usize::from(addr.p3_index())])?;
    let l1 = next_table(&l2[usize::from(addr.p2_index())])?;
    Some(&l1[usize::from(addr.p1_index())])
}

/// Whether `addr` is mapped: a walk of the page table that reads each
/// entry once and changes nothing, so an NMI handler may use it (the
/// watchdog's unwinder checks each stack word before reading it). Any
/// region is walked, 2 MiB and 1 GiB pages included; an entry another
/// core edits meanwhile is read either before or after the edit.
pub fn mapped(addr: VirtAddr) -> bool {
    let (l4, _) = x86_64::registers::control::Cr3::read();
    let mut table = table_at(l4.start_address().as_u64());
    let indices = [addr.p4_index(), addr.p3_index(), addr.p2_index(), addr.p1_index()];
    for (level, index) in indices.into_iter().enumerate() {
        let entry = table[usize::from(index)].load(Ordering::Acquire);
        if entry & Flags::PRESENT.bits() == 0 {
            return false;
        }
        // Levels 3 and 2 (indices 1 and 2) may map a huge page directly.
        if level == 3 || (level > 0 && entry & Flags::HUGE_PAGE.bits() != 0) {
            return true;
        }
        table = table_at(entry);
    }
    unreachable!("the level-1 entry ends the walk")
}

/// Maps the page whose leaf entry is `pte` to `frame`: writable, not executable.
pub(super) fn set(pte: &AtomicU64, frame: PhysFrame) {
    let flags = Flags::PRESENT | Flags::WRITABLE | Flags::NO_EXECUTE;
    pte.store(frame.start_address().as_u64() | flags.bits(), Ordering::Release);
}

/// Unmaps the page whose leaf entry is `pte`, returning its frame. The
/// caller flushes the TLBs before reusing the frame.
pub(super) fn clear(pte: &AtomicU64) -> Option<PhysFrame> {
    let old = pte.swap(0, Ordering::AcqRel);
    (old & Flags::PRESENT.bits() != 0).then(|| PhysFrame::containing_address(PhysAddr::new(old & ADDR_MASK)))
}
