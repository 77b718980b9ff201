//! The local APIC, through its memory-mapped registers (xAPIC mode: QEMU's
//! TCG has no x2APIC). Every core's LAPIC appears at the same address; each
//! core reaches its own.

use core::sync::atomic::{AtomicU64, Ordering};

use x86_64::PhysAddr;
use x86_64::registers::model_specific::Msr;

use super::vectors;
use crate::mm;

const IA32_APIC_BASE: u32 = 0x1b;

const ID: usize = 0x20;
const TPR: usize = 0x80;
const EOI: usize = 0xb0;
const SVR: usize = 0xf0;
/// In-service register: eight 32-bit words, 16 bytes apart.
const ISR: usize = 0x100;
const ESR: usize = 0x280;
const ICR_LOW: usize = 0x300;
const ICR_HIGH: usize = 0x310;
const LVT_TIMER: usize = 0x320;
const LVT_LINT0: usize = 0x350;
const LVT_LINT1: usize = 0x360;
const LVT_ERROR: usize = 0x370;
const TIMER_INITIAL: usize = 0x380;
const TIMER_CURRENT: usize = 0x390;
const TIMER_DIVIDE: usize = 0x3e0;

const SVR_ENABLE: u32 = 1 << 8;
const LVT_MASKED: u32 = 1 << 16;
const TIMER_PERIODIC: u32 = 1 << 17;
const ICR_PENDING: u32 = 1 << 12;
const ICR_LEVEL_ASSERT: u32 = 1 << 14;
const ICR_FIXED: u32 = 0 << 8;
const ICR_NMI: u32 = 0b100 << 8;
const ICR_INIT: u32 = 0b101 << 8;
const ICR_STARTUP: u32 = 0b110 << 8;
const ICR_ALL_BUT_SELF: u32 = 0b11 << 18;
const ICR_SELF: u32 = 0b01 << 18;

static BASE: AtomicU64 = AtomicU64::new(0);
/// Interrupts re-raised by `redeliver_lost_interrupt` (for measurements).
static REDELIVERED: AtomicU64 = AtomicU64::new(0);

fn read(reg: usize) -> u32 {
    // SAFETY: BASE maps the LAPIC page (set in `init_bsp`); `reg` is a
    // register offset inside it; MMIO needs volatile access.
    unsafe { core::ptr::read_volatile((BASE.load(Ordering::Relaxed) as usize + reg) as *const u32) }
}

fn write(reg: usize, value: u32) {
    // SAFETY: as in `read`.
    unsafe { core::ptr::write_volatile((BASE.load(Ordering::Relaxed) as usize + reg) as *mut u32, value) }
}

/// Maps the LAPIC registers. Once, on the bootstrap core.
pub fn init_bsp() {
    // SAFETY: reading IA32_APIC_BASE has no side effects.
    let base = unsafe { Msr::new(IA32_APIC_BASE).read() } & 0xffff_f000;
    BASE.store(mm::map_mmio(PhysAddr::new(base), 4096).as_u64(), Ordering::Relaxed);
}

/// Enables this core's LAPIC: spurious vector, error vector, LINT pins
/// masked, accept all priorities.
pub fn init_local() {
    write(TPR, 0);
    write(LVT_LINT0, LVT_MASKED);
    write(LVT_LINT1, LVT_MASKED);
    write(LVT_ERROR, vectors::APIC_ERROR as u32);
    write(SVR, SVR_ENABLE | vectors::SPURIOUS as u32);
    write(ESR, 0);
    write(ESR, 0);
    eoi();
}

/// This core's APIC id.
pub fn id() -> u32 {
    read(ID) >> 24
}

/// Signals the end of the current interrupt.
pub fn eoi() {
    write(EOI, 0);
}

/// Makes the timer interrupt once, after `count` ticks (divide by 16).
pub fn timer_start_oneshot(count: u32) {
    timer_start(vectors::TIMER as u32, count);
}

/// Reads and clears the error status register.
pub fn error_status() -> u32 {
    write(ESR, 0);
    read(ESR)
}

/// Starts the timer counting down from `count` (divide by 16), masked: for
/// calibration.
pub fn timer_start_oneshot_masked(count: u32) {
    timer_start(LVT_MASKED | vectors::TIMER as u32, count);
}

pub fn timer_current() -> u32 {
    read(TIMER_CURRENT)
}

/// Makes the timer interrupt every `count` ticks (divide by 16).
pub fn timer_start_periodic(count: u32) {
    timer_start(TIMER_PERIODIC | vectors::TIMER as u32, count);
}

/// Programs the timer with `lvt` (mode and vector) and `count`, stopping it
/// first so that the new mode never runs with the old count. Without that,
/// going from a one-shot of a few counts to periodic mode made QEMU fire a
/// periodic timer every few tens of nanoseconds between the two writes —
/// a storm its main loop never caught up with, holding the lock the vCPUs
/// need: the whole VM froze (about 1 boot in 50 of `PROG=sleep`).
fn timer_start(lvt: u32, count: u32) {
    write(TIMER_INITIAL, 0);
    write(TIMER_DIVIDE, 0b0011);
    write(LVT_TIMER, lvt);
    write(TIMER_INITIAL, count);
}

/// Stops the timer (an initial count of 0 stops it in every mode).
pub fn timer_stop() {
    write(TIMER_INITIAL, 0);
}

fn send(apic_id: u32, low: u32) {
    write(ICR_HIGH, apic_id << 24);
    write(ICR_LOW, low);
    while read(ICR_LOW) & ICR_PENDING != 0 {
        core::hint::spin_loop();
    }
}

/// Sends interrupt `vector` to the core with APIC id `apic_id`.
pub fn send_ipi(apic_id: u32, vector: u8) {
    let saved = super::interrupts::disable();
    send(apic_id, ICR_FIXED | ICR_LEVEL_ASSERT | vector as u32);
    super::interrupts::restore(saved);
}

/// The highest vector in service (accepted, not yet EOI'd), if any.
fn highest_in_service() -> Option<u8> {
    (0..8).rev().find_map(|i| {
        let word = read(ISR + 0x10 * i);
        (word != 0).then(|| (32 * i + 31 - word.leading_zeros() as usize) as u8)
    })
}

/// Re-raises an interrupt whose delivery faulted. An interrupt is accepted
/// (its in-service bit set) before the CPU pushes its frame; if that push
/// page-faults — a goroutine's stack about to grow — the handler never runs
/// and never sends EOI, which would block that vector (the tick!) forever.
/// The page-fault handler calls this once the page is mapped, when it
/// interrupted code that had interrupts enabled: no handler is then running
/// on this core, so a bit in service can only be the lost interrupt. It is
/// acknowledged and sent again to this core, to be taken on the now-mapped
/// stack as soon as the faulting code resumes.
pub fn redeliver_lost_interrupt() {
    if let Some(vector) = highest_in_service() {
        REDELIVERED.fetch_add(1, Ordering::Relaxed);
        eoi();
        write(ICR_HIGH, 0);
        write(ICR_LOW, ICR_SELF | ICR_FIXED | ICR_LEVEL_ASSERT | vector as u32);
        while read(ICR_LOW) & ICR_PENDING != 0 {
            core::hint::spin_loop();
        }
    }
}

/// How many interrupts `redeliver_lost_interrupt` has re-raised.
pub fn redelivered() -> u64 {
    REDELIVERED.load(Ordering::Relaxed)
}

/// Sends an NMI to every other core (used to stop them on a fatal error).
pub fn send_nmi_all_but_self() {
    write(ICR_HIGH, 0);
    write(ICR_LOW, ICR_ALL_BUT_SELF | ICR_NMI | ICR_LEVEL_ASSERT);
}

/// INIT, then the STARTUP IPI (starting at physical `page << 12`).
pub fn send_init(apic_id: u32) {
    send(apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
}

pub fn send_startup(apic_id: u32, page: u8) {
    send(apic_id, ICR_STARTUP | ICR_LEVEL_ASSERT | page as u32);
}
