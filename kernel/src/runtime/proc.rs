//! A goroutine's life: Go's `newproc` (the `go` statement), `gopark` and
//! `goready` (block and unblock — what channels, timers and the netpoller
//! build on), `Gosched`, and `goexit`; plus the free lists that make
//! spawning cheap (`gfput`, `gfget`).
//!
//! Each blocking operation ends with `mcall(f)`: the G switches to its M's
//! g0 stack, and g0 runs `f(gp)` — `park_m`, `gosched_m` or `goexit0` — only
//! once the G's registers are saved. That ordering is what makes it safe for
//! another core to pick the G up the moment `f` publishes it.

use alloc::boxed::Box;
use core::panic::Location;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, Ordering};

use super::debug::{self, Switch};
use super::g::{G, Status, WaitReason};
use super::idle::wakep;
use super::m::{acquirem, mcall};
use super::p::P;
use super::sched::sched;
use super::trace;
use super::getm;
use crate::arch::interrupts;
use crate::arch::switch::Context;

/// Closures larger than this are boxed rather than copied onto the stack.
const MAX_INLINE_CLOSURE: usize = 512;

/// Go's `newproc` (the `go` statement): creates a goroutine running `f`,
/// puts it in this P's `runnext` so that it runs soon (see [`runqput`] for
/// the experiments that change this), and wakes an idle core if there is
/// one. Returns its id.
///
/// Like Go's `newproc1`, which copies the function's arguments onto the
/// new goroutine's stack, the closure (function and captured values) is
/// moved to the top of the new G's stack: spawning allocates no heap memory
/// once dead Gs are being reused. The caller's source location is kept in
/// the G (Go's `gopc`) for the goroutine dump's "created by".
#[track_caller]
pub fn go<F: FnOnce() + Send + 'static>(f: F) -> u64 {
    let gopc = Location::caller();
    if size_of::<F>() <= MAX_INLINE_CLOSURE {
        newproc(f, gopc)
    } else {
        newproc(Box::new(f) as Box<dyn FnOnce() + Send>, gopc)
    }
}

fn newproc<F: FnOnce() + Send + 'static>(f: F, gopc: &'static Location<'static>) -> u64 {
    let mp = acquirem();
    let m = mp.m();
    let pp = m.p();
    let gp = gfget(pp).or_else(|| {
        let gp = G::malg(pp)?;
        allgadd(gp);
        Some(gp)
    });
    let gp = gp.unwrap_or_else(|| panic!("newproc: out of memory for goroutine stacks"));
    let s = sched();
    // SAFETY: the G is dead or new, so nobody else refers to it.
    let g = unsafe { gp.as_ref() };
    let top = g.stack.top.as_u64();
    let at = (top - size_of::<F>() as u64) & !(align_of::<F>().max(16) as u64 - 1);
    // SAFETY: `at` is inside the G's mapped stack (the closure is at most
    // MAX_INLINE_CLOSURE bytes), aligned for F and 16; nobody runs on it.
    unsafe {
        (at as *mut F).write(f);
        *g.context.get() = Context::new(at, gostart::<F>, at as usize);
    }
    let goid = s.goidgen.fetch_add(1, Ordering::Relaxed) + 1;
    g.goid.store(goid, Ordering::Relaxed);
    // The creator: the running G, or none when the runtime starts main.
    // SAFETY: Gs are never freed.
    let parent = NonNull::new(m.curg.load(Ordering::Relaxed)).map(|p| unsafe { p.as_ref() });
    g.parent_goid.store(parent.map_or(0, |p| p.goid.load(Ordering::Relaxed)), Ordering::Relaxed);
    g.gopc.store(ptr::from_ref(gopc).cast_mut(), Ordering::Relaxed);
    g.set_waitreason(WaitReason::Zero);
    g.set_status(Status::Runnable);
    s.ngoroutines.fetch_add(1, Ordering::Relaxed);
    trace::go_create(pp, goid);
    runqput(pp, gp, true);
    if s.main_started.load(Ordering::Relaxed) {
        wakep();
    }
    goid
}

/// Head of the list of every G ever created (Go's `allgs`), linked through
/// `alllink`. It only grows, so a lock-free push suffices; the Release CAS
/// publishes the G's fields to readers, who load the head with Acquire.
static ALLGS: AtomicPtr<G> = AtomicPtr::new(ptr::null_mut());

/// Go's `allgadd`.
fn allgadd(gp: NonNull<G>) {
    let mut head = ALLGS.load(Ordering::Relaxed);
    loop {
        // SAFETY: Gs are never freed; this G is not yet visible to anyone.
        unsafe { gp.as_ref() }.alllink.store(head, Ordering::Relaxed);
        match ALLGS.compare_exchange_weak(head, gp.as_ptr(), Ordering::Release, Ordering::Relaxed) {
            Ok(_) => return,
            Err(current) => head = current,
        }
    }
}

/// Go's `forEachG`: calls `f` on every G ever created (dead ones too).
pub(super) fn for_each_g(mut f: impl FnMut(&'static G)) {
    let mut gp = ALLGS.load(Ordering::Acquire);
    while let Some(g) = NonNull::new(gp) {
        // SAFETY: Gs are never freed.
        let g = unsafe { g.as_ref() };
        f(g);
        gp = g.alllink.load(Ordering::Relaxed);
    }
}

/// First code a new G runs, on its own stack, below its closure at `f`.
extern "C" fn gostart<F: FnOnce()>(f: usize) -> ! {
    interrupts::enable();
    // SAFETY: `newproc` wrote an F at `f`, above this frame; it is read
    // (moved out) exactly once.
    let f = unsafe { (f as *const F).read() };
    super::panic::run_goroutine(f);
    goexit1()
}

/// Go's `goexit1`: the running goroutine ends.
pub fn goexit1() -> ! {
    mcall(goexit0);
    unreachable!("a dead goroutine was resumed")
}

/// Go's `goexit0`, on g0: the G is dead; recycle it.
fn goexit0(gp: NonNull<G>) {
    // SAFETY: Gs are never freed.
    let g = unsafe { gp.as_ref() };
    let pp = getm().p();
    g.casgstatus(Status::Running, Status::Dead);
    trace::go_end(pp, g);
    // The G keeps its stack for the next goroutine, but not all of it.
    g.stack.shrink();
    sched().ngoroutines.fetch_sub(1, Ordering::Relaxed);
    gfput(pp, gp);
}

/// Go's `gfput`: puts a dead G on its P's free list; when the list grows
/// long (64), moves half of it to the global free list for other Ps.
fn gfput(pp: &P, gp: NonNull<G>) {
    // SAFETY: `gfree` belongs to the P held by this M, which is on g0 (never
    // preempted) or under `acquirem`, so nothing else touches it.
    let local = unsafe { &mut *pp.gfree.get() };
    local.push(gp);
    if local.len >= 64 {
        let s = sched();
        let mut locked = s.lock.lock();
        while local.len >= 32 {
            let gp = local.pop().expect("gfput: list shorter than its length");
            locked.gfree.push(gp);
        }
        s.ngfree.store(locked.gfree.len, Ordering::Relaxed);
    }
    pp.gfreecnt.store(local.len, Ordering::Relaxed);
}

/// Go's `gfpurge`: moves all of `pp`'s dead Gs to the global free list
/// (`procresize`, for a P going away; the world is stopped).
pub(super) fn gfpurge(pp: &P) {
    // SAFETY: the world is stopped, so nobody else touches `pp`'s list.
    let local = unsafe { &mut *pp.gfree.get() };
    let s = sched();
    let mut locked = s.lock.lock();
    while let Some(gp) = local.pop() {
        locked.gfree.push(gp);
    }
    s.ngfree.store(locked.gfree.len, Ordering::Relaxed);
    pp.gfreecnt.store(0, Ordering::Relaxed);
}

/// Go's `gfget`: a dead G from this P's free list, refilled with up to 32
/// from the global list when empty.
fn gfget(pp: &P) -> Option<NonNull<G>> {
    // SAFETY: as in `gfput`.
    let local = unsafe { &mut *pp.gfree.get() };
    let s = sched();
    if local.len == 0 && s.ngfree.load(Ordering::Relaxed) > 0 {
        let mut locked = s.lock.lock();
        while local.len < 32 {
            let Some(gp) = locked.gfree.pop() else { break };
            local.push(gp);
        }
        s.ngfree.store(locked.gfree.len, Ordering::Relaxed);
    }
    let gp = local.pop();
    pp.gfreecnt.store(local.len, Ordering::Relaxed);
    gp
}

/// Go's `gopark`: puts the current goroutine to sleep with `reason` until
/// someone calls [`goready`] on it. `unlock` runs on g0 after the G is
/// fully off its stack: it releases whatever lock guards the wait queue the
/// G was put on, so a waker cannot ready the G before it has stopped.
/// (Go passes `unlockf` and a lock pointer; a closure says the same.)
pub fn gopark(unlock: impl FnOnce(), reason: WaitReason) {
    let mut unlock = Some(unlock);
    let mut call = || (unlock.take().expect("gopark: unlock ran twice"))();
    let call: &mut dyn FnMut() = &mut call;
    // SAFETY (lifetime erasure): `park_m` calls it while this frame is
    // suspended, before anyone can resume the G; it is never used again.
    let call: *mut (dyn FnMut() + 'static) = unsafe { core::mem::transmute(call) };
    interrupts::disable();
    let m = getm();
    let gp = m.curg.load(Ordering::Relaxed);
    assert!(!gp.is_null(), "gopark called on g0");
    // SAFETY: the running G is ours; Gs are never freed.
    unsafe { &*gp }.set_waitreason(reason);
    m.park_unlock.set(Some(call));
    mcall(park_m);
}

/// Go's `park_m`, on g0.
fn park_m(gp: NonNull<G>) {
    // SAFETY: Gs are never freed.
    let g = unsafe { gp.as_ref() };
    g.casgstatus(Status::Running, Status::Waiting);
    trace::go_block(g);
    if let Some(unlock) = getm().park_unlock.take() {
        // SAFETY: set by `gopark`, whose frame is alive on the parked stack.
        unsafe { (*unlock)() };
        // The unlock may have restored the G's interrupt flag; g0 runs with
        // interrupts off.
        interrupts::disable();
    }
}

/// Go's `goready`: makes a parked G runnable. It goes to this P's `runnext`,
/// so that it runs next and inherits the rest of the time slice: a
/// receiver woken by a sender runs right after it, on the same core
/// (see [`runqput`] for the experiments that change this).
pub fn goready(gp: NonNull<G>) {
    let mp = acquirem();
    // SAFETY: Gs are never freed.
    let g = unsafe { gp.as_ref() };
    g.casgstatus(Status::Waiting, Status::Runnable);
    let pp = mp.m().p();
    trace::go_unblock(pp, g);
    runqput(pp, gp, true);
    wakep();
}

/// Go's `goyield`: like [`gosched`], but the G goes to the tail of this P's
/// local run queue rather than the global one. Used by a direct handoff
/// (a semaphore in starvation mode): the G just readied into `runnext`
/// runs at once, and the yielder soon after, on the same P. (Go keeps it
/// inside the runtime; `PROG=fairness` uses it to hold a P.)
pub fn goyield() {
    mcall(goyield_m);
}

/// Go's `goyield_m`, on g0.
fn goyield_m(gp: NonNull<G>) {
    // SAFETY: Gs are never freed.
    unsafe { gp.as_ref() }.casgstatus(Status::Running, Status::Runnable);
    runqput(getm().p(), gp, false);
}

/// Go's `runqput`: puts `gp` on `pp`'s local run queue, in `runnext` if
/// `next` (the ring's overflow goes to the global queue, `runqputslow`).
/// Two experiments change it (`runtime/debug.rs`): `runnextoff=1` never
/// uses `runnext`; `go10sched=1` puts every G on the global queue, under
/// `sched.lock`, as Go 1.0 did, which had no per-P queues. The caller
/// holds `pp` (on g0, or under `acquirem`).
#[inline(always)]
pub(super) fn runqput(pp: &P, gp: NonNull<G>, next: bool) {
    let off = debug::switches();
    if off & debug::bit(Switch::Go10) != 0 {
        let s = sched();
        s.globrunqput(&mut s.lock.lock(), gp);
        return;
    }
    pp.runq.runqput(gp, next && off & debug::bit(Switch::Runnext) == 0, |batch| sched().globrunqputbatch(batch));
}

/// Go's `Gosched`: yields the processor; the G goes to the global queue, so
/// it runs again after everything already queued.
pub fn gosched() {
    mcall(gosched_m);
}

/// Go's `gosched_m`, on g0.
fn gosched_m(gp: NonNull<G>) {
    // SAFETY: Gs are never freed.
    unsafe { gp.as_ref() }.casgstatus(Status::Running, Status::Runnable);
    // SAFETY: as above.
    trace::go_sched(unsafe { gp.as_ref() });
    let s = sched();
    s.globrunqput(&mut s.lock.lock(), gp);
    wakep();
}
