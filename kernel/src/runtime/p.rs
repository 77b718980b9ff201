//! The processor: Go's `p`. A P is the right to run Go code: an M must hold
//! one to run Gs. Each P has a lock-free local run queue (`runq.rs`) and a
//! free list of dead Gs. There are `GOMAXPROCS` Ps in use (`sched.allp()`).

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use super::g::{G, GList, NO_M};
use super::mcache::Local;
use super::runq::RunQueue;
use super::preempt::SysmonTick;
use super::time::Timers;

/// Go's `_P*` status values.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum PStatus {
    /// Not held by any M; on the idle list.
    Idle = 0,
    /// Held by an M running Gs or the scheduler.
    Running = 1,
    /// Its M is in a system call; sysmon may take it away (`retake`).
    Syscall = 2,
    /// Stopped by stop-the-world, held by nobody (Go's `_Pgcstop`).
    GcStop = 3,
    /// Not in use: beyond GOMAXPROCS (Go's `_Pdead`).
    Dead = 4,
}

pub struct P {
    pub id: usize,
    status: AtomicU32,
    /// The M holding this P, or [`NO_M`] (Go's `p.m`).
    pub m: AtomicUsize,
    /// Go's `p.runq`, `p.runqhead`, `p.runqtail` and `p.runnext`.
    pub runq: RunQueue<G>,
    /// Go's `p.timers`: this P's timer heap.
    pub timers: Timers,
    /// Incremented on every scheduler call that starts a new time slice.
    pub schedtick: AtomicU32,
    /// Incremented on every system call (Go's `p.syscalltick`).
    pub syscalltick: AtomicU32,
    /// Dead Gs ready for reuse (Go's `p.gFree`): owner only.
    pub(super) gfree: UnsafeCell<GList>,
    /// Mirror of the free list's length, readable by anyone (scheddetail).
    pub gfreecnt: AtomicU32,
    /// Memory for new Gs (Go's `p.mcache`, for Gs): owner only.
    pub(super) gcache: Local<G>,
    /// Gs this P has run (`execute` calls) and successful steals by it.
    pub runs: AtomicU64,
    pub steals: AtomicU64,
    /// Gs preempted on this P, and times sysmon took it from a system call.
    pub preempts: AtomicU64,
    pub handoffs: AtomicU64,
    /// What sysmon last saw of this P.
    pub sysmontick: SysmonTick,
}

// SAFETY: `gfree` is touched only by the M holding the P (with interrupts
// off); everything else is atomic.
unsafe impl Sync for P {}

impl P {
    pub(super) fn new(id: usize) -> P {
        P {
            id,
            status: AtomicU32::new(PStatus::Idle as u32),
            m: AtomicUsize::new(NO_M),
            runq: RunQueue::new(),
            timers: Timers::new(),
            schedtick: AtomicU32::new(0),
            syscalltick: AtomicU32::new(0),
            gfree: UnsafeCell::new(GList::new()),
            gfreecnt: AtomicU32::new(0),
            gcache: Local::new(),
            runs: AtomicU64::new(0),
            steals: AtomicU64::new(0),
            preempts: AtomicU64::new(0),
            handoffs: AtomicU64::new(0),
            sysmontick: SysmonTick::new(),
        }
    }

    pub fn status(&self) -> PStatus {
        match self.status.load(Ordering::Acquire) {
            0 => PStatus::Idle,
            1 => PStatus::Running,
            2 => PStatus::Syscall,
            3 => PStatus::GcStop,
            _ => PStatus::Dead,
        }
    }

    pub(super) fn set_status(&self, status: PStatus) {
        self.status.store(status as u32, Ordering::Release);
    }

    /// Moves the P from `old` to `new` unless someone else moved it first
    /// (a G leaving its system call races sysmon retaking its P).
    pub(super) fn cas_status(&self, old: PStatus, new: PStatus) -> bool {
        self.status.compare_exchange(old as u32, new as u32, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
}
