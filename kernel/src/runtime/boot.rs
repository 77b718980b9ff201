//! Bringing the scheduler up: Go's `schedinit` and `runtime.main` on the
//! bootstrap core (`start`), and `mstart` on every other core. Unlike Go,
//! every M exists from boot (one per core), so `start` waits for all of
//! them before the main goroutine runs.

use core::sync::atomic::{AtomicBool, Ordering};

use super::m::getm;
use super::sched::{self, sched};
use super::{debug, go, idle, schedtrace, schedule, trace};
use crate::arch::interrupts;
use crate::arch::qemu::{self, ExitCode};

/// Set when the scheduler's data exists; application processors wait for it.
static READY: AtomicBool = AtomicBool::new(false);

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
/// as the main goroutine: Go's `schedinit`, then `newproc(runtime.main)`
/// and `mstart` on M0. When it returns, the run ends with the status it
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
