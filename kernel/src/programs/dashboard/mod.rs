//! The live dashboard: a page at `/` of httpd, served by the kernel
//! through its own netpoller, that shows the scheduler while it runs and
//! lets the user poke it. docs/dashboard.md describes the page and the
//! endpoints:
//!
//! | request | answer |
//! |---|---|
//! | `GET /` | the page ([`page`]: `page.html`, with inline CSS and JavaScript and no other resource; httpd serves it) |
//! | `GET /api/sched` | the scheduler's state as JSON ([`state`]) |
//! | `GET /api/goroutines` | the goroutines by state, as JSON |
//! | `GET /api/trace?since=TSC` | the execution trace's events after `since` ([`events`]) |
//! | `POST /api/burst?n=&work=&sleep_ms=&wait=` | spawn a burst on one P ([`controls`]) |
//! | `POST /api/hogs?n=` | run exactly `n` CPU hogs |
//! | `POST /api/gomaxprocs?n=` | change GOMAXPROCS |
//! | `GET /api/dump` | the goroutine dump (Ctrl-\\'s), as text |
//!
//! A malformed or unknown request gets a 4xx with a one-line reason; a
//! control out of its bounds gets 400 and says which bound.

mod controls;
mod events;
mod state;

use alloc::format;
use alloc::string::String;
use core::sync::atomic::{AtomicU64, Ordering};

use super::http::split_query;
use crate::arch::time::{rdtsc, tsc_hz};
use crate::runtime;

/// The page, with [`FIRST_FRAME`] where the server puts a text picture of
/// the scheduler (for a browser without JavaScript, and for `curl`).
const PAGE: &str = include_str!("page.html");
const FIRST_FRAME: &str = "<!--FIRST-FRAME-->";

/// The page, carrying `first_frame` (plain text, put in a `<pre>`; it
/// must not contain `<` or `&`).
pub fn page(first_frame: &str) -> String {
    PAGE.replacen(FIRST_FRAME, first_frame, 1)
}

/// An answer: status, content type, body.
pub type Reply = (u16, &'static str, String);

const JSON: &str = "application/json";
const TEXT: &str = "text/plain; charset=utf-8";

/// What building the answers to `/api/sched`, `/api/trace` and
/// `/api/goroutines` cost the kernel so far: calls and TSC ticks (the
/// dashboard shows its own cost).
static COST: [(AtomicU64, AtomicU64); 3] = [const { (AtomicU64::new(0), AtomicU64::new(0)) }; 3];
const COST_SCHED: usize = 0;
const COST_TRACE: usize = 1;
const COST_GOROUTINES: usize = 2;

/// Runs `f`, adding its duration to `COST[which]`. With preemption off, so
/// that the figure is the time spent building the answer, not time the
/// handler spent descheduled (interrupts still count).
fn costed(which: usize, f: impl FnOnce() -> Reply) -> Reply {
    let start = rdtsc();
    let reply = runtime::without_preemption(f);
    COST[which].0.fetch_add(1, Ordering::Relaxed);
    COST[which].1.fetch_add(rdtsc() - start, Ordering::Relaxed);
    reply
}

/// Average microseconds per call of `COST[which]`, and the number of calls.
fn cost(which: usize) -> (f64, u64) {
    let calls = COST[which].0.load(Ordering::Relaxed);
    let ticks = COST[which].1.load(Ordering::Relaxed);
    (ticks as f64 * 1e6 / tsc_hz().max(1) as f64 / calls.max(1) as f64, calls)
}

/// The answer to `method target` if it is one of the dashboard's
/// endpoints, `None` for any other path (httpd answers those, and `/`).
pub fn route(method: &str, target: &str) -> Option<Reply> {
    let (path, query) = split_query(target);
    let (get, post) = (method == "GET" || method == "HEAD", method == "POST");
    let bad = |status, message: String| Some((status, TEXT, message + "\n"));
    let reply = match path {
        "/api/sched" if get => costed(COST_SCHED, || state::reply(query, state::json)),
        "/api/goroutines" if get => costed(COST_GOROUTINES, || state::reply(query, state::goroutines_json)),
        "/api/trace" if get => costed(COST_TRACE, || events::json(query).unwrap_or_else(|(status, m)| (status, TEXT, m + "\n"))),
        "/api/dump" if get => controls::dump(query),
        "/api/burst" if post => controls::burst(query),
        "/api/hogs" if post => controls::hogs(query),
        "/api/gomaxprocs" if post => controls::gomaxprocs(query),
        "/api/sched" | "/api/goroutines" | "/api/trace" | "/api/dump" | "/api/burst" | "/api/hogs" | "/api/gomaxprocs" => {
            return bad(405, format!("{method} is not allowed on {path}"));
        }
        p if p.starts_with("/api/") => return bad(404, format!("no endpoint {p}")),
        _ => return None,
    };
    Some(reply)
}
