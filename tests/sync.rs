//! Go's synchronisation on gopark/goready, judged by outcomes in QEMU:
//! channels (FIFO, no lost or duplicated values, close, zero values),
//! select (fairness, default, wakeup by exactly one case), WaitGroup,
//! Mutex, Once, timer channels, the deadlock detector (fires when it must,
//! never while a sleeper could still wake someone) and Go's panics for
//! channel misuse.

mod common;
use common::*;

/// Every check of `PROG=chantest`, in the order it runs them.
const CHANTEST_LINES: &[&str] = &[
    "chantest: fifo cap=0 ok",
    "chantest: fifo cap=8 ok",
    "chantest: mpmc cap=0 ok",
    "chantest: mpmc cap=7 ok",
    "chantest: close ok",
    "chantest: closed ok",
    "chantest: select fairness ok",
    "chantest: select default ok",
    "chantest: select wakeup ok",
    "chantest: select stress ok",
    "chantest: waitgroup ok",
    "chantest: mutex ok",
    "chantest: mutex starvation ok",
    "chantest: once ok",
    "chantest: after and ticker ok",
    "chantest: sleeper ok",
    "chantest: pingpong hog ok",
    "chantest: all ok",
];

/// The number after `key=` on `line`.
fn field(line: &str, key: &str) -> u64 {
    let start = line.find(&format!("{key}=")).unwrap_or_else(|| panic!("no {key}= in {line:?}")) + key.len() + 1;
    let digits: String = line[start..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().unwrap_or_else(|_| panic!("{key}= is not a number in {line:?}"))
}

#[track_caller]
fn check_chantest(c: &Captured) {
    assert_success(c);
    for prefix in CHANTEST_LINES {
        expect_line(c, prefix);
    }
    let mpmc = expect_line(c, "chantest: mpmc cap=0 ok");
    assert_eq!((field(mpmc, "lost"), field(mpmc, "dup")), (0, 0), "{mpmc}");
    // Two always-ready channels: each chosen 50% ± 5% of 10000 times.
    let fair = expect_line(c, "chantest: select fairness ok");
    for key in ["a", "b"] {
        let n = field(fair, key);
        assert!((4500..=5500).contains(&n), "{key}={n} is outside 50% ± 5%: {fair}");
    }
    let mutex = expect_line(c, "chantest: mutex ok");
    assert_eq!(field(mutex, "counter"), 40_000, "{mutex}");
}

#[test]
fn channels_select_and_sync_on_one_core() {
    check_chantest(&boot(1, &["PROG=chantest"]));
}

#[test]
fn channels_select_and_sync_on_four_cores() {
    check_chantest(&boot(4, &["PROG=chantest"]));
}

/// One P for several cores: the ping-pong pair and the hog must share it
/// through preemption (Go's TestPingPongHog, asserting completion).
#[test]
fn channels_select_and_sync_with_one_p() {
    check_chantest(&boot(2, &["PROG=chantest", "GOMAXPROCS=1"]));
}

#[test]
fn pipeline_prints_the_first_primes() {
    let c = boot(4, &["PROG=pipeline", "N=100"]);
    assert_success(&c);
    expect_line(&c, "pipeline:   2 3 5 7 11 13 17 19 23 29 31 37 41 43 47");
    expect_line(&c, "pipeline: n=100 last=541 ok");
}

#[test]
fn pingpong_passes_every_value() {
    let c = boot(2, &["PROG=pingpong", "N=5000"]);
    assert_success(&c);
    expect_line(&c, "pingpong: n=5000 ok");
}

/// Every goroutine blocked: Go's message, a dump naming each with its wait
/// reason, and a failed run. The sleeper (goroutine 6) must have woken and
/// finished first: a pending timer is not a deadlock. Goroutines blocked
/// on a nil channel count as asleep (7 and 8).
#[test]
fn deadlock_is_reported_with_a_goroutine_dump() {
    for smp in [1, 4] {
        let c = boot(smp, &["PROG=deadlock"]);
        assert_failure(&c);
        expect_line(&c, "deadlock: main waits for a value nobody will send");
        expect_line(&c, "fatal error: all goroutines are asleep - deadlock!");
        // The dump says how long each has waited: "[chan receive, 12 ms]:".
        for g in [
            "goroutine 1 [chan receive, ",
            "goroutine 2 [chan send, ",
            "goroutine 3 [select, ",
            "goroutine 4 [sync.Mutex.Lock, ",
            "goroutine 5 [sync.WaitGroup.Wait, ",
            "goroutine 7 [chan send (nil chan), ",
            "goroutine 8 [chan receive (nil chan), ",
        ] {
            expect_line(&c, g);
        }
        assert!(line_starting_with(&c.serial, "goroutine 6 ").is_none(), "the sleeper is still listed");
    }
}

#[test]
fn channel_misuse_panics_naming_the_goroutine() {
    for (n, message) in [("0", "send on closed channel"), ("1", "close of closed channel"), ("2", "send on closed channel"), ("3", "close of nil channel")] {
        let c = boot(2, &["PROG=chanpanic", &format!("N={n}")]);
        assert_failure(&c);
        expect_line(&c, &format!("panic: {message}"));
        expect_line(&c, "goroutine 2 [running]:");
        assert!(line_starting_with(&c.serial, "chanpanic: FAILED").is_none(), "the misuse did not panic");
    }
}
