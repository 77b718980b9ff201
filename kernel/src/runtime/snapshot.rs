//! A read-only picture of the scheduler for the live dashboard: every P
//! with its G, run queue and counters, every M ([`snapshot`]), and the
//! goroutines counted by status and wait reason ([`goroutine_states`],
//! apart because it walks every G ever made, dead ones too, which costs
//! milliseconds once there are 100,000). Go has no such call (its
//! `schedtrace` prints similar numbers); like `schedtrace`, it reads
//! everything with relaxed loads while the other cores run, without
//! stopping anybody: a picture of recent values, not one consistent instant.

use alloc::vec::Vec;
use core::ptr::NonNull;
use core::sync::atomic::Ordering;

use super::g::{G, NO_M, Status, WaitReason};
use super::p::{P, PStatus};
use super::proc::for_each_g;
use super::sched::sched;
use crate::arch::time;

/// How many queued Gs of each P are listed (a queue holds up to 256).
pub const RUNQ_SHOWN: usize = 32;

/// One P.
pub struct PView {
    pub id: usize,
    pub status: &'static str,
    /// The M (core) holding it.
    pub m: Option<usize>,
    /// The G its M runs, and how long the current time slice has lasted
    /// (from sysmon's `schedwhen`, so to a tick).
    pub curg: Option<u64>,
    pub slice_ns: u64,
    pub runnext: Option<u64>,
    /// The first [`RUNQ_SHOWN`] queued goroutine ids, and the queue's length.
    pub runq: Vec<u64>,
    pub runqsize: u32,
    pub timers: u64,
    pub schedtick: u32,
    pub runs: u64,
    pub steals: u64,
    pub preempts: u64,
    pub handoffs: u64,
}

/// One M (core).
pub struct MView {
    pub id: usize,
    pub p: Option<usize>,
    pub curg: Option<u64>,
    pub spinning: bool,
    /// Halted in `stopm` (an idle M).
    pub blocked: bool,
}

/// The whole picture.
pub struct Snapshot {
    pub nanotime: u64,
    pub tsc: u64,
    pub tsc_hz: u64,
    pub gomaxprocs: usize,
    pub goroutines: usize,
    pub globrunq: u32,
    pub npidle: u32,
    pub nmspinning: u32,
    pub nmidle: u32,
    pub ps: Vec<PView>,
    pub ms: Vec<MView>,
    /// Goroutines parked in the netpoller.
    pub netpoll_waiters: usize,
}

fn goid(g: NonNull<G>) -> u64 {
    // SAFETY: Gs are never freed.
    unsafe { g.as_ref() }.goid.load(Ordering::Relaxed)
}

fn p_status(pp: &P) -> &'static str {
    match pp.status() {
        PStatus::Idle => "idle",
        PStatus::Running => "running",
        PStatus::Syscall => "syscall",
        PStatus::GcStop => "gcstop",
        PStatus::Dead => "dead",
    }
}

/// The scheduler right now (see the module comment).
pub fn snapshot() -> Snapshot {
    let s = sched();
    let now = time::nanotime();
    let curg = |m: usize| (m != NO_M).then(|| NonNull::new(s.allm[m].curg.load(Ordering::Relaxed)).map(goid)).flatten();
    let ps = s
        .allp()
        .iter()
        .map(|pp| {
            let m = pp.m.load(Ordering::Relaxed);
            let mut runq = Vec::with_capacity(RUNQ_SHOWN);
            let runnext = pp.runq.peek(RUNQ_SHOWN, |g| runq.push(goid(g))).map(goid);
            let curg = curg(m);
            PView {
                id: pp.id,
                status: p_status(pp),
                m: (m != NO_M).then_some(m),
                curg,
                slice_ns: curg.map_or(0, |_| now.saturating_sub(pp.sysmontick.schedwhen.load(Ordering::Relaxed))),
                runnext,
                runq,
                runqsize: pp.runq.len(),
                timers: pp.timers.len.load(Ordering::Relaxed),
                schedtick: pp.schedtick.load(Ordering::Relaxed),
                runs: pp.runs.load(Ordering::Relaxed),
                steals: pp.steals.load(Ordering::Relaxed),
                preempts: pp.preempts.load(Ordering::Relaxed),
                handoffs: pp.handoffs.load(Ordering::Relaxed),
            }
        })
        .collect();
    let ms = s
        .allm
        .iter()
        .map(|m| MView {
            id: m.id,
            // SAFETY: Ps live in `allp`, which is never freed.
            p: unsafe { m.p.load(Ordering::Relaxed).as_ref() }.map(|pp| pp.id),
            curg: curg(m.id),
            spinning: m.spinning.load(Ordering::Relaxed),
            blocked: m.blocked.load(Ordering::Relaxed),
        })
        .collect();
    Snapshot {
        nanotime: now,
        tsc: time::rdtsc(),
        tsc_hz: time::tsc_hz(),
        gomaxprocs: s.allp().len(),
        goroutines: super::num_goroutine(),
        globrunq: s.runqsize.load(Ordering::Relaxed),
        npidle: s.npidle.load(Ordering::Relaxed),
        nmspinning: s.nmspinning.load(Ordering::Relaxed),
        nmidle: s.nmidle.load(Ordering::Relaxed),
        ps,
        ms,
        netpoll_waiters: super::waiters(),
    }
}

/// Live goroutines counted by state: running, runnable, syscall,
/// preempted, and the waiting ones by wait reason; zero counts left out.
pub fn goroutine_states() -> Vec<(&'static str, u64)> {
    let (mut running, mut runnable, mut syscall, mut preempted) = (0, 0, 0, 0);
    let mut waiting = [0u64; WaitReason::ALL.len()];
    for_each_g(|g| match g.status() {
        Status::Running => running += 1,
        Status::Runnable => runnable += 1,
        Status::Syscall => syscall += 1,
        Status::Preempted => preempted += 1,
        Status::Waiting => waiting[g.waitreason() as usize] += 1,
        Status::Idle | Status::Dead => {}
    });
    let mut out = alloc::vec![("running", running), ("runnable", runnable), ("syscall", syscall), ("preempted", preempted)];
    out.extend(WaitReason::ALL.iter().map(|&r| (if r == WaitReason::Zero { "waiting" } else { r.as_str() }, waiting[r as usize])));
    out.retain(|&(_, n)| n > 0);
    out
}
