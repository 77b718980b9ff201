//! The per-P local run queue: Go's `p.runq`, `p.runqhead`, `p.runqtail` and
//! `p.runnext`, with `runqput`, `runqputslow`, `runqget`, `runqdrain`,
//! `runqgrab`, `runqsteal` and `runqempty` from Go's `src/runtime/proc.go`.
//!
//! # The ring
//!
//! Each P owns a fixed ring of `N` slots (Go: 256) holding pointers to
//! runnable Gs, and two free-running `u32` counters:
//!
//! ```text
//!            head                     tail
//!             v                        v
//!   ... | G5 | G6 | G7 | G8 | G9 |    |    | ...     slot = counter % N
//!             \____ runnable ____/ \_ free _/
//! ```
//!
//! `tail - head` (wrapping) is the number of queued Gs. The counters are never
//! reduced modulo `N`; only slot indices are, so `tail == head` means empty and
//! `tail - head == N` means full, with no slot wasted. `N` is a power of two so
//! that `counter % N` stays continuous when the counter wraps at 2^32.
//!
//! Next to the ring sits `runnext`, one extra slot for the G that should run
//! next: when a G readies another (a channel send waking a receiver), the
//! woken G goes to `runnext` and runs in the remainder of the waker's time
//! slice (`inherit_time`), which keeps producer/consumer pairs on one core.
//!
//! # Who may write what
//!
//! * The **owner** (the M currently holding the P) is the only producer. It
//!   alone writes ring slots, stores `tail`, and stores a non-null `runnext`.
//! * **Consumers** are the owner (`runqget`, `runqputslow`, `runqdrain`) and
//!   any number of **thieves** (other Ps in `runqsteal`). A consumer reads the
//!   slots between `head` and `tail` and then claims them by moving `head`
//!   forward with a compare-and-swap. That CAS is the commit point: until it
//!   succeeds the consumer owns nothing, and what it read is thrown away if the
//!   CAS fails. Consumers may also take `runnext` by CASing it to null.
//!
//! So this is a single-producer, multi-consumer ring, and its only lock-free
//! trick is that consumers read first and commit after.
//!
//! # Memory ordering
//!
//! The slots are atomics because a thief reads slots while the owner writes
//! *other* slots (and, after a thief's CAS has failed, possibly the slots it
//! has just read). Go uses plain loads for them; in Rust an unsynchronised
//! plain access that races with a write is undefined behaviour even if the
//! value is then discarded. All slot accesses are `Relaxed`: the ordering is
//! carried entirely by `head`, `tail` and `runnext`, as follows.
//!
//! 1. **Publishing Gs: `tail` store (Release) → `tail` load (Acquire).** The
//!    owner writes slot `t % N`, then stores `tail = t + 1` with Release. A
//!    thief that loads `tail` with Acquire and sees `t + 1` therefore also
//!    sees the slot write (and everything the owner wrote into the G before
//!    queueing it). The owner itself reads `tail` Relaxed: it is the only
//!    writer, so it always sees its own latest value.
//!
//! 2. **Freeing slots: `head` CAS (Release) → `head` load (Acquire).** A
//!    consumer reads slots `[h, h+n)` and then CASes `head` from `h` to `h+n`
//!    with Release. The owner, before reusing a slot, loads `head` with
//!    Acquire. If it sees the new head, the consumer's slot reads happen-before
//!    the owner's overwrite, so a consumer can never read the *new* G out of a
//!    slot it claimed for the old one. Every write to `head` is a
//!    read-modify-write, so later CASes by other consumers continue the release
//!    sequence: seeing *any* later value of `head` is enough.
//!
//! 3. **Consistent snapshots: `head` load (Acquire) before `tail` load
//!    (Acquire).** A consumer that moved `head` to `h` had itself seen
//!    `tail >= h`, and its Release CAS passes that knowledge on. So a thief
//!    that loads `head` (Acquire) and then `tail` sees `tail >= head`, never a
//!    "negative" length. Because the owner keeps pushing, `tail - head` may
//!    still exceed what was ever in the ring at one instant; `runqgrab`
//!    rejects such a torn pair and retries, as Go does.
//!
//! 4. **A failed CAS** (another consumer moved `head` first) means the slot
//!    values read may be stale or already overwritten. They are discarded and
//!    the loop reloads `head`, so the failure ordering is `Relaxed`.
//!
//! 5. **`runnext`.** Every operation that stores a G pointer into `runnext`
//!    is Release (it publishes the G) and every operation that takes one out
//!    is Acquire (it must see what the publisher wrote), so its
//!    read-modify-writes are AcqRel. The Release half of an emptying CAS also
//!    matters to `runqempty`: see there.
//!
//! Counters are compared with wrapping arithmetic. Like Go we ignore ABA on
//! `head`: it would take 2^32 dequeues between a consumer's load and its CAS.
//!
//! # Differences from Go
//!
//! * `T` and the ring size `N` are parameters so the module can be tested on
//!   the host, with small rings under loom. `N` defaults to Go's 256.
//! * Go's `randomizeScheduler` shuffles (race-detector builds only) are left
//!   out, and so is Go's `!haveSysmon` downgrade of `next` in `runqput`.
//! * `runqputslow` hands its batch to a caller-supplied closure instead of
//!   locking `sched.lock` and calling `globrunqputbatch` itself, so this file
//!   knows nothing about the global queue.
//! * `runqgrab` cannot look at the victim P's status or its running G, and
//!   there is no `usleep`: it always backs off by spinning (see
//!   [`RUNNEXT_STEAL_BACKOFF_SPINS`]).
//! * The queue stores `NonNull<T>` and never dereferences it, so there is no
//!   `unsafe` in this file. `RunQueue` is `Send + Sync` for every `T` because
//!   `AtomicPtr<T>` is: keeping the Gs themselves sound to share is the job of
//!   the code that dereferences them.

use core::ptr::{self, NonNull};

#[cfg(feature = "loom")]
use loom::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
#[cfg(not(feature = "loom"))]
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

use Ordering::{AcqRel, Acquire, Relaxed, Release};

/// Go's `len(p.runq)`: the size of a P's local ring.
pub const RUNQ_SIZE: usize = 256;

/// How many `spin_loop` hints `runqgrab` waits before stealing `runnext`.
///
/// Go sleeps 3µs here (`usleep(3)`) when the victim P is running: the typical
/// case is a G that has just readied another (into `runnext`) and is about to
/// block, and its P will run that G in a moment; stealing it would only bounce
/// the pair between cores. A sync channel hand-off takes ~50ns, so 3µs is a
/// large margin. The kernel has no cheap microsecond sleep at this point in
/// the scheduler, so we spin. A PAUSE instruction costs roughly 10 to 150
/// cycles depending on the CPU, so this is about 0.5 to 5µs at 3 GHz.
/// (Under loom `spin_loop` is just a hint: the model explores the thief
/// stealing runnext at any point anyway.)
pub const RUNNEXT_STEAL_BACKOFF_SPINS: u32 = 128;

/// A P's local run queue: Go's `p.runqhead`, `p.runqtail`, `p.runq` and
/// `p.runnext`.
///
/// `N` is the ring size. It must be a power of two between 2 and
/// [`RUNQ_SIZE`]; the default is Go's 256, and only the loom models use a
/// smaller ring (loom tracks every atomic, and a tiny ring lets a model reach
/// the "full" paths within a few steps).
pub struct RunQueue<T, const N: usize = RUNQ_SIZE> {
    /// Counter of the oldest queued G. Advanced by consumers' CAS only.
    head: AtomicU32,
    /// Counter one past the newest queued G. Stored by the owner only.
    tail: AtomicU32,
    /// The ring. Written by the owner only, at `tail % N` (or beyond, in
    /// `runqsteal`), i.e. never in `[head, tail)`.
    slots: [AtomicPtr<T>; N],
    /// The G to run next, or null. Set non-null by the owner only; cleared by
    /// whoever takes it (owner or thief).
    runnext: AtomicPtr<T>,
}

impl<T, const N: usize> Default for RunQueue<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Converts a pointer read from a slot or `runnext` that we have just claimed.
/// A claimed slot always holds a G the owner stored; null here would mean the
/// ordering argument above is broken, so say so loudly (like xv6's `sched`).
fn claimed<T>(p: *mut T) -> NonNull<T> {
    NonNull::new(p).expect("runq: claimed a null G")
}

#[allow(clippy::len_without_is_empty)] // Go's name for is_empty is runqempty.
impl<T, const N: usize> RunQueue<T, N> {
    // Indices are computed as `counter % N` on u32 counters.
    const MASK: u32 = {
        assert!(N.is_power_of_two() && N >= 2 && N <= RUNQ_SIZE);
        (N - 1) as u32
    };

    /// An empty queue with no `runnext`. Not `const`: loom's atomics are not.
    pub fn new() -> Self {
        let _ = Self::MASK; // evaluate the size check at compile time
        RunQueue {
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            slots: core::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            runnext: AtomicPtr::new(ptr::null_mut()),
        }
    }

    fn slot(&self, counter: u32) -> &AtomicPtr<T> {
        &self.slots[(counter & Self::MASK) as usize]
    }

    /// Go's `runqput`: puts `gp` on the local run queue. Owner only.
    ///
    /// If `next` is false, `gp` goes to the tail of the ring. If `next` is
    /// true, `gp` goes to `runnext` and the G it displaces (if any) goes to
    /// the tail instead. If the ring is full, `runqputslow` moves half
    /// of it plus the G into `globrunqputbatch`.
    ///
    /// Go replaces `runnext` with a load and a CAS retry loop; a `swap` does
    /// the same in one step. It is AcqRel: Release publishes `gp` to a thief,
    /// Acquire lets us take ownership of the displaced G.
    pub fn runqput(&self, gp: NonNull<T>, next: bool, globrunqputbatch: impl FnOnce(&[NonNull<T>])) {
        let mut gp = gp;
        if next {
            let old = self.runnext.swap(gp.as_ptr(), AcqRel);
            match NonNull::new(old) {
                None => return,
                // Kick the old runnext out to the regular run queue.
                Some(old) => gp = old,
            }
        }

        let mut batch_fn = globrunqputbatch;
        loop {
            // Acquire: synchronise with consumers' Release CAS on head, so
            // their reads of the slot we are about to reuse are finished.
            let h = self.head.load(Acquire);
            let t = self.tail.load(Relaxed); // we are the only writer
            if t.wrapping_sub(h) < N as u32 {
                self.slot(t).store(gp.as_ptr(), Relaxed);
                // Release: makes the slot (and the G) visible to thieves.
                self.tail.store(t.wrapping_add(1), Release);
                return;
            }
            match self.runqputslow(gp, h, t, batch_fn) {
                Ok(()) => return,
                // A thief took some Gs meanwhile: the ring is no longer full,
                // so the fast path above must succeed now.
                Err(f) => batch_fn = f,
            }
        }
    }

    /// Go's `runqputslow`: moves the older half of a full ring, plus `gp`,
    /// to the global queue. Owner only.
    ///
    /// The batch (`N/2 + 1` Gs, in queue order, `gp` last) goes to
    /// `globrunqputbatch`, which the caller wires to the global queue (Go
    /// links the Gs through `schedlink` and calls `globrunqputbatch` under
    /// `sched.lock`). If a thief moved `head` first, nothing is committed and
    /// the closure is handed back so that `runqput` can retry.
    fn runqputslow<F: FnOnce(&[NonNull<T>])>(&self, gp: NonNull<T>, h: u32, t: u32, globrunqputbatch: F) -> Result<(), F> {
        // Go's batch is [len(runq)/2 + 1]*g; N <= RUNQ_SIZE, so this fits.
        let mut batch = [gp; RUNQ_SIZE / 2 + 1];

        // First, grab a batch from the local queue.
        let n = t.wrapping_sub(h) / 2;
        assert!(n == N as u32 / 2, "runqputslow: queue is not full");
        for i in 0..n {
            // Relaxed: these are our own writes.
            batch[i as usize] = claimed(self.slot(h.wrapping_add(i)).load(Relaxed));
        }
        // Release: commits the consume (argument 2). Failure: a thief won,
        // discard what we read.
        if self.head.compare_exchange(h, h.wrapping_add(n), Release, Relaxed).is_err() {
            return Err(globrunqputbatch);
        }
        batch[n as usize] = gp;

        // Now put the batch on the global queue.
        globrunqputbatch(&batch[..=n as usize]);
        Ok(())
    }

    /// Go's `runqget`: takes a G from the local run queue. Owner only.
    ///
    /// `runnext` comes first; the second value (Go's `inheritTime`) is true
    /// for it, meaning the G should run in the remainder of the current time
    /// slice rather than start a new one.
    pub fn runqget(&self) -> Option<(NonNull<T>, bool)> {
        // If there's a runnext, it's the next G to run. If the CAS fails, a
        // thief stole it: only the owner sets runnext non-null, so there is
        // no point in retrying. The load can be Relaxed because the CAS
        // re-checks the value. The CAS is AcqRel: Acquire to take the G,
        // Release so that a runqempty that sees the null also sees any tail
        // store before it (see runqempty).
        let next = self.runnext.load(Relaxed);
        if !next.is_null() && self.runnext.compare_exchange(next, ptr::null_mut(), AcqRel, Relaxed).is_ok() {
            return Some((claimed(next), true));
        }

        loop {
            // Acquire: synchronise with other consumers (argument 3).
            let h = self.head.load(Acquire);
            let t = self.tail.load(Relaxed); // our own counter
            if t == h {
                return None;
            }
            let gp = self.slot(h).load(Relaxed);
            // Release: commits the consume (argument 2).
            if self.head.compare_exchange(h, h.wrapping_add(1), Release, Relaxed).is_ok() {
                return Some((claimed(gp), false));
            }
        }
    }

    /// A look at the queue that takes nothing, for displays (the dashboard;
    /// Go has none): returns `runnext` and calls `f` for up to `max` queued
    /// Gs from the head. Any thread. The picture is recent, not consistent:
    /// a G read here may be taken, run and even reused meanwhile, so the
    /// caller must only display it (Gs are never freed, so reading one is
    /// safe). Acquire on `tail` (argument 1): the slots below it were
    /// written; a slot rewritten since holds another G, never garbage.
    pub fn peek(&self, max: usize, mut f: impl FnMut(NonNull<T>)) -> Option<NonNull<T>> {
        let h = self.head.load(Acquire);
        let t = self.tail.load(Acquire);
        let n = t.wrapping_sub(h).min(N as u32).min(max as u32);
        for i in 0..n {
            if let Some(gp) = NonNull::new(self.slot(h.wrapping_add(i)).load(Relaxed)) {
                f(gp);
            }
        }
        NonNull::new(self.runnext.load(Relaxed))
    }

    /// Go's `runqdrain`: empties the queue, calling `f` for every G,
    /// `runnext` first and then the ring in order. Owner only (used when a P
    /// is destroyed or handed off).
    ///
    /// Like Go, this claims the whole ring by moving `head` *before* reading
    /// the slots: after the CAS no thief can touch them, and only the owner
    /// (we) could overwrite them. Go collects the Gs into a `gQueue`; we copy
    /// them out before calling `f`, so `f` may even put Gs back on this queue.
    pub fn runqdrain(&self, mut f: impl FnMut(NonNull<T>)) {
        let mut first = None;
        let next = self.runnext.load(Relaxed); // as in runqget
        if !next.is_null() && self.runnext.compare_exchange(next, ptr::null_mut(), AcqRel, Relaxed).is_ok() {
            first = Some(claimed(next));
        }

        let mut batch: [Option<NonNull<T>>; N] = [None; N];
        let qn = loop {
            let h = self.head.load(Acquire); // synchronise with other consumers
            let t = self.tail.load(Relaxed);
            let qn = t.wrapping_sub(h);
            if qn == 0 {
                break 0;
            }
            if qn > N as u32 {
                continue; // read inconsistent h and t
            }
            // Release: commits the consume of the whole ring.
            if self.head.compare_exchange(h, h.wrapping_add(qn), Release, Relaxed).is_ok() {
                for i in 0..qn {
                    batch[i as usize] = Some(claimed(self.slot(h.wrapping_add(i)).load(Relaxed)));
                }
                break qn;
            }
        };

        first.into_iter().chain(batch[..qn as usize].iter().flatten().copied()).for_each(&mut f);
    }

    /// Go's `runqgrab`: copies about half of this (victim) queue into
    /// `batch`, a ring starting at counter `batch_head`, and returns how
    /// many. Any P may call it.
    ///
    /// If the ring is empty and `steal_runnext` is set, takes `runnext`
    /// instead, after backing off: Go sleeps 3µs when the victim is running,
    /// so that a victim that has just readied a G into `runnext` and is about
    /// to block gets the chance to run it itself. We cannot see the victim's
    /// status from here and have no `usleep`, so we always spin for
    /// [`RUNNEXT_STEAL_BACKOFF_SPINS`] `spin_loop` hints. Then, if `runnext`
    /// changed (the victim ran it or replaced it), start over.
    fn runqgrab(&self, batch: &[AtomicPtr<T>; N], batch_head: u32, steal_runnext: bool) -> u32 {
        let bslot = |i: u32| &batch[(batch_head.wrapping_add(i) & Self::MASK) as usize];
        loop {
            // Acquire on head: synchronise with other consumers, so that the
            // tail we load next is at least as new as theirs (argument 3).
            let h = self.head.load(Acquire);
            // Acquire on tail: synchronise with the producer (argument 1).
            let t = self.tail.load(Acquire);
            let mut n = t.wrapping_sub(h);
            n -= n / 2;
            if n == 0 {
                if steal_runnext {
                    let next = self.runnext.load(Relaxed);
                    if !next.is_null() {
                        for _ in 0..RUNNEXT_STEAL_BACKOFF_SPINS {
                            core::hint::spin_loop();
                        }
                        // AcqRel: Acquire takes the G published by the
                        // owner's Release swap; Release as in runqget. If
                        // runnext changed meanwhile, start over.
                        if self.runnext.compare_exchange(next, ptr::null_mut(), AcqRel, Relaxed).is_err() {
                            continue;
                        }
                        bslot(0).store(next, Relaxed);
                        return 1;
                    }
                }
                return 0;
            }
            if n > N as u32 / 2 {
                continue; // read inconsistent h and t
            }
            for i in 0..n {
                bslot(i).store(self.slot(h.wrapping_add(i)).load(Relaxed), Relaxed);
            }
            // Release: commits the consume (argument 2). On failure the copies
            // in `batch` are garbage; they lie outside the thief's [head,
            // tail), so nobody reads them, and the next round overwrites them.
            if self.head.compare_exchange(h, h.wrapping_add(n), Release, Relaxed).is_ok() {
                return n;
            }
        }
    }

    /// Go's `runqsteal`: steals half of `victim`'s Gs into this (the
    /// thief's own) queue and returns one of them to run, with the number
    /// stolen (including the returned one). `None` if nothing was stolen.
    ///
    /// `steal_runnext` allows taking the victim's `runnext` when its ring is
    /// empty (Go's `findRunnable` passes true only on its last stealing pass).
    ///
    /// Like Go, the stolen Gs are grabbed straight into our own ring, past our
    /// `tail`, and published with one Release store of `tail`. Go throws if
    /// that overflows the ring afterwards; we check before grabbing that our
    /// ring is at most half full (in the scheduler it is empty, since a P only
    /// steals when it has no local work), so a violation never corrupts Gs
    /// that our own thieves might be reading.
    pub fn runqsteal(&self, victim: &RunQueue<T, N>, steal_runnext: bool) -> Option<(NonNull<T>, u32)> {
        let t = self.tail.load(Relaxed); // our own counter
        let h = self.head.load(Acquire);
        assert!(t.wrapping_sub(h) <= N as u32 / 2, "runqsteal: runq overflow");

        let stolen = victim.runqgrab(&self.slots, t, steal_runnext);
        if stolen == 0 {
            return None;
        }
        // Keep the last one to run now; publish the others.
        let n = stolen - 1;
        let gp = claimed(self.slot(t.wrapping_add(n)).load(Relaxed));
        if n > 0 {
            // Release: makes the grabbed slots visible to our own thieves.
            self.tail.store(t.wrapping_add(n), Release);
        }
        Some((gp, stolen))
    }

    /// Go's `runqempty`: reports whether the queue has no Gs, ring or
    /// `runnext`. Any P may call it. It never returns true spuriously.
    ///
    /// The loop defends against this race: `runnext` holds G1 and the ring
    /// is empty; we read `head == tail`; the owner's `runqput(G2, next)`
    /// kicks G1 into the ring (`tail` + 1); the owner's `runqget` takes G2
    /// (`runnext` = null); we read `runnext` == null. G1 was queued all the
    /// time, yet we would say "empty". So we re-read `tail` and retry if it
    /// moved. The orderings make this work: the owner's `tail` store comes
    /// before its emptying CAS on `runnext`, which is Release; our `runnext`
    /// load is Acquire, so if it sees that null, our second `tail` load sees
    /// the new tail. (Every load here is Acquire, which also keeps the four
    /// loads in program order; head before tail gives `tail >= head`.)
    pub fn runqempty(&self) -> bool {
        loop {
            let head = self.head.load(Acquire);
            let tail = self.tail.load(Acquire);
            let runnext = self.runnext.load(Acquire);
            if tail == self.tail.load(Acquire) {
                return head == tail && runnext.is_null();
            }
        }
    }

    /// Number of Gs in the ring, not counting `runnext` (Go's schedtrace
    /// `runqsize`, `runqtail - runqhead`). From another P this is a snapshot
    /// that may already be stale; it is clamped to `N`.
    pub fn len(&self) -> u32 {
        // Head first, then tail: see argument 3, so this cannot underflow.
        let h = self.head.load(Acquire);
        let t = self.tail.load(Acquire);
        t.wrapping_sub(h).min(N as u32)
    }

    /// Whether `runnext` currently holds a G (a snapshot; like Go's
    /// schedtrace, `len` does not count it). The invariant check at
    /// stop-the-world counts it, to account for every runnable G.
    pub fn has_runnext(&self) -> bool {
        !self.runnext.load(Relaxed).is_null()
    }
}
