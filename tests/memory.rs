//! Memory and the world, in QEMU: stacks that grow by page faults, a guard
//! page that still names the goroutine, the per-P caches under spawn/exit
//! storms, a great many parked goroutines, stop-the-world against hogs, and
//! changing GOMAXPROCS under load. Judged by outcomes, never by timing.

mod common;
use common::*;

/// The number after `key=` on `line`.
fn field(line: &str, key: &str) -> u64 {
    let start = line.find(&format!(" {key}=")).unwrap_or_else(|| panic!("no {key}= in {line:?}")) + key.len() + 2;
    let digits: String = line[start..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().unwrap_or_else(|_| panic!("{key}= is not a number in {line:?}"))
}

#[test]
fn deep_recursion_grows_stacks_by_page_faults() {
    let c = boot(4, &["PROG=stackgrow"]);
    assert_success(&c);
    for round in 0..2 {
        let line = expect_line(&c, &format!("stackgrow: round={round} goroutines=8 depth=1200 sum=720600 expected=720600 wrong=0 "));
        // 1200 levels of at least 128 bytes: far beyond the one page mapped at spawn.
        assert!(field(line, "deepest_kib") >= 150, "{line}");
    }
    let last = expect_line(&c, "stackgrow: round=1 ");
    // Each of the 8 goroutines faulted in dozens of pages in each round...
    assert!(field(last, "faulted_pages") >= 2 * 8 * 30, "{last}");
    // ...and gave all but 4 back when it died: what stays is bounded.
    assert!(field(last, "released_pages") >= 2 * 8 * 30, "{last}");
    assert!(field(last, "frames_in_use_delta") <= 8 * 4 + 64, "dead stacks keep at most 4 pages each: {last}");
}

#[test]
fn guard_page_overflow_is_named_after_many_faults() {
    let c = boot(2, &["PROG=overflow"]);
    assert_failure(&c);
    let announced = expect_line(&c, "overflow: goroutine ");
    let goid: u64 = announced["overflow: goroutine ".len()..].split(' ').next().unwrap().parse().unwrap();
    expect_line(&c, &format!("fatal error: goroutine {goid} stack overflow"));
    // Below it, the overflowing recursion's frames, cut as Go cuts them.
    expect_line(&c, "    ...additional frames elided...");
}

#[test]
fn per_p_caches_survive_spawn_exit_storms() {
    let c = boot(4, &["PROG=churn"]);
    assert_success(&c);
    let line = expect_line(&c, "churn: goroutines=32000 ran_once=32000 errors=0 ");
    assert_eq!(field(line, "tokens_created"), field(line, "tokens_free"), "{line}");
}

/// A hundred thousand rather than a million: a million takes minutes of a
/// loaded host under TCG and 5 GB of guest memory (`make run PROG=million`
/// does the million).
#[test]
fn a_hundred_thousand_goroutines_park_and_wake() {
    let c = boot(4, &["PROG=million", "N=100000"]);
    assert_success(&c);
    let line = expect_line(&c, "million: n=100000 bytes_per_g=");
    assert!(field(line, "bytes_per_g") <= 5 * 1024, "{line}");
    assert!(field(line, "goroutines") >= 100_000, "{line}");
    expect_line(&c, "million: woke=100000 ran_once=100000 ");
}

#[test]
fn stop_the_world_while_every_p_runs_a_hog() {
    let c = boot(4, &["PROG=stw", "N=10"]);
    assert_success(&c);
    expect_line(&c, "stw: stops=10 hogs=4 frozen=ok getg=ok");
    // The dump, taken in an interrupt handler with the world stopped, lists
    // the four hogs (running or runnable) and the main goroutine.
    let dump = expect_line(&c, "SIGQUIT: goroutine dump (");
    assert!(dump.contains("(5 goroutines)"), "{dump}");
    expect_line(&c, "stw: dump from interrupt context on cpu ");
}

/// With fewer Ps than cores, the dump's core may be one halted in `stopm`
/// (no P of its own), possibly while `startm` hands it a P.
#[test]
fn stop_the_world_from_a_core_without_a_p() {
    let c = boot(4, &["PROG=stw", "N=10", "GOMAXPROCS=2"]);
    assert_success(&c);
    expect_line(&c, "stw: stops=10 hogs=2 frozen=ok getg=ok");
    let dump = expect_line(&c, "SIGQUIT: goroutine dump (");
    assert!(dump.contains("(3 goroutines)"), "{dump}");
    expect_line(&c, "stw: dump from interrupt context on cpu ");
}

#[test]
fn procresize_up_and_down_under_load_loses_nothing() {
    let c = boot(4, &["PROG=procresize", "GODEBUG=schedtrace=20"]);
    assert_success(&c);
    for step in ["4 -> 1", "1 -> 3", "3 -> 4"] {
        expect_line(&c, &format!("procresize: GOMAXPROCS {step} "));
    }
    expect_line(&c, "procresize: n=4000 ran_once=4000 gomaxprocs=4");
    // schedtrace shows the shrunk P set while GOMAXPROCS is 1.
    let sched: Vec<&str> = c.serial.lines().filter(|l| l.starts_with("SCHED ")).collect();
    assert!(sched.iter().any(|l| l.contains(" gomaxprocs=1 ")), "no SCHED line with gomaxprocs=1");
    for line in &sched {
        let procs = field(line, "gomaxprocs") as usize;
        let runqs = line.rsplit_once(" [").unwrap().1.trim_end_matches(']').split_whitespace().count();
        assert_eq!(runqs, procs, "one run queue length per P in use: {line}");
    }
}

/// A tick whose delivery page-faults (the stack pointer sits on the lowest
/// mapped byte) is lost to the CPU; the fault handler must raise it again,
/// or the core's tick would stay "in service" and stop for good.
#[test]
fn an_interrupt_whose_delivery_faults_is_raised_again() {
    let c = boot(2, &["PROG=lostirq"]);
    assert_success(&c);
    let line = expect_line(&c, "lostirq: tick_taken=true redelivered=");
    assert!(field(line, "redelivered") >= 1, "{line}");
}
