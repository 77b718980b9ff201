//! The guided demo (`PROG=demo`, what `make run` shows first): every scene
//! runs, explains itself and reports a result, on one core and on four;
//! then the demo serves HTTP, and a request from the host is answered.

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
    for part in ["what:", "look for:", "result:"] {
        let n = c.serial.lines().filter(|l| l.starts_with(&format!("demo:   {part}"))).count();
        let finale = usize::from(part != "result:");
        assert_eq!(n, scenes + finale, "every scene (and the finale) prints {part:?}");
    }
    expect_line(&c, &format!("demo: done: {scenes} scenes"));
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
