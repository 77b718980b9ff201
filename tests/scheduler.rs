//! The GMP scheduler in QEMU, judged by outcomes: every goroutine runs
//! exactly once, work spreads by stealing, GOMAXPROCS limits the Ps, results
//! are right on any number of cores, and schedtrace speaks Go's format.

mod common;
use common::*;
#[path = "common/go119.rs"]
mod go119;

/// The per-P run queue lengths at the end of a plain SCHED line (`[3 0 7 1]`).
fn runq_list(line: &str) -> Vec<u64> {
    let start = line.rfind(" [").unwrap_or_else(|| panic!("no run queue list in {line:?}")) + 2;
    let inner = line[start..].strip_suffix(']').unwrap_or_else(|| panic!("unclosed [ in {line:?}"));
    inner.split_whitespace().map(|n| n.parse().expect("a number")).collect()
}

/// The numbers inside `key=[...]` on `line`.
fn bracket_list(line: &str, key: &str) -> Vec<u64> {
    let start = line.find(&format!("{key}=[")).unwrap_or_else(|| panic!("no {key}=[ in {line:?}")) + key.len() + 2;
    let end = start + line[start..].find(']').expect("unclosed [");
    line[start..end].split_whitespace().map(|n| n.parse().expect("a number")).collect()
}

/// The number after `key=` on `line`.
fn field(line: &str, key: &str) -> u64 {
    let start = line.find(&format!(" {key}=")).unwrap_or_else(|| panic!("no {key}= in {line:?}")) + key.len() + 2;
    let digits: String = line[start..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().unwrap_or_else(|_| panic!("{key}= is not a number in {line:?}"))
}

#[test]
fn spawn_100000_runs_every_goroutine_once_and_steals() {
    let c = boot(4, &["PROG=spawn"]);
    assert_success(&c);
    let line = expect_line(&c, "spawn: n=100000 done=100000 runs=[");
    let runs = bracket_list(line, "runs");
    assert_eq!(runs.len(), 4, "one count per P: {line}");
    assert!(runs.iter().all(|&r| r > 0), "every P must run goroutines: {line}");
    assert!(runs.iter().sum::<u64>() >= 100_000, "{line}");
    assert!(field(line, "steals") > 0, "work spreads by stealing: {line}");
}

#[test]
fn spawn_on_one_cpu() {
    let c = boot(1, &["PROG=spawn", "N=20000"]);
    assert_success(&c);
    let line = expect_line(&c, "spawn: n=20000 done=20000 runs=[");
    assert_eq!(field(line, "steals"), 0, "nobody to steal from: {line}");
}

/// With GOMAXPROCS below the core count there are only that many Ps, and the
/// cores without one stay idle (halted in stopm) the whole time.
#[track_caller]
fn gomaxprocs_limits_the_ps(procs: u64) {
    let c = boot(4, &["PROG=fib", "N=32", &format!("GOMAXPROCS={procs}"), "GODEBUG=schedtrace=50"]);
    assert_success(&c);
    expect_line(&c, "fib: fib(32)=2178309 expected=2178309");
    let sched: Vec<&str> = c.serial.lines().filter(|l| l.starts_with("SCHED ")).collect();
    assert!(!sched.is_empty(), "schedtrace printed nothing");
    for line in sched {
        assert_eq!(field(line, "gomaxprocs"), procs, "{line}");
        assert_eq!(field(line, "threads"), 4, "{line}");
        assert!(field(line, "idlethreads") >= 4 - procs, "cores without a P must stay idle: {line}");
        assert_eq!(runq_list(line).len() as u64, procs, "one run queue length per P: {line}");
    }
}

#[test]
fn gomaxprocs_1_on_4_cpus() {
    gomaxprocs_limits_the_ps(1);
}

#[test]
fn gomaxprocs_2_on_4_cpus() {
    gomaxprocs_limits_the_ps(2);
}

#[test]
fn fib_is_right_on_1_2_and_4_cpus() {
    for smp in [1, 2, 4] {
        let c = boot(smp, &["PROG=fib", "N=25"]);
        assert_success(&c);
        expect_line(&c, "fib: fib(25)=75025 expected=75025");
    }
}

#[test]
fn yield_takes_turns_on_one_p() {
    let c = boot(2, &["PROG=yield", "GOMAXPROCS=1"]);
    assert_success(&c);
    let line = expect_line(&c, "yield: goroutines=4 rounds=5 gomaxprocs=1 turns=");
    let turns = line.rsplit('=').next().unwrap();
    assert_eq!(turns.len(), 20, "{line}");
    // Yielding goes to the back of the global queue: once all four are
    // running, no goroutine takes two turns in a row.
    let tail = &turns.as_bytes()[4..];
    assert!(tail.windows(2).all(|w| w[0] != w[1]), "a goroutine ran twice in a row: {line}");
}

#[test]
fn schedtrace_lines_follow_go_format() {
    let c = boot(4, &["PROG=fib", "N=30", "GODEBUG=schedtrace=50"]);
    assert_success(&c);
    let sched: Vec<&str> = c.serial.lines().filter(|l| l.starts_with("SCHED ")).collect();
    assert!(!sched.is_empty(), "no SCHED lines");
    for line in sched {
        // SCHED 100ms: gomaxprocs=4 idleprocs=0 threads=4 spinningthreads=0 idlethreads=0 runqueue=12 [3 0 7 1]
        go119::assert_go119(line);
        assert_eq!(field(line, "gomaxprocs"), 4, "{line}");
        assert_eq!(field(line, "threads"), 4, "{line}");
        assert_eq!(runq_list(line).len(), 4, "one run queue length per P: {line}");
    }
}
