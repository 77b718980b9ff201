//! Bringing up the application processors (APs), and talking to them.
//!
//! The bootstrap core starts each AP listed in the ACPI MADT with the
//! INIT-SIPI-SIPI sequence, one at a time, through the real-mode trampoline in
//! `trampoline.s`. An AP then sets itself up exactly like the bootstrap core
//! (`super::init_ap`) and reports itself online.
//!
//! Afterwards cores talk through one IPI vector: [`wake`] just interrupts a
//! core (an idle M halted in `hlt` resumes), [`call`] also queues a function
//! for the core to run in its interrupt handler.

use alloc::vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use x86_64::registers::control::Cr3;
use x86_64::structures::paging::{Page, PageTableFlags as Flags, PhysFrame};
use x86_64::{PhysAddr, VirtAddr};

use super::cpu::{self, Call};
use super::{apic, time, vectors};
use crate::mm;

/// The physical page APs start at (must be below 1 MiB, Usable, and is
/// never handed out by the frame allocator, which starts at 1 MiB).
pub const TRAMPOLINE_BASE: u64 = 0x8000;
const AP_STACK_SIZE: usize = 64 * 1024;

core::arch::global_asm!(
    ".set TRAMPOLINE_BASE, {base}",
    include_str!("trampoline.s"),
    base = const TRAMPOLINE_BASE,
    options(att_syntax)
);

unsafe extern "C" {
    static ap_trampoline_start: u8;
    static ap_trampoline_end: u8;
    static ap_tramp_params: u8;
}

/// The trampoline's parameter block (`ap_tramp_params`).
#[repr(C)]
struct Params {
    cr3: u64,
    stack: u64,
    entry: u64,
    arg: u64,
}

/// Set by each AP once it no longer needs the trampoline's parameters.
static AP_STARTED: AtomicBool = AtomicBool::new(false);

/// Starts the APs with these APIC ids (at most `MAX_CPUS - 1` of them).
/// Returns how many were started; each marks itself online when ready.
pub fn start_aps(apic_ids: &[u32], entry: extern "C" fn(usize) -> !) -> usize {
    let (l4, _) = Cr3::read();
    assert!(l4.start_address().as_u64() < 1 << 32, "top-level page table above 4 GiB: APs cannot load it");

    let (start, end, params) =
        (&raw const ap_trampoline_start as usize, &raw const ap_trampoline_end as usize, &raw const ap_tramp_params as usize);
    let page = Page::containing_address(VirtAddr::new(TRAMPOLINE_BASE));
    let frame = PhysFrame::containing_address(PhysAddr::new(TRAMPOLINE_BASE));
    // SAFETY: the page at TRAMPOLINE_BASE is Usable RAM that nothing else
    // owns (the frame allocator ignores memory below 1 MiB); the bootloader
    // leaves the lower half unmapped. It must be mapped 1:1 and executable
    // because the AP runs from it while turning paging on.
    unsafe { mm::map(page, frame, Flags::PRESENT | Flags::WRITABLE) };
    let tramp = TRAMPOLINE_BASE as *mut u8;
    // SAFETY: the trampoline fits in the page (asserted) just mapped.
    unsafe {
        assert!(end - start <= 4096);
        core::ptr::copy_nonoverlapping(start as *const u8, tramp, end - start);
    }
    // SAFETY: inside the copied trampoline, 8-aligned (`.balign 8`).
    let params = unsafe { &mut *(tramp.add(params - start) as *mut Params) };

    let mut started = 0;
    assert!(apic_ids.len() < cpu::MAX_CPUS, "start_aps: more cores than cpu::MAX_CPUS");
    for &apic_id in apic_ids {
        let stack = vec![0u8; AP_STACK_SIZE].leak();
        // SAFETY: volatile writes into the parameter block the AP reads.
        unsafe {
            core::ptr::write_volatile(&mut params.cr3, l4.start_address().as_u64());
            core::ptr::write_volatile(&mut params.stack, stack.as_ptr_range().end as u64);
            core::ptr::write_volatile(&mut params.entry, entry as usize as u64);
            core::ptr::write_volatile(&mut params.arg, (started + 1) as u64);
        }
        AP_STARTED.store(false, Ordering::SeqCst);
        apic::send_init(apic_id);
        time::spin_ns(10_000_000);
        // The second wait is long: under a loaded host a vCPU thread may
        // not run for a good while.
        if !(send_startup_and_wait(apic_id, 1_000_000) || send_startup_and_wait(apic_id, 1_000_000_000)) {
            // It may yet wake up late and run the trampoline with the next
            // AP's parameters (its stack, its id): INIT puts it back into
            // wait-for-SIPI, where it stays.
            apic::send_init(apic_id);
            crate::println!("gmpos: cpu with APIC id {apic_id} did not start; continuing without it");
            continue;
        }
        started += 1;
    }
    mm::unmap(page);
    started
}

fn send_startup_and_wait(apic_id: u32, timeout_ns: u64) -> bool {
    apic::send_startup(apic_id, (TRAMPOLINE_BASE >> 12) as u8);
    let deadline = time::nanotime() + timeout_ns;
    while time::nanotime() < deadline {
        if AP_STARTED.load(Ordering::Acquire) {
            return true;
        }
        core::hint::spin_loop();
    }
    false
}

/// Called by each AP first thing: the bootstrap core may reuse the
/// trampoline's parameters for the next AP.
pub fn ap_started() {
    AP_STARTED.store(true, Ordering::Release);
}

/// Interrupts core `cpu` (if it is halted, it wakes up).
pub fn wake(cpu: usize) {
    if let Some(target) = cpu::get(cpu) {
        apic::send_ipi(target.apic_id, vectors::IPI);
    }
}

/// Makes core `cpu` run `f(arg)` in its IPI handler (interrupts off).
/// Fails if the core is not online or its queue of calls is full.
pub fn call(cpu: usize, f: fn(usize), arg: usize) -> Result<(), &'static str> {
    let target = cpu::get(cpu).ok_or("no such cpu")?;
    target.calls.push((f, arg) as Call).map_err(|_| "call queue full")?;
    apic::send_ipi(target.apic_id, vectors::IPI);
    Ok(())
}

/// Runs the calls queued for this core (from the IPI handler).
pub fn run_calls() {
    while let Some((f, arg)) = cpu::current().calls.pop() {
        f(arg);
    }
}

/// Flushes this core's TLB and counts down the shootdown's `pending` (the
/// address of an `AtomicUsize` on the initiator's stack).
fn flush_and_ack(pending: usize) {
    x86_64::instructions::tlb::flush_all();
    // SAFETY: the initiator of `tlb_shootdown` keeps the counter alive
    // until it has seen every acknowledgement.
    unsafe { &*(pending as *const AtomicUsize) }.fetch_sub(1, Ordering::Release);
}

/// Flushes the TLB of every core (the kernel's mappings are not global, so
/// reloading CR3 drops them) and returns once all have done it: after this,
/// no core can reach an unmapped page through a stale translation.
///
/// While waiting, this core runs the calls queued for it, so two cores
/// shooting down at once (each with interrupts off) do not wait for each
/// other forever.
pub fn tlb_shootdown() {
    x86_64::instructions::tlb::flush_all();
    let me = cpu::id();
    let online = cpu::online();
    let pending = AtomicUsize::new(online - 1);
    for c in (0..online).filter(|&c| c != me) {
        while call(c, flush_and_ack, &raw const pending as usize).is_err() {
            run_calls();
            core::hint::spin_loop();
        }
    }
    // Acquire: pairs with each core's Release decrement after its flush.
    while pending.load(Ordering::Acquire) != 0 {
        run_calls();
        core::hint::spin_loop();
    }
}
