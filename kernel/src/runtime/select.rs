//! `select`: Go's `selectgo` (`select.go`) — wait on several channel
//! operations at once and do exactly one of them.
//!
//! ```ignore
//! let got = Select::new()
//!     .recv(&numbers, |v, ok| if ok { Got::Number(v) } else { Got::Closed })
//!     .send(&results, 42, || Got::Sent)
//!     .recv(&quit, |_, _| Got::Quit)
//!     .default(|| Got::Nothing) // optional: do not block
//!     .run();
//! ```
//!
//! Each arm is a closure; the one whose case fires is run and its result
//! returned. `run` follows `selectgo`:
//!
//! 1. **Poll order**: a random permutation of the cases (Go's shuffle with
//!    `cheaprandn`), so that when several are ready each is equally likely
//!    to be chosen — no case can starve another.
//! 2. **Lock order**: the channels sorted by address, each locked once
//!    (`sellock`), so two selects over the same channels cannot deadlock.
//!    Cases on one channel keep their poll order, so the sudogs of pass 2
//!    are queued on that channel in random order too: a partner that
//!    arrives after the select parked picks among them uniformly.
//! 3. **Pass 1**: in poll order, the first case that can proceed without
//!    waiting does; if none can, the `default` arm runs, if there is one.
//! 4. **Pass 2**: queue a sudog on every channel and park, all locks
//!    released by `gopark` once the G is off its stack.
//! 5. Woken: the waker that dequeued one of our sudogs first won a CAS on
//!    the select's `done` flag (Go's `g.selectDone`) and did that case's
//!    communication; any other waker skips our sudogs. **Pass 3**: lock
//!    everything again and unlink the sudogs of the cases that did not fire.
//!
//! Where gmpos differs: the cases are a builder of closures rather than
//! compiler-generated `scase`s, and the winner is found through the case
//! number recorded with the CAS rather than by comparing sudog pointers
//! (`gp.param`). A case on a nil channel is never ready: it is left out of
//! the select when it is built (Go omits it from the poll and lock orders),
//! so a select whose every case is on a nil channel, with no default,
//! blocks forever.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::panic::Location;
use core::ptr::{self, NonNull};

use super::chan::{Chan, HChan, Received, Sent};
use super::g::{G, WaitReason};
use super::m::cheaprandn;
use super::panic::gopanic;
use super::sudog::{SelectDone, Sudog};
use super::{getg, gopark, goready};
use crate::sync::{IrqLock, IrqLockGuard};

/// A `select` over cases whose arms produce an `R`.
pub struct Select<'a, R> {
    /// The cases on channels that are not nil.
    cases: Vec<Box<dyn Scase<'a, R> + 'a>>,
    /// Whether any case was given, nil or not (`select {}` has none).
    any_case: bool,
    default: Option<Box<dyn FnOnce() -> R + 'a>>,
}

impl<'a, R> Select<'a, R> {
    pub fn new() -> Self {
        Select { cases: Vec::new(), any_case: false, default: None }
    }

    /// `case v, ok := <-c:` — `body(v, ok)`; `ok` is false (and `v` the
    /// zero value) if the channel is closed and drained.
    /// Never ready if `c` is nil.
    pub fn recv<T: Send + Default + 'a>(mut self, c: &'a Chan<T>, body: impl FnOnce(T, bool) -> R + 'a) -> Self {
        self.any_case = true;
        if let Some(c) = c.hchan() {
            self.cases.push(Box::new(RecvCase { c, body, slot: None, ok: false, sg: UnsafeCell::new(None) }));
        }
        self
    }

    /// `case c <- v:` — `body()` once `v` is sent. Panics if `c` is closed;
    /// never ready if it is nil.
    #[track_caller]
    pub fn send<T: Send + 'a>(mut self, c: &'a Chan<T>, v: T, body: impl FnOnce() -> R + 'a) -> Self {
        self.any_case = true;
        if let Some(c) = c.hchan() {
            let at = Location::caller();
            self.cases.push(Box::new(SendCase { c, body, value: Some(v), closed: false, sg: UnsafeCell::new(None), at }));
        }
        self
    }

    /// `default:` — run `body()` instead of waiting when no case is ready.
    pub fn default(mut self, body: impl FnOnce() -> R + 'a) -> Self {
        self.default = Some(Box::new(body));
        self
    }

    /// Go's `selectgo`: does one ready case (chosen uniformly at random
    /// among the ready ones), or `default`, or waits for the first case to
    /// become possible; then runs its arm. With no cases and no default it
    /// blocks forever, as `select {}` does ("select (no cases)"); so does
    /// a select whose cases are all on nil channels ("select").
    pub fn run(self) -> R {
        let Select { mut cases, any_case, default } = self;
        let n = cases.len();
        if n == 0 && default.is_none() {
            gopark(|| {}, if any_case { WaitReason::Select } else { WaitReason::SelectNoCases });
            unreachable!("select with no cases woke up");
        }

        // Generate permuted order (Go's inside-out Fisher–Yates shuffle).
        let mut pollorder: Vec<usize> = Vec::with_capacity(n);
        for i in 0..n {
            let j = cheaprandn(i as u32 + 1) as usize;
            pollorder.push(i);
            pollorder.swap(i, j);
        }
        // Sort the cases by channel address to get the locking order.
        // Start with the pollorder to permute cases on the same channel
        // (Go's heap sort starts from it too): a stable sort keeps cases
        // on one channel in poll order, so the sudogs that pass 2 queues
        // on that channel are in random order, and a partner arriving later
        // takes each case with equal chance.
        let mut lockorder = pollorder.clone();
        lockorder.sort_by_key(|&i| ptr::from_ref(cases[i].lock()) as usize);

        let locks = sellock(&cases, &lockorder);

        // Pass 1 - look for something already waiting.
        for &casi in &pollorder {
            // SAFETY: every channel of the select is locked.
            if let Poll::Ready { wake } = unsafe { cases[casi].poll() } {
                selunlock(locks);
                if let Some(gp) = wake {
                    goready(gp);
                }
                return cases.swap_remove(casi).run();
            }
        }
        if let Some(default) = default {
            selunlock(locks);
            return default();
        }

        // Pass 2 - enqueue on all chans.
        let done = SelectDone::new();
        let gp = getg();
        for &casi in &lockorder {
            // SAFETY: the channels are locked; the sudogs live in the
            // cases' boxes, which outlive the wait (pass 3 unlinks them).
            unsafe { cases[casi].enqueue(gp, &done, casi) };
        }
        gopark(move || selunlock(locks), WaitReason::Select);

        // Woken by the winner of `done`, which did its case's work.
        let locks = sellock(&cases, &lockorder);
        let casi = done.winner().expect("select: woken, but no case won");
        // Pass 3 - dequeue from unsuccessful chans.
        for &i in &lockorder {
            if i != casi {
                // SAFETY: locked; each sudog is in its channel's queue or
                // was dropped from it by a waker that lost the CAS.
                unsafe { cases[i].dequeue() };
            }
        }
        selunlock(locks);
        let mut case = cases.swap_remove(casi);
        case.woken();
        case.run()
    }
}

impl<R> Default for Select<'_, R> {
    fn default() -> Self {
        Self::new()
    }
}

/// Go's `sellock`: locks every channel of the select once, in address
/// order. The guards go in a vector (allocated before the first lock).
fn sellock<'a, R>(cases: &[Box<dyn Scase<'a, R> + 'a>], lockorder: &[usize]) -> Vec<IrqLockGuard<'a, ()>> {
    let mut locks = Vec::with_capacity(lockorder.len());
    let mut last: *const IrqLock<()> = ptr::null();
    for &i in lockorder {
        let lock = cases[i].lock();
        if !ptr::eq(lock, last) {
            locks.push(lock.lock());
            last = lock;
        }
    }
    locks
}

/// Go's `selunlock`: unlocks in reverse order. The first guard taken is
/// the one that restores the interrupt flag, so it must go last.
fn selunlock(mut locks: Vec<IrqLockGuard<'_, ()>>) {
    while let Some(lock) = locks.pop() {
        drop(lock);
    }
}

/// The result of pass 1 for a case.
enum Poll {
    NotReady,
    /// The case fired; ready `wake` (a waiting peer) after unlocking.
    Ready { wake: Option<NonNull<G>> },
}

/// One case of a select with its element type hidden (Go's `scase`).
trait Scase<'a, R> {
    /// Its channel's lock.
    fn lock(&self) -> &'a IrqLock<()>;
    /// Pass 1: do the operation if it needs no waiting.
    /// # Safety
    /// The channel is locked.
    unsafe fn poll(&mut self) -> Poll;
    /// Pass 2: queue a sudog for `gp` on the channel.
    /// # Safety
    /// The channel is locked; `done` and `self` stay put until `dequeue`.
    unsafe fn enqueue(&mut self, gp: NonNull<G>, done: *const SelectDone, casi: usize);
    /// Pass 3: unlink the sudog of a case that did not fire.
    /// # Safety
    /// The channel is locked.
    unsafe fn dequeue(&mut self);
    /// This case won while we were parked: collect what the waker left.
    fn woken(&mut self);
    /// Runs the arm.
    fn run(self: Box<Self>) -> R;
}

struct RecvCase<'a, T, F> {
    c: &'a HChan<T>,
    body: F,
    /// The value received: written by pass 1 or by a sender.
    slot: Option<T>,
    ok: bool,
    /// The sudog while queued. In an `UnsafeCell`: wakers that lose the
    /// race unlink it (under their channel's lock) while the woken select
    /// may already be reading the case's channel to lock it again.
    sg: UnsafeCell<Option<Sudog<T>>>,
}

impl<'a, T: Send + Default, R, F: FnOnce(T, bool) -> R> Scase<'a, R> for RecvCase<'a, T, F> {
    fn lock(&self) -> &'a IrqLock<()> {
        &self.c.lock
    }

    unsafe fn poll(&mut self) -> Poll {
        // SAFETY: the caller holds the channel's lock.
        match unsafe { self.c.state() }.try_recv() {
            Received::Value(v, wake) => {
                self.slot = Some(v);
                self.ok = true;
                Poll::Ready { wake }
            }
            Received::Closed => Poll::Ready { wake: None },
            Received::WouldBlock => Poll::NotReady,
        }
    }

    unsafe fn enqueue(&mut self, gp: NonNull<G>, done: *const SelectDone, casi: usize) {
        let sg = self.sg.get_mut().insert(Sudog::new(gp, &raw mut self.slot));
        sg.select = done;
        sg.casi = casi;
        // SAFETY: locked (caller); the sudog stays in this box until
        // `dequeue` or a waker unlinks it.
        unsafe { self.c.state().recvq.enqueue(sg) };
    }

    unsafe fn dequeue(&mut self) {
        if let Some(sg) = self.sg.get_mut() {
            // SAFETY: locked (caller); the sudog is in this queue or none.
            unsafe { self.c.state().recvq.dequeue_sudog(sg) };
        }
    }

    fn woken(&mut self) {
        self.ok = self.sg.get_mut().as_ref().is_some_and(|sg| sg.success);
    }

    fn run(self: Box<Self>) -> R {
        (self.body)(self.slot.unwrap_or_default(), self.ok)
    }
}

struct SendCase<'a, T, F> {
    c: &'a HChan<T>,
    body: F,
    /// The value to send, until a receiver (or pass 1) takes it.
    value: Option<T>,
    closed: bool,
    /// As for `RecvCase::sg`.
    sg: UnsafeCell<Option<Sudog<T>>>,
    /// Where the program built this case (for the closed-channel panic).
    at: &'static Location<'static>,
}

impl<'a, T: Send, R, F: FnOnce() -> R> Scase<'a, R> for SendCase<'a, T, F> {
    fn lock(&self) -> &'a IrqLock<()> {
        &self.c.lock
    }

    unsafe fn poll(&mut self) -> Poll {
        let v = self.value.take().expect("select: a send case without its value");
        // SAFETY: the caller holds the channel's lock.
        match unsafe { self.c.state() }.try_send(v) {
            Sent::Done(wake) => Poll::Ready { wake },
            Sent::Closed => {
                self.closed = true;
                Poll::Ready { wake: None }
            }
            Sent::WouldBlock(v) => {
                self.value = Some(v);
                Poll::NotReady
            }
        }
    }

    unsafe fn enqueue(&mut self, gp: NonNull<G>, done: *const SelectDone, casi: usize) {
        let sg = self.sg.get_mut().insert(Sudog::new(gp, &raw mut self.value));
        sg.select = done;
        sg.casi = casi;
        // SAFETY: as for `RecvCase::enqueue`.
        unsafe { self.c.state().sendq.enqueue(sg) };
    }

    unsafe fn dequeue(&mut self) {
        if let Some(sg) = self.sg.get_mut() {
            // SAFETY: as for `RecvCase::dequeue`.
            unsafe { self.c.state().sendq.dequeue_sudog(sg) };
        }
    }

    fn woken(&mut self) {
        self.closed = !self.sg.get_mut().as_ref().is_some_and(|sg| sg.success);
    }

    fn run(self: Box<Self>) -> R {
        if self.closed {
            gopanic("send on closed channel", self.at);
        }
        (self.body)()
    }
}
