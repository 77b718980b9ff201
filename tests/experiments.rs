//! The `GODEBUG` switches that turn a scheduler mechanism off
//! (docs/experiments.md): each test boots the same program with the
//! mechanism and without it, and checks that the figure moves the way the
//! design predicts. Each would fail with the switch ignored: the "off" run
//! would then show the mechanism at work.

mod common;
use common::*;

/// The figure after `key=` on the line starting with `prefix` (a whole or
/// decimal number, with an optional `%`).
fn figure(c: &Captured, prefix: &str, key: &str) -> f64 {
    let line = expect_line(c, prefix);
    let at = line.find(&format!(" {key}=")).unwrap_or_else(|| panic!("no {key}= in {line:?}")) + key.len() + 2;
    let text: String = line[at..].chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    text.parse().unwrap_or_else(|_| panic!("{key}= is not a number in {line:?}"))
}

/// Boots `words` with `GODEBUG=godebug` added when it is not empty.
fn boot_switch(smp: u32, icount: bool, words: &[&str], godebug: &str) -> Captured {
    let setting = format!("GODEBUG={godebug}");
    let mut q = Qemu::new(smp).args(words.iter().copied().chain((!godebug.is_empty()).then_some(setting.as_str())));
    q.icount = icount;
    q.timeout = Some(TIMEOUT);
    boot_with(&q)
}

#[test]
fn asyncpreemptoff_lets_a_hog_delay_a_sleeper_until_it_yields() {
    // One P, exact virtual time: the hog yields every 200 ms; the sleeper
    // wants to wake every 50 ms.
    let words = ["PROG=hog", "GOMAXPROCS=1", "N=6"];
    let on = boot_switch(1, true, &words, "");
    assert_success(&on);
    assert!(figure(&on, "hog: ", "preemptions") > 0.0);
    let late_on = figure(&on, "hog: ", "max_delay_ms");
    assert!(late_on <= 20.0, "with preemption the sleeper is late by about a 10 ms slice, not {late_on} ms");

    let off = boot_switch(1, true, &words, "asyncpreemptoff=1");
    expect_line(&off, "gmpos: GODEBUG switched off: asyncpreemptoff");
    assert_eq!(figure(&off, "hog: ", "preemptions"), 0.0, "asyncpreemptoff=1 still preempted");
    let late_off = figure(&off, "hog: ", "max_delay_ms");
    assert!(late_off >= 100.0, "without preemption the sleeper waits for the hog's yield (150 ms), not {late_off} ms");
    // The hog program judges its own claim: never preempted is a failure.
    assert_failure(&off);
    expect_line(&off, "hog: FAILED: the hog was never preempted");
}

#[test]
fn stealoff_leaves_a_burst_on_the_spawners_p() {
    let on = boot_switch(4, false, &["PROG=burst"], "");
    assert_success(&on);
    assert!(figure(&on, "burst: n=", "steals") > 0.0, "idle Ps steal from the spawner's");
    let share_on = figure(&on, "burst: n=", "busiest_share");

    let off = boot_switch(4, false, &["PROG=burst"], "stealoff=1");
    assert_success(&off);
    assert_eq!(figure(&off, "burst: n=", "steals"), 0.0, "stealoff=1 still stole");
    let share_off = figure(&off, "burst: n=", "busiest_share");
    // Measured: 36-81% with stealing (81% on a loaded host), 99-100% without.
    assert!(share_off >= 95.0, "without stealing the spawner's P runs (nearly) the whole burst, not {share_off}%");
    assert!(share_on < share_off, "stealing spreads the burst: busiest core {share_on}% with, {share_off}% without");
}

#[test]
fn spinningoff_parks_idle_ms_at_once_and_wakes_more_cores() {
    let wakeups = |c: &Captured| figure(c, "burst: n=", "wakeups") + figure(c, "burst: rounds=", "wakeups");
    let spins = |c: &Captured| figure(c, "burst: n=", "spins") + figure(c, "burst: rounds=", "spins");
    let on = boot_switch(4, false, &["PROG=burst"], "");
    assert_success(&on);
    assert!(spins(&on) > 0.0, "Ms out of work spin while others are busy");

    let off = boot_switch(4, false, &["PROG=burst"], "spinningoff=1");
    assert_success(&off);
    assert_eq!(spins(&off), 0.0, "spinningoff=1 still spun");
    // The effect — more cores woken without spinning — is reported, not
    // asserted: between boots on a loaded 2-core host it varied too much
    // (measured 2-32 against 141-416, but also 58 against 24 and 207
    // against 216 once the branches were merged).
    eprintln!("core wakeups: {} with spinning, {} without", wakeups(&on), wakeups(&off));
}

#[test]
fn runnextoff_runs_new_goroutines_in_order_and_a_partner_behind_the_queue() {
    let words = ["PROG=order", "GOMAXPROCS=1"];
    let on = boot_switch(1, false, &words, "");
    assert_success(&on);
    expect_line(&on, "order: 5 0 1 2 3 4"); // the newest first, from runnext
    // Measured: 0 turns of the 4 yielders in 1000 round trips (only a
    // preemption would let them in).
    let turns_on = figure(&on, "order: rounds=", "yielder_turns");
    assert!(turns_on <= 100.0, "a readied partner runs ahead of the queue: {turns_on} yielder turns");

    let off = boot_switch(1, false, &words, "runnextoff=1,schedtrace=1000");
    assert_success(&off);
    expect_line(&off, "order: 0 1 2 3 4 5");
    // Measured: 8000, all 4 yielders at each of the 2 handoffs per round.
    let turns_off = figure(&off, "order: rounds=", "yielder_turns");
    assert!(turns_off >= 4000.0, "without runnext the partner waits behind the yielders: {turns_off} turns");
    // schedtrace says what is off.
    assert!(expect_line(&off, "SCHED ").ends_with("] off=runnextoff"), "schedtrace lists the switch");
}

#[test]
fn fairnessoff_starves_the_global_queue() {
    let words = ["PROG=fairness", "GOMAXPROCS=1"];
    let on = boot_switch(1, false, &words, "");
    assert_success(&on);
    let waited = figure(&on, "fairness: ", "waited");
    assert!(waited <= 61.0, "the 1-in-61 check runs the global queue's G within 61 turns, not {waited}");

    let off = boot_switch(1, false, &words, "fairnessoff=1");
    assert_success(&off);
    let (waited, turns) = (figure(&off, "fairness: ", "waited"), figure(&off, "fairness: ", "turns"));
    assert_eq!(waited, turns, "without the check the global queue waits for every turn of the yielders");
}

#[test]
fn handoffoff_strands_the_queue_behind_a_blocking_call() {
    // One P on two cores: only the handoff can run the queue meanwhile.
    let words = ["PROG=syscall", "GOMAXPROCS=1"];
    let on = boot_switch(2, false, &words, "");
    assert_success(&on);
    assert_eq!(figure(&on, "syscall: ", "ran_before_return"), 8.0);
    assert!(figure(&on, "syscall: ", "handoffs") >= 1.0);

    let off = boot_switch(2, false, &words, "handoffoff=1");
    assert_eq!(figure(&off, "syscall: ", "handoffs"), 0.0, "handoffoff=1 still handed off");
    assert_eq!(figure(&off, "syscall: ", "ran_before_return"), 0.0, "the queue waits for the call to return");
    assert_failure(&off); // the program's own claim fails, and it says so
}

#[test]
fn go10sched_takes_the_global_lock_for_every_goroutine() {
    let words = ["PROG=spawn", "N=20000"];
    let on = boot_switch(4, false, &words, "");
    assert_success(&on);
    let per_p = figure(&on, "spawn: global_lock_acquisitions=", "per_spawn");
    assert!(per_p < 0.5, "with per-P queues most spawns take no global lock ({per_p} per spawn)");

    let off = boot_switch(4, false, &words, "go10sched=1");
    assert_success(&off);
    assert_eq!(figure(&off, "spawn: n=", "steals"), 0.0, "Go 1.0 mode has no local queues to steal from");
    let go10 = figure(&off, "spawn: global_lock_acquisitions=", "per_spawn");
    // Measured: 0.10-0.13 per spawn with per-P queues, 2.07-2.15 in Go 1.0
    // mode (one put and one get, each under sched.lock).
    assert!(go10 >= 2.0, "in Go 1.0 mode every goroutine is put and taken under sched.lock ({go10} per spawn)");
}

#[test]
fn a_bad_switch_value_is_refused_at_boot() {
    let c = boot(1, &["PROG=order", "GODEBUG=stealoff=yes"]);
    assert_failure(&c);
    expect_line(&c, "gmpos: bad stealoff \"yes\"");
}

/// The median time, in µs, of `n` requests to an idle `PROG=httpd`, each
/// on a new connection (connect, request, response, close), with
/// `GODEBUG=godebug` when not empty.
fn idle_httpd_request_p50_us(godebug: &str, n: usize) -> u128 {
    use std::io::{Read, Write};
    let port = free_port();
    let setting = format!("GODEBUG={godebug}");
    let mut q = Qemu::new(2).args(["PROG=httpd"].into_iter().chain((!godebug.is_empty()).then_some(setting.as_str())));
    q.forwards = vec![Forward::tcp(port, boot::HTTP_GUEST_PORT)];
    q.timeout = Some(std::time::Duration::from_secs(300));
    let mut server = start_server(&q);
    server.wait_for_line("httpd: listening on port 80", 120);
    let mut times: Vec<u128> = (0..n)
        .map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(7));
            let start = std::time::Instant::now();
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
            write!(s, "GET /health HTTP/1.1\r\nHost: gmpos\r\nConnection: close\r\n\r\n").unwrap();
            let mut reply = String::new();
            s.read_to_string(&mut reply).expect("a reply");
            assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
            start.elapsed().as_micros()
        })
        .collect();
    assert!(server.is_running(), "the kernel stopped while serving");
    server.stop();
    times.sort_unstable();
    eprintln!("GODEBUG={godebug:?}: request times (µs, sorted): {times:?}");
    times[n / 2]
}

#[test]
fn netpollirqoff_makes_an_idle_server_wait_for_sysmons_poll() {
    let on = idle_httpd_request_p50_us("", 41);
    let off = idle_httpd_request_p50_us("netpollirqoff=1", 41);
    eprintln!("p50: {on} µs with the interrupt, {off} µs without");
    // Measured: 884 µs against 21,764 µs (a request needs about two polls,
    // each waiting up to 10 ms for sysmon without the interrupt's wakeup).
    assert!(
        off > 3 * on,
        "without the interrupt's wakeup, requests wait for sysmon's 10 ms poll: p50 {off} µs against {on} µs"
    );
}
