//! A watchdog that turns a hang into a report. A program arms it with a
//! timeout and reports progress; when none comes for that long, sysmon
//! (core 0's tick, an interrupt, so it runs even when no goroutine can)
//! prints what it would take to find the hang — the stop-the-world state,
//! every M and its core, where every other core is (its instruction and
//! stack pointer, interrupt flag and the calls that led there, sampled by
//! an NMI, which reaches a core even with its interrupts off), scheddetail
//! and a goroutine dump — and ends the run with a failure. The host names
//! the function of each sampled address from the kernel's symbols
//! (`boot::symbols`). (Go's nearest is the runtime's "fatal error" dumps,
//! which print every thread's stack; it has no progress watchdog.)

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::sched::Sched;
use crate::arch::{cpu, unwind};
use crate::arch::qemu::{self, ExitCode};
use crate::arch::time::nanotime;

/// How long the report waits for the other cores to answer its NMI.
const SAMPLE_WAIT_NS: u64 = 200_000_000;

/// 0: off.
static TIMEOUT_NS: AtomicU64 = AtomicU64::new(0);
/// When progress was last reported (`nanotime`).
static LAST_NS: AtomicU64 = AtomicU64::new(0);
static FIRED: AtomicBool = AtomicBool::new(false);

/// Arms the watchdog: the run fails if [`progress`] is not called for
/// `timeout_ns`.
pub fn arm(timeout_ns: u64) {
    LAST_NS.store(nanotime(), Ordering::Relaxed);
    TIMEOUT_NS.store(timeout_ns, Ordering::Relaxed);
}

/// Whether a program armed the watchdog (sysmon then does not sleep: a
/// hang with every P idle is one it must report).
pub(super) fn armed() -> bool {
    TIMEOUT_NS.load(Ordering::Relaxed) != 0
}

/// The program made progress.
pub fn progress() {
    LAST_NS.store(nanotime(), Ordering::Relaxed);
}

/// From sysmon: reports and ends the run if the watchdog is armed and no
/// progress came in time. Off, it costs sysmon one load and a branch.
#[inline]
pub(super) fn tick(s: &Sched, now: u64) {
    let timeout = TIMEOUT_NS.load(Ordering::Relaxed);
    if timeout != 0 && now.saturating_sub(LAST_NS.load(Ordering::Relaxed)) >= timeout {
        report(s, now);
    }
}

/// The hang report (once), then the end of the run.
#[cold]
#[inline(never)]
fn report(s: &Sched, now: u64) {
    if FIRED.swap(true, Ordering::Relaxed) {
        return;
    }
    let last = LAST_NS.load(Ordering::Relaxed);
    crate::println!(
        "gmpos: watchdog: no progress for {} ms; gcwaiting={} stopwait={} timer_m={}",
        now.saturating_sub(last) / 1_000_000,
        s.gcwaiting.load(Ordering::Relaxed) as u32,
        s.stopwait.load(Ordering::Relaxed),
        s.timer_m.load(Ordering::Relaxed) as isize,
    );
    for m in s.allm.iter() {
        // SAFETY: Ps live in `allp` and Gs are never freed.
        let pp = unsafe { m.p.load(Ordering::Relaxed).as_ref() };
        let nextp = unsafe { m.nextp.load(Ordering::Relaxed).as_ref() };
        let g = unsafe { m.curg.load(Ordering::Relaxed).as_ref() };
        crate::println!(
            "  core {}: ticks={} p={} nextp={} curg={} locks={} spinning={} blocked={}",
            m.id,
            cpu::get(m.id).map_or(0, |c| c.ticks.load(Ordering::Relaxed)),
            pp.map_or(-1, |p| p.id as isize),
            nextp.map_or(-1, |p| p.id as isize),
            g.map_or(-1, |g| g.goid.load(Ordering::Relaxed) as i64),
            m.locks.load(Ordering::Relaxed),
            m.spinning.load(Ordering::Relaxed),
            m.blocked.load(Ordering::Relaxed),
        );
    }
    crate::println!("gmpos: watchdog: where each core is (NMI):");
    // This core is in sysmon's tick: its own stack, walked down through
    // the tick's interrupt frame, gives what the tick interrupted.
    let mut here = Vec::new();
    let elided = unwind::walk_here(32, |frame| here.push(frame));
    match here.iter().skip(1).position(|frame| frame.interrupted) {
        Some(i) => {
            crate::println!("  core {}: rip={:#x} (interrupted by the tick that reports this)", cpu::id(), here[i + 1].pc);
            print_stack(&here[i + 2..], elided);
        }
        None => crate::println!("  core {}: rip=(this report, in sysmon's tick)", cpu::id()),
    }
    cpu::sample_others(SAMPLE_WAIT_NS, |c, sample| match sample {
        Some(at) => {
            crate::println!("  core {c}: rip={:#x} rsp={:#x} if={}", at.rip, at.rsp, at.interrupts as u32);
            // The first frame is `rip` itself.
            print_stack(at.stack.get(1..).unwrap_or_default(), at.elided);
        }
        None => crate::println!("  core {c}: no answer to the NMI in {} ms", SAMPLE_WAIT_NS / 1_000_000),
    });
    crate::print!("{}", super::schedtrace::report(s, true));
    crate::print!("{}", super::traceback::goroutine_dump());
    qemu::exit(ExitCode::Failure);
}

/// The frames below a core's `rip=` line, and whether the stack goes on.
fn print_stack(frames: &[unwind::Frame], elided: bool) {
    for frame in frames {
        crate::println!("    {frame}");
    }
    if elided {
        crate::println!("    {}", unwind::ELIDED);
    }
}
