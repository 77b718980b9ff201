//! `/api/trace?since=TSC`: the execution trace's events after `since`, as
//! JSON, for the page's timeline.
//!
//! The trace runs only while someone looks: the first request turns the
//! continuous trace on (`trace::start_continuous`: a ring per core), and a
//! runtime timer turns it off again once no request has come for
//! [`IDLE_OFF_NS`]. A kernel whose dashboard is closed records nothing.
//! (If a request races the timer that turns the trace off, the next
//! request, 100 ms later, turns it back on.)

use alloc::format;
use alloc::string::String;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::super::http::query_numbers;
use super::{JSON, Reply};
use crate::arch::time::{nanotime, rdtsc, tsc_hz};
use crate::runtime::{time, trace};

/// The most events one answer carries (the oldest after `since`; `more`
/// says that newer ones wait for the next request, from the last event's
/// timestamp). About 15 bytes each in JSON.
pub const MAX_EVENTS: usize = 5000;

/// How long the trace stays on after the last request, and how often the
/// timer looks.
const IDLE_OFF_NS: u64 = 3_000_000_000;
const WATCH_NS: u64 = 1_000_000_000;

/// When the last request came (nanotime), and whether the timer runs.
static LAST_REQUEST: AtomicU64 = AtomicU64::new(0);
static WATCHING: AtomicBool = AtomicBool::new(false);

/// The timer's function: turns the trace off after [`IDLE_OFF_NS`] without
/// a request, or looks again in [`WATCH_NS`].
fn watch(_: usize) {
    let now = nanotime();
    if now.saturating_sub(LAST_REQUEST.load(Ordering::Relaxed)) > IDLE_OFF_NS {
        trace::stop_continuous();
        WATCHING.store(false, Ordering::Relaxed);
    } else {
        time::start_timer(now + WATCH_NS, watch, 0);
    }
}

/// The answer, or an error status and message. The events are arrays
/// `[dt, kind, p, aux, arg]`, `dt` in TSC ticks after the previous event
/// (after `t0` for the first): small numbers, so a short answer.
pub fn json(query: &str) -> Result<Reply, (u16, String)> {
    let [since] = query_numbers(query, ["since"]).map_err(|m| (400, m))?;
    let since = since.ok_or((400, String::from("since= is required: a TSC value (/api/sched's \"tsc\")")))?;
    let now = rdtsc();
    // A second of slack: the cores' TSCs may differ a little.
    if since > now + tsc_hz() {
        return Err((400, format!("since={since} is in the future (now {now})")));
    }
    LAST_REQUEST.store(nanotime(), Ordering::Relaxed);
    trace::start_continuous().map_err(|m| (503, m))?;
    if !WATCHING.swap(true, Ordering::Relaxed) {
        time::start_timer(nanotime() + WATCH_NS, watch, 0);
    }
    let (events, more) = trace::events_since(since, MAX_EVENTS);
    let t0 = events.first().map_or(since, |e| e.tsc);
    let mut j = String::with_capacity(96 + events.len() * 16);
    let head = [
        (",\"tsc_hz\":", tsc_hz()),
        (",\"recording_since\":", trace::recording_since()),
        (if more { ",\"more\":true,\"t0\":" } else { ",\"more\":false,\"t0\":" }, t0),
    ];
    j.push_str("{\"now\":");
    j.push_str(Digits::new(now).as_str());
    for (key, value) in head {
        j.push_str(key);
        j.push_str(Digits::new(value).as_str());
    }
    j.push_str(",\"events\":[");
    let mut prev = t0;
    for (i, e) in events.iter().enumerate() {
        // One event is formatted in a buffer on the stack and appended once.
        let mut buf = [0u8; 5 * 21 + 3];
        let mut n = 0;
        buf[n] = if i == 0 { b'[' } else { b',' };
        n += 1;
        if i > 0 {
            buf[n] = b'[';
            n += 1;
        }
        for (k, v) in [e.tsc - prev, e.kind as u64, e.p as u64, e.aux as u64, e.arg as u64].into_iter().enumerate() {
            if k > 0 {
                buf[n] = b',';
                n += 1;
            }
            let d = Digits::new(v);
            buf[n..n + d.len()].copy_from_slice(d.as_bytes());
            n += d.len();
        }
        buf[n] = b']';
        n += 1;
        // The buffer holds ASCII only.
        j.push_str(core::str::from_utf8(&buf[..n]).unwrap_or(""));
        prev = e.tsc;
    }
    j.push_str("]}");
    Ok((200, JSON, j))
}

/// A number in decimal, written without `core::fmt`: the events are most
/// of the dashboard's bytes, and this is several times cheaper.
struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    fn new(mut v: u64) -> Digits {
        let mut d = Digits { buf: [0; 20], start: 20 };
        loop {
            d.start -= 1;
            d.buf[d.start] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                return d;
            }
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    fn len(&self) -> usize {
        self.buf.len() - self.start
    }

    fn as_str(&self) -> &str {
        // ASCII digits only.
        core::str::from_utf8(self.as_bytes()).unwrap_or("0")
    }
}
