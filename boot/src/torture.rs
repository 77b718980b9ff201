//! `make torture`: boots `PROG=torture` again and again, each time with a
//! random machine — 1 to 8 vCPUs, GOMAXPROCS unset or 1..=vCPUs, a GODEBUG
//! of schedtrace options and scheduler switches — and a random workload
//! seed, and collects what failed.
//!
//! Everything comes from one seed: the same `SEED=` gives the same boots in
//! the same order with the same workloads (the interleavings inside each
//! are the machine's). When a boot's kernel announces its servers
//! (`torture: net: echo on tcp port 7 for C connections, http on port 80
//! for H connections`), the runner opens C + H client connections through
//! forwarded ports while the boot runs, sends seeded messages and requests
//! and checks every byte echoed and every response. A failed boot is
//! reported with its configuration, the lines that boot it again, and the
//! end of its console — where the kernel's invariant check or watchdog
//! printed scheddetail, where each core was (its `rip=` named from the
//! kernel's symbols, `crate::symbols`) and a goroutine dump
//! (`kernel/src/programs/torture.rs`).

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use crate::rng::Rng;
use crate::{Captured, ECHO_GUEST_PORT, Forward, HTTP_GUEST_PORT, Outcome, Qemu, free_ports};

/// Most vCPUs a boot gets (8 already means 4 vCPU threads per host core here).
pub const MAX_SMP: u32 = 8;
/// Limit per boot: a boot takes a few seconds; the kernel's own watchdog
/// reports a hang after 30 s of no progress, so this catches only a kernel
/// too stuck for that (core 0's tick gone), or one whose operations keep
/// reporting progress without ending.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(180);
/// Console lines of a failed boot kept in its report.
const TAIL_LINES: usize = 80;
/// How long an established connection may wait for an answer (an echo, a
/// response) before it counts as lost.
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);
/// Connection attempts before the server counts as unreachable.
const CONNECT_TRIES: u32 = 30;
/// Messages per connection, and bytes per message, at most.
const MAX_MESSAGES: u64 = 16;
const MAX_MESSAGE: u64 = 4096;

/// One boot's machine and workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub smp: u32,
    pub gomaxprocs: Option<u32>,
    /// The `GODEBUG` value (`None`: unset).
    pub godebug: Option<String>,
    /// The kernel's workload seed (`N=`).
    pub seed: u64,
}

/// schedtrace options a boot may get (scheddetail rarely: it prints every G).
const SCHEDTRACES: [Option<&str>; 4] = [None, None, Some("schedtrace=30"), Some("schedtrace=200,scheddetail=1")];

/// The scheduler's switches (`kernel/src/cmdline.rs`'s `SWITCHES`, issue
/// 13), each of which turns a mechanism off. A key the kernel does not know
/// fails its boot at once ("unknown GODEBUG setting"), so this list cannot
/// drift from the kernel's unnoticed.
pub const SWITCHES: [&str; 9] = [
    "asyncpreemptoff",
    "stealoff",
    "runnextoff",
    "fairnessoff",
    "spinningoff",
    "handoffoff",
    "netpollirqoff",
    "go10sched",
    "netpollpreemptoff",
];

impl Config {
    pub fn random(rng: &mut Rng) -> Config {
        let smp = 1 + rng.below(MAX_SMP as u64) as u32;
        let gomaxprocs = (rng.below(3) != 0).then(|| 1 + rng.below(smp as u64) as u32);
        let schedtrace = *rng.pick(&SCHEDTRACES);
        // Half the boots run every mechanism; the others turn each switch
        // on with a chance of 1 in 4 (at least one).
        let switches: Vec<&str> = match rng.below(2) {
            0 => Vec::new(),
            _ => loop {
                let on: Vec<&str> = SWITCHES.iter().copied().filter(|_| rng.below(4) == 0).collect();
                if !on.is_empty() {
                    break on;
                }
            },
        };
        let settings: Vec<String> =
            switches.iter().map(|s| format!("{s}=1")).chain(schedtrace.map(String::from)).collect();
        let godebug = (!settings.is_empty()).then(|| settings.join(","));
        Config { smp, gomaxprocs, godebug, seed: rng.next() >> 1 }
    }

    /// The kernel command line words.
    pub fn words(&self) -> Vec<String> {
        let mut w = vec!["PROG=torture".to_string(), format!("N={}", self.seed)];
        w.extend(self.gomaxprocs.map(|n| format!("GOMAXPROCS={n}")));
        w.extend(self.godebug.as_ref().map(|g| format!("GODEBUG={g}")));
        w
    }

    /// The command that boots this configuration again.
    pub fn repro(&self) -> String {
        format!("make run SMP={} {}", self.smp, self.words().join(" "))
    }
}

/// A boot that did not end with `torture: ... ok`, or whose echo server
/// failed a client.
pub struct Failure {
    /// The `make torture` line that boots it again, clients included.
    pub again: String,
    pub config: Config,
    pub outcome: Outcome,
    /// What a network client found wrong, if one did.
    pub net: Option<String>,
    /// The last console lines, with the kernel's `rip=` addresses named
    /// (`symbols`).
    pub tail: String,
}

/// What a torture run did.
#[derive(Default)]
pub struct Summary {
    pub boots: u64,
    /// Operations that ran and passed their checks, over all boots: the
    /// kernel's, and the echo round trips and HTTP requests the clients
    /// checked.
    pub ops: u64,
    /// Client connections that served everything back, over all boots.
    pub conns: u64,
    /// Echo round trips and HTTP requests checked (also counted in `ops`).
    pub exchanges: u64,
    /// Stop-the-worlds made by the chaos goroutines (each checked the
    /// invariants), over the clean boots.
    pub stops: u64,
    pub failures: Vec<Failure>,
}

/// Boots until `duration` has passed (at least once), from `seed`; calls
/// `progress` after each boot with its number in the seed's sequence, its
/// configuration, and what its clients checked or how it failed (failures
/// are also kept in the summary). With `only = Some(k)`, boots the
/// `k`th configuration of `seed` (from 1), again and again: a boot of
/// an earlier run, its clients included.
pub fn run(seed: u64, duration: Duration, only: Option<u64>, mut progress: impl FnMut(u64, &Config, Result<&Served, &Failure>, &Summary)) -> Summary {
    let mut rng = Rng::new(seed);
    let only = only.map(|k| (k, (0..k.max(1)).map(|_| Config::random(&mut rng)).last().expect("k >= 1")));
    let start = Instant::now();
    let mut summary = Summary::default();
    // Boot a copy: a build during a long run would otherwise rewrite the
    // image under a boot that is reading it (and the kernel ELF that names
    // its addresses: copied too).
    let copy = |from: &Path, ext: &str| {
        let to = std::env::temp_dir().join(format!("gmpos-torture-{}.{ext}", std::process::id()));
        std::fs::copy(from, &to).unwrap_or_else(|e| panic!("copying {} to {}: {e}", from.display(), to.display()));
        to
    };
    let (image, elf) = (copy(crate::bios_image(), "img"), copy(crate::kernel_elf(), "elf"));
    while summary.boots == 0 || start.elapsed() < duration {
        let (index, config) = match &only {
            Some((k, config)) => (*k, config.clone()),
            None => (summary.boots + 1, Config::random(&mut rng)),
        };
        let (c, net) = boot(&config, &image);
        summary.boots += 1;
        summary.ops += c.serial.lines().filter(|l| l.starts_with("torture: op ") && l.ends_with(": ok")).count() as u64;
        let done = c.serial.lines().find(|l| l.starts_with("torture: seed="));
        let ok = c.outcome == Outcome::Success && done.is_some() && net.is_ok();
        match (done, net) {
            (Some(done), Ok(net)) if ok => {
                summary.stops += chaos_stops(done);
                summary.conns += net.conns;
                summary.exchanges += net.exchanges;
                summary.ops += net.exchanges;
                progress(index, &config, Ok(&net), &summary);
            }
            (_, net) => summary.failures.push(Failure {
                again: format!("make torture SEED={seed} BOOT={index}"),
                config: config.clone(),
                outcome: c.outcome,
                net: net.err(),
                tail: tail(&crate::symbols::symbolize(&c.serial, &elf)),
            }),
        }
        if let (false, Some(f)) = (ok, summary.failures.last()) {
            progress(index, &config, Err(f), &summary);
        }
    }
    let _ = std::fs::remove_file(&image);
    let _ = std::fs::remove_file(&elf);
    summary
}

/// Boots `config` and, if its kernel announces its servers, runs the
/// clients against them while it runs. Public for the regression tests
/// that boot one configuration.
pub fn boot(config: &Config, image: &Path) -> (Captured, Result<Served, String>) {
    let [echo_port, http_port] = free_ports();
    let mut q = Qemu::new(config.smp).args(config.words());
    q.image = image.to_path_buf();
    q.timeout = Some(BOOT_TIMEOUT);
    q.forwards = vec![Forward::tcp(echo_port, ECHO_GUEST_PORT), Forward::tcp(http_port, HTTP_GUEST_PORT)];
    // The monitor, to ask QEMU where each vCPU is if the boot outlives its
    // limit: a hang that stopped core 0's tick, and the watchdog with it.
    let socket = std::env::temp_dir().join(format!("gmpos-torture-{}-{}.mon", std::process::id(), config.seed));
    q.monitor = Some(socket.clone());
    let start = Instant::now();
    let mut running = q.spawn_captured().unwrap_or_else(|e| panic!("could not run QEMU: {e}"));
    // (`None` once QEMU has exited: a boot without servers.)
    let net = match running.wait_for_line("torture: net: ", BOOT_TIMEOUT) {
        Some(line) => match announced(&line) {
            Some((echo, http)) => clients(echo_port, echo, http_port, http, config.seed),
            None => Err(format!("cannot read the numbers of connections in {line:?}")),
        },
        None => Ok(Served::default()),
    };
    while running.is_running() && start.elapsed() < BOOT_TIMEOUT {
        thread::sleep(Duration::from_millis(20));
    }
    let vcpus = if running.is_running() { running.vcpus(&socket) } else { None };
    let mut c = running.stop();
    let _ = std::fs::remove_file(&socket);
    if let Some(vcpus) = vcpus {
        c.serial.push_str(&format!("\ntorture runner: still running at the limit; each vCPU, as QEMU's monitor saw it:\n{vcpus}"));
    }
    (c, net)
}

/// The echo and HTTP connections that `torture: net: echo on tcp port 7
/// for C connections, http on port 80 for H connections` announces.
fn announced(line: &str) -> Option<(u64, u64)> {
    let mut n = line.split(" for ").skip(1).map(|r| r.split(' ').next().and_then(|n| n.parse().ok()));
    Some((n.next()??, n.next()??))
}

/// What the clients of one boot checked.
#[derive(Debug, Default)]
pub struct Served {
    /// Connections (echo and HTTP) that got every answer right.
    pub conns: u64,
    /// Echo round trips and HTTP requests checked.
    pub exchanges: u64,
}

/// Opens `echo` connections to the echo server on `echo_port` and `http`
/// to the HTTP server on `http_port`, one after the other, then uses them
/// all at once, each on its own thread: seeded messages (from `seed`),
/// each echo checked byte by byte, and seeded requests, each response
/// checked; closes them. A wrong byte or answer, or one that does not come
/// within [`REPLY_TIMEOUT`], is an error.
fn clients(echo_port: u16, echo: u64, http_port: u16, http: u64, seed: u64) -> Result<Served, String> {
    let rng = |i: u64| Rng::new(seed ^ (i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let mut workers: Vec<thread::JoinHandle<Result<u64, String>>> = Vec::new();
    for i in 0..echo {
        let s = establish(echo_port, confirm_echo).map_err(|e| format!("echo connection {i}: {e}"))?;
        let mut rng = rng(i);
        workers.push(thread::spawn(move || converse(s, &mut rng).map_err(|e| format!("echo connection {i}: {e}"))));
    }
    for i in 0..http {
        let mut rng = rng(echo + i);
        let first = request(&mut rng);
        let s = establish(http_port, |s| confirm_http(s, &first)).map_err(|e| format!("http connection {i}: {e}"))?;
        workers.push(thread::spawn(move || requests(s, &mut rng).map_err(|e| format!("http connection {i}: {e}"))));
    }
    let mut served = Served::default();
    for w in workers {
        served.exchanges += w.join().map_err(|_| "a client thread panicked".to_string())??;
        served.conns += 1;
    }
    Ok(served)
}

/// What a connection's first exchange found: confirmed (with what the
/// connection goes on with), or closed before any answer (try again).
type Confirmed<T> = Result<Result<T, String>, String>;

/// Connects and confirms the connection with a first exchange (`confirm`).
/// QEMU's forwarder listens with a backlog of 1 and may refuse a connect,
/// or accept it and close it before the guest ever saw it: those are tried
/// again. Once a first answer has come, anything wrong is an error.
fn establish<T>(port: u16, mut confirm: impl FnMut(TcpStream) -> Confirmed<T>) -> Result<T, String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut last = String::new();
    for attempt in 0..CONNECT_TRIES {
        if attempt > 0 {
            thread::sleep(Duration::from_millis(100 * u64::from(attempt.min(10))));
        }
        let s = match TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
            Ok(s) => s,
            Err(e) => {
                last = format!("connect: {e}");
                continue;
            }
        };
        s.set_read_timeout(Some(REPLY_TIMEOUT)).and_then(|_| s.set_nodelay(true)).map_err(|e| e.to_string())?;
        match confirm(s)? {
            Ok(t) => return Ok(t),
            Err(why) => last = why,
        }
    }
    Err(format!("no connection in {CONNECT_TRIES} tries (last: {last})"))
}

/// Whether an error reading the first answer means the connection was
/// closed before it (to be tried again), not that the answer is late.
fn closed_early(e: &std::io::Error) -> bool {
    !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// An echo connection's first exchange: one byte.
fn confirm_echo(mut s: TcpStream) -> Confirmed<TcpStream> {
    let mut b = [0u8; 1];
    match s.write_all(b"!").and_then(|_| s.read_exact(&mut b)) {
        Ok(()) if &b == b"!" => Ok(Ok(s)),
        Ok(()) => Err(format!("the first echo came back as {:#04x}, not '!'", b[0])),
        Err(e) if closed_early(&e) => Ok(Err(format!("closed before the first echo: {e}"))),
        Err(_) => Err(format!("no first echo within {} s", REPLY_TIMEOUT.as_secs())),
    }
}

/// The messages of one echo connection; how many came back right.
fn converse(mut s: TcpStream, rng: &mut Rng) -> Result<u64, String> {
    let messages = 1 + rng.below(MAX_MESSAGES);
    for m in 0..messages {
        let len = 1 + rng.below(MAX_MESSAGE) as usize;
        let sent = rng.bytes(len);
        s.write_all(&sent).map_err(|e| format!("message {m}: write: {e}"))?;
        let mut got = vec![0u8; sent.len()];
        s.read_exact(&mut got).map_err(|e| format!("message {m} ({} bytes): reply lost: {e}", sent.len()))?;
        if let Some(k) = (0..sent.len()).find(|&k| got[k] != sent[k]) {
            return Err(format!("message {m}: byte {k} of {} came back as {:#04x}, sent {:#04x}", sent.len(), got[k], sent[k]));
        }
    }
    Ok(messages)
}

/// A seeded request path: `/health`, or a path the server does not have.
fn request(rng: &mut Rng) -> String {
    match rng.below(2) {
        0 => "/health".to_string(),
        _ => format!("/torture/{:x}", rng.next()),
    }
}

/// An HTTP connection's first exchange: the request for `path`, checked.
fn confirm_http(s: TcpStream, path: &str) -> Confirmed<BufReader<TcpStream>> {
    let mut r = BufReader::new(s);
    match get(&mut r, path) {
        Ok(response) => check(path, response).map(|()| Ok(r)),
        Err((0, e)) if closed_early(&e) => Ok(Err(format!("closed before the first response: {e}"))),
        Err((_, e)) => Err(format!("GET {path}: response lost: {e}")),
    }
}

/// The rest of an HTTP connection: 0–7 more seeded requests (keep-alive),
/// each response checked; how many were, the first included.
fn requests(mut r: BufReader<TcpStream>, rng: &mut Rng) -> Result<u64, String> {
    let more = rng.below(8);
    for _ in 0..more {
        let path = request(rng);
        let response = get(&mut r, &path).map_err(|(_, e)| format!("GET {path}: response lost: {e}"))?;
        check(&path, response)?;
    }
    Ok(1 + more)
}

/// Sends `GET path` and reads the response: its status and body. An error
/// comes with how many bytes of the response had arrived.
fn get(r: &mut BufReader<TcpStream>, path: &str) -> Result<(u16, Vec<u8>), (usize, std::io::Error)> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: gmpos\r\n\r\n");
    r.get_mut().write_all(request.as_bytes()).map_err(|e| (0, e))?;
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        match r.read_until(b'\n', &mut head) {
            Ok(0) => return Err((head.len(), ErrorKind::UnexpectedEof.into())),
            Ok(_) => {}
            Err(e) => return Err((head.len(), e)),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let bad = |what: &str| (head.len(), std::io::Error::new(ErrorKind::InvalidData, format!("{what} in {head:?}")));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| bad("no status"))?;
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| bad("no Content-Length"))?;
    let mut body = vec![0u8; length];
    r.read_exact(&mut body).map_err(|e| (head.len(), e))?;
    Ok((status, body))
}

/// Whether `response` is right for `path`: `/health` 200 with its line of
/// counters, any other path 404 `Not Found`.
fn check(path: &str, (status, body): (u16, Vec<u8>)) -> Result<(), String> {
    let ok = match path {
        "/health" => status == 200 && body.starts_with(b"ok goroutines=") && body.ends_with(b"\n"),
        _ => status == 404 && body == b"Not Found\n",
    };
    match ok {
        true => Ok(()),
        false => Err(format!("GET {path}: wrong response {status} {:?}", String::from_utf8_lossy(&body))),
    }
}

/// `N` in the summary line's `(chaos: N stops, ...)`.
fn chaos_stops(line: &str) -> u64 {
    line.split("chaos: ").nth(1).and_then(|r| r.split(' ').next()).and_then(|n| n.parse().ok()).unwrap_or(0)
}

fn tail(serial: &str) -> String {
    let lines: Vec<&str> = serial.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}

impl Failure {
    /// The report of this failure: configuration, how to boot it again, and
    /// the end of its console.
    pub fn report(&self) -> String {
        format!(
            "torture: FAILED ({}{}): smp={} gomaxprocs={} godebug={} seed={}\n  again: {} (or, without the echo clients: {})\n--- last console lines ---\n{}\n--- end ---",
            self.outcome,
            self.net.as_ref().map_or(String::new(), |e| format!("; echo client: {e}")),
            self.config.smp,
            self.config.gomaxprocs.map_or("unset".into(), |n| n.to_string()),
            self.config.godebug.as_deref().unwrap_or("unset"),
            self.config.seed,
            self.again,
            self.config.repro(),
            self.tail
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_boots() {
        let boots = |seed| {
            let mut rng = Rng::new(seed);
            (0..50).map(|_| Config::random(&mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(boots(7), boots(7));
        assert_ne!(boots(7), boots(8));
        for c in boots(7) {
            assert!((1..=MAX_SMP).contains(&c.smp));
            assert!(c.gomaxprocs.is_none_or(|n| (1..=c.smp).contains(&n)), "{c:?}");
        }
        // Over 200 boots every switch is drawn, and some boots run with none.
        let many = boots(7).into_iter().chain(boots(8)).chain(boots(9)).chain(boots(10)).collect::<Vec<_>>();
        let has = |c: &Config, key: &str| c.godebug.as_deref().is_some_and(|g| g.contains(&format!("{key}=1")));
        for key in SWITCHES {
            assert!(many.iter().any(|c| has(c, key)), "{key} never drawn");
        }
        assert!(many.iter().any(|c| SWITCHES.iter().all(|k| !has(c, k))));
    }

    /// A fake forwarder on 127.0.0.1: closes the first `drop_first`
    /// connections at once (as QEMU's does when the guest never saw them),
    /// then echoes, with byte `flip` of the stream (if any) changed.
    fn fake_server(drop_first: usize, flip: Option<usize>) -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        thread::spawn(move || {
            for (i, conn) in listener.incoming().enumerate() {
                let mut conn = conn.unwrap();
                if i < drop_first {
                    continue;
                }
                thread::spawn(move || {
                    let (mut buf, mut at) = ([0u8; 4096], 0);
                    while let Ok(n @ 1..) = conn.read(&mut buf) {
                        if let Some(k) = flip.filter(|k| (at..at + n).contains(k)) {
                            buf[k - at] ^= 1;
                        }
                        at += n;
                        conn.write_all(&buf[..n]).unwrap();
                    }
                });
            }
        });
        port
    }

    #[test]
    fn connections_closed_before_the_first_echo_are_tried_again() {
        let port = fake_server(3, None);
        let served = clients(port, 2, port, 0, 5).expect("the fourth and fifth connections echo");
        assert_eq!(served.conns, 2);
        assert!(served.exchanges >= 2);
    }

    #[test]
    fn a_wrong_byte_on_an_established_connection_fails() {
        // Byte 0 is the confirming '!'; byte 1 the first of message 0.
        let port = fake_server(0, Some(1));
        let err = clients(port, 1, port, 0, 5).expect_err("a flipped byte");
        assert!(err.contains("message 0: byte 0 of"), "{err}");
    }

    #[test]
    fn http_responses_are_checked() {
        assert!(check("/health", (200, b"ok goroutines=3 gomaxprocs=2\n".to_vec())).is_ok());
        assert!(check("/health", (503, b"too many connections\n".to_vec())).is_err());
        assert!(check("/health", (200, b"ok goroutines=3".to_vec())).is_err());
        assert!(check("/torture/1f", (404, b"Not Found\n".to_vec())).is_ok());
        assert!(check("/torture/1f", (200, b"Not Found\n".to_vec())).is_err());
    }

    #[test]
    fn repro_is_a_make_run_line() {
        let c = Config { smp: 3, gomaxprocs: Some(2), godebug: Some("stealoff=1,schedtrace=30".into()), seed: 42 };
        assert_eq!(c.repro(), "make run SMP=3 PROG=torture N=42 GOMAXPROCS=2 GODEBUG=stealoff=1,schedtrace=30");
        assert_eq!(announced("torture: net: echo on tcp port 7 for 5 connections, http on port 80 for 2 connections"), Some((5, 2)));
        assert_eq!(chaos_stops("torture: seed=42 ops=24 ok (chaos: 17 stops, 3 GOMAXPROCS changes, ...)"), 17);
    }
}
