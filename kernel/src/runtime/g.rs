//! The goroutine: Go's `g` (runtime2.go), its status values and wait
//! reasons, and the free lists that recycle dead Gs (Go's `gfput`/`gfget`).

use core::cell::UnsafeCell;
use core::panic::Location;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use super::mcache::Central;
use super::p::P;
use crate::arch::switch::Context;
use crate::arch::time::rdtsc;
use crate::mm::stack::Stack;

/// The central pool of memory for new Gs (see `mcache.rs`).
pub(super) static GCENTRAL: Central<G> = Central::new();

/// Go's `_G*` status values, with Go's numbers (so that scheddetail's
/// `status=4` reads as in Go).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum Status {
    /// Just allocated, not yet initialised.
    Idle = 0,
    /// On a run queue, not running.
    Runnable = 1,
    /// Running on an M with a P.
    Running = 2,
    /// In a blocking call (`entersyscall`), without running Go code.
    Syscall = 3,
    /// Blocked in the runtime (`gopark`): a channel, a timer, the network...
    Waiting = 4,
    /// Exited, on a free list for reuse.
    Dead = 6,
    /// Stopped by asynchronous preemption, not yet on a run queue.
    Preempted = 9,
}

impl Status {
    fn from_u32(v: u32) -> Status {
        match v {
            0 => Status::Idle,
            1 => Status::Runnable,
            2 => Status::Running,
            3 => Status::Syscall,
            4 => Status::Waiting,
            6 => Status::Dead,
            9 => Status::Preempted,
            _ => unreachable!("bad G status {v}"),
        }
    }
}

/// Why a G is waiting: Go's `waitReason`, printed with Go's strings.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum WaitReason {
    Zero,
    ChanReceive,
    ChanSend,
    Select,
    SelectNoCases,
    Sleep,
    IoWait,
    SyncWaitGroupWait,
    SyncMutexLock,
    ChanSendNilChan,
    ChanReceiveNilChan,
    SyncRWMutexRLock,
    SyncRWMutexLock,
    SyncCondWait,
}

impl WaitReason {
    pub const ALL: [WaitReason; 14] = [
        WaitReason::Zero,
        WaitReason::ChanReceive,
        WaitReason::ChanSend,
        WaitReason::Select,
        WaitReason::SelectNoCases,
        WaitReason::Sleep,
        WaitReason::IoWait,
        WaitReason::SyncWaitGroupWait,
        WaitReason::SyncMutexLock,
        WaitReason::ChanSendNilChan,
        WaitReason::ChanReceiveNilChan,
        WaitReason::SyncRWMutexRLock,
        WaitReason::SyncRWMutexLock,
        WaitReason::SyncCondWait,
    ];

    /// Go's string for the reason (`waitReasonStrings`).
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::Zero => "",
            WaitReason::ChanReceive => "chan receive",
            WaitReason::ChanSend => "chan send",
            WaitReason::Select => "select",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::Sleep => "sleep",
            WaitReason::IoWait => "IO wait",
            WaitReason::SyncWaitGroupWait => "sync.WaitGroup.Wait",
            WaitReason::SyncMutexLock => "sync.Mutex.Lock",
            WaitReason::ChanSendNilChan => "chan send (nil chan)",
            WaitReason::ChanReceiveNilChan => "chan receive (nil chan)",
            WaitReason::SyncRWMutexRLock => "sync.RWMutex.RLock",
            WaitReason::SyncRWMutexLock => "sync.RWMutex.Lock",
            WaitReason::SyncCondWait => "sync.Cond.Wait",
        }
    }
}

/// No M: the value of [`G::m`] when the G is not running.
pub const NO_M: usize = usize::MAX;

/// A goroutine (Go's `g`). Allocated once, never freed: a dead G keeps its
/// stack and waits on a free list to be reused by the next `newproc`.
pub struct G {
    /// Saved stack pointer while not running (Go's `g.sched`).
    pub(super) context: UnsafeCell<Context>,
    pub(super) stack: Stack,
    pub goid: AtomicU64,
    status: AtomicU32,
    waitreason: AtomicU8,
    /// The M (core) running this G, or [`NO_M`] (Go's `g.m`).
    pub m: AtomicUsize,
    /// Next G in whatever list holds this one: a run queue batch, a free
    /// list (Go's `g.schedlink`). Only the list's owner touches it.
    pub(super) schedlink: AtomicPtr<G>,
    /// Next G in the list of all Gs (Go's `allgs`, here a linked list).
    pub(super) alllink: AtomicPtr<G>,
    /// When the G last became `_Gwaiting` or `_Gsyscall` (a TSC reading,
    /// cheaper than `nanotime` on the park path; Go's `g.waitsince`), for
    /// the goroutine dump's "[sleep, 153 ms]".
    pub waitsince: AtomicU64,
    /// The goroutine that ran the `go` statement (0: the runtime itself;
    /// Go's `g.parentGoid`) and where that statement is (Go's
    /// `g.gopc`, here the source location that `#[track_caller]` gives).
    pub parent_goid: AtomicU64,
    pub(super) gopc: AtomicPtr<Location<'static>>,
}

// SAFETY: the UnsafeCell is touched only by the one M that owns the G at
// that moment (running it, or switching to it), as the scheduler guarantees.
unsafe impl Sync for G {}
unsafe impl Send for G {}

impl G {
    /// Go's `malg`: a new G with a fresh stack, or `None` when out of
    /// memory. The G's memory comes from `pp`'s cache (no lock, usually);
    /// the caller owns `pp`, with preemption off.
    pub(super) fn malg(pp: &P) -> Option<NonNull<G>> {
        let stack = Stack::new()?;
        let slot = pp.gcache.alloc(&GCENTRAL)?;
        let g = G {
            context: UnsafeCell::new(Context::default()),
            stack,
            goid: AtomicU64::new(0),
            status: AtomicU32::new(Status::Idle as u32),
            waitreason: AtomicU8::new(WaitReason::Zero as u8),
            m: AtomicUsize::new(NO_M),
            schedlink: AtomicPtr::new(ptr::null_mut()),
            alllink: AtomicPtr::new(ptr::null_mut()),
            waitsince: AtomicU64::new(0),
            parent_goid: AtomicU64::new(0),
            gopc: AtomicPtr::new(ptr::null_mut()),
        };
        // SAFETY: the slot is memory for one G that nobody else uses; Gs
        // are never freed, so it stays this G's for ever.
        Some(NonNull::from(unsafe { &mut *slot.as_ptr() }.write(g)))
    }

    pub fn status(&self) -> Status {
        Status::from_u32(self.status.load(Ordering::Acquire))
    }

    pub fn waitreason(&self) -> WaitReason {
        WaitReason::ALL[self.waitreason.load(Ordering::Relaxed) as usize]
    }

    pub(super) fn set_waitreason(&self, reason: WaitReason) {
        self.waitreason.store(reason as u8, Ordering::Relaxed);
    }

    /// Where the `go` statement that created this G is, once it has one.
    pub fn gopc(&self) -> Option<&'static Location<'static>> {
        // SAFETY: only ever set from a `&'static Location` (in `newproc`).
        unsafe { self.gopc.load(Ordering::Relaxed).as_ref() }
    }

    /// Go's `casgstatus`: moves the G from `old` to `new`, and throws if it
    /// was not in `old` — a broken transition is a scheduler bug, never
    /// something to carry on from. Entering `_Gwaiting` or `_Gsyscall`
    /// stamps `waitsince` (before the status, so a reader that sees the
    /// new status with Acquire sees the stamp).
    pub(super) fn casgstatus(&self, old: Status, new: Status) {
        if matches!(new, Status::Waiting | Status::Syscall) {
            self.waitsince.store(rdtsc(), Ordering::Relaxed);
        }
        if let Err(actual) =
            self.status.compare_exchange(old as u32, new as u32, Ordering::AcqRel, Ordering::Acquire)
        {
            panic!(
                "casgstatus: goroutine {} is {:?}, expected {:?} (moving to {:?})",
                self.goid.load(Ordering::Relaxed),
                Status::from_u32(actual),
                old,
                new
            );
        }
    }

    /// Sets the status of a G nobody else can see yet (new or dead).
    pub(super) fn set_status(&self, status: Status) {
        self.status.store(status as u32, Ordering::Release);
    }
}

/// A LIFO list of Gs linked through `schedlink` (Go's `gList`). Not
/// synchronised: its owner (a P, or the holder of the sched lock) uses it.
pub struct GList {
    head: *mut G,
    pub len: u32,
}

// SAFETY: a GList is only used by its owner; the pointers are to leaked Gs.
unsafe impl Send for GList {}

impl GList {
    pub const fn new() -> GList {
        GList { head: ptr::null_mut(), len: 0 }
    }

    pub fn push(&mut self, gp: NonNull<G>) {
        // SAFETY: Gs are never freed; the list's owner owns `schedlink`.
        unsafe { gp.as_ref() }.schedlink.store(self.head, Ordering::Relaxed);
        self.head = gp.as_ptr();
        self.len += 1;
    }

    pub fn pop(&mut self) -> Option<NonNull<G>> {
        let gp = NonNull::new(self.head)?;
        // SAFETY: as in `push`.
        self.head = unsafe { gp.as_ref() }.schedlink.load(Ordering::Relaxed);
        self.len -= 1;
        Some(gp)
    }
}

/// A FIFO queue of Gs linked through `schedlink` (Go's `gQueue`): the
/// global run queue.
pub struct GQueue {
    head: *mut G,
    tail: *mut G,
    pub len: u32,
}

// SAFETY: as for GList.
unsafe impl Send for GQueue {}

impl GQueue {
    pub const fn new() -> GQueue {
        GQueue { head: ptr::null_mut(), tail: ptr::null_mut(), len: 0 }
    }

    pub fn push_back(&mut self, gp: NonNull<G>) {
        // SAFETY: Gs are never freed; the queue's owner owns `schedlink`.
        unsafe { gp.as_ref() }.schedlink.store(ptr::null_mut(), Ordering::Relaxed);
        match NonNull::new(self.tail) {
            // SAFETY: as above.
            Some(tail) => unsafe { tail.as_ref() }.schedlink.store(gp.as_ptr(), Ordering::Relaxed),
            None => self.head = gp.as_ptr(),
        }
        self.tail = gp.as_ptr();
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<NonNull<G>> {
        let gp = NonNull::new(self.head)?;
        // SAFETY: as in `push_back`.
        self.head = unsafe { gp.as_ref() }.schedlink.load(Ordering::Relaxed);
        if self.head.is_null() {
            self.tail = ptr::null_mut();
        }
        self.len -= 1;
        Some(gp)
    }
}
