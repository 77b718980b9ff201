//! The guided demo (`PROG=demo`, what `make run` shows first): every scene
//! runs, explains itself and reports a result, on one core and on four.

mod common;
use common::*;

fn demo_runs_every_scene(smp: u32) {
    let c = boot(smp, &["PROG=demo"]);
    assert_success(&c);
    let header = expect_line(&c, "demo: Go's scheduler on ");
    let scenes: usize = header
        .split_whitespace()
        .rev()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no scene count in {header:?}"));
    for i in 1..=scenes {
        expect_line(&c, &format!("demo: scene {i}/{scenes} — "));
    }
    for part in ["what:", "look for:", "result:"] {
        let n = c.serial.lines().filter(|l| l.starts_with(&format!("demo:   {part}"))).count();
        assert_eq!(n, scenes, "every scene prints {part:?}");
    }
    expect_line(&c, "demo: done");
}

#[test]
fn demo_on_one_core() {
    demo_runs_every_scene(1);
}

#[test]
fn demo_on_four_cores() {
    demo_runs_every_scene(4);
}
