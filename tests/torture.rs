//! A short `make torture` inside `make test`: about a minute of boots of
//! `PROG=torture` with random machines and workloads (`boot::torture`),
//! every one of which must pass its checks. The seed is printed; set
//! `TORTURE_SEED=` to run the same boots again, `TORTURE_SECONDS=` to run
//! longer (`make torture` is the long run).

use std::time::Duration;

#[test]
fn torture_boots_pass_their_checks() {
    let seed = boot::rng::seed("TORTURE_SEED");
    let seconds = std::env::var("TORTURE_SECONDS").map_or(60, |v| v.parse().expect("TORTURE_SECONDS: a number"));
    let summary = boot::torture::run(seed, Duration::from_secs(seconds), |config, ok, _| {
        eprintln!("torture: {} {}", config.repro(), if ok { "ok" } else { "FAILED" });
    });
    for f in &summary.failures {
        eprintln!("{}", f.report());
    }
    eprintln!(
        "torture: TORTURE_SEED={seed}: {} boots, {} operations, {} stop-the-worlds checked",
        summary.boots, summary.ops, summary.stops
    );
    assert!(summary.failures.is_empty(), "{} of {} boots failed (TORTURE_SEED={seed}; reports above)", summary.failures.len(), summary.boots);
    assert!(summary.ops > 0 && summary.stops > 0, "the boots checked nothing");
}
