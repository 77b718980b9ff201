//! Interrupt vector numbers. 0x20..0x30 are where the legacy PICs are
//! remapped to (and masked); everything gmpos uses sits above them.

/// Legacy PIC base (masked; only their spurious interrupts can arrive).
pub const PIC_BASE: u8 = 0x20;
/// IOAPIC-routed device interrupts start here (GSI n → DEVICE_BASE + n;
/// the console's GSI comes from its driver, see `entry`).
pub const DEVICE_BASE: u8 = 0x30;
/// PCI interrupt lines: on QEMU's q35 chipset, PIRQ A–H are GSIs 16–23.
pub const PCI_INTX_FIRST: u8 = DEVICE_BASE + 16;
pub const PCI_INTX_LAST: u8 = DEVICE_BASE + 23;
/// The local APIC timer.
pub const TIMER: u8 = 0xe0;
/// Wake-up / cross-call IPI.
pub const IPI: u8 = 0xf0;
pub const APIC_ERROR: u8 = 0xfe;
pub const SPURIOUS: u8 = 0xff;
