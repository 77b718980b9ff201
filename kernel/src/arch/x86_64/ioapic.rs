//! The IOAPIC: routes device interrupt lines (GSIs) to a core's LAPIC.
//! At start-up every line is masked; a driver asks for its line with
//! [`route`].

use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::PhysAddr;

use super::vectors;
use crate::mm;
use crate::sync::IrqLock;

const IOREGSEL: usize = 0x00;
const IOWIN: usize = 0x10;
const VERSION: u32 = 0x01;
const REDIRECTION_BASE: u32 = 0x10;
const MASKED: u32 = 1 << 16;
const LEVEL: u32 = 1 << 15;

static BASE: AtomicU64 = AtomicU64::new(0);
static GSI_BASE: AtomicU64 = AtomicU64::new(0);
/// A register access is two steps (select, then the window): cores that
/// touch the IOAPIC at run time (masking and unmasking a line) take turns.
static SELECT: IrqLock<()> = IrqLock::new(());

fn write(reg: u32, value: u32) {
    let base = BASE.load(Ordering::Relaxed) as usize;
    // SAFETY: BASE maps the IOAPIC's two registers (see `init`); select,
    // then write the window, as the IOAPIC requires.
    unsafe {
        core::ptr::write_volatile((base + IOREGSEL) as *mut u32, reg);
        core::ptr::write_volatile((base + IOWIN) as *mut u32, value);
    }
}

fn read(reg: u32) -> u32 {
    let base = BASE.load(Ordering::Relaxed) as usize;
    // SAFETY: as in `write`.
    unsafe {
        core::ptr::write_volatile((base + IOREGSEL) as *mut u32, reg);
        core::ptr::read_volatile((base + IOWIN) as *const u32)
    }
}

/// Maps the IOAPIC and masks every line.
pub fn init(phys: u64, gsi_base: u32) {
    BASE.store(mm::map_mmio(PhysAddr::new(phys), 0x20).as_u64(), Ordering::Relaxed);
    GSI_BASE.store(gsi_base as u64, Ordering::Relaxed);
    let _turn = SELECT.lock();
    let lines = ((read(VERSION) >> 16) & 0xff) + 1;
    for line in 0..lines {
        write(REDIRECTION_BASE + 2 * line, MASKED);
        write(REDIRECTION_BASE + 2 * line + 1, 0);
    }
}

fn line(gsi: u32) -> u32 {
    gsi - GSI_BASE.load(Ordering::Relaxed) as u32
}

/// Routes interrupt line `gsi` to the core with `apic_id`, as vector
/// `DEVICE_BASE + gsi` (edge-triggered, active high), and unmasks it.
pub fn route(gsi: u32, apic_id: u32) {
    let _turn = SELECT.lock();
    let vector = vectors::DEVICE_BASE + gsi as u8;
    write(REDIRECTION_BASE + 2 * line(gsi) + 1, apic_id << 24);
    write(REDIRECTION_BASE + 2 * line(gsi), vector as u32);
}

/// Routes a PCI interrupt line (level-triggered, active high as QEMU's ACPI
/// tables declare GSIs 16–23) like [`route`]. A level-triggered line stays
/// asserted until the device is acknowledged, so its handler masks it
/// ([`set_masked`]) and whoever acknowledges the device unmasks it.
pub fn route_level(gsi: u32, apic_id: u32) {
    let _turn = SELECT.lock();
    let vector = vectors::DEVICE_BASE + gsi as u8;
    write(REDIRECTION_BASE + 2 * line(gsi) + 1, apic_id << 24);
    write(REDIRECTION_BASE + 2 * line(gsi), LEVEL | vector as u32);
}

/// Masks or unmasks line `gsi`, keeping its routing. Unmasking a
/// level-triggered line that is still asserted delivers it again.
pub fn set_masked(gsi: u32, masked: bool) {
    let reg = REDIRECTION_BASE + 2 * line(gsi);
    let _turn = SELECT.lock();
    let entry = read(reg) & !MASKED;
    write(reg, if masked { entry | MASKED } else { entry });
}
