//! `PROG=bench` (what `make bench` runs), judged by outcomes, never by its
//! figures: every benchmark runs and reports, the method's self-check holds
//! (a two-instruction loop measures 2.0 instructions per iteration), two
//! boots under icount report the very same figures (the method's promise),
//! and a wrong setup is refused with a clear message.

mod common;
use boot::Qemu;
use boot::bench::parse;
use common::*;

/// Every benchmark.
const MEASURED: &[&str] = &[
    "loop",
    "ctx_switch",
    "yield",
    "park_ready",
    "spawn",
    "spawn_many",
    "chan_pingpong",
    "chan_buffered",
    "timer",
    "tick",
    "preempt_tick",
    "select_timer_stop",
    "select_after",
    "mem_parked",
    "max_goroutines",
];

fn bench_boot() -> boot::Captured {
    let mut q = Qemu::new(1).args(["PROG=bench", "N=2000"]);
    q.icount = true;
    q.timeout = Some(TIMEOUT);
    boot_with(&q)
}

#[test]
fn every_benchmark_reports_and_two_boots_agree_exactly() {
    let first = bench_boot();
    assert_success(&first);
    let lines = parse(&first.serial).unwrap_or_else(|e| panic!("{e}"));
    for name in MEASURED {
        let line = lines.iter().find(|l| l.name == *name).unwrap_or_else(|| panic!("no result for {name}"));
        assert!(line.result.iterations > 0, "{name}: no iterations");
    }
    // The method's self-check: a two-instruction loop measures 2.0.
    boot::bench::check_method(&lines).unwrap_or_else(|e| panic!("{e}"));
    let second = bench_boot();
    assert_success(&second);
    assert_eq!(parse(&second.serial).unwrap(), lines, "two boots under icount gave different figures");
}

#[test]
fn bench_refuses_more_than_one_p() {
    let c = boot(2, &["PROG=bench", "N=2000"]);
    assert_failure(&c);
    expect_line(&c, "bench: FAILED: needs exactly one P");
}
