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

/// The most events one answer carries (the oldest after `since`; `more`
/// says that newer ones wait for the next request, from the last event's
/// timestamp). About 30 bytes each in JSON.
pub const MAX_EVENTS: usize = 4000;

/// The answer, or an error status and message.
pub fn json(query: &str) -> Result<Reply, (u16, String)> {
    let [since] = query_numbers(query, ["since"]).map_err(|m| (400, m))?;
    let since = since.ok_or((400, String::from("since= is required: a TSC value (/api/sched's \"tsc\")")))?;
    trace::start_continuous().map_err(|m| (503, m))?;
    let now = rdtsc();
    // A second of slack: the cores' TSCs may differ a little.
    if since > now + tsc_hz() {
        return Err((400, format!("since={since} is in the future (now {now})")));
    }
    let (events, more) = trace::events_since(since, MAX_EVENTS);
    let mut j = String::with_capacity(64 + events.len() * 32);
    let _ = write!(j, "{{\"now\":{now},\"tsc_hz\":{},\"more\":{more},\"events\":[", tsc_hz());
    for (i, e) in events.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(j, "{sep}[{},{},{},{},{}]", e.tsc, e.kind, e.p, e.aux, e.arg);
    }
    j.push_str("]}");
    Ok((200, JSON, j))
}
