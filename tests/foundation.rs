//! The kernel's ground floor, in QEMU: timer interrupts on every busy core
//! (and on no idle one but core 0), IPIs between every pair of cores, the
//! heap under concurrent stress, the fault and panic reports of an
//! application processor, and a boot image without debug information.

mod common;
use common::*;

/// The numbers inside `key=[...]` on `line`.
fn bracket_list(line: &str, key: &str) -> Vec<u64> {
    let start = line.find(&format!("{key}=[")).unwrap_or_else(|| panic!("no {key}=[ in {line:?}")) + key.len() + 2;
    let end = start + line[start..].find(']').expect("unclosed [");
    line[start..end].split_whitespace().map(|n| n.parse().expect("a number")).collect()
}

#[test]
fn timer_ticks_on_every_cpu() {
    for smp in [1, 4] {
        let c = boot(smp, &["PROG=timer"]);
        assert_success(&c);
        let line = expect_line(&c, "timer: ticks=");
        let ticks = bracket_list(line, "ticks");
        assert_eq!(ticks.len(), smp as usize, "one count per cpu");
        assert!(ticks.iter().all(|&t| t >= 20), "every busy cpu must tick: {line}");
        // 100 ms with nothing to run: every core stops its tick, core 0
        // too (its tick is sysmon, which sleeps while every P is idle; see
        // runtime/sysmon.rs). A few ticks are the moments of going idle
        // and of waking the sleeper; a ticking idle core takes ~100.
        let idle = bracket_list(line, "idle_ticks");
        assert!(idle.iter().all(|&t| t <= 10), "idle cores must not tick: {line}");
    }
}

#[test]
fn ipi_round_trip_between_every_pair_of_cpus() {
    for smp in [2, 4] {
        let c = boot(smp, &["PROG=ipi"]);
        assert_success(&c);
        expect_line(&c, &format!("ipi: pairs={} ok", smp * (smp - 1)));
    }
}

#[test]
fn heap_survives_concurrent_stress() {
    let c = boot(4, &["PROG=heap"]);
    assert_success(&c);
    expect_line(&c, "heap: goroutines=16 ops=320000");
}

/// The report names the faulting address and instruction, and below them
/// the calls that led there, walked from the fault's frame: the fault is
/// in a function core 2's IPI handler ran (`run_calls`, `idt::ipi`).
#[test]
fn page_fault_on_an_application_processor_is_reported() {
    let c = boot(4, &["PROG=fault", "CPU=2"]);
    assert_failure(&c);
    let line = expect_line(&c, "EXCEPTION on cpu 2: page fault");
    assert!(line.contains("cr2=0xdeadbeef000"), "the report names the address: {line:?}");
    assert!(line.contains("rip="), "the report names the instruction: {line:?}");
    let report = boot::symbols::symbolize(&c.serial, boot::kernel_elf());
    let mut stack = report.lines().skip_while(|l| !l.starts_with("EXCEPTION on cpu 2")).skip(1).take_while(|l| l.starts_with("    "));
    let chain = ["in kernel::arch::x86_64::smp::run_calls ", "in kernel::arch::x86_64::idt::ipi "];
    assert!(chain.iter().all(|f| stack.any(|l| l.starts_with("    ret=0x") && l.contains(f))), "the report walks the stack:\n{report}");
}

#[test]
fn panic_on_an_application_processor_is_reported() {
    let c = boot(4, &["PROG=panic", "CPU=3"]);
    assert_failure(&c);
    let line = expect_line(&c, "PANIC on cpu 3: deliberate panic requested by PROG=panic");
    assert!(line.contains("selftest.rs:"), "the report names the location: {line:?}");
}

#[test]
fn fault_on_a_cpu_that_does_not_exist_is_a_clear_error() {
    let c = boot(2, &["PROG=fault", "CPU=5"]);
    assert_failure(&c);
    expect_line(&c, "fault: FAILED: CPU=5, but cores are 0..1");
}

/// The disk image carries the kernel without its debug information, which
/// the BIOS stage would otherwise read through int 13h under emulation
/// (measured: a 17.3 MB image took 7.8 s from QEMU's start to the first
/// kernel line, the 3.6 MB one 1.75 s); the kernel ELF that gdb loads
/// keeps it. See `boot/build.rs`.
#[test]
fn the_boot_image_leaves_the_debug_information_to_gdb() {
    let image = std::fs::metadata(boot::bios_image()).expect("the disk image").len();
    let elf = std::fs::read(boot::kernel_elf()).expect("the kernel ELF");
    let has = |name: &[u8]| elf.windows(name.len()).any(|w| w == name);
    assert!(has(b".debug_info") && has(b".debug_line"), "the ELF for gdb must keep its debug information");
    assert!(
        image < elf.len() as u64 / 2,
        "the image ({image} bytes) must not carry the kernel's debug information (ELF: {} bytes)",
        elf.len()
    );
}
