//! Watching the scheduler: Go's `GODEBUG=schedtrace=MS` line, printed by the
//! bootstrap core's timer tick every MS milliseconds, and with
//! `scheddetail=1` Go's detailed form (`schedtrace(true)` in proc.go): the
//! header, then a line per P, per M and per G.
//!
//! Like Go, which reads most of this without stopping anybody, the numbers
//! are read one by one with relaxed loads while the other cores run: a
//! report is a set of recent values, not one consistent snapshot.

use core::fmt::{self, Display, Formatter};
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::debug;
use super::g::{NO_M, Status};
use super::sched::Sched;
use super::proc::for_each_g;
use crate::arch::time;

/// The schedtrace period in nanoseconds (0: off), and when the next line is due.
static PERIOD_NS: AtomicU64 = AtomicU64::new(0);
static NEXT_NS: AtomicU64 = AtomicU64::new(0);
/// `scheddetail=1`.
static DETAILED: AtomicBool = AtomicBool::new(false);

pub fn set_schedtrace(ms: u64, detailed: bool) {
    PERIOD_NS.store(ms * 1_000_000, Ordering::Relaxed);
    DETAILED.store(detailed, Ordering::Relaxed);
}

/// Whether schedtrace lines are being printed (sysmon then keeps ticking).
pub(super) fn enabled() -> bool {
    PERIOD_NS.load(Ordering::Relaxed) != 0
}

/// Called on every tick of core 0 (so only one core writes NEXT_NS);
/// prints a report when a period has passed. As in Go, the first report
/// comes at once — here once the main goroutine exists, so that it never
/// shows a core still on its way into the scheduler.
pub fn tick(s: &Sched) {
    let period = PERIOD_NS.load(Ordering::Relaxed);
    let next = NEXT_NS.load(Ordering::Relaxed);
    let now = time::nanotime();
    if period != 0 && now >= next && s.main_started.load(Ordering::Relaxed) {
        NEXT_NS.store(now - (now - next) % period + period, Ordering::Relaxed);
        crate::print!("{}", report(s, DETAILED.load(Ordering::Relaxed)));
    }
}

/// The report as of now, for printing (or `to_string`) anywhere.
pub(super) fn report(s: &Sched, detailed: bool) -> impl Display + '_ {
    SchedTrace { s, detailed }
}

/// Go's `schedtrace(detailed)`, formatted straight into the console (no
/// allocation: it runs in core 0's timer interrupt), in Go 1.19's format
/// exactly (`tests/common/go119.rs` holds lines printed by Go 1.19.8, and
/// the tests compare with them). The header:
/// `SCHED 1000ms: gomaxprocs=4 idleprocs=0 threads=4 spinningthreads=0
/// idlethreads=0 runqueue=12 [3 0 7 1]`, where `threads` counts Ms, i.e.
/// cores online, and each P's run queue length, as in Go, leaves out
/// `runnext`. When `GODEBUG` switched mechanisms off (`runtime/debug.rs`),
/// the header ends with ` off=` and their keys — gmpos's only addition.
///
/// Detailed, the header ends after `runqueue=` with Go's extra fields
/// `gcwaiting=0 nmidlelocked=0 stopwait=0 sysmonwait=0`: `gcwaiting` and
/// `stopwait` are those of `stop_the_world`; gmpos has no locked Ms, and
/// sysmon does not sleep while schedtrace prints (`sysmon.rs`), so the
/// other two are always 0. Then a line per P,
/// per M (newest first, as Go walks `allm`) and per G:
///
/// ```text
///   P0: status=1 schedtick=10 syscalltick=0 m=0 runqsize=0 gfreecnt=0 timerslen=0
///   M0: p=0 curg=1 mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning=false blocked=false lockedg=-1
///   G1: status=2() m=0 lockedm=-1
/// ```
///
/// "None" prints as -1, as in Go 1.19. Unlike Go, dead Gs (status 6,
/// cached for reuse) are not listed: a program that spawned 100,000
/// goroutines would print them all each time, from an interrupt handler.
struct SchedTrace<'a> {
    s: &'a Sched,
    detailed: bool,
}

impl Display for SchedTrace<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let s = self.s;
        write!(
            f,
            "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} idlethreads={} runqueue={}",
            time::nanotime() / 1_000_000,
            s.gomaxprocs(),
            s.npidle.load(Ordering::Relaxed),
            s.allm.len(),
            s.nmspinning.load(Ordering::Relaxed),
            s.nmidle.load(Ordering::Relaxed),
            s.runqsize.load(Ordering::Relaxed),
        )?;
        if !self.detailed {
            f.write_str(" [")?;
            for (i, pp) in s.allp().iter().enumerate() {
                let sep = if i == 0 { "" } else { " " };
                write!(f, "{sep}{}", pp.runq.len())?;
            }
            f.write_str("]")?;
            write_off(f)?;
            return f.write_str("\n");
        }
        write!(
            f,
            " gcwaiting={} nmidlelocked=0 stopwait={} sysmonwait=0",
            s.gcwaiting.load(Ordering::Relaxed) as u32,
            s.stopwait.load(Ordering::Relaxed)
        )?;
        write_off(f)?;
        f.write_str("\n")?;
        for pp in s.allp().iter() {
            writeln!(
                f,
                "  P{}: status={} schedtick={} syscalltick={} m={} runqsize={} gfreecnt={} timerslen={}",
                pp.id,
                pp.status() as u32,
                pp.schedtick.load(Ordering::Relaxed),
                pp.syscalltick.load(Ordering::Relaxed),
                Id(pp.m.load(Ordering::Relaxed)),
                pp.runq.len(),
                pp.gfreecnt.load(Ordering::Relaxed),
                pp.timers.len.load(Ordering::Relaxed),
            )?;
        }
        for m in s.allm.iter().rev() {
            // SAFETY: Ps live in `allp` and Gs are never freed.
            let pp = unsafe { m.p.load(Ordering::Relaxed).as_ref() };
            let curg = NonNull::new(m.curg.load(Ordering::Relaxed)).map(|g| unsafe { g.as_ref() });
            writeln!(
                f,
                "  M{}: p={} curg={} mallocing=0 throwing=0 preemptoff= locks={} dying=0 spinning={} blocked={} lockedg=-1",
                m.id,
                Id(pp.map_or(NO_M, |pp| pp.id)),
                Id(curg.map_or(NO_M, |g| g.goid.load(Ordering::Relaxed) as usize)),
                m.locks.load(Ordering::Relaxed),
                m.spinning.load(Ordering::Relaxed),
                m.blocked.load(Ordering::Relaxed),
            )?;
        }
        let mut result = Ok(());
        for_each_g(|g| {
            let status = g.status();
            if status == Status::Dead || result.is_err() {
                return;
            }
            let reason = if status == Status::Waiting { g.waitreason().as_str() } else { "" };
            result = writeln!(
                f,
                "  G{}: status={}({reason}) m={} lockedm=-1",
                g.goid.load(Ordering::Relaxed),
                status as u32,
                Id(g.m.load(Ordering::Relaxed)),
            );
        });
        result
    }
}

/// The mechanisms `GODEBUG` switched off, ending the header (gmpos only;
/// nothing when none is, so the line is Go's): ` off=stealoff,runnextoff`.
fn write_off(f: &mut Formatter<'_>) -> fmt::Result {
    for (i, key) in debug::off_keys().enumerate() {
        write!(f, "{}{key}", if i == 0 { " off=" } else { "," })?;
    }
    Ok(())
}

/// An M, P or G id, or -1 for none (`usize::MAX`, which is [`NO_M`]).
struct Id(usize);

impl Display for Id {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.0 == NO_M { f.write_str("-1") } else { write!(f, "{}", self.0) }
    }
}
