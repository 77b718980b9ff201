//! Seeing the scheduler, judged by outcomes: scheddetail speaks Go's
//! detailed format and agrees with its own header, the goroutine dump
//! lists every goroutine of a known program in its state, and the
//! execution trace of `spawn` holds every goroutine's life exactly once,
//! shows the steals, and converts into valid Chrome Trace Event JSON and a
//! well-formed SVG with a row per P.

mod common;
use common::*;
#[path = "common/go119.rs"]
mod go119;
use std::collections::{HashMap, HashSet};

/// The value after ` key=` (or at the start) on `line`, up to the next space.
fn value<'a>(line: &'a str, key: &str) -> &'a str {
    let pat = format!("{key}=");
    let start = line
        .split(' ')
        .find(|w| w.starts_with(&pat))
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"));
    &start[pat.len()..]
}

fn int(line: &str, key: &str) -> i64 {
    value(line, key).parse().unwrap_or_else(|_| panic!("{key}= is not a number in {line:?}"))
}

/// The `key` names of the `key=value` words of `line` after its label.
fn keys(line: &str) -> Vec<&str> {
    line.split_whitespace().skip(1).map(|w| w.split('=').next().unwrap()).collect()
}

#[test]
fn scheddetail_lines_parse_and_agree_with_the_header() {
    // 2 Ps on 4 cores: two P lines, four M lines per report. The sleepers
    // stay parked for most of a second, so the G lines show them.
    let c = boot(4, &["PROG=sleep", "N=200", "GOMAXPROCS=2", "GODEBUG=schedtrace=100,scheddetail=1"]);
    assert_success(&c);
    let lines: Vec<&str> = c.serial.lines().collect();
    let mut reports = 0;
    let mut sleeping = 0;
    for (i, header) in lines.iter().enumerate().filter(|(_, l)| l.starts_with("SCHED ")) {
        reports += 1;
        // Detailed: Go's extra fields end the header; no per-P lists.
        let fields: Vec<&str> = header.split_once(": ").unwrap().1.split(' ').map(|w| w.split('=').next().unwrap()).collect();
        assert_eq!(
            fields,
            ["gomaxprocs", "idleprocs", "threads", "spinningthreads", "idlethreads", "runqueue", "gcwaiting", "nmidlelocked", "stopwait", "sysmonwait"],
            "{header}"
        );
        assert!(!header.contains('['), "no run queue list in detailed mode: {header}");
        let gomaxprocs = int(header, "gomaxprocs");
        let threads = int(header, "threads");
        assert_eq!((gomaxprocs, threads), (2, 4), "{header}");
        let body: Vec<&str> = lines[i + 1..].iter().take_while(|l| l.starts_with("  ")).copied().collect();
        let ps: Vec<&str> = body.iter().filter(|l| l.starts_with("  P")).copied().collect();
        let ms: Vec<&str> = body.iter().filter(|l| l.starts_with("  M")).copied().collect();
        let gs: Vec<&str> = body.iter().filter(|l| l.starts_with("  G")).copied().collect();
        for line in std::iter::once(header).chain(&body) {
            go119::assert_go119(line);
        }
        assert_eq!(ps.len() + ms.len() + gs.len(), body.len(), "only P, M and G lines: {body:?}");
        assert_eq!(ps.len() as i64, gomaxprocs, "one line per P after {header}");
        assert_eq!(ms.len() as i64, threads, "one line per M after {header}");
        for (n, p) in ps.iter().enumerate() {
            assert!(p.starts_with(&format!("  P{n}: ")), "{p}");
            assert_eq!(keys(p), ["status", "schedtick", "syscalltick", "m", "runqsize", "gfreecnt", "timerslen"], "{p}");
            assert!((0..=2).contains(&int(p, "status")), "{p}");
            assert!((-1..threads).contains(&int(p, "m")), "{p}");
            for k in ["schedtick", "syscalltick", "runqsize", "gfreecnt", "timerslen"] {
                assert!(int(p, k) >= 0, "{p}");
            }
        }
        // Newest M first, as Go walks allm.
        for (n, m) in ms.iter().rev().enumerate() {
            assert!(m.starts_with(&format!("  M{n}: ")), "{m}");
            assert_eq!(
                keys(m),
                ["p", "curg", "mallocing", "throwing", "preemptoff", "locks", "dying", "spinning", "blocked", "lockedg"],
                "{m}"
            );
            assert!((-1..gomaxprocs).contains(&int(m, "p")), "{m}");
            assert!(["true", "false"].contains(&value(m, "spinning")) && ["true", "false"].contains(&value(m, "blocked")), "{m}");
        }
        for g in &gs {
            // G17: status=4(sleep) m=-1 lockedm=-1
            // (a wait reason may contain spaces: "chan receive")
            let (id, rest) = g.trim_start().split_once(": status=").unwrap_or_else(|| panic!("{g}"));
            assert!(id[1..].parse::<u64>().is_ok(), "{g}");
            let (code, rest) = rest.split_once('(').unwrap_or_else(|| panic!("{g}"));
            let (reason, rest) = rest.split_once(") ").unwrap_or_else(|| panic!("{g}"));
            let code: u32 = code.parse().unwrap_or_else(|_| panic!("{g}"));
            assert!([0, 1, 2, 3, 4, 9].contains(&code), "{g}");
            assert_eq!(code == 4, !reason.is_empty(), "a wait reason exactly when waiting: {g}");
            assert!((-1..threads).contains(&int(rest, "m")), "{g}");
            assert_eq!(value(rest, "lockedm"), "-1", "{g}");
            sleeping += (code == 4 && reason == "sleep") as usize;
        }
    }
    assert!(reports > 0, "no SCHED reports");
    assert!(sleeping > 0, "no G line showed a sleeper (status=4(sleep))");
}

/// One goroutine of a dump: state (with the wait in ms), m, p, creator.
struct Dumped {
    state: String,
    waited_ms: Option<u64>,
    m: i64,
    p: i64,
    created_by: String,
}

/// Parses Go-style dump entries: `goroutine 7 [sleep, 3 ms]:`,
/// `\tm=-1 p=-1`, `created by ...`, blank line.
fn parse_dump(text: &str) -> HashMap<u64, Dumped> {
    let mut out = HashMap::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("goroutine ") else { continue };
        let (id, rest) = rest.split_once(" [").unwrap_or_else(|| panic!("{line}"));
        let inside = rest.strip_suffix("]:").unwrap_or_else(|| panic!("{line}"));
        let (state, waited_ms) = match inside.split_once(", ") {
            Some((s, w)) => (s, Some(w.strip_suffix(" ms").unwrap_or_else(|| panic!("{line}")).parse().unwrap())),
            None => (inside, None),
        };
        let where_ = lines.next().unwrap_or_else(|| panic!("nothing after {line}"));
        let where_ = where_.strip_prefix('\t').unwrap_or_else(|| panic!("{where_:?}"));
        let created_by = lines.next().unwrap_or_default().to_string();
        let id: u64 = id.parse().unwrap_or_else(|_| panic!("{line}"));
        let dumped = Dumped { state: state.into(), waited_ms, m: int(where_, "m"), p: int(where_, "p"), created_by };
        assert!(out.insert(id, dumped).is_none(), "goroutine {id} listed twice");
    }
    out
}

fn id_list(line: &str, key: &str) -> Vec<u64> {
    let start = line.find(&format!("{key}=[")).unwrap() + key.len() + 2;
    let end = start + line[start..].find(']').unwrap();
    line[start..end].split(", ").map(|n| n.parse().unwrap()).collect()
}

#[test]
fn dump_lists_every_goroutine_with_its_wait_reason() {
    let c = boot(2, &["PROG=dump"]);
    assert_success(&c);
    let summary = expect_line(&c, "dump: running=");
    let main = int(summary, "running") as u64;
    let waiters = id_list(summary, "waitgroup");
    let sleepers = id_list(summary, "sleep");
    let blocked = int(summary, "syscall") as u64;
    assert_eq!((waiters.len(), sleepers.len()), (3, 2), "{summary}");
    let start = c.serial.find(summary).unwrap() + summary.len();
    let end = c.serial[start..].find("dump: end").expect("dump: end") + start;
    let dump = parse_dump(&c.serial[start..end]);

    let mut expected: Vec<(u64, &str)> = vec![(main, "running"), (blocked, "syscall")];
    expected.extend(waiters.iter().map(|&id| (id, "sync.WaitGroup.Wait")));
    expected.extend(sleepers.iter().map(|&id| (id, "sleep")));
    assert_eq!(dump.len(), expected.len(), "the dump lists exactly the program's goroutines");
    for (id, state) in expected {
        let g = dump.get(&id).unwrap_or_else(|| panic!("goroutine {id} is not in the dump"));
        assert_eq!(g.state, state, "goroutine {id}");
        if id == main {
            assert!(g.waited_ms.is_none() && g.m >= 0 && g.p >= 0, "running: on an M with a P");
            assert!(g.created_by.starts_with("created by the runtime at kernel/src/runtime/"), "{}", g.created_by);
            continue;
        }
        assert!(g.waited_ms.is_some(), "goroutine {id} [{state}] says how long it has waited");
        if id == blocked {
            assert!(g.m >= 0 && g.p == -1, "in a system call: keeps its M, left its P");
        } else {
            assert!(g.m == -1 && g.p == -1, "parked: on no M");
        }
        let creator = format!("created by goroutine {main} at kernel/src/programs/dump.rs:");
        assert!(g.created_by.starts_with(&creator), "goroutine {id}: {:?}", g.created_by);
    }
}

/// Ctrl-\\ typed on the console (Go's SIGQUIT) while `PROG=dump N=1`
/// waits for it: the goroutine dump appears, and the execution trace ends
/// there and is sent before the program finishes.
#[test]
fn ctrl_backslash_dumps_the_goroutines_and_ends_the_trace() {
    let dir = std::env::temp_dir().join(format!("gmpos-trace-test-q-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("dump.trace");
    let mut q = Qemu::new(2).args(["PROG=dump", "N=1"]);
    q.timeout = Some(TIMEOUT);
    q.trace(&file);
    q.keys = Some(boot::Keys { after: "dump: waiting for Ctrl-\\".into(), bytes: vec![0x1c] });
    let c = boot_with(&q);
    assert_success(&c);
    let bytes = std::fs::read(&file).expect("the trace file");
    let _ = std::fs::remove_dir_all(&dir);
    let header = expect_line(&c, "SIGQUIT: goroutine dump (");
    let at = c.serial.find(header).unwrap();
    let sent = c.serial.find("\ntrace: ").expect("the trace was sent") + 1;
    let got = c.serial.find("dump: got Ctrl-\\").expect("the program saw the dump");
    assert!(at < sent && sent < got, "dump, then the trace sent, then the program goes on");
    let dump = parse_dump(&c.serial[at..sent]);
    let summary = expect_line(&c, "dump: running=");
    let main = int(summary, "running") as u64;
    // Main waits for the key by sleeping 1 ms at a time and looking: the
    // key usually finds it asleep, but on a loaded host it can come while
    // main's vCPU is stalled in the moment main runs (seen once in a
    // parallel run).
    let main_state = dump.get(&main).map(|g| g.state.as_str());
    assert!(matches!(main_state, Some("sleep" | "running")), "main waits for the key: {main_state:?}");
    for id in id_list(summary, "sleep") {
        assert_eq!(dump.get(&id).map(|g| g.state.as_str()), Some("sleep"), "goroutine {id}");
    }
    let blocked = int(summary, "syscall") as u64;
    assert_eq!(dump.get(&blocked).map(|g| g.state.as_str()), Some("syscall"), "goroutine {blocked}");
    let trace = boot::trace::parse(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let line = c.serial[sent..].lines().next().unwrap();
    assert!(line.starts_with(&format!("trace: {} events (", trace.events.len())), "{line}");
    assert!(trace.events.iter().any(|e| e.kind == boot::trace::Kind::GoCreate), "the trace has the program's start");
}

#[test]
fn trace_of_spawn_has_every_goroutine_once_steals_and_valid_outputs() {
    const N: usize = 20_000;
    let dir = std::env::temp_dir().join(format!("gmpos-trace-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("spawn.trace");
    let mut q = Qemu::new(4).args([format!("PROG=spawn"), format!("N={N}")]);
    q.timeout = Some(TIMEOUT);
    q.trace(&file);
    let c = boot_with(&q);
    assert_success(&c);
    let bytes = std::fs::read(&file).expect("the trace file");
    let _ = std::fs::remove_dir_all(&dir);
    let trace = boot::trace::parse(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let sent = expect_line(&c, "trace: ");
    assert_eq!(sent, format!("trace: {} events (0 lost) sent on COM2", trace.events.len()));
    assert_eq!(trace.lost, 0);
    assert_eq!(trace.gomaxprocs, 4);

    use boot::trace::Kind;
    let count = |kind: Kind| {
        let mut m: HashMap<u32, usize> = HashMap::new();
        for e in trace.events.iter().filter(|e| e.kind == kind) {
            *m.entry(e.arg).or_default() += 1;
        }
        m
    };
    let created = count(Kind::GoCreate);
    let ended = count(Kind::GoEnd);
    let started = count(Kind::GoStart);
    // The main goroutine and the N it spawns; main never ends (the run
    // ends inside it).
    assert_eq!(created.len(), N + 1, "every goroutine created");
    assert!(created.values().all(|&n| n == 1), "each created exactly once");
    assert_eq!(ended.len(), N, "every spawned goroutine ended");
    assert!(ended.values().all(|&n| n == 1), "each ended exactly once");
    let main: Vec<u32> = created.keys().filter(|id| !ended.contains_key(id)).copied().collect();
    assert_eq!(main, [1], "only the main goroutine is still running");
    assert!(created.keys().all(|id| started.contains_key(id)), "every goroutine started");
    let steals: Vec<_> = trace.events.iter().filter(|e| e.kind == Kind::Steal).collect();
    assert!(!steals.is_empty(), "work spreads by stealing");
    assert!(steals.iter().all(|e| e.arg > 0 && e.p != Some(e.aux as u32)), "a steal takes Gs from another P");

    // Chrome Trace Event JSON.
    let json: serde_json::Value = serde_json::from_str(&trace.chrome_json("spawn")).expect("valid JSON");
    let events = json["traceEvents"].as_array().expect("traceEvents array");
    let mut lanes = HashSet::new();
    let mut runs: HashMap<u64, Vec<(f64, f64)>> = HashMap::new();
    let mut run_goids = HashSet::new();
    for e in events {
        let ph = e["ph"].as_str().expect("ph");
        assert!(e["name"].is_string() && e["pid"].as_u64() == Some(1), "{e}");
        match ph {
            "M" if e["name"] == "thread_name" => {
                lanes.insert(e["tid"].as_u64().unwrap());
            }
            "M" => {}
            "X" => {
                let tid = e["tid"].as_u64().expect("tid");
                let (ts, dur) = (e["ts"].as_f64().expect("ts"), e["dur"].as_f64().expect("dur"));
                assert!(ts >= 0.0 && dur >= 0.0, "{e}");
                runs.entry(tid).or_default().push((ts, dur));
                run_goids.insert(e["args"]["goid"].as_u64().expect("goid"));
            }
            "i" | "s" | "f" | "b" | "e" => assert!(e["ts"].is_f64() && e["tid"].is_u64(), "{e}"),
            _ => panic!("unexpected phase {ph}: {e}"),
        }
    }
    assert_eq!(lanes, (1..=4).collect(), "one track per P (tids 1..=4)");
    assert!(runs.keys().all(|tid| lanes.contains(tid)));
    assert_eq!(run_goids.len(), N + 1, "a slice for every goroutine");
    for (tid, slices) in &mut runs {
        slices.sort_by(|a, b| a.0.total_cmp(&b.0));
        for w in slices.windows(2) {
            // Rounded to the ns: allow that much.
            assert!(w[0].0 + w[0].1 <= w[1].0 + 0.002, "runs overlap on tid {tid}: {w:?}");
        }
    }

    // SVG: well-formed, one row per P, the steals drawn.
    let svg = trace.svg("spawn");
    let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("SVG is not well-formed XML: {e}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let rows: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("g") && n.attribute("class") == Some("row"))
        .map(|n| n.attribute("id").unwrap())
        .collect();
    assert_eq!(rows, ["P0", "P1", "P2", "P3"]);
    let arrows = doc
        .descendants()
        .filter(|n| n.has_tag_name("g") && n.attribute("class") == Some("steals"))
        .flat_map(|g| g.children().filter(|n| n.has_tag_name("line")))
        .count();
    assert_eq!(arrows, steals.len(), "an arrow per steal");
}
