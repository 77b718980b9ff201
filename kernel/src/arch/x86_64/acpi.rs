//! What the ACPI tables tell the kernel about the machine: which cores exist
//! (their local APIC ids), where the IOAPIC is, and where PCI configuration
//! space is memory-mapped (the MCFG table). The `acpi` crate parses
//! the tables; this file only lets it read physical memory.

use alloc::vec::Vec;
use core::ptr::NonNull;

use acpi::mcfg::PciConfigRegions;
use acpi::platform::interrupt::InterruptModel;
use acpi::platform::ProcessorState;
use acpi::{AcpiHandler, AcpiTables, PhysicalMapping, PlatformInfo};
use x86_64::PhysAddr;

use crate::mm;

/// The machine as the MADT describes it.
pub struct Machine {
    pub bsp_apic_id: u32,
    /// APs that firmware left ready to start, in MADT order.
    pub ap_apic_ids: Vec<u32>,
    /// Physical address of the first IOAPIC, and its first interrupt.
    pub ioapic: Option<(u64, u32)>,
    /// Physical address of PCI bus 0's configuration space in the PCIe
    /// ECAM window (segment 0), if the firmware has an MCFG table.
    pub ecam_bus0: Option<u64>,
}

/// Reads ACPI through the physical-memory window (no mapping needed).
#[derive(Clone)]
struct Window;

impl AcpiHandler for Window {
    unsafe fn map_physical_region<T>(&self, physical_address: usize, size: usize) -> PhysicalMapping<Self, T> {
        let virt = mm::phys_to_virt(PhysAddr::new(physical_address as u64));
        // SAFETY: all physical memory is mapped at the window, so the region
        // is readable for `size` bytes at `virt`, which is never null.
        unsafe { PhysicalMapping::new(physical_address, NonNull::new(virt.as_mut_ptr()).unwrap(), size, size, Window) }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// Parses the MADT found through the RSDP the bootloader reported.
pub fn discover(rsdp: u64) -> Result<Machine, &'static str> {
    // SAFETY: the bootloader found the RSDP at this physical address.
    let tables = unsafe { AcpiTables::from_rsdp(Window, rsdp as usize) }.map_err(|_| "bad ACPI tables")?;
    let info = PlatformInfo::new(&tables).map_err(|_| "ACPI tables have no usable MADT")?;
    let processors = info.processor_info.ok_or("the MADT lists no processors")?;
    let ap_apic_ids = processors
        .application_processors
        .iter()
        .filter(|p| p.state == ProcessorState::WaitingForSipi)
        .map(|p| p.local_apic_id)
        .collect();
    let ioapic = match &info.interrupt_model {
        InterruptModel::Apic(apic) => {
            apic.io_apics.first().map(|io| (io.address as u64, io.global_system_interrupt_base))
        }
        _ => None,
    };
    let ecam_bus0 = PciConfigRegions::new(&tables).ok().and_then(|r| r.physical_address(0, 0, 0, 0));
    Ok(Machine { bsp_apic_id: processors.boot_processor.local_apic_id, ap_apic_ids, ioapic, ecam_bus0 })
}
