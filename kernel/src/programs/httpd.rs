//! `PROG=httpd`: a small HTTP/1.1 server on port 80, one goroutine per
//! connection (keep-alive), as Go's `net/http` does. `/` is the live
//! dashboard (`dashboard/`: the page, its JSON endpoints and controls),
//! `/health` one line of counters. `N=` adds that many CPU-bound
//! goroutines, so that every P is busy while it serves.
//!
//! Robustness: at most [`MAX_CONNS`] connections are served at once (more
//! are answered 503 and closed at once, and counted); every buffer is
//! bounded (`http::MAX_HEADER`, `http::MAX_BODY`); a client that sends
//! nothing for [`READ_TIMEOUT_NS`] is dropped, so its goroutine ends.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::Args;
use super::dashboard;
use super::hog::spawn_hogs;
use super::http::{self, MAX_HEADER, Parse, split_query};
use super::reqpath::{self, Stamps};
use crate::net::{self, NetError, TcpListener, TcpStream};
use crate::runtime;

pub const PORT: u16 = 80;
/// Connections served at once.
pub const MAX_CONNS: usize = 100;
/// Connections that may be handshaking or waiting for `accept`.
const BACKLOG: usize = 128;
/// How long a read or write may wait before the connection is dropped.
pub const READ_TIMEOUT_NS: u64 = 5_000_000_000;

static ACTIVE: AtomicUsize = AtomicUsize::new(0);
static REFUSED: AtomicU64 = AtomicU64::new(0);
static REQUESTS: AtomicU64 = AtomicU64::new(0);
static BAD: AtomicU64 = AtomicU64::new(0);
static TIMEOUTS: AtomicU64 = AtomicU64::new(0);
/// Connections served to their end.
static CLOSED: AtomicU64 = AtomicU64::new(0);

pub fn main(args: &Args) -> Result<(), String> {
    serve(args.n.unwrap_or(0))
}

/// Serves HTTP on port 80 for ever (with `hogs` CPU-bound goroutines
/// running alongside). Returns only if the port cannot be served.
pub fn serve(hogs: u64) -> Result<(), String> {
    let mut listener =
        TcpListener::bind(PORT, BACKLOG).map_err(|e| format!("listen on tcp port {PORT}: {e}"))?;
    spawn_hogs(hogs);
    crate::println!(
        "httpd: listening on port {PORT} (max {MAX_CONNS} connections, hogs={hogs}); \
         the dashboard is at / (make run forwards the host port it printed above)"
    );
    loop {
        let mut conn = listener.accept().map_err(|e| format!("accept: {e}"))?;
        if ACTIVE.load(Ordering::Relaxed) >= MAX_CONNS {
            REFUSED.fetch_add(1, Ordering::Relaxed);
            conn.set_timeout(Some(READ_TIMEOUT_NS));
            let _ = conn.write_all(&http::response(503, "text/plain", b"too many connections\n", false, false));
            continue; // dropping `conn` closes it
        }
        ACTIVE.fetch_add(1, Ordering::Relaxed);
        runtime::go(move || {
            handle(conn);
            ACTIVE.fetch_sub(1, Ordering::Relaxed);
            CLOSED.fetch_add(1, Ordering::Release);
        });
    }
}

/// How many connections have been served to their end (`PROG=torture`
/// waits for its clients' with it).
pub(super) fn closed() -> u64 {
    CLOSED.load(Ordering::Acquire)
}

/// One connection: requests until the client closes, asks to close, errs
/// or stalls.
fn handle(mut conn: TcpStream) {
    conn.set_timeout(Some(READ_TIMEOUT_NS));
    let mut buf: Vec<u8> = Vec::with_capacity(MAX_HEADER + 1024);
    let mut chunk = [0u8; 1024];
    // Stamps of the request the last read completed (`reqpath.rs`).
    let mut stamps: Option<Stamps> = None;
    loop {
        let (reply, keep_alive, used, body) = match http::parse(&buf) {
            Parse::Complete(req, used) => {
                REQUESTS.fetch_add(1, Ordering::Relaxed);
                let (status, kind, page) = route(req.method, req.path);
                let head_only = req.method == "HEAD";
                (http::response(status, kind, page.as_bytes(), req.keep_alive, head_only), req.keep_alive, used, req.content_length)
            }
            Parse::Error(status) => {
                BAD.fetch_add(1, Ordering::Relaxed);
                let _ = conn.write_all(&http::response(status, "text/plain", http::reason(status).as_bytes(), false, false));
                return;
            }
            Parse::Incomplete => {
                match conn.read(&mut chunk) {
                    Ok(0) | Err(NetError::ConnectionReset | NetError::Closed) => return,
                    Ok(n) => {
                        stamps = Some(Stamps::woke());
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    Err(_) => {
                        TIMEOUTS.fetch_add(1, Ordering::Relaxed);
                        if !buf.is_empty() {
                            let _ = conn.write_all(&http::response(408, "text/plain", b"Request Timeout", false, false));
                        }
                        return;
                    }
                }
                continue;
            }
        };
        if let Some(s) = &mut stamps {
            s.built();
        }
        // Consume the head and the (discarded) body.
        buf.drain(..used);
        let mut body_left = body;
        let now = body_left.min(buf.len());
        buf.drain(..now);
        body_left -= now;
        while body_left > 0 {
            match conn.read(&mut chunk[..body_left.min(1024)]) {
                Ok(n @ 1..) => body_left -= n,
                _ => return,
            }
        }
        if conn.write_all(&reply).is_err() || !keep_alive {
            return;
        }
        if let Some(s) = stamps.take() {
            s.sent();
        }
    }
}

/// The answer to a request for `target` (path and query).
fn route(method: &str, target: &str) -> (u16, &'static str, String) {
    if let Some(reply) = dashboard::route(method, target) {
        return reply;
    }
    if method != "GET" && method != "HEAD" {
        return (405, "text/plain", String::from("Method Not Allowed\n"));
    }
    match split_query(target).0 {
        "/" => (200, "text/html; charset=utf-8", dashboard::page(&first_frame())),
        "/health" => (200, "text/plain", health()),
        _ => (404, "text/plain", String::from("Not Found\n")),
    }
}

/// `/health`: one line of `key=value` counters.
fn health() -> String {
    let n = net::stats();
    format!(
        "ok goroutines={} gomaxprocs={} io_wait={} active={} max_conns={MAX_CONNS} refused={} accepted={} \
         requests={} bad={} timeouts={} tcp_sockets={} interrupts={} polls={} netpoll_preempts={} \
         irq_wait_p50_us={} irq_wait_p99_us={} req_p50_us={} req_p99_us={}{}\n",
        runtime::num_goroutine(),
        runtime::gomaxprocs(),
        runtime::waiters(),
        ACTIVE.load(Ordering::Relaxed),
        REFUSED.load(Ordering::Relaxed),
        n.accepted,
        REQUESTS.load(Ordering::Relaxed),
        BAD.load(Ordering::Relaxed),
        TIMEOUTS.load(Ordering::Relaxed),
        n.tcp_sockets,
        n.interrupts,
        n.polls,
        n.netpoll_preempts,
        n.irq_wait_p50_us,
        n.irq_wait_p99_us,
        reqpath::request_quantile_us(0.5),
        reqpath::request_quantile_us(0.99),
        reqpath::FIELDS.iter().zip(reqpath::last()).map(|(k, v)| format!(" {k}={v}")).collect::<String>(),
    )
}

/// The dashboard's first frame, as text (what `curl /` shows, and what a
/// browser shows until the page's script runs): who served it, the
/// schedtrace line, each P's counters, `/health` and the totals.
fn first_frame() -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "This page was served by goroutine {} of {} (GOMAXPROCS={}); {} goroutines wait in the netpoller (IO wait).\n{}",
        runtime::goid(),
        runtime::num_goroutine(),
        runtime::gomaxprocs(),
        runtime::waiters(),
        runtime::schedtrace().trim_end(),
    );
    let stats: Vec<_> = runtime::p_stats().collect();
    for (i, s) in stats.iter().enumerate() {
        let _ = writeln!(t, "P{i}: runs={} steals={} preempts={} handoffs={}", s.runs, s.steals, s.preempts, s.handoffs);
    }
    let _ = write!(
        t,
        "{}\nsteals={} preemptions={}",
        health().trim_end(),
        stats.iter().map(|s| s.steals).sum::<u64>(),
        stats.iter().map(|s| s.preempts).sum::<u64>()
    );
    t
}
