//! `gmpos-torture` (`make torture`): boots `PROG=torture` again and again
//! with random machines and workloads for `--seconds`, from `--seed`, and
//! reports every boot that failed with the line that boots it again
//! (`boot::torture`).

use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
usage: gmpos-torture [--seconds S] [--seed N] [--boot K]

Boots PROG=torture for S seconds (default 180), each boot with 1..=8 vCPUs,
a random GOMAXPROCS and GODEBUG (schedtrace and scheduler switches), a
random workload and, in half the boots, echo clients, all from seed N
(default: from the clock; printed). The same seed gives the same boots;
--boot K boots only the Kth of them, again and again for S seconds.
Exits with 1 if any boot failed, after reporting each.
";

fn main() -> ExitCode {
    let mut seconds = 180;
    let mut seed = None;
    let mut only = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next();
        let number = value.as_deref().and_then(|v| v.parse::<u64>().ok());
        match (flag.as_str(), number) {
            ("--seconds", Some(n)) => seconds = n,
            ("--seed", Some(n)) => seed = Some(n),
            ("--boot", Some(k)) if k >= 1 => only = Some(k),
            ("-h" | "--help", _) => {
                print!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("gmpos-torture: bad argument {flag:?} {:?}: expected a whole number after --seconds, --seed or --boot (from 1)\n{USAGE}", value.unwrap_or_default());
                return ExitCode::from(2);
            }
        }
    }
    let seed = seed.unwrap_or_else(boot::rng::clock_seed);
    println!("torture: SEED={seed} for {seconds} s (make torture SEED={seed} runs these boots again)");
    let summary = boot::torture::run(seed, Duration::from_secs(seconds), only, |index, config, result, _| match result {
        Ok(e) if e.conns == 0 => println!("torture: boot {index}: {} ok", config.repro()),
        Ok(e) => println!("torture: boot {index}: {} ok (net: {} connections, {} exchanges checked)", config.repro(), e.conns, e.exchanges),
        Err(f) => println!("torture: boot {index}: {}", f.report()),
    });
    println!(
        "torture: SEED={seed}: {} boots, {} operations checked ({} of them echo round trips and HTTP requests over {} client connections), \
         {} chaos stop-the-worlds with invariants checked; {} failed",
        summary.boots,
        summary.ops,
        summary.exchanges,
        summary.conns,
        summary.stops,
        summary.failures.len()
    );
    if summary.failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
