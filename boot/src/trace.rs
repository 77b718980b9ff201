//! The execution trace on the host: reads what the kernel sent on COM2
//! (`kernel/src/runtime/trace.rs` documents the format) and draws it as
//!
//! - a Chrome Trace Event JSON file, which Perfetto (<https://ui.perfetto.dev>)
//!   and `chrome://tracing` open: one track per P, one slice per goroutine
//!   run, instant events for steals, system calls, timers, ..., and arrows
//!   from the goroutine that unblocked another to where that one runs next;
//! - a self-contained SVG timeline, one row per P, with the steals drawn
//!   as arrows from the victim's row to the thief's.

use std::collections::HashMap;
use std::fmt::Write;

/// The kinds of event, numbered as in the kernel's `trace::Ev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    GoCreate,
    GoStart,
    GoEnd,
    GoBlock,
    GoUnblock,
    GoSched,
    GoPreempt,
    Steal,
    SyscallEnter,
    SyscallExit,
    ProcStart,
    ProcStop,
    Handoff,
    TimerFire,
    NetpollWake,
    Mark,
}

impl Kind {
    fn from_u8(v: u8) -> Option<Kind> {
        use Kind::*;
        const ALL: [Kind; 16] = [
            GoCreate, GoStart, GoEnd, GoBlock, GoUnblock, GoSched, GoPreempt, Steal, SyscallEnter, SyscallExit,
            ProcStart, ProcStop, Handoff, TimerFire, NetpollWake, Mark,
        ];
        ALL.get((v as usize).checked_sub(1)?).copied()
    }
}

/// One event. `p` is `None` for events without a P (a G leaving a system
/// call with no P to run on). What `aux` and `arg` mean depends on the
/// kind: the goroutine id in `arg` for the `Go*`, `Syscall*` and
/// `NetpollWake` events; victim P (`aux`) and count (`arg`) for a steal;
/// the wait reason (`aux`) for a block; the program's value for a mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub tsc: u64,
    pub cpu: u32,
    pub kind: Kind,
    pub p: Option<u32>,
    pub aux: u16,
    pub arg: u32,
}

/// A decoded trace; events sorted by time.
#[derive(Debug, Clone)]
pub struct Trace {
    pub tsc_hz: u64,
    pub ncpu: u32,
    pub gomaxprocs: u32,
    /// The kernel's wait reasons, by number.
    pub wait_reasons: Vec<String>,
    pub events: Vec<Event>,
    /// Events claimed but not recorded (a buffer filled up, or a writer
    /// was caught mid-event by the end of the run).
    pub lost: u64,
}

/// Why a goroutine's run on a P ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    Exit,
    Block(String),
    Yield,
    Preempted,
    Syscall,
    /// The P went idle or another run started without a stop event, or
    /// the trace ended.
    Other,
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Exit => f.write_str("exited"),
            End::Block(reason) => write!(f, "blocked: {reason}"),
            End::Yield => f.write_str("yielded"),
            End::Preempted => f.write_str("preempted"),
            End::Syscall => f.write_str("system call"),
            End::Other => f.write_str("end of trace"),
        }
    }
}

/// A goroutine in a system call from `start` to `end` (TSC ticks), having
/// left P `p`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syscall {
    pub p: u32,
    pub goid: u32,
    pub start: u64,
    pub end: u64,
}

/// A goroutine running on a P from `start` to `end` (TSC ticks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    pub p: u32,
    pub goid: u32,
    pub start: u64,
    pub end: u64,
    pub why: End,
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| {
            format!(
                "the trace ends early, at byte {} of {} (did the run end before the kernel flushed it?)",
                self.at,
                self.bytes.len()
            )
        })?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
}

/// Decodes what the kernel wrote on COM2.
pub fn parse(bytes: &[u8]) -> Result<Trace, String> {
    if bytes.is_empty() {
        return Err("the trace is empty: the kernel sent nothing on COM2 (was it run with GODEBUG=trace=1, \
                    and did the program return?)"
            .into());
    }
    let mut r = Reader { bytes, at: 0 };
    if r.take(8)? != b"GMPOSTRC" {
        return Err("not a gmpos trace (no GMPOSTRC header)".into());
    }
    let version = r.u32()?;
    if version != 1 {
        return Err(format!("trace format version {version}; this tool reads version 1"));
    }
    let ncpu = r.u32()?;
    let gomaxprocs = r.u32()?;
    r.u32()?;
    let tsc_hz = r.u64()?;
    if tsc_hz == 0 {
        return Err("the trace's TSC frequency is 0".into());
    }
    let nreasons = r.u32()?;
    let mut wait_reasons = Vec::new();
    for _ in 0..nreasons {
        let len = r.u8()? as usize;
        wait_reasons.push(String::from_utf8_lossy(r.take(len)?).into_owned());
    }
    let mut events = Vec::new();
    let mut lost = 0;
    for _ in 0..ncpu {
        let cpu = r.u32()?;
        r.u32()?;
        let mut written = 0u64;
        loop {
            let tsc = r.u64()?;
            let word = r.u64()?;
            if tsc == 0 && word == 0 {
                break;
            }
            let kind = Kind::from_u8(word as u8).ok_or_else(|| format!("unknown event kind {}", word as u8))?;
            let p = (word >> 8) as u8;
            events.push(Event {
                tsc,
                cpu,
                kind,
                p: (p != 0xff).then_some(p as u32),
                aux: (word >> 16) as u16,
                arg: (word >> 32) as u32,
            });
            written += 1;
        }
        let claimed = r.u64()?;
        let written_by_kernel = r.u64()?;
        if written != written_by_kernel {
            return Err(format!("cpu {cpu}: {written} events read, the kernel says it wrote {written_by_kernel}"));
        }
        lost += claimed.saturating_sub(written);
    }
    if r.take(8)? != b"GMPOSEND" {
        return Err("the trace has no GMPOSEND trailer".into());
    }
    events.sort_by_key(|e| e.tsc);
    Ok(Trace { tsc_hz, ncpu, gomaxprocs, wait_reasons, events, lost })
}

impl Trace {
    /// Microseconds from the first event.
    pub fn micros(&self, tsc: u64) -> f64 {
        let t0 = self.events.first().map_or(0, |e| e.tsc);
        tsc.saturating_sub(t0) as f64 * 1e6 / self.tsc_hz as f64
    }

    fn reason(&self, n: u16) -> String {
        self.wait_reasons.get(n as usize).cloned().unwrap_or_else(|| format!("wait reason {n}"))
    }

    /// The goroutine runs, P by P: a run starts when a P starts a G (or a G
    /// back from a system call takes a P) and ends when it exits, blocks,
    /// yields, is preempted or enters a system call.
    pub fn slices(&self) -> Vec<Slice> {
        let mut open: HashMap<u32, (u32, u64)> = HashMap::new();
        let mut out = Vec::new();
        let mut close = |open: &mut HashMap<u32, (u32, u64)>, p: u32, end: u64, why: End, goid: Option<u32>| {
            if let Some(&(g, start)) = open.get(&p) {
                if goid.is_none_or(|id| id == g) {
                    open.remove(&p);
                    out.push(Slice { p, goid: g, start, end, why });
                }
            }
        };
        for e in &self.events {
            let Some(p) = e.p else { continue };
            match e.kind {
                Kind::GoStart | Kind::SyscallExit => {
                    close(&mut open, p, e.tsc, End::Other, None);
                    open.insert(p, (e.arg, e.tsc));
                }
                Kind::GoEnd => close(&mut open, p, e.tsc, End::Exit, Some(e.arg)),
                Kind::GoBlock => close(&mut open, p, e.tsc, End::Block(self.reason(e.aux)), Some(e.arg)),
                Kind::GoSched => close(&mut open, p, e.tsc, End::Yield, Some(e.arg)),
                Kind::GoPreempt => close(&mut open, p, e.tsc, End::Preempted, Some(e.arg)),
                Kind::SyscallEnter => close(&mut open, p, e.tsc, End::Syscall, Some(e.arg)),
                Kind::ProcStop => close(&mut open, p, e.tsc, End::Other, None),
                _ => {}
            }
        }
        let last = self.events.last().map_or(0, |e| e.tsc);
        let mut rest: Vec<u32> = open.keys().copied().collect();
        rest.sort();
        for p in rest {
            close(&mut open, p, last, End::Other, None);
        }
        out.sort_by_key(|s| (s.start, s.p));
        out
    }

    /// The system calls: from a goroutine's SyscallEnter to its SyscallExit
    /// (or the end of the trace).
    pub fn syscalls(&self) -> Vec<Syscall> {
        let mut open: HashMap<u32, (u32, u64)> = HashMap::new();
        let mut out = Vec::new();
        for e in &self.events {
            match (e.kind, e.p) {
                (Kind::SyscallEnter, Some(p)) => {
                    open.insert(e.arg, (p, e.tsc));
                }
                (Kind::SyscallExit, _) => {
                    if let Some((p, start)) = open.remove(&e.arg) {
                        out.push(Syscall { p, goid: e.arg, start, end: e.tsc });
                    }
                }
                _ => {}
            }
        }
        let last = self.events.last().map_or(0, |e| e.tsc);
        out.extend(open.into_iter().map(|(goid, (p, start))| Syscall { p, goid, start, end: last }));
        out.sort_by_key(|s| s.start);
        out
    }

    /// The trace as Chrome Trace Event JSON (see the module comment).
    pub fn chrome_json(&self, title: &str) -> String {
        let mut j = String::from("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
        // Lanes: pid 1, one tid per P (tid = P + 1: Perfetto dislikes 0).
        let _ = write!(j, "{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{{\"name\":{}}}}}", json_str(title));
        // Events that happen without a P (a goroutine back from a system
        // call with no P free, the netpoller run by sysmon) get a lane of
        // their own after the Ps', when there are any.
        let no_p = self.gomaxprocs + 1;
        let lanes = self.gomaxprocs + self.events.iter().any(|e| e.p.is_none()) as u32;
        for p in 0..lanes {
            let tid = p + 1;
            let name = if tid == no_p { "no P".to_string() } else { format!("P{p}") };
            let _ = write!(
                j,
                ",\n{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":{tid},\"args\":{{\"name\":\"{name}\"}}}}\
                 ,\n{{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":{tid},\"args\":{{\"sort_index\":{p}}}}}"
            );
        }
        for s in self.slices() {
            let _ = write!(
                j,
                ",\n{{\"name\":\"G{}\",\"cat\":\"goroutine\",\"ph\":\"X\",\"pid\":1,\"tid\":{},\"ts\":{:.3},\"dur\":{:.3},\"args\":{{\"goid\":{},\"ended\":{}}}}}",
                s.goid,
                s.p + 1,
                self.micros(s.start),
                self.micros(s.end) - self.micros(s.start),
                s.goid,
                json_str(&s.why.to_string())
            );
        }
        // System calls as async spans (they overlap the runs on the P the
        // goroutine left, so they cannot be slices on its track).
        for (n, sc) in self.syscalls().iter().enumerate() {
            for (ph, tsc) in [("b", sc.start), ("e", sc.end)] {
                let _ = write!(
                    j,
                    ",\n{{\"name\":\"syscall G{}\",\"cat\":\"syscall\",\"ph\":\"{ph}\",\"id\":{n},\"pid\":1,\"tid\":{},\"ts\":{:.3}}}",
                    sc.goid,
                    sc.p + 1,
                    self.micros(tsc)
                );
            }
        }
        // Instant events, and an arrow from each unblock to the woken G's
        // next start (flow events "s"/"f", as Go's own trace viewer emits).
        let mut pending_unblock: HashMap<u32, (u32, u64)> = HashMap::new();
        let mut flow_id = 0u64;
        for e in &self.events {
            let tid = e.p.map_or(no_p, |p| p + 1);
            let ts = self.micros(e.tsc);
            let name = match e.kind {
                Kind::Steal => format!("steal {} from P{}", e.arg, e.aux),
                Kind::GoCreate => format!("go G{}", e.arg),
                Kind::GoUnblock => {
                    pending_unblock.insert(e.arg, (tid, e.tsc));
                    format!("unblock G{}", e.arg)
                }
                Kind::GoStart => {
                    if let Some((from, at)) = pending_unblock.remove(&e.arg) {
                        flow_id += 1;
                        let _ = write!(
                            j,
                            ",\n{{\"name\":\"unblock\",\"cat\":\"unblock\",\"ph\":\"s\",\"id\":{flow_id},\"pid\":1,\"tid\":{from},\"ts\":{:.3}}}\
                             ,\n{{\"name\":\"unblock\",\"cat\":\"unblock\",\"ph\":\"f\",\"bp\":\"e\",\"id\":{flow_id},\"pid\":1,\"tid\":{tid},\"ts\":{ts:.3}}}",
                            self.micros(at)
                        );
                    }
                    continue;
                }
                Kind::GoPreempt => format!("preempt G{}", e.arg),
                Kind::SyscallEnter => format!("syscall G{}", e.arg),
                Kind::SyscallExit => format!("syscall exit G{}", e.arg),
                Kind::Handoff => "handoff (sysmon took the P)".to_string(),
                Kind::ProcStart => "P starts".to_string(),
                Kind::ProcStop => "P idle".to_string(),
                Kind::TimerFire => "timer".to_string(),
                Kind::NetpollWake => format!("netpoll wakes G{}", e.arg),
                Kind::Mark => format!("mark {}", e.arg),
                Kind::GoEnd | Kind::GoBlock | Kind::GoSched => continue,
            };
            let _ = write!(
                j,
                ",\n{{\"name\":{},\"cat\":\"{:?}\",\"ph\":\"i\",\"s\":\"t\",\"pid\":1,\"tid\":{tid},\"ts\":{ts:.3}}}",
                json_str(&name),
                e.kind
            );
        }
        j.push_str("\n]}\n");
        j
    }

    /// The trace as an SVG timeline (see the module comment). Runs narrower
    /// than a pixel are merged with their neighbours into one bar, whose
    /// tooltip says how many runs it holds.
    pub fn svg(&self, title: &str) -> String {
        const WIDTH: f64 = 1200.0;
        const LEFT: f64 = 50.0;
        const TOP: f64 = 40.0;
        const ROW: f64 = 30.0;
        const BAR: f64 = 20.0;
        let plot = WIDTH - LEFT - 10.0;
        let end_us = self.events.last().map_or(0.0, |e| self.micros(e.tsc)).max(1.0);
        let x = |us: f64| LEFT + us / end_us * plot;
        let rows = self.gomaxprocs as f64;
        let height = TOP + rows * ROW + 60.0;
        let mut s = String::new();
        let _ = write!(
            s,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
             viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n\
             <title>{}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
             <text x=\"{LEFT}\" y=\"14\" font-size=\"13\">{}</text>\n",
            xml(title),
            xml(title)
        );
        // Time axis: ten ticks.
        for i in 0..=10 {
            let us = end_us * i as f64 / 10.0;
            let label = if end_us >= 10_000.0 { format!("{:.1} ms", us / 1000.0) } else { format!("{us:.0} µs") };
            let _ = write!(
                s,
                "<line x1=\"{0:.1}\" y1=\"{1}\" x2=\"{0:.1}\" y2=\"{2}\" stroke=\"#ddd\"/>\
                 <text x=\"{0:.1}\" y=\"{3}\" text-anchor=\"middle\" fill=\"#555\">{4}</text>\n",
                x(us),
                TOP - 4.0,
                TOP + rows * ROW,
                TOP - 8.0,
                xml(&label)
            );
        }
        let slices = self.slices();
        for p in 0..self.gomaxprocs {
            let y = TOP + p as f64 * ROW;
            let _ = write!(
                s,
                "<g class=\"row\" id=\"P{p}\">\n<text x=\"8\" y=\"{:.1}\">P{p}</text>\n",
                y + BAR / 2.0 + 4.0
            );
            // (x0, x1, goid, runs, first start, last end)
            let mut bar: Option<(f64, f64, u32, u32, u64, u64)> = None;
            let flush = |s: &mut String, bar: (f64, f64, u32, u32, u64, u64)| {
                let (x0, x1, goid, runs, t0, t1) = bar;
                let tip = if runs == 1 {
                    format!("G{goid}: {:.1}–{:.1} µs", self.micros(t0), self.micros(t1))
                } else {
                    format!("{runs} goroutine runs, {:.1}–{:.1} µs", self.micros(t0), self.micros(t1))
                };
                let _ = write!(
                    s,
                    "<rect x=\"{x0:.2}\" y=\"{y:.1}\" width=\"{:.2}\" height=\"{BAR}\" fill=\"{}\"><title>{}</title></rect>\n",
                    (x1 - x0).max(0.5),
                    if runs == 1 { colour(goid) } else { "#8a8a8a".to_string() },
                    xml(&tip)
                );
            };
            for sl in slices.iter().filter(|sl| sl.p == p) {
                let (x0, x1) = (x(self.micros(sl.start)), x(self.micros(sl.end)));
                match bar.as_mut() {
                    Some(b) if x0 - b.1 < 1.0 && (x1 - x0 < 1.0 || b.1 - b.0 < 1.0) => {
                        b.1 = b.1.max(x1);
                        b.3 += 1;
                        b.5 = sl.end;
                    }
                    _ => {
                        if let Some(b) = bar.take() {
                            flush(&mut s, b);
                        }
                        bar = Some((x0, x1, sl.goid, 1, sl.start, sl.end));
                    }
                }
            }
            if let Some(b) = bar {
                flush(&mut s, b);
            }
            s.push_str("</g>\n");
        }
        // System calls: a dark strip under the row of the P the goroutine
        // left (the P runs other goroutines meanwhile once handed off);
        // handoffs: a purple diamond.
        s.push_str("<g class=\"syscalls\">\n");
        for sc in self.syscalls() {
            let (x0, x1) = (x(self.micros(sc.start)), x(self.micros(sc.end)));
            let _ = write!(
                s,
                "<rect x=\"{x0:.2}\" y=\"{:.1}\" width=\"{:.2}\" height=\"4\" fill=\"#444\"><title>G{} in a system call, \
                 {:.1}–{:.1} µs, having left P{}</title></rect>\n",
                TOP + sc.p as f64 * ROW + BAR + 1.0,
                (x1 - x0).max(0.5),
                sc.goid,
                self.micros(sc.start),
                self.micros(sc.end),
                sc.p
            );
        }
        for e in self.events.iter().filter(|e| e.kind == Kind::Handoff) {
            let Some(p) = e.p else { continue };
            let (xs, y) = (x(self.micros(e.tsc)), TOP + p as f64 * ROW + BAR / 2.0);
            let _ = write!(
                s,
                "<path d=\"M{xs:.2},{:.1} l4,4 l-4,4 l-4,-4 z\" fill=\"#9467bd\"><title>sysmon hands P{p} off at {:.1} µs</title></path>\n",
                y - 4.0,
                self.micros(e.tsc)
            );
        }
        s.push_str("</g>\n");
        // Steals: an arrow from the victim's row to the thief's.
        s.push_str(
            "<defs><marker id=\"head\" markerWidth=\"6\" markerHeight=\"6\" refX=\"5\" refY=\"3\" orient=\"auto\">\
             <path d=\"M0,0 L6,3 L0,6 z\" fill=\"#d62728\"/></marker></defs>\n<g class=\"steals\">\n",
        );
        let mid = |p: u32| TOP + p as f64 * ROW + BAR / 2.0;
        for e in self.events.iter().filter(|e| e.kind == Kind::Steal) {
            let (Some(thief), victim) = (e.p, e.aux as u32) else { continue };
            let xs = x(self.micros(e.tsc));
            let _ = write!(
                s,
                "<line x1=\"{xs:.2}\" y1=\"{:.1}\" x2=\"{xs:.2}\" y2=\"{:.1}\" stroke=\"#d62728\" stroke-width=\"1\" stroke-opacity=\"0.7\" \
                 marker-end=\"url(#head)\"><title>P{thief} stole {} from P{victim} at {:.1} µs</title></line>\n",
                mid(victim),
                mid(thief),
                e.arg,
                self.micros(e.tsc)
            );
        }
        s.push_str("</g>\n<g class=\"preemptions\">\n");
        for e in self.events.iter().filter(|e| e.kind == Kind::GoPreempt) {
            let Some(p) = e.p else { continue };
            let xs = x(self.micros(e.tsc));
            let y = TOP + p as f64 * ROW + BAR;
            let _ = write!(
                s,
                "<path d=\"M{xs:.2},{y:.1} l-3,5 l6,0 z\" fill=\"#ff7f0e\"><title>G{} preempted at {:.1} µs</title></path>\n",
                e.arg,
                self.micros(e.tsc)
            );
        }
        // Marks set by the program (`trace::mark`): a dashed line across the rows.
        s.push_str("</g>\n<g class=\"marks\">\n");
        for e in self.events.iter().filter(|e| e.kind == Kind::Mark) {
            let xs = x(self.micros(e.tsc));
            let _ = write!(
                s,
                "<line x1=\"{xs:.2}\" y1=\"{:.1}\" x2=\"{xs:.2}\" y2=\"{:.1}\" stroke=\"#1f77b4\" stroke-dasharray=\"3,2\">\
                 <title>mark {} at {:.1} µs</title></line><text x=\"{xs:.2}\" y=\"{:.1}\" fill=\"#1f77b4\">{}</text>\n",
                TOP - 2.0,
                TOP + rows * ROW,
                e.arg,
                self.micros(e.tsc),
                TOP + rows * ROW + 10.0,
                e.arg
            );
        }
        let _ = write!(
            s,
            "</g>\n<text x=\"{LEFT}\" y=\"{:.1}\" fill=\"#333\">Bars: goroutine runs, one colour per goroutine \
             (grey: runs too short to draw apart). Red arrows: steals, victim → thief. Orange: preemptions.</text>\n\
             <text x=\"{LEFT}\" y=\"{:.1}\" fill=\"#333\">Dark strips: system calls, under the P they left; \
             purple: handoffs. Blue dashes: the program's marks. Hover for details.</text>\n</svg>\n",
            TOP + rows * ROW + 32.0,
            TOP + rows * ROW + 47.0
        );
        s
    }
}

/// A stable, distinct-looking colour for a goroutine.
fn colour(goid: u32) -> String {
    let hue = (goid as u64 * 137) % 360;
    format!("hsl({hue},60%,55%)")
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Text escaped for XML.
fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(tsc: u64, kind: u8, p: u8, aux: u16, arg: u32) -> [u8; 16] {
        let word = kind as u64 | (p as u64) << 8 | (aux as u64) << 16 | (arg as u64) << 32;
        let mut b = [0; 16];
        b[..8].copy_from_slice(&tsc.to_le_bytes());
        b[8..].copy_from_slice(&word.to_le_bytes());
        b
    }

    /// A two-P trace: G1 runs on P0 and creates G2, P1 steals it, G2 runs
    /// and exits; G1 sleeps. Core 1 claimed `lost` slots it never wrote.
    fn sample_losing(lost: u64) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(b"GMPOSTRC");
        for v in [1u32, 2, 2, 0] {
            b.extend(v.to_le_bytes());
        }
        b.extend(1_000_000u64.to_le_bytes()); // 1 tick = 1 µs
        b.extend(2u32.to_le_bytes());
        for r in ["", "sleep"] {
            b.push(r.len() as u8);
            b.extend(r.as_bytes());
        }
        let cpus: [&[[u8; 16]]; 2] = [
            &[event(10, 2, 0, 0, 1), event(12, 1, 0, 0, 2), event(20, 4, 0, 1, 1)],
            &[event(14, 8, 1, 0, 1), event(15, 2, 1, 0, 2), event(18, 3, 1, 0, 2)],
        ];
        for (cpu, events) in cpus.iter().enumerate() {
            b.extend((cpu as u32).to_le_bytes());
            b.extend(0u32.to_le_bytes());
            for e in *events {
                b.extend(e);
            }
            b.extend([0; 16]);
            b.extend((events.len() as u64 + cpu as u64 * lost).to_le_bytes());
            b.extend((events.len() as u64).to_le_bytes());
        }
        b.extend(b"GMPOSEND");
        b
    }

    fn sample() -> Vec<u8> {
        sample_losing(0)
    }

    #[test]
    fn lost_events_are_counted() {
        assert_eq!(parse(&sample_losing(3)).unwrap().lost, 3);
    }

    #[test]
    fn parses_and_builds_slices() {
        let t = parse(&sample()).unwrap();
        assert_eq!((t.ncpu, t.gomaxprocs, t.events.len(), t.lost), (2, 2, 6, 0));
        assert!(t.events.windows(2).all(|w| w[0].tsc <= w[1].tsc));
        let slices = t.slices();
        assert_eq!(
            slices,
            vec![
                Slice { p: 0, goid: 1, start: 10, end: 20, why: End::Block("sleep".into()) },
                Slice { p: 1, goid: 2, start: 15, end: 18, why: End::Exit },
            ]
        );
        let json = t.chrome_json("test");
        assert!(json.contains("\"name\":\"steal 1 from P0\""), "{json}");
        let svg = t.svg("test");
        assert_eq!(svg.matches("<g class=\"row\"").count(), 2);
    }

    #[test]
    fn system_calls_end_runs_and_are_spans() {
        let t = Trace {
            tsc_hz: 1_000_000,
            ncpu: 1,
            gomaxprocs: 1,
            wait_reasons: vec![],
            events: vec![
                Event { tsc: 1, cpu: 0, kind: Kind::GoStart, p: Some(0), aux: 0, arg: 1 },
                Event { tsc: 2, cpu: 0, kind: Kind::SyscallEnter, p: Some(0), aux: 0, arg: 1 },
                Event { tsc: 3, cpu: 0, kind: Kind::Handoff, p: Some(0), aux: 0, arg: 0 },
                Event { tsc: 9, cpu: 0, kind: Kind::SyscallExit, p: None, aux: 0, arg: 1 },
            ],
            lost: 0,
        };
        assert_eq!(t.slices(), vec![Slice { p: 0, goid: 1, start: 1, end: 2, why: End::Syscall }]);
        assert_eq!(t.syscalls(), vec![Syscall { p: 0, goid: 1, start: 2, end: 9 }]);
        let json: String = t.chrome_json("t");
        assert!(json.contains("\"ph\":\"b\"") && json.contains("\"name\":\"no P\""), "{json}");
        assert!(t.svg("t").contains("<g class=\"syscalls\">\n<rect"));
    }

    #[test]
    fn truncated_and_foreign_input_are_errors() {
        let full = sample();
        assert!(parse(&full[..full.len() - 3]).unwrap_err().contains("ends early"));
        assert!(parse(b"hello world, not a trace").unwrap_err().contains("not a gmpos trace"));
        assert!(parse(b"").unwrap_err().contains("empty"));
    }
}
