//! The kernel command-line parser, on the host.

use gmpos::cmdline::{GoDebug, parse};
use gmpos::runtime::debug::{SWITCHES, Switch};

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
    assert_eq!(g, GoDebug { schedtrace_ms: 1000, scheddetail: true, trace: true, off: 0 });
    let g = parse("GODEBUG=scheddetail=0,trace=0").unwrap().godebug;
    assert_eq!(g, GoDebug::default());
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
        ("GODEBUG=stealoff=yes", "bad stealoff \"yes\""),
        ("GODEBUG=asyncpreemptoff", "bad GODEBUG setting \"asyncpreemptoff\""),
        ("GODEBUG=stealingoff=1", "unknown GODEBUG setting \"stealingoff\""),
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

#[test]
fn each_switch_sets_its_own_bit() {
    for (i, &(switch, key, _)) in SWITCHES.iter().enumerate() {
        assert_eq!(switch as usize, i, "SWITCHES is in the order of Switch");
        let g = parse(&format!("GODEBUG={key}=1")).unwrap().godebug;
        assert_eq!(g.off, 1 << switch as u32, "{key}");
        assert_eq!(parse(&format!("GODEBUG={key}=1,{key}=0")).unwrap().godebug.off, 0, "{key}=0 turns it back on");
    }
    let g = parse("GODEBUG=asyncpreemptoff=1,schedtrace=10,stealoff=1").unwrap().godebug;
    assert_eq!(g.off, 1 << Switch::AsyncPreempt as u32 | 1 << Switch::Steal as u32);
    assert_eq!(g.schedtrace_ms, 10);
}

#[test]
fn unknown_godebug_setting_lists_the_switches() {
    let err = parse("GODEBUG=x=1").unwrap_err();
    for (_, key, _) in SWITCHES {
        assert!(err.contains(key), "{err:?} should list {key}");
    }
    assert!(err.contains("schedtrace"), "{err:?}");
}
