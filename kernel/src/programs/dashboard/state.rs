//! `/api/sched`: the scheduler's state as JSON, everything the page's lanes
//! show, and `/api/goroutines`: the goroutines by state (the fields are
//! documented in docs/dashboard.md).

use alloc::string::String;
use core::fmt::{self, Display, Formatter, Write};

use super::super::http::query_numbers;
use super::{COST_GOROUTINES, COST_SCHED, COST_TRACE, JSON, Reply, TEXT, controls, cost};
use crate::runtime::{self, snapshot::{goroutine_states, snapshot}};

/// A number or JSON's `null`.
struct Opt<T>(Option<T>);

impl<T: Display> Display for Opt<T> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(v) => write!(f, "{v}"),
            None => f.write_str("null"),
        }
    }
}

/// Writes `items` as a JSON array, each with `item`.
fn array<T>(j: &mut String, items: impl IntoIterator<Item = T>, mut item: impl FnMut(&mut String, T)) {
    j.push('[');
    for (i, x) in items.into_iter().enumerate() {
        if i > 0 {
            j.push(',');
        }
        item(j, x);
    }
    j.push(']');
}

/// The answer to `GET /api/sched` or `/api/goroutines`: `json()`, if the
/// query is empty, as both take no parameters.
pub fn reply(query: &str, json: fn() -> String) -> Reply {
    match query_numbers(query, []) {
        Ok(_) => (200, JSON, json()),
        Err(message) => (400, TEXT, message + "\n"),
    }
}

/// The goroutines right now: their number, how many wait in the
/// netpoller, and the counts by state, as `[name, count]` pairs.
pub fn goroutines_json() -> String {
    let mut j = String::with_capacity(256);
    let _ = write!(j, "{{\"goroutines\":{},\"netpoll_waiters\":{},\"states\":", runtime::num_goroutine(), runtime::waiters());
    array(&mut j, goroutine_states(), |j, (name, n)| {
        let _ = write!(j, "[\"{name}\",{n}]");
    });
    j.push('}');
    j
}

/// The state right now, as one JSON object.
pub fn json() -> String {
    let s = snapshot();
    let mut j = String::with_capacity(4096);
    let _ = write!(
        j,
        "{{\"nanotime\":{},\"tsc\":{},\"tsc_hz\":{},\"gomaxprocs\":{},\"ncpu\":{},\"goroutines\":{},\"globrunq\":{},\
         \"npidle\":{},\"nmspinning\":{},\"nmidle\":{},\"netpoll_waiters\":{},\"hogs\":{},\"ps\":",
        s.nanotime,
        s.tsc,
        s.tsc_hz,
        s.gomaxprocs,
        s.ms.len(),
        s.goroutines,
        s.globrunq,
        s.npidle,
        s.nmspinning,
        s.nmidle,
        s.netpoll_waiters,
        controls::hogs_running(),
    );
    array(&mut j, &s.ps, |j, p| {
        let _ = write!(
            j,
            "{{\"id\":{},\"status\":\"{}\",\"m\":{},\"curg\":{},\"slice_ns\":{},\"runnext\":{},\"runqsize\":{},\"runq\":",
            p.id,
            p.status,
            Opt(p.m),
            Opt(p.curg),
            p.slice_ns,
            Opt(p.runnext),
            p.runqsize
        );
        array(j, &p.runq, |j, g| {
            let _ = write!(j, "{g}");
        });
        let _ = write!(
            j,
            ",\"timers\":{},\"schedtick\":{},\"runs\":{},\"steals\":{},\"preempts\":{},\"handoffs\":{}}}",
            p.timers, p.schedtick, p.runs, p.steals, p.preempts, p.handoffs
        );
    });
    j.push_str(",\"ms\":");
    array(&mut j, &s.ms, |j, m| {
        let _ = write!(
            j,
            "{{\"id\":{},\"p\":{},\"curg\":{},\"spinning\":{},\"idle\":{}}}",
            m.id,
            Opt(m.p),
            Opt(m.curg),
            m.spinning,
            m.blocked
        );
    });
    j.push_str(",\"cost\":{");
    for (i, (name, which)) in [("sched", COST_SCHED), ("trace", COST_TRACE), ("goroutines", COST_GOROUTINES)].into_iter().enumerate() {
        let (us, calls) = cost(which);
        let sep = if i == 0 { "" } else { "," };
        let _ = write!(j, "{sep}\"{name}_calls\":{calls},\"{name}_us\":{us:.1}");
    }
    j.push_str("}}");
    j
}
