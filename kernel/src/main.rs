//! gmpos: Go's runtime scheduler (the GMP model) as an operating-system
//! kernel. Every core is an M bound to a P; goroutines (Gs) are multiplexed
//! M:N onto them. See `runtime/` for the scheduler and `docs/` for the guide.
//!
//! Start-up flows one way: console → memory → ACPI → this core's hardware →
//! command line → the network card → the other cores → the runtime, which runs the chosen
//! program as the main goroutine.
//!
//! This file is the top of the layers (arch, mm, drivers, runtime, net,
//! programs; see docs/scheduler.md, "Layers", and `tests/layering.rs`):
//! the one place that knows them all, so it also wires the interrupts that
//! come up from arch to the drivers and the runtime ([`INTERRUPT_ENTRY`]).

#![no_std]
#![no_main]
#![feature(abi_x86_interrupt)]

extern crate alloc;

mod arch;
mod cmdline;
mod drivers;
mod fault;
mod mm;
mod net;
mod programs;
mod runtime;
mod sync;

use bootloader_api::config::Mapping;
use bootloader_api::{BootInfo, BootloaderConfig, entry_point};

use arch::entry::InterruptEntry;
use arch::qemu::{ExitCode, exit};

pub static BOOTLOADER_CONFIG: BootloaderConfig = {
    let mut config = BootloaderConfig::new_default();
    // The kernel reaches page tables, the LAPIC and the IOAPIC through a
    // window onto all of physical memory.
    config.mappings.physical_memory = Some(Mapping::Dynamic);
    config.kernel_stack_size = 256 * 1024;
    config
};
entry_point!(kmain, config = &BOOTLOADER_CONFIG);

/// How interrupts reach the kernel above arch: arch does the hardware part
/// and calls these (see `arch::entry`). Data flows up, hardware → drivers
/// → runtime, through this one table; no layer below calls a layer above.
static INTERRUPT_ENTRY: InterruptEntry = InterruptEntry {
    tick: runtime::timer_tick,
    device: network_interrupt,
    after_device: runtime::device_interrupt,
    console_gsi: drivers::serial::COM1_GSI,
    console_input,
    stack_fault: runtime::morestack,
};

/// The network card's interrupt, before its EOI: the driver masks the line
/// and the netpoller learns that packets wait.
fn network_interrupt() {
    if drivers::virtio_net::on_interrupt() {
        runtime::netpoll::netpoll_device_event();
    }
}

/// Ctrl-\ on the console, as SIGQUIT for a Go program.
const CTRL_BACKSLASH: u8 = 0x1c;

/// COM1's receive interrupt: drains what arrived. Ctrl-\ asks for a
/// goroutine dump (`runtime::sigquit`); nothing else reads the console
/// yet, so other bytes are dropped.
fn console_input() {
    while let Some(byte) = drivers::serial::receive() {
        if byte == CTRL_BACKSLASH {
            runtime::sigquit();
        }
    }
}

/// Prints `gmpos: <message>` and ends the run with a failure status.
fn fail(message: &str) -> ! {
    println!("gmpos: {message}");
    exit(ExitCode::Failure)
}

fn kmain(boot: &'static mut BootInfo) -> ! {
    drivers::serial::init();
    let phys_offset = boot.physical_memory_offset.into_option().unwrap_or_else(|| fail("no physical-memory window"));
    mm::init(phys_offset, &boot.memory_regions).unwrap_or_else(|e| fail(e));
    let rsdp = boot.rsdp_addr.into_option().unwrap_or_else(|| fail("the bootloader found no ACPI RSDP"));
    let machine = arch::acpi::discover(rsdp).unwrap_or_else(|e| fail(e));
    arch::init_bsp(&machine, &INTERRUPT_ENTRY);

    let line = drivers::fw_cfg::read_file("opt/gmpos/cmdline").unwrap_or_default();
    let config = cmdline::parse(&line).unwrap_or_else(|e| fail(&e));
    let program = programs::find(config.prog).unwrap_or_else(|| fail(&programs::unknown(config.prog)));

    if let Err(e) = net::init(machine.ecam_bus0) {
        println!("gmpos: no network: {e}");
    }

    let ncores = machine.ap_apic_ids.len() + 1;
    if ncores > arch::cpu::MAX_CPUS {
        fail(&alloc::format!("this machine has {ncores} cores; gmpos runs on at most {}", arch::cpu::MAX_CPUS));
    }
    let started = arch::smp::start_aps(&machine.ap_apic_ids, ap_main);
    let deadline = arch::time::nanotime() + 1_000_000_000;
    while arch::cpu::online() < 1 + started && arch::time::nanotime() < deadline {
        core::hint::spin_loop();
    }
    let ncpu = arch::cpu::online();
    println!("gmpos: {ncpu} cpus online");
    if let Some(n) = config.gomaxprocs.filter(|&n| n > ncpu) {
        fail(&alloc::format!("bad GOMAXPROCS \"{n}\": this machine has {ncpu} cores (use 1..={ncpu})"));
    }
    let options = runtime::Options {
        gomaxprocs: config.gomaxprocs.unwrap_or(ncpu),
        schedtrace_ms: config.godebug.schedtrace_ms,
        scheddetail: config.godebug.scheddetail,
        trace: config.godebug.trace,
        off: config.godebug.off,
    };
    let args = programs::Args { n: config.n, cpu: config.cpu, ncpu };
    runtime::start(&options, ncpu, move || match (program.main)(&args) {
        Ok(()) => ExitCode::Success,
        Err(message) => {
            println!("{}: FAILED: {message}", program.name);
            ExitCode::Failure
        }
    })
}

/// Where each application processor lands after the trampoline.
extern "C" fn ap_main(id: usize) -> ! {
    arch::init_ap(id);
    runtime::mstart()
}
