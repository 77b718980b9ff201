//! The live dashboard (`PROG=httpd`'s `/`, docs/dashboard.md) in a real
//! browser: headless Chromium loads the page, runs its JavaScript against
//! the kernel's endpoints, and the test reads the DOM it rendered
//! (`--dump-dom`): one lane per P, the goroutine counts of `/api/sched`,
//! timeline bars after a burst started through the controls, and a
//! GOMAXPROCS change folding the lanes. It also checks that bad requests
//! get a 4xx, and saves a screenshot in target/dashboard/.
//!
//! `dashboard_cost` (ignored: it takes a minute; run it with `cargo test
//! --test dashboard -- --ignored --nocapture`) measures what the page costs
//! the kernel, for docs/dashboard.md.

mod common;
use common::*;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

/// The burst the test starts: its goroutines run, then sleep (so that the
/// count of sleepers is stable while the page is read).
const BURST: u64 = 2000;

/// One request on a fresh connection: the status and the body.
fn request(port: u16, method: &str, target: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the kernel's httpd");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(s, "{method} {target} HTTP/1.1\r\nHost: gmpos\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).expect("a response");
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string();
    (status, body)
}

/// A JSON endpoint's answer.
fn api(port: u16, path: &str) -> serde_json::Value {
    let (status, body) = request(port, "GET", path);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path} is not JSON ({e}): {body}"))
}

fn sched(port: u16) -> serde_json::Value {
    api(port, "/api/sched")
}

/// `/api/goroutines`' counts by state.
fn api_states(port: u16) -> BTreeMap<String, u64> {
    let g = api(port, "/api/goroutines");
    let states = g["states"].as_array().expect("states");
    states.iter().map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_u64().unwrap())).collect()
}

/// The Chromium binary, installed with `make chromium` when missing (as
/// `make` installs QEMU).
fn chromium() -> &'static str {
    const BIN: &str = "chromium";
    let present = || Command::new(BIN).arg("--version").output().is_ok_and(|o| o.status.success());
    if !present() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let status = Command::new("make").args(["-s", "chromium"]).current_dir(root).status().expect("run make chromium");
        assert!(status.success() && present(), "Chromium is missing and `make chromium` could not install it");
    }
    BIN
}

/// Runs headless Chromium on the page at `port` with `args`, for at most
/// two minutes, in a profile of its own; returns its standard output.
fn browse(port: u16, query: &str, args: &[&str]) -> String {
    let profile = std::env::temp_dir().join(format!("gmpos-dashboard-{}-{port}", std::process::id()));
    let out = Command::new("timeout")
        .arg("120")
        .arg(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("http://127.0.0.1:{port}/{query}"))
        .output()
        .expect("run chromium");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(out.status.success(), "chromium failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The DOM after the page's script has run for `ms` of virtual time (about
/// ten updates a second: several updates).
fn dump_dom(port: u16, query: &str, ms: u32) -> String {
    let dom = browse(port, query, &[&format!("--virtual-time-budget={ms}"), "--dump-dom"]);
    assert!(dom.contains("id=\"lanes\""), "not the dashboard: {dom}");
    dom
}

/// The value of `attr` on the element with id `id`.
fn attr(dom: &str, id: &str, attr: &str) -> u64 {
    let tag = dom.split(&format!("id=\"{id}\"")).nth(1).and_then(|t| t.split('>').next()).unwrap_or_else(|| panic!("no #{id}"));
    let value = tag.split(&format!("{attr}=\"")).nth(1).and_then(|v| v.split('"').next());
    value.and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("#{id} has no numeric {attr}: {tag}"))
}

/// The text of the element with id `id` (no markup inside).
fn text<'a>(dom: &'a str, id: &str) -> &'a str {
    let after = dom.split(&format!("id=\"{id}\">")).nth(1).unwrap_or_else(|| panic!("no #{id}"));
    after.split('<').next().unwrap()
}

/// The page's "Goroutines by state" table.
fn page_states(dom: &str) -> BTreeMap<String, u64> {
    dom.split("<tr data-state=\"")
        .skip(1)
        .map(|row| {
            let name = row.split('"').next().unwrap().to_string();
            let n = row.split("<td class=\"n\">").nth(1).and_then(|t| t.split('<').next()).and_then(|n| n.parse().ok());
            (name, n.unwrap_or_else(|| panic!("no count in row {row}")))
        })
        .collect()
}

/// Lanes rendered: one `.lane` element per P.
fn lanes(dom: &str) -> usize {
    dom.matches("class=\"lane\"").count()
}

/// Boots `PROG=httpd` on `smp` cores (under icount if asked) with its
/// port forwarded; returns once it listens.
fn boot_httpd(smp: u32, icount: bool) -> (Server, u16) {
    let port = free_port();
    let mut q = Qemu::new(smp).args(["PROG=httpd"]);
    q.forwards = vec![Forward::tcp(port, boot::HTTP_GUEST_PORT)];
    q.timeout = Some(Duration::from_secs(1200));
    q.icount = icount;
    let mut server = start_server(&q);
    server.wait_for_line("httpd: listening on port 80", 300);
    (server, port)
}

#[test]
fn dashboard_in_headless_chromium() {
    let (mut server, port) = boot_httpd(2, false);

    // Bad requests: a 4xx with a reason, and the kernel carries on.
    for (method, target, status, says) in [
        ("POST", "/api/burst?n=1000000000", 400, "at most 100000"),
        ("POST", "/api/burst", 400, "n= is required"),
        ("POST", "/api/burst?n=10&work=x", 400, "not a number"),
        ("POST", "/api/burst?n=100000&work=10000000", 400, "too much work"),
        ("POST", "/api/hogs?n=65", 400, "at most 64"),
        ("POST", "/api/gomaxprocs?n=0", 400, "must be 1..=2"),
        ("POST", "/api/gomaxprocs?n=3", 400, "must be 1..=2"),
        ("POST", "/api/gomaxprocs?n=99999999999999999999999", 400, "not a number"),
        ("GET", "/api/trace", 400, "since= is required"),
        ("GET", "/api/trace?since=1&since=2", 400, "given twice"),
        ("GET", "/api/trace?until=1", 400, "unknown parameter"),
        ("GET", "/api/sched?x=1", 400, "takes none"),
        ("GET", "/api/goroutines?n=1", 400, "takes none"),
        ("GET", "/api/burst?n=1", 405, "not allowed"),
        ("DELETE", "/api/sched", 405, "not allowed"),
        ("GET", "/api/nope", 404, "no endpoint"),
    ] {
        let (got, body) = request(port, method, target);
        assert_eq!(got, status, "{method} {target}: {body}");
        assert!(body.contains(says), "{method} {target}: {body:?} should say {says:?}");
    }

    // The page is served whole, with its first frame in text.
    let (status, page) = request(port, "GET", "/");
    assert_eq!(status, 200);
    assert!(page.contains("<script>") && page.contains("SCHED ") && !page.contains("http://") && !page.contains("https://"));

    // The first request for events turns the trace ring on; then a burst
    // through the controls: its goroutines run on the Ps, then sleep.
    let t0 = sched(port)["tsc"].as_u64().unwrap();
    assert_eq!(request(port, "GET", &format!("/api/trace?since={t0}")).0, 200);
    let burst_at = Instant::now();
    let (status, said) = request(port, "POST", &format!("/api/burst?n={BURST}&work=20000&sleep_ms=300000"));
    assert_eq!(status, 200, "{said}");
    assert!(said.starts_with(&format!("burst: n={BURST} ")), "{said}");
    let deadline = Instant::now() + Duration::from_secs(120);
    while api_states(port).get("sleep") != Some(&BURST) {
        assert!(Instant::now() < deadline, "the burst's goroutines never all slept: {:?}", api_states(port));
        // Asking for events keeps the trace on (it stops 3 s after the last request).
        assert_eq!(request(port, "GET", &format!("/api/trace?since={t0}")).0, 200);
        thread::sleep(Duration::from_millis(200));
    }

    // The page, with a 60 s timeline so that the burst is in view.
    let dom = dump_dom(port, "?window=60", 3000);
    assert_eq!(lanes(&dom), 2, "one lane per P (GOMAXPROCS=2)");
    assert_eq!(attr(&dom, "lanes", "data-count"), 2);
    assert_eq!(text(&dom, "gomaxprocs"), "2");
    let (on_page, in_api) = (page_states(&dom), api_states(port));
    assert_eq!(on_page.get("sleep"), Some(&BURST), "the page shows the sleeping burst: {on_page:?}");
    // Every count but those of the browser's own connections (their
    // handlers run, or wait for the next request) is the same as the API's.
    let settled = |m: &BTreeMap<String, u64>| -> BTreeMap<String, u64> {
        m.iter().filter(|(k, _)| !matches!(k.as_str(), "running" | "runnable" | "IO wait" | "total")).map(|(k, v)| (k.clone(), *v)).collect()
    };
    assert_eq!(settled(&on_page), settled(&in_api), "page {on_page:?}, /api/sched {in_api:?}");
    let bars = attr(&dom, "tl", "data-bars");
    assert!(
        bars >= BURST,
        "a bar for each goroutine of the burst at least: {bars} ({} gaps in the timeline; the burst started {:.1} s ago)",
        attr(&dom, "tl", "data-gaps"),
        burst_at.elapsed().as_secs_f64()
    );
    // httpd's accept loop waits in the netpoller, at least.
    assert!(text(&dom, "netpoll").parse::<u64>().is_ok_and(|n| n >= 1), "netpoll waiters: {}", text(&dom, "netpoll"));

    // A screenshot, for people (the docs keep a current one).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dashboard");
    std::fs::create_dir_all(&dir).unwrap();
    // Written under a name of this process's, then renamed: two test runs
    // at once do not take each other's.
    let shot: PathBuf = dir.join(format!("dashboard-{}.png", std::process::id()));
    browse(port, "?window=60", &["--virtual-time-budget=2000", "--window-size=1400,900", &format!("--screenshot={}", shot.display())]);
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("chromium wrote no screenshot {}: {e}", shot.display()));
    assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "a real screenshot: {} bytes", png.len());
    std::fs::rename(&shot, dir.join("dashboard.png")).unwrap();

    // GOMAXPROCS through the controls: the lanes fold.
    let (status, said) = request(port, "POST", "/api/gomaxprocs?n=1");
    assert_eq!((status, said.trim()), (200, "GOMAXPROCS: 2 -> 1"));
    let dom = dump_dom(port, "", 1500);
    assert_eq!(lanes(&dom), 1, "one lane after GOMAXPROCS=1");
    assert_eq!(text(&dom, "gomaxprocs"), "1");

    assert!(server.is_running(), "the kernel is still serving");
}

/// Spawn-style work: `PROG=spawn`'s goroutines (200 rounds of work each),
/// 100,000 of them in a burst through the controls, three bursts; the
/// kernel's own time for them, in microseconds.
fn spawn_work(port: u16) -> u64 {
    (0..3)
        .map(|_| {
            let (status, said) = request(port, "POST", "/api/burst?n=100000&wait=1");
            assert_eq!(status, 200, "{said}");
            let us = said.trim().rsplit("elapsed_us=").next().and_then(|n| n.parse::<u64>().ok());
            us.unwrap_or_else(|| panic!("no elapsed_us in {said:?}"))
        })
        .sum()
}

/// What the kernel has spent building the page's answers so far: (calls,
/// microseconds) for `/api/sched`, `/api/trace` and `/api/goroutines`.
fn kernel_cost(port: u16) -> [(f64, f64); 3] {
    let c = &sched(port)["cost"];
    let f = |k: &str| c[k].as_f64().unwrap();
    ["sched", "trace", "goroutines"].map(|n| (f(&format!("{n}_calls")), f(&format!("{n}_us")) * f(&format!("{n}_calls"))))
}

/// Polls as the page does — `/api/sched` and (with `timeline`)
/// `/api/trace?since=` every 100 ms, `/api/goroutines` every second, on one
/// keep-alive connection — until `stop` is set.
fn poll_like_the_page(port: u16, timeline: bool, stop: &std::sync::atomic::AtomicBool) {
    use std::io::BufRead;
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut r = std::io::BufReader::new(s.try_clone().unwrap());
    let mut w = s;
    let mut get = |target: &str| -> String {
        write!(w, "GET {target} HTTP/1.1\r\nHost: gmpos\r\n\r\n").unwrap();
        let mut len = 0;
        loop {
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.strip_prefix("Content-Length: ") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body).unwrap();
        String::from_utf8(body).unwrap()
    };
    let mut since = serde_json::from_str::<serde_json::Value>(&get("/api/sched")).unwrap()["tsc"].as_u64().unwrap();
    for i in 0.. {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let t = Instant::now();
        get("/api/sched");
        if timeline {
            let tr: serde_json::Value = serde_json::from_str(&get(&format!("/api/trace?since={since}"))).unwrap();
            let now = tr["now"].as_u64().unwrap();
            since = if tr["more"].as_bool().unwrap() {
                // As the page: from the last event, within the 5 s window.
                let last = tr["events"].as_array().unwrap().iter().fold(tr["t0"].as_u64().unwrap(), |t, e| t + e[0].as_u64().unwrap());
                last.max(now - 5 * tr["tsc_hz"].as_u64().unwrap())
            } else {
                now
            };
        }
        if i % 10 == 0 {
            get("/api/goroutines");
        }
        thread::sleep(Duration::from_millis(100).saturating_sub(t.elapsed()));
    }
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort();
    v[v.len() / 2]
}

/// Headless Chromium showing the page, kept open (remote debugging keeps
/// it running) until `f` returns; returns `f`'s result once the page has
/// made a few updates before it.
fn with_page_open<R>(port: u16, f: impl FnOnce() -> R) -> R {
    let profile = std::env::temp_dir().join(format!("gmpos-dashcost-{}", std::process::id()));
    let mut chrome = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--remote-debugging-port=0"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("http://127.0.0.1:{port}/"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start chromium");
    let calls0 = kernel_cost(port)[0].0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while kernel_cost(port)[0].0 < calls0 + 10.0 {
        assert!(Instant::now() < deadline, "the page never polled");
        thread::sleep(Duration::from_millis(100));
    }
    let r = f();
    chrome.kill().unwrap();
    chrome.wait().unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    r
}

/// docs/dashboard.md's cost figures, under `ICOUNT=1` so that the kernel's
/// times are exact instruction counts (one virtual ns per instruction),
/// untouched by whatever else the host runs: spawn-style work timed by the
/// kernel in interleaved rounds with no dashboard (nobody polling for 4 s,
/// so the trace is off), with the page open in headless Chromium, and with
/// the test polling as the page does; medians compared. The page polls ten times a second of real
/// time, which is not ten per second of the guest's virtual time: the
/// rate is measured (the kernel counts the answers) and reported.
#[test]
#[ignore]
fn dashboard_cost() {
    const ROUNDS: usize = 5;
    const NCPU: f64 = 2.0;
    let (server, port) = boot_httpd(NCPU as u32, true);

    spawn_work(port); // warm up: the Gs' stacks are allocated once
    let (mut closed, mut browser, mut poller, mut no_timeline) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut open = 0.0; // /api/sched calls while the page was open
    let mut open_us = 0.0; // virtual time the page was open, µs
    for _ in 0..ROUNDS {
        // Nobody has polled for more than IDLE_OFF_NS (3 s): the trace is off.
        thread::sleep(Duration::from_secs(4));
        closed.push(spawn_work(port));
        with_page_open(port, || {
            let before = kernel_cost(port)[0].0;
            let us = spawn_work(port);
            open += kernel_cost(port)[0].0 - before;
            open_us += us as f64;
            browser.push(us);
        });
        for (timeline, results) in [(true, &mut poller), (false, &mut no_timeline)] {
            if !timeline {
                thread::sleep(Duration::from_secs(4)); // the trace goes off
            }
            let stop = std::sync::atomic::AtomicBool::new(false);
            thread::scope(|s| {
                s.spawn(|| poll_like_the_page(port, timeline, &stop));
                thread::sleep(Duration::from_millis(500));
                results.push(spawn_work(port));
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            });
        }
    }
    let (a, b, p, n) = (median(closed.clone()), median(browser.clone()), median(poller.clone()), median(no_timeline.clone()));
    let pct = |x: u64| (x as f64 / a as f64 - 1.0) * 100.0;
    // Updates per second of virtual time, and one update's cost: /api/sched
    // and /api/trace each time, /api/goroutines once a second.
    let rate = open / (open_us / 1e6);
    eprintln!("dashboard cost (ICOUNT=1, SMP=2): 3 bursts of 100,000 spawn-style goroutines per round, virtual us = instructions / 1000");
    eprintln!("  no dashboard (trace off):  {closed:?} median {a}");
    eprintln!("  page open in Chromium:     {browser:?} median {b} ({:+.1} %)", pct(b));
    eprintln!("  test polling like the page:{poller:?} median {p} ({:+.1} %)", pct(p));
    eprintln!("  the same, no timeline:     {no_timeline:?} median {n} ({:+.1} %)", pct(n));
    eprintln!("  the page made {rate:.1} updates per virtual second");
    drop(server);

    // One update's cost, exactly: on one vCPU under icount a virtual µs is
    // 1000 of the handler's own instructions. After a burst of 100,000
    // goroutines (the rings are full, 100,000 Gs exist): each endpoint five
    // times, /api/trace answering a full 5000 events (MAX_EVENTS) each time.
    let (server, port) = boot_httpd(1, true);
    let t0 = sched(port)["tsc"].as_u64().unwrap();
    assert_eq!(request(port, "GET", &format!("/api/trace?since={t0}")).0, 200);
    spawn_work(port);
    let before = kernel_cost(port);
    for _ in 0..5 {
        let tr = api(port, &format!("/api/trace?since={t0}"));
        assert_eq!(tr["events"].as_array().unwrap().len(), 5000, "a full answer (MAX_EVENTS)");
        api(port, "/api/goroutines");
        sched(port);
    }
    let after = kernel_cost(port);
    let per: Vec<f64> = (0..3).map(|i| (after[i].1 - before[i].1) / (after[i].0 - before[i].0)).collect();
    let at_10 = (per[0] + per[1]) * 10.0 + per[2];
    eprintln!(
        "  one update (1 vCPU, exact): /api/sched {:.0} us, /api/trace with 5000 events {:.0} us, /api/goroutines \
         (100,000 Gs, once a second) {:.0} us; at 10 updates/s {at_10:.0} us per second = {:.2} % of one CPU",
        per[0], per[1], per[2], at_10 / 1e4
    );
    drop(server);
}
