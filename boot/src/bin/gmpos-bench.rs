//! `gmpos-bench` (`make bench`): boots `PROG=bench` on one vCPU under
//! `-icount shift=0,sleep=off`, several times, checks that every boot gave
//! the same figures, prints a table and writes the results as JSON.
//!
//! Under icount each guest instruction advances the virtual clock (and the
//! TSC) by exactly one nanosecond, so the kernel's `rdtsc` deltas are exact
//! instruction counts: the figures repeat to the unit, and a change of one
//! instruction per operation shows.

use boot::bench::{self, BenchLine};
use boot::{Outcome, Qemu};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
usage: gmpos-bench [--n N] [--runs R] [--timeout SECS] [--out PATH]

Boots PROG=bench on 1 vCPU under QEMU -icount shift=0,sleep=off R times
(default 2), checks that every boot printed the same figures, prints a table
and writes PATH (default target/bench/results.json).

  --n N           iterations per benchmark (kernel N=, default 100000)
  --runs R        boots to compare, at least 1 (default 2)
  --timeout SECS  limit per boot (default 300)
  --out PATH      where to write the JSON results
";

/// How the figures of each kind of unit were obtained (the JSON `method`).
const ICOUNT_METHOD: &str = "QEMU -icount shift=0,sleep=off on 1 vCPU (single-threaded TCG): every guest \
    instruction advances the virtual clock and the TSC by exactly 1, so rdtsc ticks / iterations = guest \
    instructions per operation, counting everything that ran, interrupt handlers included; after a warm-up";
const TICK_METHOD: &str = "QEMU -icount shift=0,sleep=off on 1 vCPU: a goroutine alone on the P reads rdtsc \
    in a tight loop; each timer tick shows as a gap between two reads, minus the loop's own shortest gap. \
    A tick after which the P's preemption count moved is a preempting one: its gap runs from the interrupt \
    through gopreempt_m and schedule back into the same goroutine";
const MEMORY_METHOD: &str = "growth of kernel heap bytes in use plus 4096 x frames handed out while N new \
    goroutines are parked on a WaitGroup, divided by N";
const MAX_G_METHOD: &str = "computed, not measured: goroutines alive while N are parked, plus the free frames \
    and the free heap each divided by its per-goroutine cost (whichever runs out first)";

/// The targets (instructions per operation), by benchmark.
const TARGETS: &[(&str, u32)] = &[("yield", 118), ("spawn", 585), ("spawn_many", 339), ("chan_pingpong", 527)];

struct Options {
    n: Option<u64>,
    runs: u32,
    timeout: Duration,
    out: PathBuf,
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Some(o)) => o,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("gmpos-bench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gmpos-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut o = Options {
        n: None,
        runs: 2,
        timeout: Duration::from_secs(300),
        out: PathBuf::from("target/bench/results.json"),
    };
    while let Some(flag) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--n" => o.n = Some(value()?.parse().map_err(|_| "--n needs a whole number")?),
            "--runs" => o.runs = value()?.parse().map_err(|_| "--runs needs a whole number")?,
            "--timeout" => o.timeout = Duration::from_secs(value()?.parse().map_err(|_| "--timeout needs seconds")?),
            "--out" => o.out = PathBuf::from(value()?),
            "-h" | "--help" => return Ok(None),
            _ => return Err(format!("unknown argument {flag:?}")),
        }
    }
    if o.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    Ok(Some(o))
}

/// One boot of `PROG=bench`; its parsed lines.
fn boot_once(q: &Qemu) -> Result<Vec<BenchLine>, String> {
    let c = q.run_captured().map_err(|e| e.to_string())?;
    if c.outcome != Outcome::Success {
        return Err(format!("{}\n--- serial ---\n{}--- end ---\n$ {}", c.outcome, c.serial, c.command_line));
    }
    bench::parse(&c.serial)
}

fn run(o: &Options) -> Result<(), String> {
    let mut q = Qemu::new(1).args(["PROG=bench".to_string()]);
    if let Some(n) = o.n {
        q.args.push(format!("N={n}"));
    }
    q.icount = true;
    q.timeout = Some(o.timeout);
    eprintln!("gmpos-bench: booting {} on {}, {} time(s)", q.kernel_cmdline(), q.describe(), o.runs);
    let first = boot_once(&q)?;
    bench::check_method(&first)?;
    for run in 2..=o.runs {
        let again = boot_once(&q)?;
        if again != first {
            return Err(format!("boot {run} gave different figures from boot 1:\n{}\nversus\n{}", table(&again), table(&first)));
        }
    }
    println!("gmpos microbenchmarks: {}, {}", q.kernel_cmdline(), q.describe());
    println!("instructions per operation = rdtsc ticks / iterations (under icount, 1 tick = 1 guest instruction)\n");
    print!("{}", table(&first));
    println!("\nidentical figures on all {} boot(s)", o.runs);
    if let Some(dir) = o.out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    std::fs::write(&o.out, json(&q, o.runs, &first)).map_err(|e| format!("writing {}: {e}", o.out.display()))?;
    println!("wrote {}", o.out.display());
    Ok(())
}

fn target(name: &str) -> Option<u32> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|&(_, t)| t)
}

fn method(line: &BenchLine) -> &'static str {
    match line.unit.as_str() {
        _ if line.name == "tick" || line.name == "preempt_tick" => TICK_METHOD,
        u if u.starts_with("instructions/") => ICOUNT_METHOD,
        "bytes/goroutine" => MEMORY_METHOD,
        _ => MAX_G_METHOD,
    }
}

fn table(lines: &[BenchLine]) -> String {
    let mut t = format!("{:<15} {:>9}  {:<24} {:>10}  {}\n", "benchmark", "value", "unit", "iterations", "target");
    for l in lines {
        let (value, iterations) = (&l.result.value, l.result.iterations);
        let verdict = match target(&l.name) {
            Some(t) if value.parse::<f64>().is_ok_and(|v| v <= t as f64) => format!("<= {t}  met"),
            Some(t) => format!("<= {t}  missed"),
            None => String::new(),
        };
        let _ = writeln!(t, "{:<15} {value:>9}  {:<24} {iterations:>10}  {verdict}", l.name, l.unit);
    }
    // The memory figures' workings (instruction counts have only `ticks`).
    for l in lines.iter().filter(|l| !l.unit.starts_with("instructions/") && !l.extra.is_empty()) {
        let words: Vec<String> = l.extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(t, "  {}: {}", l.name, words.join(" "));
    }
    t
}

/// The results as JSON. Nothing in it varies between identical boots (no
/// date), so two result files compare with `diff`.
fn json(q: &Qemu, runs: u32, lines: &[BenchLine]) -> String {
    let benchmarks: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| {
            let value: serde_json::Value = serde_json::from_str(&l.result.value).expect("a checked decimal");
            serde_json::json!({
                "name": l.name,
                "unit": l.unit,
                "value": value,
                "iterations": l.result.iterations,
                "target": target(&l.name),
                "method": method(l),
                "details": l.extra.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str()))).collect::<serde_json::Map<_, _>>(),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "kernel_cmdline": q.kernel_cmdline(),
        "qemu": q.command_line(boot::Console::Captured),
        "identical_boots": runs,
        "benchmarks": benchmarks,
    });
    serde_json::to_string_pretty(&doc).expect("JSON of plain values") + "\n"
}
