//! The result lines of `PROG=bench`, parsed: shared by the `gmpos-bench`
//! binary and the tests. The kernel prints one line per benchmark,
//! `key=value` words after `bench: `, e.g.
//!
//! ```text
//! bench: name=yield unit=instructions/yield value=255.1 iterations=200000 ticks=51011616
//! bench: name=mem_parked unit=bytes/goroutine value=8338.6 iterations=100000 heap_bytes=8248656 frames=201565
//! ```
//!
//! and `bench: done` after the last one (see `kernel/src/programs/bench.rs`).

/// One benchmark's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchLine {
    pub name: String,
    pub unit: String,
    pub result: Measured,
    /// Any other `key=value` words, in order (`ticks`, breakdowns, ...).
    pub extra: Vec<(String, String)>,
}

/// A measured figure, kept as the kernel printed it so that runs compare
/// exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measured {
    /// Decimal digits with at most one decimal place, e.g. `255.1`.
    pub value: String,
    pub iterations: u64,
}

/// The `bench:` result lines of `serial`, checked. Fails on a malformed
/// line, or when the final `bench: done` is missing (the run was cut short).
pub fn parse(serial: &str) -> Result<Vec<BenchLine>, String> {
    let mut lines = Vec::new();
    let mut done = false;
    for line in serial.lines().filter_map(|l| l.strip_prefix("bench: ")) {
        if line == "done" {
            done = true;
        } else if line.starts_with("name=") {
            lines.push(parse_line(line).map_err(|e| format!("bad bench line {line:?}: {e}"))?);
        }
    }
    if !done {
        return Err("no `bench: done` line: the benchmark run did not finish".into());
    }
    Ok(lines)
}

fn parse_line(line: &str) -> Result<BenchLine, String> {
    let mut words = Vec::new();
    for word in line.split_whitespace() {
        let (k, v) = word.split_once('=').ok_or_else(|| format!("{word:?} is not key=value"))?;
        words.push((k.to_string(), v.to_string()));
    }
    let mut take = |key: &str| -> Option<String> {
        let i = words.iter().position(|(k, _)| k == key)?;
        Some(words.remove(i).1)
    };
    let name = take("name").ok_or("no name")?;
    let unit = take("unit").ok_or("no unit")?;
    let value = take("value").ok_or("no value")?;
    if !is_decimal(&value) {
        return Err(format!("value {value:?} is not a decimal number"));
    }
    let iterations = take("iterations").ok_or("no iterations")?;
    let iterations = iterations.parse().map_err(|_| format!("iterations {iterations:?} is not a number"))?;
    let result = Measured { value, iterations };
    Ok(BenchLine { name, unit, result, extra: words })
}

/// What the `loop` benchmark must measure: its loop is exactly two
/// instructions (`dec`, `jnz`).
pub const LOOP_EXPECTED: &str = "2.0";

/// The method's self-check: under icount, `loop` measures exactly
/// [`LOOP_EXPECTED`] instructions per iteration. Anything else means the
/// figures are not instruction counts (icount off, another clock, a
/// miscompiled loop), and none of them can be trusted.
pub fn check_method(lines: &[BenchLine]) -> Result<(), String> {
    let l = lines.iter().find(|l| l.name == "loop").ok_or("no result for the `loop` self-check")?;
    if l.result.value != LOOP_EXPECTED {
        return Err(format!(
            "self-check failed: a two-instruction loop measured {} instructions per iteration, not {LOOP_EXPECTED} \
             (is icount on?): the figures are not instruction counts",
            l.result.value
        ));
    }
    Ok(())
}

/// Digits, optionally followed by a point and one digit.
fn is_decimal(s: &str) -> bool {
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()) && frac.len() == 1 && frac.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_result_lines() {
        let serial = "gmpos: 1 cpus online\n\
            bench: N=1000; timing\n\
            bench: name=yield unit=instructions/yield value=255.1 iterations=2000 ticks=510200\n\
            bench: name=mem_parked unit=bytes/goroutine value=8338.6 iterations=1000 frames=2016\n\
            bench: done\n";
        let lines = parse(serial).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].name, "yield");
        assert_eq!(lines[0].unit, "instructions/yield");
        assert_eq!(lines[0].result, Measured { value: "255.1".into(), iterations: 2000 });
        assert_eq!(lines[0].extra, vec![("ticks".to_string(), "510200".to_string())]);
        assert_eq!(lines[1].result, Measured { value: "8338.6".into(), iterations: 1000 });
        assert_eq!(lines[1].extra, vec![("frames".to_string(), "2016".to_string())]);
    }

    #[test]
    fn the_loop_self_check_wants_exactly_two_instructions() {
        let with = |v: &str| parse(&format!("bench: name=loop unit=instructions/iteration value={v} iterations=9\nbench: done\n")).unwrap();
        assert!(check_method(&with("2.0")).is_ok());
        assert!(check_method(&with("2.1")).unwrap_err().contains("measured 2.1 instructions"));
        assert!(check_method(&with("0.5")).is_err());
        assert!(check_method(&parse("bench: done\n").unwrap()).is_err(), "no loop line");
    }

    #[test]
    fn rejects_malformed_or_unfinished_output() {
        assert!(parse("bench: name=a unit=u value=1.0 iterations=1\n").is_err(), "no done line");
        assert!(parse("bench: name=a unit=u value=x iterations=1\nbench: done\n").is_err());
        assert!(parse("bench: name=a unit=u value=1.25 iterations=1\nbench: done\n").is_err());
        assert!(parse("bench: name=a value=1.0 iterations=1\nbench: done\n").is_err());
        assert!(parse("bench: name=a unit=u value=1.0\nbench: done\n").is_err());
        assert!(parse("bench: name=a unit=u\nbench: done\n").is_err());
        assert!(parse("bench: name=a unit=u value=12 iterations=3 junk\nbench: done\n").is_err());
        assert!(parse("bench: name=a unit=u value=12 iterations=3\nbench: done\n").is_ok());
    }
}
