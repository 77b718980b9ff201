//! A minimal HTTP/1.1 client for the tests that talk to the kernel's
//! servers through QEMU's port forwarding.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

/// Generous: the host is loaded and TCG is slow; these only catch hangs.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);

pub fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the guest");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

/// A minimal HTTP/1.1 client response: status, headers, body.
pub struct Response {
    pub status: u16,
    pub headers: String,
    pub body: String,
}

/// Reads one response from `s`; `None` if the connection closed first.
pub fn read_response(s: &mut TcpStream) -> Option<Response> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            Ok(_) => return None,
            Err(e) => panic!("reading a response: {e}"),
        }
    }
    let head = String::from_utf8(head).expect("ASCII head");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status code");
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .map(|v| v.trim().parse().unwrap())
        .expect("Content-Length");
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).expect("body");
    Some(Response { status, headers: head, body: String::from_utf8(body).expect("UTF-8 body") })
}

pub fn get(s: &mut TcpStream, path: &str) -> Response {
    write!(s, "GET {path} HTTP/1.1\r\nHost: gmpos\r\n\r\n").unwrap();
    read_response(s).expect("a response")
}

/// The number after `key=` in a `/health` line.
pub fn field(health: &str, key: &str) -> u64 {
    let start = health.find(&format!(" {key}=")).unwrap_or_else(|| panic!("no {key}= in {health:?}")) + key.len() + 2;
    health[start..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

/// `/health` on a fresh connection, retried while the server is full (503).
pub fn health(port: u16) -> String {
    loop {
        let mut s = connect(port);
        write!(s, "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
        match read_response(&mut s) {
            Some(r) if r.status == 200 => return r.body,
            _ => thread::sleep(Duration::from_millis(200)),
        }
    }
}
