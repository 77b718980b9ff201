//! `make bench-net`: gmpos's `PROG=httpd` and `PROG=echo` beside Go 1.19's
//! `net/http` and a Go echo server on Linux 6.1, booted with the same QEMU
//! machine (the flags come from `boot::Qemu`, so they cannot drift), with
//! the same load, alternating between the two systems.
//!
//! The path measured: each guest's virtio-net card sits on a TAP device on
//! a bridge inside a network namespace this program creates (and deletes
//! afterwards); `wrk` and the echo client run inside that namespace. QEMU's
//! user networking is not used: its port forwarder listens with a backlog
//! of 1, so a burst of connects would be dropped and retried by the host's
//! TCP, putting seconds into the tail of both systems. Nothing leaves the
//! namespace.
//!
//! `bench/net/run.sh` prepares the Linux peer (kernel, initramfs) and runs
//! this program; `make bench-net` runs that script.

use boot::{Captured, LinuxBoot, Qemu, Running};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

const USAGE: &str = "\
usage: gmpos-bench-net --kernel VMLINUZ --initrd INITRD [--seconds S] [--smp N]
       gmpos-bench-net --echo-client HOST:PORT CONNS ROUNDS   (run inside the namespace)
       gmpos-bench-net --page-size URL                        (run inside the namespace)
       gmpos-bench-net --wait HOST:PORT                       (run inside the namespace)
       gmpos-bench-net --requests HOST PATH N                 (run inside the namespace)

Boots gmpos (PROG=httpd, PROG=echo) and the Linux peer in turn on a TAP device
in a network namespace of its own, runs wrk on /health and / (a page of the
same size on both) at 1, 8 and 64 connections (and again with 4 CPU-hogging
goroutines on each side; on /health with one connection gmpos also reports
its own interrupt-to-reply p50 and p99) and an echo load of 64
connections x 200 round trips of 1 KiB, every byte checked, and prints one
table with both systems and their ratio; JSON in target/bench/net.json.
First it counts one keep-alive request's instructions in gmpos, stage by
stage (1 vCPU, QEMU icount).";

/// The namespace, bridge and TAP device this program creates.
const NETNS: &str = "gmpos-bench";
const TAP: &str = "gmpostap0";
/// Both guests take 10.0.2.15 (gmpos's fixed address); the bridge is the
/// gateway gmpos expects.
const GUEST: &str = "10.0.2.15";
const GATEWAY: &str = "10.0.2.2/24";
const HOGS: u32 = 4;
const ECHO_CONNS: usize = 64;
const ECHO_ROUNDS: usize = 200;
const ECHO_BYTES: usize = 1024;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--echo-client") => echo_client(&args[1..]),
        Some("--page-size") => page_size(&args[1..]),
        Some("--wait") => wait_reachable(&args[1..]),
        Some("--requests") => requests(&args[1..]),
        Some("--help" | "-h") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => bench(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-net: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Config {
    kernel: PathBuf,
    initrd: PathBuf,
    seconds: u32,
    smp: u32,
}

fn parse(args: &[String]) -> Result<Config, String> {
    let mut c = Config { kernel: PathBuf::new(), initrd: PathBuf::new(), seconds: 10, smp: 4 };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--kernel" => c.kernel = value()?.into(),
            "--initrd" => c.initrd = value()?.into(),
            "--seconds" => c.seconds = value()?.parse().map_err(|_| "--seconds takes a whole number".to_string())?,
            "--smp" => c.smp = value()?.parse().map_err(|_| "--smp takes a whole number".to_string())?,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    for (what, path) in [("--kernel", &c.kernel), ("--initrd", &c.initrd)] {
        if !path.is_file() {
            return Err(format!("{what} {:?} is not a file\n{USAGE}", path.display()));
        }
    }
    if c.seconds == 0 || c.smp == 0 {
        return Err("--seconds and --smp must be at least 1".into());
    }
    Ok(c)
}

/// The two systems under test.
#[derive(Clone, Copy, PartialEq)]
enum System {
    Gmpos,
    Linux,
}

/// One figure of one system.
struct Figure {
    name: String,
    gmpos: Option<f64>,
    linux: Option<f64>,
    /// Higher is better (requests per second) or lower (latency).
    higher_is_better: bool,
}

fn bench(args: &[String]) -> Result<(), String> {
    let c = parse(args)?;
    let _ns = Namespace::create()?;
    let path = request_path()?;
    let mut figures: Vec<Figure> = Vec::new();
    let mut record = |name: String, system: System, value: f64, higher_is_better: bool| {
        let i = figures.iter().position(|f| f.name == name).unwrap_or_else(|| {
            figures.push(Figure { name: name.clone(), gmpos: None, linux: None, higher_is_better });
            figures.len() - 1
        });
        match system {
            System::Gmpos => figures[i].gmpos = Some(value),
            System::Linux => figures[i].linux = Some(value),
        }
    };
    // gmpos's page decides the peer's: the same number of bytes.
    let mut page = 0;
    for hogs in [0, HOGS] {
        for system in [System::Gmpos, System::Linux] {
            let guest = boot(&c, system, "httpd", hogs, page)?;
            if page == 0 {
                page = ns_output(&[&self_exe()?, "--page-size", &format!("http://{GUEST}/")])?.trim().parse().map_err(|e| format!("page size: {e}"))?;
                eprintln!("bench-net: gmpos's / is {page} bytes; the peer serves as many");
            }
            for (path, conns) in PATHS.iter().flat_map(|&p| [1, 8, 64].map(|c| (p, c))) {
                let w = wrk(path, conns, c.seconds, &guest)?;
                let label =
                    |what: &str| format!("{path:<7} {conns:>2} conn{} hogs={hogs} {what}", if conns == 1 { " " } else { "s" });
                eprintln!("bench-net: {} {}: {:.0} req/s p50 {:.2} ms p99 {:.2} ms", name(system), label(""), w.rps, w.p50_ms, w.p99_ms);
                record(label("req/s"), system, w.rps, true);
                record(label("p50 ms"), system, w.p50_ms, false);
                record(label("p99 ms"), system, w.p99_ms, false);
                if system == System::Gmpos && path == "/health" && conns == 1 {
                    // What the guest itself adds: the kernel's histogram of
                    // interrupt to reply written, over this row's requests
                    // (it runs first in the boot).
                    let h = ns_output(&[&self_exe()?, "--requests", GUEST, "/health", "1"])?;
                    for q in ["p50", "p99"] {
                        let us: f64 = h
                            .split_whitespace()
                            .find_map(|w| w.strip_prefix(&format!("req_{q}_us=")))
                            .and_then(|v| v.parse().ok())
                            .ok_or_else(|| format!("no req_{q}_us= in /health: {h}"))?;
                        record(label(&format!("{q} ms, in the guest")), system, us / 1000.0, false);
                    }
                }
            }
            guest.stop(system)?;
        }
    }
    for system in [System::Gmpos, System::Linux] {
        // The peer serves echo beside HTTP; gmpos has a program for it.
        let guest = boot(&c, system, "echo", 0, page)?;
        let e = ns_output(&[&self_exe()?, "--echo-client", &format!("{GUEST}:7"), &ECHO_CONNS.to_string(), &ECHO_ROUNDS.to_string()])?;
        eprintln!("bench-net: {} {}", name(system), e.trim());
        let field = |k: &str| -> Result<f64, String> {
            e.split_whitespace().find_map(|w| w.strip_prefix(&format!("{k}="))).and_then(|v| v.parse().ok()).ok_or_else(|| format!("no {k}= in {e:?}"))
        };
        record(format!("echo {ECHO_CONNS}x{ECHO_ROUNDS}x1KiB round trips/s"), system, field("round_trips_per_sec")?, true);
        record(format!("echo {ECHO_CONNS}x{ECHO_ROUNDS}x1KiB p50 us"), system, field("p50_us")?, false);
        record(format!("echo {ECHO_CONNS}x{ECHO_ROUNDS}x1KiB p99 us"), system, field("p99_us")?, false);
        guest.stop(system)?;
    }
    print_table(&figures, &c);
    print_request_path(&path);
    write_json(&figures, &c, page, &path)
}

/// The stages of one keep-alive `/health` request in gmpos, in exact
/// instructions: `PROG=httpd` on 1 vCPU under icount (see
/// `kernel/src/programs/reqpath.rs`), after warming up; the median of
/// [`PATH_SAMPLES`] requests per stage. (Under icount, QEMU's user
/// networking loses the connection — its virtual clock runs ahead while
/// the host is slow to answer — but a TAP device works.)
fn request_path() -> Result<Vec<(String, u64)>, String> {
    let mut q = Qemu::new(1);
    q.icount = true;
    q.tap = Some(TAP.into());
    q.netns = Some(NETNS.into());
    q.timeout = Some(Duration::from_secs(600));
    q = q.args(["PROG=httpd"]);
    let mut running = q.spawn_captured().map_err(|e| format!("could not run QEMU: {e}"))?;
    if running.wait_for_line("httpd: listening", Duration::from_secs(180)).is_none() {
        return Err(format!("gmpos (icount) did not start serving; serial:\n{}", running.serial()));
    }
    ns_output(&[&self_exe()?, "--wait", &format!("{GUEST}:80")])?;
    let mut samples: Vec<Vec<(String, u64)>> = Vec::new();
    for _ in 0..PATH_SAMPLES {
        // Each answer reports the request before it: two per sample.
        let body = ns_output(&[&self_exe()?, "--requests", GUEST, "/health", "2"])?;
        let fields: Vec<(String, u64)> = body
            .split_whitespace()
            .filter(|w| w.starts_with("path_"))
            .filter_map(|w| w.split_once('=').and_then(|(k, v)| Some((k.to_string(), v.parse().ok()?))))
            .collect();
        if fields.len() != 4 {
            return Err(format!("no path_ fields in /health: {body}"));
        }
        samples.push(fields);
    }
    running.stop();
    let median = |i: usize| {
        let mut v: Vec<u64> = samples.iter().map(|s| s[i].1).collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
    Ok((0..4).map(|i| (samples[0][i].0.clone(), median(i))).collect())
}

/// Requests measured by [`request_path`].
const PATH_SAMPLES: usize = 9;

fn print_request_path(path: &[(String, u64)]) {
    let total: u64 = path.iter().map(|(_, v)| v).sum();
    println!("\nbench-net: one keep-alive GET /health in gmpos, interrupt to reply, 1 vCPU, icount (median of {PATH_SAMPLES}):");
    for (k, v) in path {
        println!("  {k:<16} {v:>8} instructions");
    }
    println!("  {:<16} {total:>8} instructions", "total");
}

fn name(system: System) -> &'static str {
    match system {
        System::Gmpos => "gmpos",
        System::Linux => "linux+go",
    }
}

/// A booted guest, serving.
struct Guest(Option<Running>);

impl Guest {
    fn serial(&self) -> String {
        self.0.as_ref().map(Running::serial).unwrap_or_default()
    }

    fn stop(mut self, system: System) -> Result<(), String> {
        let mut running = self.0.take().expect("running");
        let alive = running.is_running();
        let c: Captured = running.stop();
        if !alive || c.serial.contains("PANIC") || c.serial.contains("panic:") {
            return Err(format!("{} stopped or panicked under load; serial:\n{}", name(system), c.serial));
        }
        Ok(())
    }
}

fn boot(c: &Config, system: System, prog: &str, hogs: u32, page: usize) -> Result<Guest, String> {
    let mut q = Qemu::new(c.smp);
    q.tap = Some(TAP.into());
    q.netns = Some(NETNS.into());
    q.timeout = Some(Duration::from_secs(3600));
    match system {
        System::Gmpos => q = q.args([format!("PROG={prog}"), format!("N={hogs}")]),
        System::Linux => {
            q.linux = Some(LinuxBoot {
                kernel: c.kernel.clone(),
                initrd: c.initrd.clone(),
                append: format!("console=ttyS0 tsc=reliable quiet peer.hogs={hogs} peer.page={}", page.max(1)),
            })
        }
    }
    let started = Instant::now();
    let mut running = q.spawn_captured().map_err(|e| format!("could not run QEMU: {e}"))?;
    let ready = if prog == "echo" && system == System::Gmpos { "echo: listening" } else { "httpd: listening" };
    if running.wait_for_line(ready, Duration::from_secs(180)).is_none() {
        return Err(format!("{} did not start serving within 180 s; serial:\n{}", name(system), running.serial()));
    }
    let port = if prog == "echo" { 7 } else { 80 };
    ns_output(&[&self_exe()?, "--wait", &format!("{GUEST}:{port}")])
        .map_err(|e| format!("{e}\nthe guest's console:\n{}", running.serial()))?;
    eprintln!("bench-net: {} serving {prog} with {hogs} hogs after {:.1} s", name(system), started.elapsed().as_secs_f64());
    Ok(Guest(Some(running)))
}

/// This program's path, to run its client modes inside the namespace.
fn self_exe() -> Result<String, String> {
    std::env::current_exe().map(|p| p.display().to_string()).map_err(|e| format!("own path: {e}"))
}

/// Runs `argv` inside the namespace and returns its standard output.
fn ns_output(argv: &[&str]) -> Result<String, String> {
    let out = Command::new("ip")
        .args(["netns", "exec", NETNS])
        .args(argv)
        .output()
        .map_err(|e| format!("could not run {argv:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{argv:?} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What `wrk` measured.
struct Wrk {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// The two shapes both servers have: a one-line `/health` (first, so that
/// gmpos's interrupt-to-reply histogram holds just its one-connection row)
/// and the page (gmpos's dashboard, and a page of as many bytes on the
/// peer).
const PATHS: [&str; 2] = ["/health", "/"];

fn wrk(path: &str, conns: u32, seconds: u32, guest: &Guest) -> Result<Wrk, String> {
    let threads = conns.min(2).to_string();
    let out = ns_output(&[
        "wrk",
        "-t",
        &threads,
        "-c",
        &conns.to_string(),
        "-d",
        &format!("{seconds}s"),
        "--timeout",
        "10s",
        "--latency",
        &format!("http://{GUEST}{path}"),
    ])
    .map_err(|e| format!("{e}\nthe guest's console so far:\n{}", guest.serial()))?;
    parse_wrk(&out).ok_or_else(|| format!("could not read wrk's output:\n{out}"))
}

/// Reads `Requests/sec:` and the 50 % and 99 % lines of `--latency`.
fn parse_wrk(out: &str) -> Option<Wrk> {
    let rps = out.lines().find_map(|l| l.trim().strip_prefix("Requests/sec:"))?.trim().parse().ok()?;
    let pct = |p: &str| out.lines().find_map(|l| l.trim().strip_prefix(p)).and_then(|v| duration_ms(v.trim()));
    Some(Wrk { rps, p50_ms: pct("50%")?, p99_ms: pct("99%")? })
}

/// wrk's durations: `812.00us`, `1.23ms`, `2.00s`.
fn duration_ms(v: &str) -> Option<f64> {
    for (unit, scale) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0)] {
        if let Some(n) = v.strip_suffix(unit) {
            return n.parse::<f64>().ok().map(|n| n * scale);
        }
    }
    None
}

fn print_table(figures: &[Figure], c: &Config) {
    println!(
        "\nbench-net: {} vCPUs each, TCG, virtio-net on a TAP device; wrk {} s per row; ratio = gmpos's advantage (>1: gmpos better)",
        c.smp, c.seconds
    );
    println!("{:<42} {:>12} {:>12} {:>8}", "figure", "gmpos", "linux+go", "ratio");
    for f in figures {
        let show = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
        println!("{:<42} {:>12} {:>12} {:>8}", f.name, show(f.gmpos), show(f.linux), ratio(f).map_or("-".into(), |r| format!("{r:.2}")));
    }
}

/// How many times better gmpos is on this figure.
fn ratio(f: &Figure) -> Option<f64> {
    let (g, l) = (f.gmpos?, f.linux?);
    if g <= 0.0 || l <= 0.0 {
        return None;
    }
    Some(if f.higher_is_better { g / l } else { l / g })
}

fn write_json(figures: &[Figure], c: &Config, page: usize, path: &[(String, u64)]) -> Result<(), String> {
    let rows: Vec<serde_json::Value> = figures
        .iter()
        .map(|f| serde_json::json!({"figure": f.name, "gmpos": f.gmpos, "linux_go": f.linux, "ratio": ratio(f)}))
        .collect();
    let path: serde_json::Map<String, serde_json::Value> = path.iter().map(|(k, v)| (k.clone(), (*v).into())).collect();
    let doc = serde_json::json!({"smp": c.smp, "seconds_per_row": c.seconds, "page_bytes": page,
        "network": "tap in a network namespace", "figures": rows, "request_path_instructions": path});
    std::fs::create_dir_all("target/bench").map_err(|e| format!("target/bench: {e}"))?;
    std::fs::write("target/bench/net.json", serde_json::to_string_pretty(&doc).expect("JSON") + "\n")
        .map_err(|e| format!("target/bench/net.json: {e}"))?;
    println!("bench-net: wrote target/bench/net.json");
    Ok(())
}

/// The network namespace with a bridge (the guests' gateway) and a TAP
/// device; deleted when dropped.
struct Namespace;

impl Namespace {
    fn create() -> Result<Namespace, String> {
        // A namespace left by an interrupted run goes first.
        let _ = Command::new("ip").args(["netns", "delete", NETNS]).output();
        let ns = Namespace;
        for cmd in [
            vec!["ip", "netns", "add", NETNS],
            vec!["ip", "-n", NETNS, "link", "set", "lo", "up"],
            vec!["ip", "-n", NETNS, "link", "add", "br0", "type", "bridge"],
            vec!["ip", "-n", NETNS, "addr", "add", GATEWAY, "dev", "br0"],
            vec!["ip", "-n", NETNS, "tuntap", "add", TAP, "mode", "tap"],
            vec!["ip", "-n", NETNS, "link", "set", TAP, "master", "br0"],
            vec!["ip", "-n", NETNS, "link", "set", TAP, "up"],
            vec!["ip", "-n", NETNS, "link", "set", "br0", "up"],
        ] {
            let out = Command::new(cmd[0]).args(&cmd[1..]).output().map_err(|e| format!("{cmd:?}: {e}"))?;
            if !out.status.success() {
                return Err(format!("{} failed (root is needed): {}", cmd.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
            }
        }
        Ok(ns)
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "delete", NETNS]).output();
    }
}

/// `--wait HOST:PORT`: until a TCP connection to it succeeds (at most
/// 60 s): a guest that has just started answers ARP only once its card is
/// up, and the bridge learns it then.
fn wait_reachable(args: &[String]) -> Result<(), String> {
    let addr = args.first().ok_or("--wait needs HOST:PORT")?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match TcpStream::connect(addr.as_str()) {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() >= deadline => return Err(format!("{addr} not reachable within 60 s: {e}")),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// `--requests HOST PATH N`: N keep-alive GETs of PATH on one connection;
/// prints the last answer's body.
fn requests(args: &[String]) -> Result<(), String> {
    let [host, path, n] = args else { return Err(format!("--requests takes HOST PATH N\n{USAGE}")) };
    let n: usize = n.parse().map_err(|_| "N must be a number")?;
    let mut s = TcpStream::connect((host.as_str(), 80)).map_err(|e| format!("connect {host}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
    let mut body = String::new();
    for _ in 0..n {
        write!(s, "GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").map_err(|e| e.to_string())?;
        body = read_body(&mut s)?;
    }
    println!("{body}");
    Ok(())
}

/// Reads one response with a `Content-Length` and returns its body.
fn read_body(s: &mut TcpStream) -> Result<String, String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).map_err(|e| format!("read: {e}"))?;
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let len: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
        .and_then(|v| v.parse().ok())
        .ok_or("no Content-Length")?;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).map_err(|e| format!("read: {e}"))?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// `--page-size URL`: prints the body size of one GET (http://HOST/PATH).
fn page_size(args: &[String]) -> Result<(), String> {
    let url = args.first().ok_or("--page-size needs a URL")?;
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs")?;
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut s = TcpStream::connect((host, 80)).map_err(|e| format!("connect {host}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").map_err(|e| e.to_string())?;
    println!("{}", read_body(&mut s)?.len());
    Ok(())
}

/// `--echo-client HOST:PORT CONNS ROUNDS`: CONNS connections at once, each
/// ROUNDS round trips of 1 KiB with its own pattern, every byte checked;
/// prints round trips per second and the round trips' p50/p99.
fn echo_client(args: &[String]) -> Result<(), String> {
    let [addr, conns, rounds] = args else { return Err(format!("--echo-client takes HOST:PORT CONNS ROUNDS\n{USAGE}")) };
    let conns: usize = conns.parse().map_err(|_| "CONNS must be a number")?;
    let rounds: usize = rounds.parse().map_err(|_| "ROUNDS must be a number")?;
    // Connect one after another, then go all at once.
    let streams: Vec<TcpStream> = (0..conns)
        .map(|_| {
            let s = TcpStream::connect(addr.as_str()).map_err(|e| format!("connect {addr}: {e}"))?;
            s.set_nodelay(true).map_err(|e| e.to_string())?;
            s.set_read_timeout(Some(Duration::from_secs(60))).map_err(|e| e.to_string())?;
            Ok(s)
        })
        .collect::<Result<_, String>>()?;
    let start = Instant::now();
    let handles: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(i, mut s)| {
            std::thread::spawn(move || -> Result<Vec<u32>, String> {
                let mut lat = Vec::with_capacity(rounds);
                let mut back = vec![0u8; ECHO_BYTES];
                for r in 0..rounds {
                    let msg: Vec<u8> = (0..ECHO_BYTES).map(|k| (i * 31 + r * 7 + k) as u8).collect();
                    let t = Instant::now();
                    s.write_all(&msg).map_err(|e| format!("conn {i} write: {e}"))?;
                    s.read_exact(&mut back).map_err(|e| format!("conn {i} round {r} read: {e}"))?;
                    lat.push(t.elapsed().as_micros() as u32);
                    if back != msg {
                        return Err(format!("conn {i} round {r}: the echo differs from what was sent"));
                    }
                }
                Ok(lat)
            })
        })
        .collect();
    let mut lat = Vec::new();
    for h in handles {
        lat.extend(h.join().map_err(|_| "a client thread panicked")??);
    }
    let secs = start.elapsed().as_secs_f64();
    lat.sort_unstable();
    let q = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "echo: conns={conns} rounds={rounds} bytes_checked={} secs={secs:.2} round_trips_per_sec={:.0} p50_us={} p99_us={}",
        2 * conns * rounds * ECHO_BYTES,
        (conns * rounds) as f64 / secs,
        q(0.5),
        q(0.99)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_output() {
        let out = "  Latency Distribution\n     50%  812.00us\n     75%    1.10ms\n     90%    2.00ms\n     99%    1.50s\n  \
                   1000 requests in 10.00s, 1.00MB read\nRequests/sec:    100.50\nTransfer/sec:    102.40KB\n";
        let w = parse_wrk(out).unwrap();
        assert_eq!(w.rps, 100.5);
        assert!((w.p50_ms - 0.812).abs() < 1e-9);
        assert_eq!(w.p99_ms, 1500.0);
        assert!(parse_wrk("garbage").is_none());
    }

    #[test]
    fn ratio_is_gmpos_advantage_either_way() {
        let f = |g, l, higher_is_better| Figure { name: String::new(), gmpos: Some(g), linux: Some(l), higher_is_better };
        assert_eq!(ratio(&f(200.0, 100.0, true)), Some(2.0));
        assert_eq!(ratio(&f(1.0, 4.0, false)), Some(4.0));
        assert_eq!(ratio(&f(0.0, 4.0, false)), None);
    }
}
