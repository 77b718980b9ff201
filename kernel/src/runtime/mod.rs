//! The Go runtime scheduler, re-created at OS level. One file per Go
//! concept, with Go's names:
//!
//! | Go (`src/runtime`)                         | here            |
//! |--------------------------------------------|-----------------|
//! | `g`, `_Grunnable`…, `waitReason`, `gfput`  | `g.rs`, `proc.rs` |
//! | `m`, `g0`, `mcall`, `acquirem`             | `m.rs`          |
//! | `p`, `schedtick`                           | `p.rs`          |
//! | `runqput`, `runqget`, `runqsteal`…         | `runq.rs`       |
//! | `schedt`, `globrunqput`, `pidleput`…       | `sched.rs`      |
//! | `schedule`, `findRunnable`, `stealWork`    | `schedule.rs`   |
//! | `wakep`, `startm`, `stopm`                 | `idle.rs`       |
//! | `newproc`, `gopark`, `goready`, `Gosched`  | `proc.rs`       |
//! | `netpoll`, `pollDesc`, `netpollblock`       | `netpoll.rs`    |
//! | (gmpos's own) wake-up preemption for the network | `netpreempt.rs` |
//! | `schedtrace`, `scheddetail`                | `schedtrace.rs` |
//! | `tracebackothers` (the goroutine dump)     | `traceback.rs`  |
//! | `runtime/trace` (the execution trace)      | `trace.rs`      |
//! | (none: the dashboard's picture)            | `snapshot.rs`   |
//! | `sync.WaitGroup`                           | `waitgroup.rs`  |
//! | `hchan`, `chansend`, `chanrecv`, `closechan` | `chan.rs`     |
//! | `sudog`, `waitq`                           | `sudog.rs`      |
//! | `selectgo`, `sellock`                      | `select.rs`     |
//! | `semacquire`, `semrelease`                 | `sema.rs`       |
//! | `sync.Mutex`, `sync.Once`                  | `mutex.rs`, `once.rs` |
//! | `time.After`, `time.Ticker`                | `timechan.rs`   |
//! | `checkdead`                                | `checkdead.rs`  |
//! | `sysmon`, `sysmonwake`                      | `sysmon.rs`     |
//! | `debug` (GODEBUG's switches)               | `debug.rs`      |
//! | (a progress watchdog, for torture runs)    | `watchdog.rs`   |
//! | (`sched()`'s checks, as in xv6)            | `invariants.rs` |
//! | `gopanic` (runtime errors)                 | `panic.rs`      |
//!
//! The big difference from Go: an M is a CPU core, not an OS thread. There
//! are exactly as many Ms as cores, an idle M halts its core (`hlt`) and is
//! woken by an inter-processor interrupt, and g0 is the core's boot stack.

pub mod chan;
mod checkdead;
pub mod cond;
pub mod debug;
pub mod g;
mod idle;
pub mod invariants;
mod m;
pub mod mcache;
pub mod mutex;
pub mod netpoll;
pub mod netpreempt;
pub mod once;
mod p;
mod panic;
mod preempt;
mod proc;
mod procresize;
pub mod rwmutex;
pub mod runq;
mod sched;
mod schedtrace;
mod schedule;
pub mod select;
mod sema;
pub mod snapshot;
mod stack;
mod stw;
mod sudog;
mod sysmon;
pub mod syscall;
pub mod time;
mod timechan;
pub mod trace;
mod traceback;
pub mod traceslot;
pub mod waitgroup;
pub mod watchdog;

use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};

pub use chan::Chan;
pub use cond::Cond;
pub use g::G;
pub use m::systemstack;
pub use netpoll::waiters;
pub use mutex::Mutex;
pub use once::Once;
pub use panic::{goexit, panic, recover};
pub use proc::{go, gopark, goready, gosched, goyield};
pub use procresize::set_gomaxprocs;
pub use stack::{morestack, stack_low, stack_mapped, stack_overflow_goid};
pub use stw::{start_the_world, stop_the_world};
pub use rwmutex::RWMutex;
pub use select::Select;
pub use traceback::{goroutine_dump, sigquit, sigquits};
pub use waitgroup::WaitGroup;

use crate::arch::qemu::{self, ExitCode};
use crate::arch::{cpu, interrupts};
use m::M;
use sched::{sched, try_sched};

/// Set when the scheduler's data exists; application processors wait for it.
static READY: AtomicBool = AtomicBool::new(false);

/// This core's M.
///
/// Go reaches its M from `g`, kept in thread-local storage; here each core
/// keeps a pointer to its M in its per-CPU data (one load through GS),
/// filled in by the first call on that core.
#[inline]
fn getm() -> &'static M {
    let m = cpu::runtime_word() as *const M;
    if m.is_null() {
        return getm_first();
    }
    // SAFETY: only `getm_first` sets the word, to this core's M in `allm`,
    // which is never freed.
    unsafe { &*m }
}

#[cold]
fn getm_first() -> &'static M {
    // `cpu::current()` rather than `cpu::id()`, which reads the GS base
    // MSR to cope with cores not yet set up: the scheduler runs only on
    // cores that are.
    let m = &sched().allm[cpu::current().id];
    cpu::set_runtime_word(core::ptr::from_ref(m).cast_mut().cast());
    m
}

/// Runs `f` on this core's M with interrupts off.
///
/// A goroutine can be preempted at any instruction outside `acquirem` and
/// resumed on another core: between reading this core's M and using it, it
/// would use another core's M (read its goroutine, or count a lock on it).
/// Go has no such window: its runtime code is not an async-preemption safe
/// point, and `g` lives in a register that moves with the goroutine.
#[inline]
fn with_this_m<R>(f: impl FnOnce(&'static M) -> R) -> R {
    let saved = interrupts::disable();
    let r = f(getm());
    interrupts::restore(saved);
    r
}

/// The running goroutine (Go's `getg()`, outside g0).
pub fn getg() -> NonNull<G> {
    NonNull::new(with_this_m(|m| m.curg.load(Ordering::Relaxed))).expect("getg: not on a goroutine")
}

/// The running goroutine's id.
pub fn goid() -> u64 {
    // SAFETY: Gs are never freed.
    unsafe { getg().as_ref() }.goid.load(Ordering::Relaxed)
}

/// Go's `runtime.GOMAXPROCS(0)`.
pub fn gomaxprocs() -> usize {
    sched().allp().len()
}

/// The id of the P running this goroutine. Meaningful only with preemption
/// off (`without_preemption`): a preempted G may resume on another P.
pub fn pid() -> usize {
    getm().p().id
}

/// Go's `runtime.NumGoroutine()`.
pub fn num_goroutine() -> usize {
    sched().ngoroutines.load(Ordering::Relaxed) as usize
}

/// A P's counters, for programs' reports.
pub struct PStats {
    /// Gs run (`execute` calls).
    pub runs: u64,
    /// Successful steals by this P.
    pub steals: u64,
    /// Gs preempted on this P.
    pub preempts: u64,
    /// Times sysmon took this P from a system call and handed it off.
    pub handoffs: u64,
}

pub fn p_stats() -> impl Iterator<Item = PStats> {
    sched().allp().iter().map(|pp| PStats {
        runs: pp.runs.load(Ordering::Relaxed),
        steals: pp.steals.load(Ordering::Relaxed),
        preempts: pp.preempts.load(Ordering::Relaxed),
        handoffs: pp.handoffs.load(Ordering::Relaxed),
    })
}

/// Idle cores woken so far to run a P (each by an IPI from `startm`), and
/// times a core out of work spun looking for some instead of halting.
pub fn wakeups_and_spins() -> (u64, u64) {
    let s = sched();
    (s.mwakeups.load(Ordering::Relaxed), s.mspins.load(Ordering::Relaxed))
}

/// The schedtrace line (Go's `GODEBUG=schedtrace` format) for right now:
/// Ps, idle Ps, spinning Ms, global and per-P run queue lengths.
pub fn schedtrace() -> alloc::string::String {
    alloc::format!("{}", schedtrace::report(sched(), false))
}

/// Runs `f` with preemption off (Go: between `acquirem` and `releasem`).
pub fn without_preemption<R>(f: impl FnOnce() -> R) -> R {
    let _m = m::acquirem();
    f()
}

/// What `start` is told: the command line's settings, as the runtime needs
/// them (`main` converts them from `cmdline::Config`).
pub struct Options {
    /// The number of Ps (`GOMAXPROCS`).
    pub gomaxprocs: usize,
    /// `GODEBUG=schedtrace=MS`: 0 means off.
    pub schedtrace_ms: u64,
    /// `GODEBUG=scheddetail=1`.
    pub scheddetail: bool,
    /// `GODEBUG=trace=1`: record the execution trace.
    pub trace: bool,
    /// The `GODEBUG` switches that are off: bit [`debug::bit`] per switch.
    pub off: u32,
}

/// Starts the scheduler on the bootstrap core (M0 with P0) and runs `main`
/// as the main goroutine. When it returns, the run ends with the status it
/// returned, whatever other goroutines remain — as in Go.
pub fn start(options: &Options, ncpu: usize, main: impl FnOnce() -> ExitCode + Send + 'static) -> ! {
    let s = sched::init(ncpu, options.gomaxprocs);
    schedtrace::set_schedtrace(options.schedtrace_ms, options.scheddetail);
    debug::set(options.off);
    if options.off != 0 {
        let keys: alloc::vec::Vec<&str> = debug::off_keys().collect();
        crate::println!("gmpos: GODEBUG switched off: {}", keys.join(" "));
    }
    if options.trace {
        trace::start(ncpu);
    }
    interrupts::disable();
    let m0 = &s.allm[0];
    idle::acquirep(m0, &s.allp()[0]);
    READY.store(true, Ordering::Release);
    // Unlike Go, whose Ms are created on demand, every core exists from
    // boot: wait until each is bound to a P or parked, so what the program
    // and schedtrace observe does not depend on how fast the APs wake up.
    // Release in `mstart` / Acquire here: their `acquirep`/`mput` is seen.
    while (s.mstarted.load(Ordering::Acquire) as usize) < ncpu - 1 {
        core::hint::spin_loop();
    }

    go(move || {
        let status = main();
        trace::flush(true);
        qemu::exit(status)
    });
    s.main_started.store(true, Ordering::Relaxed);
    schedule::schedule(m0)
}

/// Go's `mstart`: where an application processor enters the scheduler. Ms
/// beyond GOMAXPROCS have no P: they join the idle Ms and halt.
pub fn mstart() -> ! {
    interrupts::disable();
    while !READY.load(Ordering::Acquire) {
        // The periodic tick wakes us to look again.
        interrupts::enable_and_hlt_then_disable();
    }
    let s = sched();
    let m = getm();
    if m.id < s.allp().len() {
        idle::acquirep(m, &s.allp()[m.id]);
        s.mstarted.fetch_add(1, Ordering::Release);
    } else {
        s.mput(&mut s.lock.lock(), m);
        s.mstarted.fetch_add(1, Ordering::Release);
        idle::stopm(m);
    }
    schedule::schedule(m)
}

/// Called from every core's timer interrupt. Each core looks after its own
/// P: the interrupt holds the running G's registers, so that is where it can
/// act. Core 0's tick also plays Go's sysmon for what is global.
///
/// Runtime code touches a P only on g0 (interrupts off) or under `acquirem`
/// (`m.locks > 0`), so a tick that interrupted a goroutine with `m.locks ==
/// 0` never finds its P half-edited.
pub fn timer_tick() {
    let Some(s) = try_sched() else { return };
    let m = getm();
    let now = crate::arch::time::nanotime();
    if m.id == 0 {
        sysmon::sysmon(s, now);
    }
    // Last: this may switch away from the interrupted G (preemption).
    preempt::tick(m, now);
}

/// After the network card's interrupt (and its EOI): the running G may
/// have to make room for the goroutines the packet will ready
/// (`netpreempt.rs`). Last in the handler: this may switch away.
pub fn device_interrupt() {
    if try_sched().is_some() {
        netpreempt::on_device_interrupt(getm(), crate::arch::time::nanotime());
    }
}
