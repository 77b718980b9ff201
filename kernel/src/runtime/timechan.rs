//! Go's `time.Timer`, `time.After`, `time.AfterFunc` and `time.Ticker`
//! (`time/sleep.go`, `time/tick.go`), on the stoppable timers of `time.rs`.
//!
//! A channel timer sends the time of its firing (`nanotime`, Go's `Now()`)
//! on `c`, which has a buffer of one: the send never blocks (a timer fires
//! inside the scheduler), and a tick the receiver has not yet taken makes
//! the next one be dropped (a slow reader of a ticker loses ticks rather
//! than piling them up). As in Go 1.23, `stop` and `reset` drop a value
//! still waiting in the channel, so no stale time is received after them,
//! and report such a value as the timer having still been active.
//!
//! Where gmpos differs: Go 1.23 also frees a channel timer that nothing
//! refers to any more, even if it is armed. Here an armed timer stays in
//! its P's heap (holding its channel) until it fires or is stopped;
//! dropping a `Ticker` stops it.

use alloc::sync::Arc;

use super::chan::Chan;
use super::time::{Fire, TimerCell};
use crate::arch::time::nanotime;

/// Go's `time.Timer`: sends the time on `c` once, when it fires; or, made
/// by [`after_func`], runs a function (and `c` is nil).
pub struct Timer {
    pub c: Chan<u64>,
    t: Arc<TimerCell>,
}

impl Timer {
    /// Go's `time.NewTimer(d)`: fires `ns` nanoseconds from now.
    pub fn new(ns: u64) -> Timer {
        let c = Chan::new(1);
        let t = TimerCell::start(deadline(ns), 0, Fire::Chan(c.clone()));
        Timer { c, t }
    }

    /// Go's `Timer.Stop`: prevents the timer from firing. True if the call
    /// stops the timer, false if it had already fired (and its value was
    /// received, or its function started) or been stopped. After it, no
    /// value is received from `c` (Go 1.23).
    pub fn stop(&self) -> bool {
        self.t.stop()
    }

    /// Go's `Timer.Reset(d)`: fires `ns` nanoseconds from now instead.
    /// True if the timer had been active, false if it had fired or been
    /// stopped. A value from before the reset is not received (Go 1.23).
    pub fn reset(&self, ns: u64) -> bool {
        self.t.modify(deadline(ns), 0)
    }
}

/// Go's `time.After(d)`: a channel on which the time is sent once, `ns`
/// nanoseconds from now. Its timer cannot be stopped; a loop that no
/// longer needs its timeout uses a [`Timer`] and stops it.
pub fn after(ns: u64) -> Chan<u64> {
    Timer::new(ns).c
}

/// Go's `time.AfterFunc(d, f)`: runs `f` in its own goroutine `ns`
/// nanoseconds from now (again after each `reset`). `stop` returns true if
/// it kept `f` from running.
pub fn after_func(ns: u64, f: impl Fn() + Send + Sync + 'static) -> Timer {
    let t = TimerCell::start(deadline(ns), 0, Fire::Func(Arc::new(f)));
    Timer { c: Chan::nil(), t }
}

/// Go's `time.Ticker`: sends the time on `c` every period, until stopped
/// (or dropped).
pub struct Ticker {
    pub c: Chan<u64>,
    t: Arc<TimerCell>,
}

impl Ticker {
    /// Go's `time.NewTicker(d)`. Like Go, panics on a zero period.
    pub fn new(period_ns: u64) -> Ticker {
        assert!(period_ns > 0, "non-positive interval for NewTicker");
        let c = Chan::new(1);
        let t = TimerCell::start(deadline(period_ns), period_ns, Fire::Chan(c.clone()));
        Ticker { c, t }
    }

    /// Go's `Ticker.Stop`: no more ticks are sent, and a tick not yet
    /// received is dropped (Go 1.23).
    pub fn stop(&self) {
        self.t.stop();
    }

    /// Go's `Ticker.Reset(d)`: stops the ticker and restarts it with
    /// period `period_ns`, the next tick one period from now. Like Go,
    /// panics on a zero period.
    pub fn reset(&self, period_ns: u64) {
        assert!(period_ns > 0, "non-positive interval for Ticker.Reset");
        self.t.modify(deadline(period_ns), period_ns);
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn deadline(ns: u64) -> u64 {
    nanotime().saturating_add(ns)
}
