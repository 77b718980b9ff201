//! Channels: Go's `hchan` and its algorithm (`chan.go`: `makechan`,
//! `chansend`, `chanrecv`, `closechan`), built on `gopark`/`goready`.
//!
//! A channel is a lock, an optional ring buffer, and two queues of waiting
//! goroutines (sudogs, see `sudog.rs`). Every operation takes the lock and
//! looks in this order:
//!
//! - **send**: closed → panic. A receiver waiting? Copy the value straight
//!   into its frame and `goready` it — it goes to this P's `runnext`, so it
//!   runs next, on this core. Room in the buffer? Append. Otherwise park on
//!   the send queue with the value in a sudog; a receiver takes it from there.
//! - **receive**: a sender waiting? (Only possible when the buffer is full
//!   or there is none.) Unbuffered: take its value directly; buffered: take
//!   the buffer's head and put the sender's value at the tail — FIFO order
//!   is kept. Either way, ready the sender. A value in the buffer? Take it.
//!   Closed? Return the zero value, `ok = false`. Otherwise park on the
//!   receive queue; a sender fills in the value.
//! - **close**: mark closed, ready every waiter: receivers get the zero
//!   value, senders wake up to panic.
//!
//! No wakeup can be lost: a G queues its sudog under the channel lock and
//! `gopark` releases the lock only once the G is off its stack (`park_m`),
//! so a waker, who needs the lock to find the sudog, always finds the G
//! parked. The waker fills in the sudog under the lock and readies the G
//! after unlocking, as Go does.
//!
//! Where gmpos differs: the channel is typed (`Chan<T>`), and the value
//! moves as an `Option<T>` (Go copies `elemsize` bytes); Rust has no zero
//! value for every type, so the receive operations that report a closed
//! channel ask for `T: Default`.
//!
//! **The nil channel** (Go's zero value, `Chan::nil()` or `Chan::default()`)
//! refers to no channel: a send or receive on it blocks forever (a wait
//! `checkdead` counts, shown as `chan send (nil chan)` / `chan receive (nil
//! chan)`), closing it panics with "close of nil channel", and a `select`
//! case on it is never ready — so a select loop disables a case by setting
//! its channel to nil, as in Go.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::panic::Location;
use core::ptr::NonNull;

use super::g::{G, GList, WaitReason};
use super::panic::gopanic;
use super::sudog::{Sudog, WaitQ};
use super::{getg, gopark, goready};
use crate::sync::IrqLock;

/// A channel of `T` (Go's `chan T`), or the nil channel. Cloning it gives
/// another handle to the same channel, as copying a channel value does in
/// Go.
pub struct Chan<T>(Option<Arc<HChan<T>>>);

impl<T> Clone for Chan<T> {
    fn clone(&self) -> Self {
        Chan(self.0.clone())
    }
}

/// Go's zero value of a channel type: nil.
impl<T> Default for Chan<T> {
    fn default() -> Self {
        Chan::nil()
    }
}

impl<T> Chan<T> {
    /// The nil channel (Go's `var c chan T`).
    pub const fn nil() -> Chan<T> {
        Chan(None)
    }

    /// Go's `c == nil`.
    pub fn is_nil(&self) -> bool {
        self.0.is_none()
    }
}

/// Blocks the goroutine forever: Go's `gopark(nil, nil, reason, ...)` for
/// an operation on a nil channel. Nothing can ready it; `checkdead` counts
/// it as asleep.
fn block_forever(reason: WaitReason) -> ! {
    gopark(|| {}, reason);
    unreachable!("a goroutine blocked on a nil channel woke up");
}

/// Go's `hchan`.
pub(super) struct HChan<T> {
    /// Go's `hchan.lock`, guarding `state`. It is kept apart from the data
    /// (an `IrqLock<()>`) so that `select` can hold the locks of channels
    /// of different element types at once.
    pub lock: IrqLock<()>,
    state: UnsafeCell<State<T>>,
}

// SAFETY: `state` is only touched with `lock` held; the raw pointers in
// the wait queues are to sudogs of parked goroutines (see sudog.rs).
unsafe impl<T: Send> Send for HChan<T> {}
unsafe impl<T: Send> Sync for HChan<T> {}

/// What `hchan.lock` guards.
pub(super) struct State<T> {
    /// The buffer (Go's `buf`, `qcount`, `sendx`, `recvx`: a ring).
    buf: VecDeque<T>,
    /// Its capacity (Go's `dataqsiz`); 0 for an unbuffered channel.
    dataqsiz: usize,
    closed: bool,
    /// Blocked receivers and senders (Go's `recvq`, `sendq`).
    pub recvq: WaitQ<T>,
    pub sendq: WaitQ<T>,
}

/// The outcome of the non-blocking part of a send.
pub(super) enum Sent<T> {
    /// Done; the receiver to ready (after unlocking), if one was waiting.
    Done(Option<NonNull<G>>),
    /// The channel is closed: the caller panics (after unlocking).
    Closed,
    /// Nobody waiting and no room: the value comes back.
    WouldBlock(T),
}

/// The outcome of the non-blocking part of a receive.
pub(super) enum Received<T> {
    /// A value; the sender to ready (after unlocking), if one was waiting.
    Value(T, Option<NonNull<G>>),
    /// Closed and drained: the zero value, `ok = false`.
    Closed,
    WouldBlock,
}

impl<T> State<T> {
    /// The first half of Go's `chansend` (with `send`), lock held: hand
    /// the value to a waiting receiver, or buffer it.
    pub fn try_send(&mut self, v: T) -> Sent<T> {
        if self.closed {
            return Sent::Closed;
        }
        if let Some(sg) = self.recvq.dequeue() {
            // Found a waiting receiver. We pass the value we want to send
            // directly to the receiver, bypassing the channel buffer.
            // SAFETY: a dequeued sudog belongs to a parked G, and nobody
            // else can reach it now (see sudog.rs).
            let gp = unsafe {
                *(*sg).elem = Some(v);
                (*sg).success = true;
                (*sg).g
            };
            return Sent::Done(Some(gp));
        }
        if self.buf.len() < self.dataqsiz {
            // Space is available in the channel buffer. Enqueue the element.
            self.buf.push_back(v);
            return Sent::Done(None);
        }
        Sent::WouldBlock(v)
    }

    /// The first half of Go's `chanrecv` (with `recv`), lock held.
    pub fn try_recv(&mut self) -> Received<T> {
        if self.closed {
            if self.buf.is_empty() {
                return Received::Closed;
            }
            // Closed, but the buffer still has data: deliver it first.
        } else if let Some(sg) = self.sendq.dequeue() {
            // Found a waiting sender. If the buffer is size 0, receive the
            // value directly from the sender. Otherwise the buffer is full:
            // take the item at its head and make the sender put its item
            // at the tail.
            // SAFETY: as in `try_send`.
            let (sent, gp) = unsafe {
                let sent = (*(*sg).elem).take().expect("chanrecv: a waiting sender without a value");
                (*sg).success = true;
                (sent, (*sg).g)
            };
            let v = match self.buf.pop_front() {
                Some(head) => {
                    self.buf.push_back(sent);
                    head
                }
                None => sent,
            };
            return Received::Value(v, Some(gp));
        }
        match self.buf.pop_front() {
            Some(v) => Received::Value(v, None),
            None => Received::WouldBlock,
        }
    }
}

impl<T> HChan<T> {
    /// The channel's state.
    ///
    /// # Safety
    /// The caller holds `self.lock` for as long as it uses the reference.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn state(&self) -> &mut State<T> {
        // SAFETY: the lock makes the access exclusive (caller's promise).
        unsafe { &mut *self.state.get() }
    }
}

impl<T: Send> Chan<T> {
    /// Go's `make(chan T, size)` (`makechan`): `size` 0 is unbuffered.
    pub fn new(size: usize) -> Chan<T> {
        Chan(Some(Arc::new(HChan {
            lock: IrqLock::new(()),
            state: UnsafeCell::new(State {
                buf: VecDeque::with_capacity(size),
                dataqsiz: size,
                closed: false,
                recvq: WaitQ::new(),
                sendq: WaitQ::new(),
            }),
        })))
    }

    /// Go's `c <- v`: blocks until a receiver takes `v` (or, buffered,
    /// until there is room). Panics if the channel is closed; blocks
    /// forever if it is nil.
    #[track_caller]
    pub fn send(&self, v: T) {
        if self.chansend(v, true, Location::caller()).is_err() {
            unreachable!("a blocking send returned without sending");
        }
    }

    /// Go's `select { case c <- v: default: }` (`selectnbsend`): sends
    /// only if that needs no waiting; otherwise gives `v` back.
    #[track_caller]
    pub fn try_send(&self, v: T) -> Result<(), T> {
        self.chansend(v, false, Location::caller())
    }

    /// Go's `chansend`.
    fn chansend(&self, v: T, block: bool, at: &'static Location<'static>) -> Result<(), T> {
        let Some(c) = self.hchan() else {
            if !block {
                return Err(v);
            }
            block_forever(WaitReason::ChanSendNilChan);
        };
        let lock = c.lock.lock();
        // SAFETY: we hold the lock until `lock` is dropped (here, or by
        // gopark once this G is parked).
        let st = unsafe { c.state() };
        let v = match st.try_send(v) {
            Sent::Done(wake) => {
                drop(lock);
                if let Some(gp) = wake {
                    goready(gp);
                }
                return Ok(());
            }
            Sent::Closed => {
                drop(lock);
                gopanic("send on closed channel", at);
            }
            Sent::WouldBlock(v) if !block => return Err(v),
            Sent::WouldBlock(v) => v,
        };
        // Block on the channel. A receiver will take the value out of our
        // sudog (Go's `mysg.elem`).
        let mut elem = Some(v);
        let mut mysg = Sudog::new(getg(), &raw mut elem);
        let sgp = &raw mut mysg;
        // SAFETY: `mysg` stays in this frame, which lives until we are
        // woken, and a waker dequeues it before readying us.
        unsafe { st.sendq.enqueue(sgp) };
        gopark(move || drop(lock), WaitReason::ChanSend);
        // Someone woke us up: a receiver that took the value, or close.
        // SAFETY: our own sudog, no longer in any queue.
        if !unsafe { (*sgp).success } {
            gopanic("send on closed channel", at);
        }
        Ok(())
    }

    /// Go's `v, ok := <-c`: blocks until there is a value. `ok` is false
    /// when the channel is closed and drained; `v` is then the zero value.
    /// Blocks forever if the channel is nil.
    pub fn recv(&self) -> (T, bool)
    where
        T: Default,
    {
        match self.chanrecv(true) {
            Ok(Some(v)) => (v, true),
            _ => (T::default(), false),
        }
    }

    /// Go's `select { case v, ok := <-c: default: }` (`selectnbrecv`):
    /// what `recv` would give if that needs no waiting, else `None`
    /// (always, for a nil channel).
    pub fn try_recv(&self) -> Option<(T, bool)>
    where
        T: Default,
    {
        match self.chanrecv(false) {
            Ok(Some(v)) => Some((v, true)),
            Ok(None) => Some((T::default(), false)),
            Err(()) => None,
        }
    }

    /// Go's `chanrecv`: `Ok(None)` means closed and drained; `Err` that
    /// the receive would block and `block` is false.
    fn chanrecv(&self, block: bool) -> Result<Option<T>, ()> {
        let Some(c) = self.hchan() else {
            if !block {
                return Err(());
            }
            block_forever(WaitReason::ChanReceiveNilChan);
        };
        let lock = c.lock.lock();
        // SAFETY: as in `chansend`.
        let st = unsafe { c.state() };
        match st.try_recv() {
            Received::Value(v, wake) => {
                drop(lock);
                if let Some(gp) = wake {
                    goready(gp);
                }
                return Ok(Some(v));
            }
            Received::Closed => return Ok(None),
            Received::WouldBlock if !block => return Err(()),
            Received::WouldBlock => {}
        }
        // Block: a sender will write the value into `slot`, in this frame.
        let mut slot: Option<T> = None;
        let mut mysg = Sudog::new(getg(), &raw mut slot);
        let sgp = &raw mut mysg;
        // SAFETY: as in `chansend`.
        unsafe { st.recvq.enqueue(sgp) };
        gopark(move || drop(lock), WaitReason::ChanReceive);
        // Woken by a sender (the slot holds its value) or by close (empty).
        Ok(slot)
    }

    /// Go's `close(c)` (`closechan`): no more values will be sent. Every
    /// waiting receiver wakes with the zero value; every waiting sender
    /// wakes and panics. Closing a closed or a nil channel panics.
    #[track_caller]
    pub fn close(&self) {
        let Some(c) = self.hchan() else {
            gopanic("close of nil channel", Location::caller());
        };
        let lock = c.lock.lock();
        // SAFETY: we hold the lock until `lock` is dropped.
        let st = unsafe { c.state() };
        if st.closed {
            drop(lock);
            gopanic("close of closed channel", Location::caller());
        }
        st.closed = true;
        // Collect the waiters (through their `schedlink`, free while they
        // wait), and ready them once the lock is released.
        let mut glist = GList::new();
        for q in [&mut st.recvq, &mut st.sendq] {
            while let Some(sg) = q.dequeue() {
                // SAFETY: as in `State::try_send`. A receiver's slot stays
                // empty: it gets the zero value.
                unsafe {
                    (*sg).success = false;
                    glist.push((*sg).g);
                }
            }
        }
        drop(lock);
        while let Some(gp) = glist.pop() {
            goready(gp);
        }
    }

    /// Go's `len(c)`: values waiting in the buffer (0 for nil).
    pub fn len(&self) -> usize {
        self.hchan().map_or(0, |c| {
            let _lock = c.lock.lock();
            // SAFETY: we hold the lock.
            unsafe { c.state() }.buf.len()
        })
    }

    /// Go's `cap(c)`: the buffer's size (0 for nil).
    pub fn cap(&self) -> usize {
        self.hchan().map_or(0, |c| {
            let _lock = c.lock.lock();
            // SAFETY: we hold the lock.
            unsafe { c.state() }.dataqsiz
        })
    }

    /// Go's `for v := range c`: the values received until the channel is
    /// closed and drained.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        core::iter::from_fn(|| self.chanrecv(true).ok().flatten())
    }

    /// The channel behind a handle (`None` for nil), for `select`.
    pub(super) fn hchan(&self) -> Option<&HChan<T>> {
        self.0.as_deref()
    }
}
