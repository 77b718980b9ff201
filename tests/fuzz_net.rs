//! Fuzzing the kernel's servers from outside, in QEMU: random and mutated
//! HTTP requests to `httpd`, random byte streams and datagrams to `echo`.
//! Seeded: the seed is printed, and `FUZZ_SEED=` replays a run;
//! `FUZZ_ROUNDS=` sets the number of HTTP connections and echo chunks
//! (`make fuzz` runs many). Host-side fuzzing of the same parsers is in
//! `tests/fuzz.rs`.
//!
//! The HTTP test is differential: the statuses the kernel answers on each
//! connection must be exactly those that the host's copy of the kernel's
//! parser (`gmpos::programs::http`, the same file) and a model of
//! `httpd::handle` predict — so a request the parser rejects is answered
//! with its 4xx, a request it accepts is served, and no input stops the
//! server or the kernel.

mod common;
use common::*;
use boot::rng::{self, Rng};

use gmpos::programs::http::{MAX_HEADER, Parse, parse};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, UdpSocket};
use std::thread;
use std::time::Duration;

const IO_TIMEOUT: Duration = Duration::from_secs(60);

fn rounds(default: usize) -> usize {
    std::env::var("FUZZ_ROUNDS").map_or(default, |v| v.parse().expect("FUZZ_ROUNDS: a number"))
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the guest");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s
}

fn boot_server(prog: &str, forwards: Vec<Forward>) -> Server {
    let mut q = Qemu::new(2).args([format!("PROG={prog}")]);
    q.forwards = forwards;
    q.timeout = Some(Duration::from_secs(900));
    start_server(&q)
}

/// Some requests, valid and not, pipelined on one connection, then mutated.
fn http_input(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..1 + rng.below(3) {
        // Mostly valid, so that pipelining and keep-alive are exercised too.
        let method = *rng.pick(&["GET", "GET", "GET", "GET", "HEAD", "POST", "G@T"]);
        let path = *rng.pick(&["/", "/health", "/health", "/nope", "/a/b?c=d", "nopath"]);
        let version = *rng.pick(&["HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "FTP/1.1"]);
        out.extend_from_slice(format!("{method} {path} {version}\r\n").as_bytes());
        for _ in 0..rng.below(3) {
            let header = match rng.below(12) {
                0 => "Connection: close".to_string(),
                1 => "Connection: keep-alive".to_string(),
                2 => format!("Content-Length: {}", rng.below(24)),
                3 => "Transfer-Encoding: chunked".to_string(),
                4 => "Bad Header: x".to_string(),
                5 => format!("X-Long: {}", "a".repeat(MAX_HEADER - 100 + rng.below(200) as usize)),
                6 => {
                    let len = rng.below(20) as usize;
                    format!("X-Junk: {}", String::from_utf8_lossy(&rng.bytes(len)).replace(['\r', '\n'], ""))
                }
                _ => format!("Host: gmpos{}", rng.below(10)),
            };
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        let body = if rng.below(4) == 0 { rng.below(12) as usize } else { 0 }; // may not match Content-Length
        out.extend(rng.bytes(body));
    }
    let edits = if rng.below(2) == 0 { 0 } else { 1 + rng.below(3) };
    for _ in 0..edits {
        let i = rng.below(out.len() as u64 + 1) as usize;
        match rng.below(3) {
            0 if i < out.len() => out[i] = rng.next() as u8,
            1 => out.insert(i, *rng.pick(b"\r\n :/\0\xff")),
            _ if i < out.len() => {
                out.remove(i);
            }
            _ => {}
        }
    }
    out
}

/// What `httpd::handle` answers to `input` followed by the end of the
/// stream: each response's status and whether it is a HEAD (no body).
fn expected(mut buf: &[u8]) -> Vec<(u16, bool)> {
    let mut out = Vec::new();
    loop {
        match parse(buf) {
            Parse::Complete(req, used) => {
                let status = match (req.method, req.path) {
                    ("GET" | "HEAD", "/" | "/health") => 200,
                    ("GET" | "HEAD", _) => 404,
                    _ => 405,
                };
                let rest = &buf[used..];
                if rest.len() < req.content_length {
                    return out; // the body never comes: no response
                }
                out.push((status, req.method == "HEAD"));
                if !req.keep_alive {
                    return out;
                }
                buf = &rest[req.content_length..];
            }
            Parse::Error(status) => {
                out.push((status, false));
                return out;
            }
            Parse::Incomplete => return out,
        }
    }
}

/// The statuses in a stream of responses, given which were to HEAD requests.
fn statuses(mut stream: &[u8], heads: &[bool]) -> Vec<u16> {
    let mut out = Vec::new();
    for &head_only in heads {
        let Some(end) = stream.windows(4).position(|w| w == b"\r\n\r\n") else { break };
        let head = std::str::from_utf8(&stream[..end]).expect("an ASCII response head");
        out.push(head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status"));
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|v| v.parse().ok())
            .expect("Content-Length");
        stream = &stream[end + 4 + if head_only { 0 } else { len }..];
    }
    assert!(stream.is_empty(), "bytes after the last expected response: {:?}", String::from_utf8_lossy(stream));
    out
}

#[test]
fn httpd_answers_random_requests_as_its_parser_says() {
    let seed = rng::seed("FUZZ_SEED");
    let mut rng = Rng::new(seed);
    let port = free_port();
    let mut server = boot_server("httpd", vec![Forward::tcp(port, boot::HTTP_GUEST_PORT)]);
    server.wait_for_line("httpd: listening on port 80", 120);
    let (mut answered, mut bad) = (0, 0);
    for round in 0..rounds(60) {
        let input = http_input(&mut rng);
        let want = expected(&input);
        let mut s = connect(port);
        // The server may close before reading everything (after a 4xx):
        // a failed write is then expected, the answer is still there.
        let _ = s.write_all(&input);
        let _ = s.shutdown(Shutdown::Write);
        let mut got = Vec::new();
        if let Err(e) = s.read_to_end(&mut got) {
            assert!(e.kind() == std::io::ErrorKind::ConnectionReset, "round {round}: reading: {e}");
        }
        let heads: Vec<bool> = want.iter().map(|&(_, h)| h).collect();
        let want: Vec<u16> = want.iter().map(|&(s, _)| s).collect();
        assert_eq!(
            statuses(&got, &heads),
            want,
            "round {round} (FUZZ_SEED={seed}): request {:?}",
            String::from_utf8_lossy(&input)
        );
        answered += want.len();
        bad += want.iter().filter(|&&s| [400, 413, 431, 501, 505].contains(&s)).count();
    }
    eprintln!("fuzz_net: httpd answered {answered} responses as predicted ({bad} parse errors)");
    assert!(server.is_running(), "the kernel stopped while serving");
    let c = server.stop();
    assert!(!c.serial.contains("panic"), "the kernel panicked");
}

#[test]
fn echo_returns_random_streams_and_datagrams() {
    let seed = rng::seed("FUZZ_SEED");
    let mut rng = Rng::new(seed);
    let port = free_port();
    let mut server =
        boot_server("echo", vec![Forward::tcp(port, boot::ECHO_GUEST_PORT), Forward::udp(port, boot::ECHO_GUEST_PORT)]);
    server.wait_for_line("echo: listening on tcp and udp port 7", 120);

    // TCP: chunks of 1 byte to 64 KiB, written by one thread while this one
    // reads, so that neither side's buffers can fill up and stop both.
    let chunks: Vec<Vec<u8>> = (0..rounds(60))
        .map(|_| {
            let max = *rng.pick(&[16u64, 1500, 65536]);
            let len = 1 + rng.below(max) as usize;
            rng.bytes(len)
        })
        .collect();
    let sent: Vec<u8> = chunks.concat();
    let mut s = connect(port);
    let mut w = s.try_clone().unwrap();
    let writer = thread::spawn(move || {
        for c in &chunks {
            w.write_all(c).expect("write to echo");
        }
    });
    let mut got = vec![0u8; sent.len()];
    s.read_exact(&mut got).unwrap_or_else(|e| panic!("FUZZ_SEED={seed}: reading the echo: {e}"));
    writer.join().unwrap();
    assert!(got == sent, "FUZZ_SEED={seed}: the TCP echo differs from what was sent");

    // UDP: datagrams of 1..=1472 bytes (one Ethernet frame), each retried if lost.
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let datagrams = rounds(60) / 2;
    for i in 0..datagrams {
        let len = 1 + rng.below(1472) as usize;
        let msg = rng.bytes(len);
        let mut echoed = false;
        for _ in 0..5 {
            udp.send_to(&msg, ("127.0.0.1", port)).unwrap();
            let mut buf = [0u8; 2048];
            // A late echo of an earlier try of an earlier datagram is skipped.
            while let Ok((n, _)) = udp.recv_from(&mut buf) {
                if buf[..n] == msg[..] {
                    echoed = true;
                    break;
                }
            }
            if echoed {
                break;
            }
        }
        assert!(echoed, "FUZZ_SEED={seed}: datagram {i} ({} bytes) never echoed", msg.len());
    }
    eprintln!("fuzz_net: echo returned {} bytes over TCP and {datagrams} datagrams", sent.len());
    assert!(server.is_running(), "the kernel stopped while serving");
    let c = server.stop();
    assert!(!c.serial.contains("panic"), "the kernel panicked");
}
