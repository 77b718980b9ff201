//! Everything that knows the x86_64 hardware. The rest of the kernel sees
//! this narrow interface: bring a core up, per-CPU data, interrupts on/off,
//! time, IPIs, the context switch, and leaving QEMU.

pub mod acpi;
pub mod apic;
pub mod cpu;
pub mod entry;
pub mod gdt;
pub mod idt;
pub mod interrupts;
pub mod ioapic;
pub mod pci;
pub mod qemu;
pub mod smp;
pub mod switch;
pub mod time;
pub mod unwind;
pub mod vectors;

use pic8259::ChainedPics;

/// Sets up the bootstrap core: installs `entry` (how interrupts reach the
/// kernel above arch), then GDT/TSS, IDT, per-CPU data, the legacy PICs
/// (remapped and masked), the local APIC, the IOAPIC (routing the
/// console's line, `entry.console_gsi`, here) and the clocks.
pub fn init_bsp(machine: &acpi::Machine, entry: &'static entry::InterruptEntry) {
    entry::install(entry);
    gdt::init();
    idt::init();
    cpu::init(0, machine.bsp_apic_id);
    // SAFETY: the PICs sit at their standard ports; remapping them above the
    // exceptions and masking every line leaves interrupts to the APICs.
    unsafe {
        let mut pics = ChainedPics::new(vectors::PIC_BASE, vectors::PIC_BASE + 8);
        pics.initialize();
        pics.disable();
    }
    apic::init_bsp();
    apic::init_local();
    if let Some((phys, gsi_base)) = machine.ioapic {
        ioapic::init(phys, gsi_base);
        ioapic::route(entry.console_gsi, machine.bsp_apic_id);
    }
    time::calibrate();
    time::start_tick();
    cpu::set_online();
}

/// Sets up an application processor the same way (called on the AP).
pub fn init_ap(id: usize) {
    smp::ap_started();
    gdt::init();
    idt::init();
    cpu::init(id, apic::id());
    apic::init_local();
    time::start_tick();
    cpu::set_online();
}

/// Stops this core for good.
pub fn halt_forever() -> ! {
    loop {
        interrupts::disable();
        x86_64::instructions::hlt();
    }
}
