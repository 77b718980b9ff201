//! The kernel command line, end to end: the words `make run` passes reach the
//! kernel, which brings up every CPU and rejects bad arguments with a
//! `gmpos: ...` line and a failure exit instead of running anyway.

mod common;
use common::*;

/// (A program that ends: the default, the demo, serves HTTP until stopped.)
#[track_caller]
fn cpus_online(n: u32) {
    let c = boot(n, &["PROG=fib", "N=15"]);
    assert_success(&c);
    expect_line(&c, &format!("gmpos: {n} cpus online"));
}

#[test]
fn smp1_brings_up_one_cpu() {
    cpus_online(1);
}

#[test]
fn smp2_brings_up_two_cpus() {
    cpus_online(2);
}

#[test]
fn smp4_brings_up_four_cpus() {
    cpus_online(4);
}

#[test]
fn smp8_brings_up_eight_cpus() {
    cpus_online(8);
}

#[test]
fn unknown_program_is_rejected_by_name() {
    let c = boot(1, &["PROG=nonsense"]);
    assert_failure(&c);
    let line = expect_line(&c, "gmpos: unknown program");
    assert!(line.contains("\"nonsense\""), "the message should name the program: {line:?}");
}

#[test]
fn gomaxprocs_must_be_a_number() {
    let c = boot(2, &["GOMAXPROCS=abc"]);
    assert_failure(&c);
    expect_line(&c, "gmpos: bad GOMAXPROCS");
}

#[test]
fn gomaxprocs_must_not_be_zero() {
    let c = boot(2, &["GOMAXPROCS=0"]);
    assert_failure(&c);
    expect_line(&c, "gmpos: bad GOMAXPROCS");
}

#[test]
fn gomaxprocs_must_not_exceed_the_cpus() {
    let c = boot(4, &["GOMAXPROCS=9"]);
    assert_failure(&c);
    expect_line(&c, "gmpos: bad GOMAXPROCS");
}
