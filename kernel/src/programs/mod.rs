//! The built-in programs, selected with `PROG=`. Each runs as the main
//! goroutine; returning `Err` makes the run fail with the message.

mod bench;
mod burst;
mod chanpanic;
mod chantest;
mod churn;
mod dashboard;
mod deadlock;
mod demo;
mod dump;
mod echo;
mod fairness;
mod fib;
mod gosync;
mod hog;
mod million;
mod nilchan;
mod nmiwalk;
mod order;
pub mod http;
pub mod httpd;
mod pingpong;
mod pingponghog;
mod pipeline;
mod preempt;
mod procresize;
mod recover;
mod reqpath;
mod selectfair;
mod selftest;
mod sleep;
mod spawn;
mod stackgrow;
mod stw;
mod stwstorm;
mod syscall;
mod sysfair;
mod timers;
mod torture;
mod tracecost;
mod yield_;

use alloc::format;
use alloc::string::String;

/// What the command line passes to a program.
pub struct Args {
    /// `N=`: the program's size parameter, if given.
    pub n: Option<u64>,
    /// `CPU=`: the core a test program acts on, if given.
    pub cpu: Option<usize>,
    /// Cores online.
    pub ncpu: usize,
}

pub struct Program {
    pub name: &'static str,
    pub about: &'static str,
    pub main: fn(&Args) -> Result<(), String>,
}

pub static PROGRAMS: &[Program] = &[
    Program { name: "demo", about: "a guided tour of the scheduler, one scene per idea", main: demo::main },
    Program { name: "spawn", about: "spawn N goroutines (default 100000) from one; each must run once", main: spawn::main },
    Program { name: "fib", about: "parallel fork-join Fibonacci of N (default 27), checked", main: fib::main },
    Program { name: "hog", about: "a goroutine yielding only every 200 ms vs a sleeper (try GOMAXPROCS=1)", main: hog::main },
    Program { name: "preempt", about: "a checksum computed while preempted equals the reference", main: preempt::main },
    Program { name: "syscall", about: "a blocking call hands its P's queue to another core", main: syscall::main },
    Program { name: "sysfair", about: "goroutines looping on N-ns system calls (default 10000) vs main: how long main waits", main: sysfair::main },
    Program { name: "sleep", about: "N goroutines (default 10000) sleep up to 1 s; how late do they wake?", main: sleep::main },
    Program { name: "churn", about: "spawn/exit storms through the per-P caches, N children per parent (default 100), checked", main: churn::main },
    Program { name: "million", about: "park N goroutines (default 1000000), report bytes per G, wake all", main: million::main },
    Program { name: "procresize", about: "GOMAXPROCS 4 -> 1 -> 3 -> 4 while N goroutines (default 4000) run; none lost", main: procresize::main },
    Program { name: "stackgrow", about: "recursion N deep (default 1200) grows stacks by page faults, checked", main: stackgrow::main },
    Program { name: "torture", about: "a seeded mix of checked operations while the world stops and GOMAXPROCS changes (N=seed)", main: torture::main },
    Program { name: "stwstorm", about: "stop the world and resize N times (default 200) while goroutines spawn themselves", main: stwstorm::main },
    Program { name: "stw", about: "stop the world N times (default 20) while every P runs a hog", main: stw::main },
    Program { name: "echo", about: "TCP and UDP echo server on port 7 (N= CPU-bound goroutines alongside)", main: echo::main },
    Program { name: "httpd", about: "HTTP/1.1 server on port 80 showing the scheduler (N= CPU-bound goroutines)", main: httpd::main },
    Program { name: "burst", about: "one goroutine spawns bursts on its P: who ran them, steals, cores woken (N=200)", main: burst::main },
    Program { name: "order", about: "runnext (GOMAXPROCS=1): the order N new goroutines run in; a partner ahead of the queue", main: order::main },
    Program { name: "fairness", about: "two yielders hold the P; how long waits a G in the global queue? (GOMAXPROCS=1)", main: fairness::main },
    Program { name: "yield", about: "goroutines taking turns with gosched()", main: yield_::main },
    Program { name: "pingpong", about: "two goroutines pass a value N times (default 10000) over channels", main: pingpong::main },
    Program { name: "pingponghog", about: "Go's TestPingPongHog: a hog pair and a light pair share one P fairly", main: pingponghog::main },
    Program { name: "pipeline", about: "prime sieve: a chain of N (default 100) filter goroutines, checked", main: pipeline::main },
    Program { name: "deadlock", about: "every goroutine blocks: Go's \"all goroutines are asleep\" report", main: deadlock::main },
    Program { name: "chantest", about: "self-test: channels, select, Mutex, Once, WaitGroup, timer channels", main: chantest::main },
    Program { name: "selectfair", about: "how often select picks each case, on every path (N per scene, default 1000)", main: selectfair::main },
    Program { name: "nilchan", about: "self-test: nil channels block, never fire in select, disable a case", main: nilchan::main },
    Program { name: "timers", about: "self-test: Timer Stop/Reset, AfterFunc, Ticker; the timeout loop's heap (N loops, default 10000)", main: timers::main },
    Program { name: "gosync", about: "self-test: Mutex.TryLock, RWMutex (writer-preferring), Cond", main: gosync::main },
    Program { name: "recover", about: "self-test: runtime panics recovered with Go's messages, guards dropped", main: recover::main },
    Program { name: "chanpanic", about: "self-test: N=0 send on closed, 1 double close, 2 select send, 3 close nil: panics", main: chanpanic::main },
    Program { name: "bench", about: "scheduler microbenchmarks (one vCPU, under icount: make bench)", main: bench::main },
    Program { name: "dump", about: "goroutines parked in known states, then the goroutine dump (Ctrl-\\'s), checked", main: dump::main },
    Program { name: "tracecost", about: "what one execution-trace event costs (ICOUNT=1, with and without GODEBUG=trace=1)", main: tracecost::main },
    Program { name: "timer", about: "self-test: the LAPIC timer ticks on every core", main: selftest::timer },
    Program { name: "ipi", about: "self-test: an IPI round trip between every pair of cores", main: selftest::ipi },
    Program { name: "heap", about: "self-test: heap allocation stress on every core", main: selftest::heap },
    Program { name: "fault", about: "self-test: a page fault on core CPU (default 1)", main: selftest::fault },
    Program { name: "panic", about: "self-test: a panic on core CPU (default 1)", main: selftest::panic },
    Program { name: "wedge", about: "self-test: core CPU (default 1) hangs with interrupts off; the watchdog names where", main: selftest::wedge },
    Program { name: "lostirq", about: "self-test: a tick whose delivery faults on a stack page is raised again", main: selftest::lostirq },
    Program { name: "nmiwalk", about: "self-test: every core's stack walked by NMI N times (default 1000) while goroutines run", main: nmiwalk::main },
    Program { name: "overflow", about: "self-test: a goroutine overflows its stack", main: selftest::overflow },
];

/// A self-test's check: `Err("what: detail")` unless `ok`.
pub fn check(what: &str, ok: bool, detail: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(format!("{what}: {detail}")) }
}

pub fn find(name: &str) -> Option<&'static Program> {
    PROGRAMS.iter().find(|p| p.name == name)
}

/// `[1 2 3]`: a list of figures for a report.
pub(crate) fn list(values: impl IntoIterator<Item = u64>) -> String {
    let items: alloc::vec::Vec<String> = values.into_iter().map(|v| format!("{v}")).collect();
    format!("[{}]", items.join(" "))
}

/// The error for an unknown `PROG`, listing the programs.
pub fn unknown(name: &str) -> String {
    let list: String = PROGRAMS.iter().map(|p| format!("\n  {:<9} {}", p.name, p.about)).collect();
    format!("unknown program \"{name}\"; programs:{list}")
}
