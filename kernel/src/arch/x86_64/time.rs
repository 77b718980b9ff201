//! Time: the TSC as a monotonic nanosecond clock, and the local APIC timer
//! as the scheduler's tick. Both are calibrated once against the PIT, whose
//! frequency is fixed (1.193182 MHz); QEMU's TCG offers no TSC-deadline mode.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use x86_64::instructions::port::Port;

use super::apic;

/// Timer interrupts per second on each core.
pub const TICK_HZ: u64 = 1000;
/// Nanoseconds between two ticks.
pub const TICK_NS: u64 = 1_000_000_000 / TICK_HZ;

const PIT_HZ: u64 = 1_193_182;
const CALIBRATION_MS: u64 = 10;

/// Nanoseconds per TSC tick as a fixed-point number with `TSC_NS_SHIFT`
/// fraction bits, so that `nanotime` multiplies and shifts instead of
/// dividing (Linux's clocksource `mult` and `shift`). With 32 bits the
/// rounding error is below one nanosecond per four seconds.
static TSC_NS_MULT: AtomicU64 = AtomicU64::new(0);
static TSC_HZ: AtomicU64 = AtomicU64::new(0);
const TSC_NS_SHIFT: u32 = 32;
static TSC_BASE: AtomicU64 = AtomicU64::new(0);
static LAPIC_TICKS_PER_PERIOD: AtomicU32 = AtomicU32::new(0);

#[inline]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// TSC ticks per second, as calibrated.
pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// Nanoseconds since calibration (Go's `nanotime`).
pub fn nanotime() -> u64 {
    let delta = rdtsc().saturating_sub(TSC_BASE.load(Ordering::Relaxed));
    ((delta as u128 * TSC_NS_MULT.load(Ordering::Relaxed) as u128) >> TSC_NS_SHIFT) as u64
}

/// Busy-waits for `ns` nanoseconds (bring-up only: before the scheduler).
pub fn spin_ns(ns: u64) {
    let end = nanotime() + ns;
    while nanotime() < end {
        core::hint::spin_loop();
    }
}

/// Measures the TSC and LAPIC timer rates against 10 ms of PIT channel 2.
/// Bootstrap core, interrupts off, before any other core starts.
pub fn calibrate() {
    let count = (PIT_HZ * CALIBRATION_MS / 1000) as u16;
    // SAFETY: ports 0x42/0x43/0x61 are PIT channel 2 and its gate on every
    // PC; nothing else in gmpos uses them.
    unsafe {
        let mut gate = Port::<u8>::new(0x61);
        let mut command = Port::<u8>::new(0x43);
        let mut channel2 = Port::<u8>::new(0x42);
        let g = gate.read();
        gate.write((g & !0b11) | 0b01); // gate on, speaker off
        command.write(0b1011_0000); // channel 2, lo/hi byte, mode 0, binary
        channel2.write(count as u8);
        channel2.write((count >> 8) as u8);
        // Restart the count by pulsing the gate, then time until OUT2 rises.
        let g = gate.read();
        gate.write(g & !1);
        gate.write(g | 1);
        apic::timer_start_oneshot_masked(u32::MAX);
        let tsc0 = rdtsc();
        while gate.read() & 0x20 == 0 {
            core::hint::spin_loop();
        }
        let tsc1 = rdtsc();
        let lapic = u32::MAX - apic::timer_current();
        let tsc_hz = ((tsc1 - tsc0) * 1000 / CALIBRATION_MS).max(1);
        let mult = (1_000_000_000u128 << TSC_NS_SHIFT) / tsc_hz as u128;
        TSC_NS_MULT.store(mult as u64, Ordering::Relaxed);
        TSC_HZ.store(tsc_hz, Ordering::Relaxed);
        TSC_BASE.store(tsc0, Ordering::Relaxed);
        let per_period = lapic as u64 * 1000 / CALIBRATION_MS / TICK_HZ;
        LAPIC_TICKS_PER_PERIOD.store(per_period.max(1) as u32, Ordering::Relaxed);
    }
}

/// Starts (or restarts) this core's periodic tick.
pub fn start_tick() {
    apic::timer_start_periodic(LAPIC_TICKS_PER_PERIOD.load(Ordering::Relaxed));
}

/// Replaces this core's tick with one timer interrupt `ns` nanoseconds
/// from now (at least one LAPIC count, at most about 2^32 counts: a
/// caller waiting longer re-arms when it fires).
pub fn arm_oneshot(ns: u64) {
    let per_period = u128::from(LAPIC_TICKS_PER_PERIOD.load(Ordering::Relaxed));
    let count = (u128::from(ns) * per_period * u128::from(TICK_HZ) / 1_000_000_000).clamp(1, u128::from(u32::MAX));
    apic::timer_start_oneshot(count as u32);
}

/// Stops this core's tick: from now on only other interrupts (an IPI, a
/// device) end a `hlt`.
pub fn stop_tick() {
    apic::timer_stop();
}
