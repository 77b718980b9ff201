//! `make torture`: boots `PROG=torture` again and again, each time with a
//! random machine — 1 to 8 vCPUs, GOMAXPROCS unset or 1..=vCPUs, a GODEBUG
//! setting — and a random workload seed, and collects what failed.
//!
//! Everything comes from one seed: the same `SEED=` gives the same boots in
//! the same order with the same workloads (the interleavings inside each
//! are the machine's). A failed boot is reported with its configuration,
//! the `make run` line that boots it again, and the end of its console —
//! where the kernel's invariant check or watchdog printed scheddetail and
//! a goroutine dump (`kernel/src/programs/torture.rs`).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::rng::Rng;
use crate::{Captured, Outcome, Qemu};

/// Most vCPUs a boot gets (8 already means 4 vCPU threads per host core here).
pub const MAX_SMP: u32 = 8;
/// Limit per boot: a boot takes a few seconds; the kernel's own watchdog
/// reports a hang after 30 s of no progress, so this catches only a kernel
/// too stuck for that (core 0's tick gone).
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(180);
/// Console lines of a failed boot kept in its report.
const TAIL_LINES: usize = 80;

/// One boot's machine and workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub smp: u32,
    pub gomaxprocs: Option<u32>,
    pub godebug: Option<&'static str>,
    /// The kernel's workload seed (`N=`).
    pub seed: u64,
}

/// GODEBUG settings a boot may get (scheddetail rarely: it prints every G).
const GODEBUGS: [Option<&str>; 4] = [None, None, Some("schedtrace=30"), Some("schedtrace=200,scheddetail=1")];

impl Config {
    pub fn random(rng: &mut Rng) -> Config {
        let smp = 1 + rng.below(MAX_SMP as u64) as u32;
        let gomaxprocs = (rng.below(3) != 0).then(|| 1 + rng.below(smp as u64) as u32);
        let godebug = *rng.pick(&GODEBUGS);
        Config { smp, gomaxprocs, godebug, seed: rng.next() >> 1 }
    }

    /// The kernel command line words.
    pub fn words(&self) -> Vec<String> {
        let mut w = vec!["PROG=torture".to_string(), format!("N={}", self.seed)];
        w.extend(self.gomaxprocs.map(|n| format!("GOMAXPROCS={n}")));
        w.extend(self.godebug.map(|g| format!("GODEBUG={g}")));
        w
    }

    /// The command that boots this configuration again.
    pub fn repro(&self) -> String {
        format!("make run SMP={} {}", self.smp, self.words().join(" "))
    }
}

/// A boot that did not end with `torture: ... ok`.
pub struct Failure {
    pub config: Config,
    pub outcome: Outcome,
    /// The last console lines.
    pub tail: String,
}

/// What a torture run did.
#[derive(Default)]
pub struct Summary {
    pub boots: u64,
    /// Operations that ran and passed their checks, over all boots.
    pub ops: u64,
    /// Stop-the-worlds made by the chaos goroutines (each checked the
    /// invariants), over the clean boots.
    pub stops: u64,
    pub failures: Vec<Failure>,
}

/// Boots until `duration` has passed (at least once), from `seed`; calls
/// `progress` after each boot with its configuration and its failure, if
/// it failed (also kept in the summary).
pub fn run(seed: u64, duration: Duration, mut progress: impl FnMut(&Config, Option<&Failure>, &Summary)) -> Summary {
    let mut rng = Rng::new(seed);
    let start = Instant::now();
    let mut summary = Summary::default();
    // Boot a copy: a build during a long run would otherwise rewrite the
    // image under a boot that is reading it.
    let image = std::env::temp_dir().join(format!("gmpos-torture-{}.img", std::process::id()));
    std::fs::copy(crate::bios_image(), &image).unwrap_or_else(|e| panic!("copying the disk image to {}: {e}", image.display()));
    while summary.boots == 0 || start.elapsed() < duration {
        let config = Config::random(&mut rng);
        let c = boot(&config, &image);
        summary.boots += 1;
        summary.ops += c.serial.lines().filter(|l| l.starts_with("torture: op ") && l.ends_with(": ok")).count() as u64;
        let done = c.serial.lines().find(|l| l.starts_with("torture: seed="));
        let ok = c.outcome == Outcome::Success && done.is_some();
        match done {
            Some(done) if ok => summary.stops += chaos_stops(done),
            _ => summary.failures.push(Failure { config: config.clone(), outcome: c.outcome, tail: tail(&c.serial) }),
        }
        progress(&config, if ok { None } else { summary.failures.last() }, &summary);
    }
    let _ = std::fs::remove_file(&image);
    summary
}

fn boot(config: &Config, image: &Path) -> Captured {
    let mut q = Qemu::new(config.smp).args(config.words());
    q.image = image.to_path_buf();
    q.timeout = Some(BOOT_TIMEOUT);
    q.run_captured().unwrap_or_else(|e| panic!("could not run QEMU: {e}"))
}

/// `N` in the summary line's `(chaos: N stops, ...)`.
fn chaos_stops(line: &str) -> u64 {
    line.split("chaos: ").nth(1).and_then(|r| r.split(' ').next()).and_then(|n| n.parse().ok()).unwrap_or(0)
}

fn tail(serial: &str) -> String {
    let lines: Vec<&str> = serial.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}

impl Failure {
    /// The report of this failure: configuration, how to boot it again, and
    /// the end of its console.
    pub fn report(&self) -> String {
        format!(
            "torture: FAILED ({}): smp={} gomaxprocs={} godebug={} seed={}\n  again: {}\n--- last console lines ---\n{}\n--- end ---",
            self.outcome,
            self.config.smp,
            self.config.gomaxprocs.map_or("unset".into(), |n| n.to_string()),
            self.config.godebug.unwrap_or("unset"),
            self.config.seed,
            self.config.repro(),
            self.tail
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_boots() {
        let boots = |seed| {
            let mut rng = Rng::new(seed);
            (0..50).map(|_| Config::random(&mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(boots(7), boots(7));
        assert_ne!(boots(7), boots(8));
        for c in boots(7) {
            assert!((1..=MAX_SMP).contains(&c.smp));
            assert!(c.gomaxprocs.is_none_or(|n| (1..=c.smp).contains(&n)), "{c:?}");
        }
    }

    #[test]
    fn repro_is_a_make_run_line() {
        let c = Config { smp: 3, gomaxprocs: Some(2), godebug: Some("schedtrace=30"), seed: 42 };
        assert_eq!(c.repro(), "make run SMP=3 PROG=torture N=42 GOMAXPROCS=2 GODEBUG=schedtrace=30");
        assert_eq!(chaos_stops("torture: seed=42 ops=24 ok (chaos: 17 stops, 3 GOMAXPROCS changes, ...)"), 17);
    }
}
