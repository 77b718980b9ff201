//! PCI configuration space, through the PCIe ECAM window whose address the
//! ACPI MCFG table gives (QEMU's q35 machine has one). Only bus 0 is mapped
//! (1 MiB: 32 devices × 8 functions × 4 KiB): under QEMU every device gmpos
//! drives sits there. [`Bus0`] implements virtio-drivers'
//! `ConfigurationAccess`, which is all that crate needs to find a virtio
//! device's registers.

use virtio_drivers::transport::pci::bus::{ConfigurationAccess, DeviceFunction};
use x86_64::PhysAddr;

use crate::mm;

/// Offset of the interrupt line/pin register in a device's header.
const INTERRUPT: u8 = 0x3c;

/// PCI bus 0's configuration space, mapped.
pub struct Bus0 {
    base: u64,
}

impl Bus0 {
    /// Maps bus 0's configuration space at `ecam_phys` (from the MCFG).
    pub fn map(ecam_phys: u64) -> Bus0 {
        Bus0 { base: mm::map_mmio(PhysAddr::new(ecam_phys), 1 << 20).as_u64() }
    }

    fn register(&self, df: DeviceFunction, offset: u8) -> *mut u32 {
        assert!(df.bus == 0 && df.device < 32 && df.function < 8 && offset % 4 == 0, "pci: bad address {df}+{offset:#x}");
        (self.base + ((df.device as u64) << 15 | (df.function as u64) << 12 | offset as u64)) as *mut u32
    }

    /// The GSI that the device's INTx pin raises, if it has one. QEMU's q35
    /// chipset (ICH9) wires slot `s`, pin `p` (0 = INTA) of bus 0 to PIRQ
    /// `(s + p) % 4 + 4` for slots below 25, and in APIC mode PIRQ A–H are
    /// GSIs 16–23. (A general kernel would evaluate ACPI's `_PRT` method,
    /// which needs an AML interpreter; this is the rule that method encodes.)
    pub fn intx_gsi(&self, df: DeviceFunction) -> Option<u32> {
        let pin = (self.read_word(df, INTERRUPT) >> 8) & 0xff;
        if pin == 0 || pin > 4 || df.device >= 25 {
            return None;
        }
        Some(16 + (df.device as u32 + pin - 1) % 4 + 4)
    }
}

impl ConfigurationAccess for Bus0 {
    fn read_word(&self, df: DeviceFunction, offset: u8) -> u32 {
        // SAFETY: `register` is inside the 1 MiB mapped by `map`, 4-aligned;
        // configuration space is MMIO, so the access is volatile.
        unsafe { core::ptr::read_volatile(self.register(df, offset)) }
    }

    fn write_word(&mut self, df: DeviceFunction, offset: u8, data: u32) {
        // SAFETY: as in `read_word`.
        unsafe { core::ptr::write_volatile(self.register(df, offset), data) }
    }

    unsafe fn unsafe_clone(&self) -> Self {
        Bus0 { base: self.base }
    }
}
