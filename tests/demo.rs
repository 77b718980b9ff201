//! The guided demo (`PROG=demo`, what `make run` shows first): every scene
//! runs, explains itself, reports a result and checks its own claim, on
//! one core and on four; then the demo serves HTTP, and a request from the
//! host is answered. With `GODEBUG` switches, each scene also runs without
//! the mechanism, and its claim fails there.

mod common;
use common::*;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn demo_runs_every_scene_then_serves(smp: u32) {
    let port = free_port();
    let mut q = Qemu::new(smp).args(["PROG=demo"]);
    q.forwards = vec![Forward::tcp(port, boot::HTTP_GUEST_PORT)];
    q.timeout = Some(Duration::from_secs(600));
    let mut server = start_server(&q);
    server.wait_for_line("httpd: listening on port 80", 300);

    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the demo's httpd");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(s, "GET / HTTP/1.1\r\nHost: gmpos\r\nConnection: close\r\n\r\n").unwrap();
    let mut page = String::new();
    s.read_to_string(&mut page).expect("the page");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("GOMAXPROCS="), "the page shows the scheduler: {page}");

    let c = server.stop();
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
    for part in ["what:", "look for:", "result:", "check:"] {
        let n = c.serial.lines().filter(|l| l.starts_with(&format!("demo:   {part}"))).count();
        let finale = usize::from(part == "what:" || part == "look for:");
        assert_eq!(n, scenes + finale, "every scene (and the finale) prints {part:?}");
    }
    // Every claim held: on one core, stealing and the handoff cannot be
    // judged (no other P or core), and say so.
    let checks: Vec<&str> = c.serial.lines().filter(|l| l.starts_with("demo:   check:")).collect();
    let unjudged = checks.iter().filter(|l| l.ends_with("(not judged)")).count();
    assert_eq!(unjudged, if smp == 1 { 2 } else { 0 }, "scenes not judged: {checks:#?}");
    assert!(checks.iter().all(|l| l.ends_with(" ✓") || l.ends_with("(not judged)")), "a check failed: {checks:#?}");
    expect_line(&c, &format!("demo: done: {scenes} scenes, every check held"));
    expect_line(&c, "demo: finale — the netpoller");
}

#[test]
fn demo_on_one_core() {
    demo_runs_every_scene_then_serves(1);
}

#[test]
fn demo_on_four_cores() {
    demo_runs_every_scene_then_serves(4);
}

/// `GODEBUG=stealoff=1,asyncpreemptoff=1`: each scene runs as built and
/// then without stealing and preemption; the stealing and preemption
/// scenes' claims fail in the second run (no steals, no preemptions), the
/// first run's all hold, and the demo goes on to serve.
#[test]
fn demo_without_stealing_and_preemption() {
    let mut q = Qemu::new(2).args(["PROG=demo", "GODEBUG=stealoff=1,asyncpreemptoff=1"]);
    q.timeout = Some(Duration::from_secs(600));
    let mut server = start_server(&q);
    server.wait_for_line("httpd: listening on port 80", 300);
    let c = server.stop();
    expect_line(&c, "demo: each scene runs twice: as built, then with GODEBUG=asyncpreemptoff=1,stealoff=1.");
    let without: Vec<&str> =
        c.serial.lines().filter(|l| l.starts_with("demo:   with asyncpreemptoff=1,stealoff=1: check:")).collect();
    assert_eq!(without.len(), 6, "every scene reruns: {without:#?}");
    assert!(without[1].contains("Ps stole (0 steals)") && without[1].ends_with("✗ FAILED"), "{}", without[1]);
    assert!(without[3].contains("hogs were preempted (0)") && without[3].ends_with("✗ FAILED"), "{}", without[3]);
    let checks: Vec<&str> = c.serial.lines().filter(|l| l.starts_with("demo:   check:")).collect();
    assert!(checks.iter().all(|l| l.ends_with(" ✓")), "as built, every claim holds: {checks:#?}");
    expect_line(&c, "demo: done: 6 scenes, every check held");
}
