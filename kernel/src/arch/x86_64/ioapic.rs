//! The IOAPIC: routes device interrupt lines (GSIs) to a core's LAPIC.
//! At start-up every line is masked; a driver asks for its line with
//! [`route`].

use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::PhysAddr;

use super::vectors;
use crate::mm;

const IOREGSEL: usize = 0x00;
const IOWIN: usize = 0x10;
const VERSION: u32 = 0x01;
const REDIRECTION_BASE: u32 = 0x10;
const MASKED: u32 = 1 << 16;

static BASE: AtomicU64 = AtomicU64::new(0);
static GSI_BASE: AtomicU64 = AtomicU64::new(0);

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
    let lines = ((read(VERSION) >> 16) & 0xff) + 1;
    for line in 0..lines {
        write(REDIRECTION_BASE + 2 * line, MASKED);
        write(REDIRECTION_BASE + 2 * line + 1, 0);
    }
}

/// Routes interrupt line `gsi` to the core with `apic_id`, as vector
/// `DEVICE_BASE + gsi` (edge-triggered, active high), and unmasks it.
pub fn route(gsi: u32, apic_id: u32) {
    let line = gsi - GSI_BASE.load(Ordering::Relaxed) as u32;
    let vector = vectors::DEVICE_BASE + gsi as u8;
    write(REDIRECTION_BASE + 2 * line + 1, apic_id << 24);
    write(REDIRECTION_BASE + 2 * line, vector as u32);
}
