//! Go programs as they are written (issue 16), judged in QEMU: `select`
//! chooses uniformly among ready cases on every path; nil channels;
//! fairness through system calls; timers that stop and reset as Go's;
//! `Mutex.TryLock`, `RWMutex`, `Cond`; `recover`.

mod common;
use common::*;

/// The counts of `selectfair: <scene> counts=a,b,...`.
fn counts(c: &Captured, scene: &str) -> Vec<u64> {
    let line = expect_line(c, &format!("selectfair: {scene} counts="));
    let list = &line[line.find("counts=").expect("counts=") + "counts=".len()..];
    list.split(',').map(|n| n.trim().parse().unwrap_or_else(|_| panic!("not a count in {line:?}"))).collect()
}

/// Pearson's chi-square of `observed` against the uniform distribution.
fn chi_square(observed: &[u64]) -> f64 {
    let total: u64 = observed.iter().sum();
    let expected = total as f64 / observed.len() as f64;
    observed.iter().map(|&o| (o as f64 - expected).powi(2) / expected).sum()
}

/// For 1 to 3 degrees of freedom, a uniform choice exceeds 30 with
/// probability below 1e-6; a select that always takes the first of two
/// cases scores N (1000 here), one that does so half the time N/4.
const CHI_SQUARE_LIMIT: f64 = 30.0;

#[track_caller]
fn check_selectfair(c: &Captured) {
    assert_success(c);
    for (scene, cases) in [("late-receiver", 2), ("late-sender", 2), ("parked-receiver", 2), ("buffered-mix", 4)] {
        let observed = counts(c, scene);
        assert_eq!(observed.len(), cases, "{scene}: {observed:?}");
        assert_eq!(observed.iter().sum::<u64>(), 1000, "{scene}: {observed:?}");
        let chi2 = chi_square(&observed);
        assert!(chi2 < CHI_SQUARE_LIMIT, "{scene}: counts {observed:?} are not uniform (chi-square {chi2:.1})");
    }
    expect_line(c, "selectfair: no self-pairing ok");
    expect_line(c, "selectfair: all ok");
}

#[test]
fn select_is_uniform_on_every_path_with_one_p() {
    check_selectfair(&boot(2, &["PROG=selectfair", "GOMAXPROCS=1", "N=1000"]));
}

#[test]
fn select_is_uniform_on_every_path_with_four_ps() {
    check_selectfair(&boot(4, &["PROG=selectfair", "GOMAXPROCS=4", "N=1000"]));
}

/// Go's disable-a-case loop, nil cases never ready, nil operations block
/// for good with Go's wait reasons (deadlock and close: tests/sync.rs).
#[test]
fn nil_channels_behave_as_in_go() {
    for smp in [1, 4] {
        let c = boot(smp, &["PROG=nilchan"]);
        assert_success(&c);
        for line in ["nilchan: merge ok", "nilchan: select ok", "nilchan: blocked ok", "nilchan: all ok"] {
            expect_line(&c, line);
        }
    }
}

/// Goroutines looping on short system calls must not starve main: Go
/// bounds its wait to a few 10 ms slices (one per looper ahead of it: 4
/// slices, about 45 ms, with one P). The bound is generous for TCG on a
/// shared host; before the fix main waited 0.16-3 s (until the loopers
/// gave up).
const SYSFAIR_LIMIT_MS: u64 = 250;

fn check_sysfair(smp: u32, procs: u32, call_ns: u64) {
    let c = boot(smp, &["PROG=sysfair", &format!("GOMAXPROCS={procs}"), &format!("N={call_ns}")]);
    assert_success(&c);
    let line = expect_line(&c, "sysfair: ");
    let waited: u64 = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("main_waited_ms="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no main_waited_ms= in {line:?}"));
    assert!(waited < SYSFAIR_LIMIT_MS, "main starved behind system calls for {waited} ms: {line}");
}

#[test]
fn syscall_loops_do_not_starve_with_one_p() {
    for call_ns in [10_000, 100_000, 1_000_000] {
        check_sysfair(2, 1, call_ns);
    }
}

#[test]
fn syscall_loops_do_not_starve_with_two_ps() {
    for call_ns in [10_000, 100_000, 1_000_000] {
        check_sysfair(2, 2, call_ns);
    }
}

/// Timer.Stop/Reset results, AfterFunc and Ticker against Go's documented
/// semantics; the select-with-timeout loop keeps a bounded heap when it
/// stops its timers (one live timer; zombies leave lazily), and leaves
/// every timer behind when it does not.
#[test]
fn timers_stop_and_reset_as_in_go() {
    for smp in [1, 4] {
        let c = boot(smp, &["PROG=timers", "N=10000"]);
        assert_success(&c);
        for line in ["timers: stop ok", "timers: reset ok", "timers: after_func ok", "timers: ticker ok", "timers: due at once ok", "timers: all ok"] {
            expect_line(&c, line);
        }
        let line = expect_line(&c, "timers: timeout loop ok");
        let max: u64 = line
            .split("at most ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no 'at most N' in {line:?}"));
        assert!(max <= 16, "the timeout loop that stops its timers left up to {max} in the heaps: {line}");
    }
}

/// TryLock, RWMutex (shared reads, exclusive writes, writer preference)
/// and Cond (Signal wakes one, Broadcast all, a bounded queue).
#[test]
fn trylock_rwmutex_and_cond() {
    for (smp, procs) in [(1, 1), (4, 4)] {
        let c = boot(smp, &["PROG=gosync", &format!("GOMAXPROCS={procs}")]);
        assert_success(&c);
        for line in [
            "gosync: try_lock ok",
            "gosync: readers share ok",
            "gosync: writers exclude ok",
            "gosync: writer preferred ok",
            "gosync: cond signal and broadcast ok",
            "gosync: cond queue ok",
            "gosync: all ok",
        ] {
            expect_line(&c, line);
        }
    }
}

/// Runtime panics recovered with Go's messages, drop guards run by the
/// unwinding, goroutines on every P recovering and going on. (An
/// unrecovered panic still ends the run: tests/sync.rs, chanpanic.)
#[test]
fn recover_catches_go_panics() {
    for smp in [1, 4] {
        let c = boot(smp, &["PROG=recover"]);
        assert_success(&c);
        for line in ["recover: messages ok", "recover: guards ok", "recover: goroutines ok", "recover: goexit ok", "recover: all ok"] {
            expect_line(&c, line);
        }
    }
}
