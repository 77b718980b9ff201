//! The kernel command-line parser, on the host.

use gmpos::cmdline::{GoDebug, parse};

#[test]
fn empty_line_gives_the_defaults() {
    let c = parse("").unwrap();
    assert_eq!(c.prog, "demo");
    assert_eq!(c.gomaxprocs, None);
    assert_eq!(c.godebug, GoDebug::default());
    assert_eq!((c.n, c.cpu), (None, None));
}

#[test]
fn every_key_is_read() {
    let c = parse("PROG=spawn  GOMAXPROCS=2 GODEBUG=schedtrace=100 N=5 CPU=3").unwrap();
    assert_eq!(c.prog, "spawn");
    assert_eq!(c.gomaxprocs, Some(2));
    assert_eq!(c.godebug.schedtrace_ms, 100);
    assert_eq!((c.n, c.cpu), (Some(5), Some(3)));
}

#[test]
fn godebug_takes_several_settings_and_empty_items() {
    assert_eq!(parse("GODEBUG=schedtrace=7,").unwrap().godebug.schedtrace_ms, 7);
}

#[test]
fn scheddetail_and_trace_are_accepted() {
    let g = parse("GODEBUG=schedtrace=1000,scheddetail=1,trace=1").unwrap().godebug;
    assert_eq!(g, GoDebug { schedtrace_ms: 1000, scheddetail: true, trace: true, ..GoDebug::default() });
    let g = parse("GODEBUG=scheddetail=0,trace=0").unwrap().godebug;
    assert_eq!(g, GoDebug::default());
}

#[test]
fn netpollpreempt_is_on_unless_set_to_0() {
    assert!(!parse("").unwrap().godebug.netpollpreemptoff);
    assert!(!parse("GODEBUG=netpollpreempt=1").unwrap().godebug.netpollpreemptoff);
    assert!(parse("GODEBUG=netpollpreempt=0").unwrap().godebug.netpollpreemptoff);
    assert!(parse("GODEBUG=netpollpreempt=x").is_err());
}

#[test]
fn bad_words_are_named_in_the_error() {
    for (line, needle) in [
        ("GOMAXPROCS=abc", "bad GOMAXPROCS \"abc\""),
        ("GOMAXPROCS=0", "bad GOMAXPROCS \"0\": must be at least 1"),
        ("GOMAXPROCS=-1", "bad GOMAXPROCS \"-1\""),
        ("N=1e3", "bad N \"1e3\""),
        ("PROG", "bad command-line word \"PROG\""),
        ("COLOUR=blue", "unknown command-line key \"COLOUR\""),
        ("GODEBUG=schedtrace", "bad GODEBUG setting \"schedtrace\""),
        ("GODEBUG=gctrace=1", "unknown GODEBUG setting \"gctrace\""),
        ("GODEBUG=schedtrace=x", "bad schedtrace \"x\""),
        ("GODEBUG=scheddetail=yes", "bad scheddetail \"yes\""),
        ("GODEBUG=trace", "bad GODEBUG setting \"trace\""),
    ] {
        let err = parse(line).unwrap_err();
        assert!(err.contains(needle), "{line:?} gave {err:?}, expected it to contain {needle:?}");
    }
}

#[test]
fn unknown_key_error_lists_the_known_keys() {
    let err = parse("X=1").unwrap_err();
    for key in ["PROG", "GOMAXPROCS", "GODEBUG", "N", "CPU"] {
        assert!(err.contains(key), "{err:?} should list {key}");
    }
}
