//! What happens when something goes wrong on any core: a CPU exception, a
//! kernel panic, or a goroutine overflowing its stack. The report goes to the
//! console, every other core is stopped with an NMI, and QEMU exits with a
//! failure status — a run never hangs or reboots after a fatal error.

use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::arch::{apic, cpu, qemu, unwind};
use crate::drivers::serial::print_emergency;

/// A CPU exception, as the interrupt handler saw it.
pub struct Fault {
    pub name: &'static str,
    pub cpu: usize,
    pub rip: u64,
    pub rsp: u64,
    pub error_code: Option<u64>,
    /// The faulting address, for page faults.
    pub cr2: Option<u64>,
}

static STOPPING: AtomicBool = AtomicBool::new(false);

/// Whether a fatal error is being reported (other cores then stop on NMI).
pub fn is_stopping() -> bool {
    STOPPING.load(Ordering::Acquire)
}

/// Claims the right to report, and stops every other core. Only the first
/// core to fail reports; any other that fails meanwhile just stops.
fn stop_the_machine() {
    if STOPPING.swap(true, Ordering::AcqRel) {
        park_this_cpu();
    }
    if cpu::online() > 1 {
        apic::send_nmi_all_but_self();
    }
}

/// Halts this core forever (the NMI handler's answer when stopping).
pub fn park_this_cpu() -> ! {
    crate::arch::halt_forever()
}

/// Reports a CPU exception and ends the run.
pub fn exception(f: Fault) -> ! {
    stop_the_machine();
    if let Some(goid) = f.cr2.and_then(crate::runtime::stack_overflow_goid) {
        print_emergency(format_args!(
            "\nfatal error: goroutine {goid} stack overflow (cpu {}: page fault at {:#x}, rip={:#x})\n",
            f.cpu,
            f.cr2.unwrap_or(0),
            f.rip
        ));
    } else {
        print_emergency(format_args!("\nEXCEPTION on cpu {}: {} at rip={:#x} rsp={:#x}", f.cpu, f.name, f.rip, f.rsp));
        if let Some(code) = f.error_code {
            print_emergency(format_args!(" error={code:#x}"));
        }
        if let Some(cr2) = f.cr2 {
            print_emergency(format_args!(" cr2={cr2:#x}"));
        }
        print_emergency(format_args!("\n"));
    }
    // The faulting code's callers (the first frame is `rip` itself).
    let mut first = true;
    if unwind::walk(f.rip, f.rsp, 16, |frame| {
        if !core::mem::take(&mut first) {
            print_emergency(format_args!("    {frame}\n"));
        }
    }) {
        print_emergency(format_args!("    {}\n", unwind::ELIDED));
    }
    qemu::exit(qemu::ExitCode::Failure)
}

/// Ends the run with Go's kind of report for an error no program can
/// recover from — a runtime panic (`send on closed channel`), or a fatal
/// error (`all goroutines are asleep - deadlock!`): stops the other cores,
/// prints `report`, and exits with a failure status.
pub fn fatal(report: core::fmt::Arguments) -> ! {
    stop_the_machine();
    print_emergency(report);
    qemu::exit(qemu::ExitCode::Failure)
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    stop_the_machine();
    let cpu = cpu::id();
    match info.location() {
        Some(l) => print_emergency(format_args!(
            "\nPANIC on cpu {cpu}: {} at {}:{}\n",
            info.message(),
            l.file(),
            l.line()
        )),
        None => print_emergency(format_args!("\nPANIC on cpu {cpu}: {}\n", info.message())),
    }
    qemu::exit(qemu::ExitCode::Failure)
}
