//! Go's `sudog` and `waitq` (runtime2.go, chan.go): a goroutine waiting in
//! a queue — on a channel's send or receive queue, or on a semaphore.
//!
//! A G can wait on several queues at once (a `select` puts one sudog on
//! every channel it waits for), so the queue element cannot be the G
//! itself: it is a sudog pointing to the G, plus what the waker needs — for
//! a channel, where the value is (`elem`).
//!
//! Where gmpos differs: Go allocates sudogs from a per-P cache
//! (`acquireSudog`). Here a sudog lives in the frame of the goroutine that
//! waits (for a `select`, in its case's box). That is safe because the
//! frame cannot end while the G is parked, and the rules below make sure
//! nobody touches a sudog once its G may be running again:
//!
//! - a sudog is linked, unlinked and written only under the lock of the
//!   queue that holds it (the channel's or the semaphore's);
//! - a waker that dequeues a sudog finishes with it (copies the value, sets
//!   `success`) before it calls `goready`, and never looks at it again.

use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::g::G;

/// A G waiting on a channel or a semaphore (Go's `sudog`).
pub struct Sudog<T> {
    pub g: NonNull<G>,
    /// For a sender, its value (`Some`), taken by whoever receives it; for
    /// a receiver, the empty slot the value is written to — straight into
    /// the waiting goroutine's frame (Go's `sendDirect`/`recvDirect`).
    /// Null for a semaphore.
    pub elem: *mut Option<T>,
    /// The `select` this sudog belongs to, or null (Go: `isSelect`, and the
    /// G's `selectDone` flag).
    pub select: *const SelectDone,
    /// Which case of its select this sudog stands for.
    pub casi: usize,
    /// Set by the waker: true if it communicated, false if the channel
    /// was closed (Go's `success`).
    pub success: bool,
    /// Semaphores: the releaser handed its count to this waiter directly
    /// (Go's `ticket`, used by `sync.Mutex` in starvation mode).
    pub ticket: bool,
    prev: *mut Sudog<T>,
    next: *mut Sudog<T>,
}

impl<T> Sudog<T> {
    pub fn new(g: NonNull<G>, elem: *mut Option<T>) -> Sudog<T> {
        Sudog {
            g,
            elem,
            select: ptr::null(),
            casi: 0,
            success: false,
            ticket: false,
            prev: ptr::null_mut(),
            next: ptr::null_mut(),
        }
    }
}

/// A FIFO of sudogs, doubly linked so that a `select` can take its sudogs
/// out of the queues it did not win (Go's `waitq`). Used only under the
/// lock of the channel or semaphore that owns it.
pub struct WaitQ<T> {
    first: *mut Sudog<T>,
    last: *mut Sudog<T>,
}

impl<T> WaitQ<T> {
    pub const fn new() -> WaitQ<T> {
        WaitQ { first: ptr::null_mut(), last: ptr::null_mut() }
    }

    /// Go's `waitq.enqueue`: appends `sgp`.
    ///
    /// # Safety
    /// `sgp` is valid and in no queue, and stays valid until dequeued.
    pub unsafe fn enqueue(&mut self, sgp: *mut Sudog<T>) {
        // SAFETY: the caller's promise; the queue's sudogs are valid.
        unsafe {
            (*sgp).next = ptr::null_mut();
            (*sgp).prev = self.last;
            match NonNull::new(self.last) {
                Some(last) => (*last.as_ptr()).next = sgp,
                None => self.first = sgp,
            }
        }
        self.last = sgp;
    }

    /// Puts `sgp` at the front (Go's semaphore queue with `lifo`: a waiter
    /// woken once already goes back first, not behind the newcomers).
    ///
    /// # Safety
    /// As for [`WaitQ::enqueue`].
    pub unsafe fn enqueue_front(&mut self, sgp: *mut Sudog<T>) {
        // SAFETY: as in `enqueue`.
        unsafe {
            (*sgp).prev = ptr::null_mut();
            (*sgp).next = self.first;
            match NonNull::new(self.first) {
                Some(first) => (*first.as_ptr()).prev = sgp,
                None => self.last = sgp,
            }
        }
        self.first = sgp;
    }

    /// Go's `waitq.dequeue`: takes the first sudog whose G can still be
    /// woken. A sudog of a `select` that another case already won stays
    /// linked until its G comes back to unlink it (it needs every lock to
    /// do so); such sudogs are dropped here. Winning is a CAS on the
    /// select's `done` flag, so exactly one waker wins each select.
    pub fn dequeue(&mut self) -> Option<*mut Sudog<T>> {
        loop {
            let sgp = NonNull::new(self.first)?.as_ptr();
            // SAFETY: sudogs in the queue are valid (the enqueue contract),
            // and we hold the queue's lock.
            unsafe {
                let y = (*sgp).next;
                if y.is_null() {
                    self.first = ptr::null_mut();
                    self.last = ptr::null_mut();
                } else {
                    (*y).prev = ptr::null_mut();
                    self.first = y;
                    (*sgp).next = ptr::null_mut();
                }
                if let Some(sel) = (*sgp).select.as_ref() {
                    if !sel.win((*sgp).casi) {
                        continue;
                    }
                }
            }
            return Some(sgp);
        }
    }

    /// Go's `waitq.dequeueSudoG`: unlinks `sgp` if it is still queued
    /// (a `select` removing the sudogs of the cases that did not fire).
    ///
    /// # Safety
    /// `sgp` is valid and either in this queue or in none.
    pub unsafe fn dequeue_sudog(&mut self, sgp: *mut Sudog<T>) {
        // SAFETY: the caller's promise; neighbours in the queue are valid.
        unsafe {
            let x = (*sgp).prev;
            let y = (*sgp).next;
            if !x.is_null() {
                if !y.is_null() {
                    // middle of queue
                    (*x).next = y;
                    (*y).prev = x;
                    (*sgp).next = ptr::null_mut();
                    (*sgp).prev = ptr::null_mut();
                    return;
                }
                // end of queue
                (*x).next = ptr::null_mut();
                self.last = x;
                (*sgp).prev = ptr::null_mut();
                return;
            }
            if !y.is_null() {
                // start of queue
                (*y).prev = ptr::null_mut();
                self.first = y;
                (*sgp).next = ptr::null_mut();
                return;
            }
        }
        // x == y == null: either sgp is the only element in the queue, or
        // it has already been removed.
        if self.first == sgp {
            self.first = ptr::null_mut();
            self.last = ptr::null_mut();
        }
    }
}

/// Who won a parked `select`: Go's `g.selectDone` flag and `gp.param`.
/// One per parked select, shared by its sudogs.
pub struct SelectDone {
    done: AtomicBool,
    casi: AtomicUsize,
}

impl Default for SelectDone {
    fn default() -> Self {
        Self::new()
    }
}

impl SelectDone {
    pub const fn new() -> SelectDone {
        SelectDone { done: AtomicBool::new(false), casi: AtomicUsize::new(0) }
    }

    /// Called by a waker that dequeued the sudog of case `casi`: true if it
    /// is the first, and so does that case's communication. The CAS makes
    /// the winner unique (wakers hold different channels' locks). The
    /// select reads the case after `goready`, whose run-queue publication
    /// (Release, then Acquire by the M that runs the G) orders it; the
    /// Release/Acquire pair here also orders it on its own.
    pub fn win(&self, casi: usize) -> bool {
        if self.done.compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed).is_err() {
            return false;
        }
        self.casi.store(casi, Ordering::Release);
        true
    }

    /// The winning case, once `win` has returned true for it.
    pub fn winner(&self) -> Option<usize> {
        self.done.load(Ordering::Acquire).then(|| self.casi.load(Ordering::Acquire))
    }
}
