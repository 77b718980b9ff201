//! `gmpos-scale` (`make bench-scale`): wall-clock time of fixed parallel
//! workloads (`PROG=fib`, `PROG=spawn`) at SMP = GOMAXPROCS = 1, 2 and 4
//! under multi-threaded TCG (one host thread per vCPU), as speedup over 1.
//!
//! The time is the program's own `elapsed_us`, read from the guest's TSC
//! clock around the workload (boot excluded); under TCG without icount it
//! follows the host's clock. Each configuration boots `--runs` times and
//! the fastest run counts (the host is shared: slower runs are noise from
//! other processes, never the scheduler being faster). For a fixed amount
//! of work a speedup cannot exceed the host's core count, printed beside
//! it; `spawn`'s work shrinks with more Ps (dead goroutines are recycled
//! while the spawner runs, so fewer new stacks are mapped), and its
//! speedup can exceed it.

use boot::{Outcome, Qemu};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
usage: gmpos-scale [--runs R] [--timeout SECS]

Boots PROG=fib N=32 and PROG=spawn N=100000 with SMP=GOMAXPROCS=1, 2 and 4
under multi-threaded TCG, R times each (default 3), and prints the fastest
elapsed time of each and its speedup over 1 vCPU.
";

/// The workloads: program, its N, and the name of its result line.
const WORKLOADS: &[(&str, u64)] = &[("fib", 32), ("spawn", 100_000)];
const CPUS: &[u32] = &[1, 2, 4];

fn main() -> ExitCode {
    let (mut runs, mut timeout) = (3u32, Duration::from_secs(600));
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        let value = argv.next();
        let parsed = value.as_deref().and_then(|v| v.parse::<u64>().ok());
        match (flag.as_str(), parsed) {
            ("--runs", Some(r)) if r > 0 => runs = r as u32,
            ("--timeout", Some(s)) => timeout = Duration::from_secs(s),
            ("-h" | "--help", _) => {
                print!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("gmpos-scale: bad argument {flag:?} {value:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut table = Vec::new();
    for &(prog, n) in WORKLOADS {
        let mut base = None;
        for &smp in CPUS {
            let mut q = Qemu::new(smp).args([format!("PROG={prog}"), format!("N={n}"), format!("GOMAXPROCS={smp}")]);
            q.timeout = Some(timeout);
            let mut best = u64::MAX;
            for run in 1..=runs {
                eprintln!("gmpos-scale: {} on {}, run {run}/{runs}", q.kernel_cmdline(), q.describe());
                match elapsed_us(&q, prog) {
                    Ok(us) => best = best.min(us),
                    Err(e) => {
                        eprintln!("gmpos-scale: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            let base = *base.get_or_insert(best);
            table.push(format!(
                "{:<22} {smp:>4} {:>12.1} {:>8.2}",
                format!("{prog} N={n}"),
                best as f64 / 1000.0,
                base as f64 / best as f64
            ));
        }
    }
    println!("\nscaling under multi-threaded TCG (fastest of {runs} runs); host cores (nproc): {cores}");
    println!("{:<22} {:>4} {:>12} {:>8}", "workload", "SMP", "elapsed ms", "speedup");
    for row in table {
        println!("{row}");
    }
    println!("\nSMP = GOMAXPROCS; elapsed is the program's own timing (TSC), boot excluded.");
    println!("Each vCPU is one host thread, so for a fixed amount of work the speedup cannot exceed the host's");
    println!("{cores} cores. spawn's work is not fixed: with one P the spawner creates goroutines faster than they");
    println!("run, so nearly every one needs a fresh stack; with more Ps others run and recycle them meanwhile.");
    ExitCode::SUCCESS
}

/// Boots `q` and returns the `elapsed_us=` the program printed on its
/// `PROG: ...` result line.
fn elapsed_us(q: &Qemu, prog: &str) -> Result<u64, String> {
    let c = q.run_captured().map_err(|e| e.to_string())?;
    if c.outcome != Outcome::Success {
        return Err(format!("{}\n--- serial ---\n{}--- end ---\n$ {}", c.outcome, c.serial, c.command_line));
    }
    let prefix = format!("{prog}: ");
    c.serial
        .lines()
        .filter(|l| l.starts_with(&prefix))
        .find_map(|l| l.split_whitespace().find_map(|w| w.strip_prefix("elapsed_us=")))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no `{prefix}... elapsed_us=` line in the serial output:\n{}", c.serial))
}
