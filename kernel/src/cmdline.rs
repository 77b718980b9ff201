//! The kernel command line: whitespace-separated `KEY=VALUE` words, passed
//! by the host through QEMU's fw_cfg (`opt/gmpos/cmdline`, see
//! `drivers::fw_cfg`), e.g. `PROG=spawn GOMAXPROCS=2 GODEBUG=schedtrace=100`.
//!
//! Pure logic: compiled for the host too and unit-tested there. The
//! `GODEBUG` switches it accepts are the runtime's (`runtime::debug`, as
//! Go's `dbgvars` live in its runtime); the command line sits above the
//! runtime and reads that table.

use alloc::format;
use alloc::string::String;

use crate::runtime::debug::{self, SWITCHES};

/// Every key the kernel accepts, with what it means (printed on errors).
pub const KEYS: &[(&str, &str)] = &[
    ("PROG", "the program to run (default demo)"),
    ("GOMAXPROCS", "number of Ps, 1..=cores (default: all cores)"),
    ("GODEBUG", "comma-separated key=value settings, as in Go (schedtrace=MS,scheddetail=1,trace=1,stealoff=1,...)"),
    ("N", "size parameter of the program"),
    ("CPU", "the core a test program acts on"),
];

/// `GODEBUG` settings gmpos understands.
pub const GODEBUG_KEYS: &[(&str, &str)] = &[
    ("schedtrace", "print a SCHED line every MS milliseconds"),
    ("scheddetail", "1: with schedtrace, also print every P, M and G (Go's detailed format)"),
    ("trace", "1: record an execution trace and send it out on the second serial port (COM2)"),
];

#[derive(Debug, Default, PartialEq, Eq)]
pub struct GoDebug {
    /// `schedtrace=MS`: 0 means off.
    pub schedtrace_ms: u64,
    /// `scheddetail=1`: schedtrace prints Go's detailed form. Any non-zero
    /// number turns it on, as in Go.
    pub scheddetail: bool,
    /// `trace=1`: record the execution trace (`runtime/trace.rs`).
    pub trace: bool,
    /// The mechanisms switched off: bit `debug::bit(switch)` per
    /// `runtime::debug::Switch`.
    pub off: u32,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Config<'a> {
    pub prog: &'a str,
    pub gomaxprocs: Option<usize>,
    pub godebug: GoDebug,
    pub n: Option<u64>,
    pub cpu: Option<usize>,
}

fn number<T: core::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
    value.parse().map_err(|_| format!("bad {key} \"{value}\": not a non-negative whole number"))
}

fn parse_godebug(value: &str) -> Result<GoDebug, String> {
    let mut godebug = GoDebug::default();
    for setting in value.split(',').filter(|s| !s.is_empty()) {
        let (key, v) = setting
            .split_once('=')
            .ok_or_else(|| format!("bad GODEBUG setting \"{setting}\": expected key=value"))?;
        match key {
            "schedtrace" => godebug.schedtrace_ms = number(key, v)?,
            "scheddetail" => godebug.scheddetail = number::<u64>(key, v)? != 0,
            "trace" => godebug.trace = number::<u64>(key, v)? != 0,
            _ => {
                if let Some(&(switch, _, _)) = SWITCHES.iter().find(|(_, k, _)| *k == key) {
                    let bit = debug::bit(switch);
                    godebug.off = if number::<u64>(key, v)? != 0 { godebug.off | bit } else { godebug.off & !bit };
                    continue;
                }
                let settings = GODEBUG_KEYS.iter().copied().chain(SWITCHES.iter().map(|&(_, k, d)| (k, d)));
                let known: String = settings.map(|(k, d)| format!("\n  {k}: {d}")).collect();
                return Err(format!("unknown GODEBUG setting \"{key}\"; known settings:{known}"));
            }
        }
    }
    Ok(godebug)
}

/// Parses the command line. Errors name the offending word and say what is
/// accepted.
pub fn parse(line: &str) -> Result<Config<'_>, String> {
    let mut config = Config { prog: "demo", gomaxprocs: None, godebug: GoDebug::default(), n: None, cpu: None };
    for word in line.split_whitespace() {
        let (key, value) =
            word.split_once('=').ok_or_else(|| format!("bad command-line word \"{word}\": expected KEY=VALUE"))?;
        match key {
            "PROG" => config.prog = value,
            "GOMAXPROCS" => {
                let n: usize = number(key, value)?;
                if n == 0 {
                    return Err(format!("bad GOMAXPROCS \"{value}\": must be at least 1"));
                }
                config.gomaxprocs = Some(n);
            }
            "GODEBUG" => config.godebug = parse_godebug(value)?,
            "N" => config.n = Some(number(key, value)?),
            "CPU" => config.cpu = Some(number(key, value)?),
            _ => {
                let known: String = KEYS.iter().map(|(k, d)| format!("\n  {k}: {d}")).collect();
                return Err(format!("unknown command-line key \"{key}\"; known keys:{known}"));
            }
        }
    }
    Ok(config)
}
