//! `/api/trace?since=TSC`: the execution trace's events after `since`, as
//! JSON, for the page's timeline. The first request turns the continuous
//! trace on (`trace::start_continuous`: a ring per core), so a kernel whose
//! dashboard is never opened never pays for tracing.

use alloc::format;
use alloc::string::String;
use core::fmt::Write;

use super::super::http::query_numbers;
use super::{JSON, Reply};
use crate::arch::time::{rdtsc, tsc_hz};
use crate::runtime::trace;

/// The most events one answer carries (the newest; `truncated` says that
/// older ones were left out). About 30 bytes each in JSON.
pub const MAX_EVENTS: usize = 4000;

/// How far back a request without `since` looks: the page's first view.
const DEFAULT_WINDOW_S: u64 = 5;

/// The answer, or an error status and message.
pub fn json(query: &str) -> Result<Reply, (u16, String)> {
    let [since] = query_numbers(query, ["since"]).map_err(|m| (400, m))?;
    trace::start_continuous().map_err(|m| (503, m))?;
    let now = rdtsc();
    let since = since.unwrap_or(now.saturating_sub(DEFAULT_WINDOW_S * tsc_hz()));
    // A second of slack: the cores' TSCs may differ a little.
    if since > now + tsc_hz() {
        return Err((400, format!("since={since} is in the future (now {now})")));
    }
    let (events, truncated) = trace::events_since(since, MAX_EVENTS);
    let mut j = String::with_capacity(64 + events.len() * 32);
    let _ = write!(j, "{{\"now\":{now},\"tsc_hz\":{},\"truncated\":{truncated},\"events\":[", tsc_hz());
    for (i, e) in events.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(j, "{sep}[{},{},{},{},{}]", e.tsc, e.kind, e.p, e.aux, e.arg);
    }
    j.push_str("]}");
    Ok((200, JSON, j))
}
