//! The interrupt descriptor table. One table, built once and loaded on every
//! core: its entries do not depend on the core, so sharing it is safe (each
//! core's own state — stacks, TSS — lives in its GDT/TSS and per-CPU data).
//!
//! Handlers here do the hardware part (acknowledge, read CR2) and hand the
//! event on: faults to `crate::fault`, IPIs to the cross-call queue, and the
//! tick, device and console interrupts and stack growth to the functions
//! `main` installed in the [`InterruptEntry`](super::entry::InterruptEntry).

use x86_64::registers::control::Cr2;
use x86_64::registers::rflags::RFlags;
use x86_64::structures::idt::{Entry, HandlerFunc, InterruptDescriptorTable, InterruptStackFrame, PageFaultErrorCode};

use super::{apic, cpu, entry, gdt, vectors};
use crate::fault::{self, Fault};

static IDT: spin::Once<InterruptDescriptorTable> = spin::Once::new();

/// Loads the (shared) IDT on this core.
pub fn init() {
    IDT.call_once(build).load();
}

/// If `addr` is where one of the IDT's handlers starts, whether the CPU
/// pushes an error code before entering it (the unwinder's question: how
/// to read the frame below the handler). Reads only the built table, so
/// it is safe in an NMI.
pub fn handler_pushes_error_code(addr: u64) -> Option<bool> {
    /// The vectors for which the CPU pushes an error code (Intel SDM vol.
    /// 3, table 6-1; 29 and 30 are AMD's and Intel's later ones).
    const ERROR_CODE: [usize; 10] = [8, 10, 11, 12, 13, 14, 17, 21, 29, 30];
    let idt = IDT.get()?;
    // SAFETY: the table is `repr(C)`: 256 gates of 16 bytes, each an
    // `Entry`, whose address is read the same way whatever handler type
    // it was set with.
    let gates = unsafe { &*(idt as *const InterruptDescriptorTable).cast::<[Entry<HandlerFunc>; 256]>() };
    let vector = gates.iter().position(|gate| gate.handler_addr().as_u64() == addr)?;
    Some(ERROR_CODE.contains(&vector))
}

fn build() -> InterruptDescriptorTable {
    let mut idt = InterruptDescriptorTable::new();
    idt.divide_error.set_handler_fn(divide_error);
    idt.debug.set_handler_fn(debug);
    idt.breakpoint.set_handler_fn(breakpoint);
    idt.overflow.set_handler_fn(overflow);
    idt.bound_range_exceeded.set_handler_fn(bound_range);
    idt.invalid_opcode.set_handler_fn(invalid_opcode);
    idt.device_not_available.set_handler_fn(device_not_available);
    idt.invalid_tss.set_handler_fn(invalid_tss);
    idt.segment_not_present.set_handler_fn(segment_not_present);
    idt.stack_segment_fault.set_handler_fn(stack_segment_fault);
    idt.general_protection_fault.set_handler_fn(general_protection);
    idt.x87_floating_point.set_handler_fn(x87_floating_point);
    idt.alignment_check.set_handler_fn(alignment_check);
    idt.simd_floating_point.set_handler_fn(simd_floating_point);
    // SAFETY: the IST indices name stacks that `gdt::init` installs in every
    // core's TSS before interrupts are enabled.
    unsafe {
        idt.double_fault.set_handler_fn(double_fault).set_stack_index(gdt::DOUBLE_FAULT_IST);
        idt.non_maskable_interrupt.set_handler_fn(nmi).set_stack_index(gdt::NMI_IST);
        idt.page_fault.set_handler_fn(page_fault).set_stack_index(gdt::PAGE_FAULT_IST);
    }
    for v in vectors::PIC_BASE..vectors::PIC_BASE + 16 {
        idt[v].set_handler_fn(legacy_pic_spurious);
    }
    let console_gsi = entry::get().expect("init_bsp installs the interrupt entry first").console_gsi;
    idt[vectors::DEVICE_BASE + console_gsi as u8].set_handler_fn(console);
    for v in vectors::PCI_INTX_FIRST..=vectors::PCI_INTX_LAST {
        idt[v].set_handler_fn(pci_intx);
    }
    idt[vectors::TIMER].set_handler_fn(timer);
    idt[vectors::IPI].set_handler_fn(ipi);
    idt[vectors::APIC_ERROR].set_handler_fn(apic_error);
    idt[vectors::SPURIOUS].set_handler_fn(spurious);
    idt
}

fn report(name: &'static str, frame: &InterruptStackFrame, error_code: Option<u64>, cr2: Option<u64>) -> ! {
    fault::exception(Fault {
        name,
        cpu: cpu::id(),
        rip: frame.instruction_pointer.as_u64(),
        rsp: frame.stack_pointer.as_u64(),
        error_code,
        cr2,
    })
}

macro_rules! fault_handlers {
    ($($handler:ident: $name:literal;)*) => {$(
        extern "x86-interrupt" fn $handler(frame: InterruptStackFrame) {
            report($name, &frame, None, None)
        }
    )*};
}

macro_rules! fault_handlers_with_code {
    ($($handler:ident: $name:literal;)*) => {$(
        extern "x86-interrupt" fn $handler(frame: InterruptStackFrame, code: u64) {
            report($name, &frame, Some(code), None)
        }
    )*};
}

fault_handlers! {
    divide_error: "divide error";
    debug: "debug exception";
    breakpoint: "breakpoint";
    overflow: "overflow";
    bound_range: "bound range exceeded";
    invalid_opcode: "invalid opcode";
    device_not_available: "device not available";
    x87_floating_point: "x87 floating-point exception";
    simd_floating_point: "SIMD floating-point exception";
}

fault_handlers_with_code! {
    invalid_tss: "invalid TSS";
    segment_not_present: "segment not present";
    stack_segment_fault: "stack-segment fault";
    general_protection: "general protection fault";
    alignment_check: "alignment check";
}

extern "x86-interrupt" fn double_fault(frame: InterruptStackFrame, code: u64) -> ! {
    report("double fault", &frame, Some(code), None)
}

/// A fault on a page of the running goroutine's stack that is not mapped
/// yet grows the stack (the entry's `stack_fault`: `runtime::morestack`)
/// and resumes the goroutine; anything else is fatal. This handler runs on
/// its own IST stack, so a fault on an unmapped stack page never has to
/// push onto that page (which would be a double fault), and it takes no
/// lock (see `mm::pte`).
extern "x86-interrupt" fn page_fault(frame: InterruptStackFrame, code: PageFaultErrorCode) {
    let cr2 = Cr2::read_raw();
    if !code.contains(PageFaultErrorCode::PROTECTION_VIOLATION) && entry::get().is_some_and(|e| (e.stack_fault)(cr2)) {
        if frame.cpu_flags.contains(RFlags::INTERRUPT_FLAG) {
            apic::redeliver_lost_interrupt();
        }
        return;
    }
    report("page fault", &frame, Some(code.bits()), Some(cr2))
}

/// An NMI stops this core for a fatal error, or records where it was for
/// the watchdog (`cpu::sample_others`).
extern "x86-interrupt" fn nmi(frame: InterruptStackFrame) {
    if fault::is_stopping() {
        fault::park_this_cpu();
    }
    let interrupts = frame.cpu_flags.contains(RFlags::INTERRUPT_FLAG);
    if cpu::record_sample(frame.instruction_pointer.as_u64(), frame.stack_pointer.as_u64(), interrupts) {
        return;
    }
    report("unexpected NMI", &frame, None, None)
}

extern "x86-interrupt" fn timer(_frame: InterruptStackFrame) {
    cpu::current().ticks.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    apic::eoi();
    if let Some(e) = entry::get() {
        (e.tick)();
    }
}

extern "x86-interrupt" fn console(_frame: InterruptStackFrame) {
    if let Some(e) = entry::get() {
        (e.console_input)();
    }
    apic::eoi();
}

/// A PCI device's interrupt line. The only PCI device that uses one is
/// virtio-net; its driver masks the line before the EOI (see `ioapic`).
extern "x86-interrupt" fn pci_intx(_frame: InterruptStackFrame) {
    let e = entry::get();
    if let Some(e) = e {
        (e.device)();
    }
    apic::eoi();
    if let Some(e) = e {
        (e.after_device)();
    }
}

extern "x86-interrupt" fn ipi(_frame: InterruptStackFrame) {
    apic::eoi();
    super::smp::run_calls();
}

extern "x86-interrupt" fn apic_error(_frame: InterruptStackFrame) {
    let status = apic::error_status();
    apic::eoi();
    crate::println!("gmpos: local APIC error on cpu {}: ESR={status:#x}", cpu::id());
}

extern "x86-interrupt" fn spurious(_frame: InterruptStackFrame) {
    // A spurious LAPIC interrupt needs no EOI.
}

extern "x86-interrupt" fn legacy_pic_spurious(_frame: InterruptStackFrame) {
    // The legacy PICs are masked; only their spurious IRQ 7/15 can get here,
    // and those need no EOI.
}
