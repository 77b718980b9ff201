//! The kernel's ground floor, in QEMU: timer interrupts on every busy core
//! (and on no idle one but core 0), IPIs between every pair of cores, the
//! heap under concurrent stress, and the fault and panic reports of an
//! application processor.

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
        // 100 ms with nothing to run: core 0 (sysmon) ticks on; the others
        // stop their tick in stopm. A few ticks are the moments of going
        // idle and of waking the sleeper; a ticking idle core takes ~100.
        // (How many core 0 takes depends on the host's load: not asserted.)
        let idle = bracket_list(line, "idle_ticks");
        assert!(idle[1..].iter().all(|&t| t <= 10), "idle cores must not tick: {line}");
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

#[test]
fn page_fault_on_an_application_processor_is_reported() {
    let c = boot(4, &["PROG=fault", "CPU=2"]);
    assert_failure(&c);
    let line = expect_line(&c, "EXCEPTION on cpu 2: page fault");
    assert!(line.contains("cr2=0xdeadbeef000"), "the report names the address: {line:?}");
    assert!(line.contains("rip="), "the report names the instruction: {line:?}");
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
