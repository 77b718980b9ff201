//! Per-core GDT and TSS. The TSS holds the Interrupt Stack Table: separate,
//! known-good stacks for the faults that may happen when the current stack is
//! unusable (double fault, NMI, and page fault — a goroutine that overflows
//! its stack faults on the guard page with no stack left to push onto).

use alloc::boxed::Box;

use x86_64::VirtAddr;
use x86_64::instructions::segmentation::{CS, DS, ES, SS, Segment};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;

pub const DOUBLE_FAULT_IST: u16 = 0;
pub const NMI_IST: u16 = 1;
pub const PAGE_FAULT_IST: u16 = 2;

const IST_STACK_SIZE: usize = 16 * 1024;

/// Builds this core's GDT and TSS (with fresh IST stacks) and loads them.
pub fn init() {
    let tss = Box::leak(Box::new(TaskStateSegment::new()));
    for ist in [DOUBLE_FAULT_IST, NMI_IST, PAGE_FAULT_IST] {
        let stack = Box::leak(alloc::vec![0u8; IST_STACK_SIZE].into_boxed_slice());
        tss.interrupt_stack_table[ist as usize] = VirtAddr::from_ptr(stack.as_ptr_range().end);
    }
    let gdt = Box::leak(Box::new(GlobalDescriptorTable::new()));
    let code = gdt.append(Descriptor::kernel_code_segment());
    let data = gdt.append(Descriptor::kernel_data_segment());
    let tss_selector = gdt.append(Descriptor::tss_segment(tss));
    gdt.load();
    // SAFETY: the selectors index the GDT just loaded, whose descriptors
    // describe the flat 64-bit kernel segments and this core's TSS.
    unsafe {
        CS::set_reg(code);
        DS::set_reg(data);
        ES::set_reg(data);
        SS::set_reg(SegmentSelector(0));
        load_tss(tss_selector);
    }
}
