//! Go's `sync.Once` (`sync/once.go`): run a function exactly once, however
//! many goroutines ask at the same time; all of them return only after it
//! has finished.

use core::sync::atomic::{AtomicBool, Ordering};

use super::mutex::Mutex;

pub struct Once {
    /// Whether the function has run (Go's `done`), checked without the
    /// lock on the fast path.
    done: AtomicBool,
    m: Mutex<()>,
}

impl Default for Once {
    fn default() -> Self {
        Self::new()
    }
}

impl Once {
    pub const fn new() -> Once {
        Once { done: AtomicBool::new(false), m: Mutex::new(()) }
    }

    /// Go's `Once.Do`: calls `f` if and only if this is the first call for
    /// this `Once`. A caller that loses the race waits (parked on the
    /// mutex) until `f` has returned: when `call_once` returns, `f`'s
    /// effects are visible.
    ///
    /// Note, as Go says: a compare-and-swap of `done` alone would be a
    /// wrong implementation — the losers would return before `f` is done.
    pub fn call_once(&self, f: impl FnOnce()) {
        // Acquire pairs with the Release store below: seeing `done`, we
        // see everything `f` did.
        if !self.done.load(Ordering::Acquire) {
            // Outlined slow-path to allow inlining of the fast-path.
            self.do_slow(f);
        }
    }

    /// Go's `Once.doSlow`.
    fn do_slow(&self, f: impl FnOnce()) {
        let _m = self.m.lock();
        if !self.done.load(Ordering::Relaxed) {
            f();
            self.done.store(true, Ordering::Release);
        }
    }
}
