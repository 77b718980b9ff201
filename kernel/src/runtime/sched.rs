//! Go's `schedt`: the scheduler's global state. What needs a lock (the
//! global run queue, the idle P and idle M sets, the global G free list)
//! sits behind `sched.lock`; counters read on hot paths are atomics, as in
//! Go, and are written only with the lock held.

use alloc::boxed::Box;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use super::debug::{self, Switch};
use super::g::{G, GList, GQueue, NO_M};
use super::m::M;
use super::p::{P, PStatus};
use crate::sync::{IrqLock, IrqLockGuard};

/// Fields guarded by `sched.lock`.
pub struct Locked {
    /// The global run queue (Go's `sched.runq`).
    pub runq: GQueue,
    /// Idle Ps, one bit per P (Go keeps a list plus `idlepMask`).
    pub pidle: u64,
    /// Idle Ms, one bit per M: cores halted in `stopm` (Go's `sched.midle`).
    pub midle: u64,
    /// Dead Gs spilled from the Ps' free lists (Go's `sched.gFree`).
    pub gfree: GList,
}

pub struct Sched {
    pub lock: IrqLock<Locked>,
    /// Mirrors of `runq.len`, the idle P count and idle P bits, and the idle M
    /// count, for lock-free reads.
    pub runqsize: AtomicU32,
    pub npidle: AtomicU32,
    pub idlepmask: AtomicU64,
    pub nmidle: AtomicU32,
    /// Mirror of `gfree.len`.
    pub ngfree: AtomicU32,
    /// Ms spinning in `findRunnable` (Go's `sched.nmspinning`).
    pub nmspinning: AtomicU32,
    /// Idle Ms woken with a P (`mwake`: one IPI each), and Ms out of work
    /// that started spinning rather than park (`findRunnable`), for reports.
    pub mwakeups: AtomicU64,
    pub mspins: AtomicU64,
    /// Last goroutine id handed out (Go's `sched.goidgen`).
    pub goidgen: AtomicU64,
    /// Live goroutines (Go's `gcount()`).
    pub ngoroutines: AtomicI64,
    /// Set once the main goroutine exists (Go's `mainStarted`).
    pub main_started: AtomicBool,
    /// Application processors that have entered the scheduler: bound to a
    /// P, or parked as idle Ms. `start` waits for all of them, so the main
    /// goroutine and schedtrace never see a core still on its way in.
    pub mstarted: AtomicU32,
    /// GOMAXPROCS: Ps `0..gomaxprocs` of `allp_storage` are in use. Changed
    /// only by `procresize`, with the world stopped.
    gomaxprocs: AtomicU32,
    /// One P per core, allocated once so that `procresize` never frees one
    /// (Go reallocates `allp`; here a P pointer is valid for ever). Ps past
    /// `gomaxprocs` are `_Pdead`.
    allp_storage: Box<[P]>,
    pub allm: Box<[M]>,
    /// A stop-the-world is in progress: Ms stop their P at the next safe
    /// point (Go's `sched.gcwaiting`).
    pub gcwaiting: AtomicBool,
    /// Ps still to stop before the world is stopped (Go's `sched.stopwait`).
    pub stopwait: AtomicU32,
    /// The idle M that waits for the next timer, or `NO_M` (Go: the M
    /// blocked in `netpoll`, which `sched.lastpoll == 0` marks).
    pub timer_m: AtomicUsize,
    /// When that M wakes by itself, or 0 (Go's `sched.pollUntil`).
    pub timer_m_until: AtomicU64,
    /// That M is asked to wake now and look again (Go's `netpollBreak`
    /// pipe, with `netpollWakeSig` to send it once).
    pub timer_m_break: AtomicBool,
}

static SCHED: spin::Once<Sched> = spin::Once::new();

pub fn init(ncpu: usize, gomaxprocs: usize) -> &'static Sched {
    SCHED.call_once(|| Sched {
        lock: IrqLock::new_global(Locked { runq: GQueue::new(), pidle: 0, midle: 0, gfree: GList::new() }),
        runqsize: AtomicU32::new(0),
        npidle: AtomicU32::new(0),
        idlepmask: AtomicU64::new(0),
        nmidle: AtomicU32::new(0),
        ngfree: AtomicU32::new(0),
        nmspinning: AtomicU32::new(0),
        mwakeups: AtomicU64::new(0),
        mspins: AtomicU64::new(0),
        goidgen: AtomicU64::new(0),
        ngoroutines: AtomicI64::new(0),
        main_started: AtomicBool::new(false),
        mstarted: AtomicU32::new(0),
        gomaxprocs: AtomicU32::new(gomaxprocs as u32),
        allp_storage: (0..ncpu)
            .map(|id| {
                let pp = P::new(id);
                if id >= gomaxprocs {
                    pp.set_status(PStatus::Dead);
                }
                pp
            })
            .collect(),
        allm: (0..ncpu).map(M::new).collect(),
        gcwaiting: AtomicBool::new(false),
        stopwait: AtomicU32::new(0),
        timer_m: AtomicUsize::new(NO_M),
        timer_m_until: AtomicU64::new(0),
        timer_m_break: AtomicBool::new(false),
    })
}

/// The scheduler, once `init` has run.
pub fn try_sched() -> Option<&'static Sched> {
    SCHED.get()
}

pub fn sched() -> &'static Sched {
    SCHED.get().expect("runtime not started")
}

impl Sched {
    pub fn gomaxprocs(&self) -> u32 {
        self.gomaxprocs.load(Ordering::Acquire)
    }

    /// The Ps in use: `allp[..gomaxprocs]` (Go's `allp`).
    pub fn allp(&self) -> &[P] {
        &self.allp_storage[..self.gomaxprocs() as usize]
    }

    /// Every P, in use or `_Pdead` (one per core).
    pub fn allp_all(&self) -> &[P] {
        &self.allp_storage
    }

    /// Sets GOMAXPROCS; for `procresize` only (world stopped).
    pub(super) fn set_gomaxprocs(&self, n: u32) {
        assert!(n >= 1 && n as usize <= self.allp_storage.len(), "procresize: bad GOMAXPROCS {n}");
        self.gomaxprocs.store(n, Ordering::Release);
    }

    /// Go's `globrunqput`: puts `gp` at the back of the global run queue.
    pub fn globrunqput(&self, locked: &mut IrqLockGuard<'_, Locked>, gp: NonNull<G>) {
        locked.runq.push_back(gp);
        self.runqsize.store(locked.runq.len, Ordering::Relaxed);
    }

    /// Go's `globrunqputbatch`: a batch from an overflowing local queue.
    pub fn globrunqputbatch(&self, batch: &[NonNull<G>]) {
        let mut locked = self.lock.lock();
        for &gp in batch {
            locked.runq.push_back(gp);
        }
        self.runqsize.store(locked.runq.len, Ordering::Relaxed);
    }

    /// Go's `globrunqget`: takes a fair share of the global queue (its length
    /// divided by GOMAXPROCS, plus one; at most `max` if nonzero, at most half
    /// a local queue), returns the first and puts the rest on `pp`'s queue.
    /// Called by `pp`'s owner, whose local queue is empty. With
    /// `GODEBUG=go10sched=1`, one G only: Go 1.0 had no local queue to fill.
    pub fn globrunqget(&self, locked: &mut IrqLockGuard<'_, Locked>, pp: &P, max: u32) -> Option<NonNull<G>> {
        let size = locked.runq.len;
        if size == 0 {
            return None;
        }
        let mut n = (size / self.gomaxprocs() + 1).min(size);
        if max > 0 {
            n = n.min(max);
        }
        if debug::off(Switch::Go10) {
            n = 1;
        }
        n = n.min(super::runq::RUNQ_SIZE as u32 / 2);
        let gp = locked.runq.pop_front();
        for _ in 1..n {
            let gp1 = locked.runq.pop_front().expect("global run queue shorter than its length");
            pp.runq.runqput(gp1, false, |_| panic!("globrunqget: local run queue overflowed"));
        }
        self.runqsize.store(locked.runq.len, Ordering::Relaxed);
        gp
    }

    /// Go's `pidleput`: `pp` (released by its M) joins the idle Ps. A
    /// broken assertion names the caller (`track_caller`).
    #[track_caller]
    pub fn pidleput(&self, locked: &mut IrqLockGuard<'_, Locked>, pp: &P) {
        assert!(pp.runq.runqempty(), "pidleput: P{} has a non-empty run queue", pp.id);
        pp.set_status(PStatus::Idle);
        locked.pidle |= 1 << pp.id;
        self.idlepmask.store(locked.pidle, Ordering::Relaxed);
        self.npidle.store(locked.pidle.count_ones(), Ordering::Relaxed);
    }

    /// Go's `pidleget`: takes an idle P, if any.
    pub fn pidleget(&self, locked: &mut IrqLockGuard<'_, Locked>) -> Option<&'static P> {
        if locked.pidle == 0 {
            return None;
        }
        self.pidletake(locked, locked.pidle.trailing_zeros() as usize)
    }

    /// Takes P `id` off the idle set, if it is there.
    pub fn pidletake(&self, locked: &mut IrqLockGuard<'_, Locked>, id: usize) -> Option<&'static P> {
        if locked.pidle & (1 << id) == 0 {
            return None;
        }
        locked.pidle &= !(1 << id);
        self.idlepmask.store(locked.pidle, Ordering::Relaxed);
        self.npidle.store(locked.pidle.count_ones(), Ordering::Relaxed);
        Some(&sched().allp()[id])
    }

    /// Go's `mput`: `mp` joins the idle Ms. As in Go, this is where a
    /// deadlock is noticed (`checkdead`): when the last M goes idle.
    pub fn mput(&self, locked: &mut IrqLockGuard<'_, Locked>, mp: &M) {
        locked.midle |= 1 << mp.id;
        self.nmidle.store(locked.midle.count_ones(), Ordering::Relaxed);
        super::checkdead::checkdead(self, locked);
    }

    /// Go's `mget`: takes an idle M, if any.
    pub fn mget(&self, locked: &mut IrqLockGuard<'_, Locked>) -> Option<&'static M> {
        if locked.midle == 0 {
            return None;
        }
        let id = locked.midle.trailing_zeros() as usize;
        self.mremove(locked, id);
        Some(&sched().allm[id])
    }

    /// Takes M `id` off the idle set (it found work on its own).
    pub fn mremove(&self, locked: &mut IrqLockGuard<'_, Locked>, id: usize) {
        locked.midle &= !(1 << id);
        self.nmidle.store(locked.midle.count_ones(), Ordering::Relaxed);
    }
}
