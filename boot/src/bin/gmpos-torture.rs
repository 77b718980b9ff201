//! `gmpos-torture` (`make torture`): boots `PROG=torture` again and again
//! with random machines and workloads for `--seconds`, from `--seed`, and
//! reports every boot that failed with the line that boots it again
//! (`boot::torture`).

use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
usage: gmpos-torture [--seconds S] [--seed N]

Boots PROG=torture for S seconds (default 180), each boot with 1..=8 vCPUs,
a random GOMAXPROCS and GODEBUG and a random workload, all from seed N
(default: from the clock; printed). The same seed gives the same boots.
Exits with 1 if any boot failed, after reporting each.
";

fn main() -> ExitCode {
    let mut seconds = 180;
    let mut seed = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next();
        let number = value.as_deref().and_then(|v| v.parse::<u64>().ok());
        match (flag.as_str(), number) {
            ("--seconds", Some(n)) => seconds = n,
            ("--seed", Some(n)) => seed = Some(n),
            ("-h" | "--help", _) => {
                print!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("gmpos-torture: bad argument {flag:?} {:?}: expected a whole number after --seconds or --seed\n{USAGE}", value.unwrap_or_default());
                return ExitCode::from(2);
            }
        }
    }
    let seed = seed.unwrap_or_else(boot::rng::clock_seed);
    println!("torture: SEED={seed} for {seconds} s (make torture SEED={seed} runs these boots again)");
    let summary = boot::torture::run(seed, Duration::from_secs(seconds), |config, failure, s| match failure {
        None => println!("torture: boot {}: {} ok", s.boots, config.repro()),
        Some(f) => println!("torture: boot {}: {}", s.boots, f.report()),
    });
    println!(
        "torture: SEED={seed}: {} boots, {} operations checked, {} chaos stop-the-worlds with invariants checked; {} failed",
        summary.boots,
        summary.ops,
        summary.stops,
        summary.failures.len()
    );
    if summary.failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
