//! Timers that deliver on a channel: Go's `time.After` and `time.Ticker`
//! (`time/sleep.go`, `time/tick.go`, and the runtime's `sendTime`), built
//! on the per-P timers of `time.rs`.
//!
//! The value sent is the time of the tick (`nanotime`, Go's `Now()`). The
//! send never blocks — a timer function runs inside the scheduler — so,
//! as in Go, the channel has a buffer of one and a tick the receiver has
//! not yet taken makes the next one be dropped (a slow reader of a ticker
//! loses ticks rather than piling them up).

use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::chan::Chan;
use super::time::start_timer;
use crate::arch::time::nanotime;

/// Go's `time.After(d)`: a channel on which the time is sent once, `ns`
/// nanoseconds from now.
pub fn after(ns: u64) -> Chan<u64> {
    let c = Chan::new(1);
    start_timer(nanotime().saturating_add(ns), send_time_once, c.clone().into_raw());
    c
}

/// The timer function of [`after`] (Go's `sendTime`).
fn send_time_once(c: usize) {
    // SAFETY: `after` gave this timer one handle; a timer fires once.
    let c: Chan<u64> = unsafe { Chan::from_raw(c) };
    // Cannot block: the buffer of one is empty, nobody else sends.
    let _ = c.try_send(nanotime());
}

/// Go's `time.Ticker`: sends the time on `c` every period, until stopped
/// (or dropped).
pub struct Ticker {
    pub c: Chan<u64>,
    state: Arc<TickerState>,
}

/// What each tick's timer carries (one reference per armed timer).
struct TickerState {
    c: Chan<u64>,
    period: u64,
    /// The deadline of the armed timer.
    when: AtomicU64,
    stopped: AtomicBool,
}

impl Ticker {
    /// Go's `time.NewTicker(d)`. Like Go, panics on a zero period.
    pub fn new(period_ns: u64) -> Ticker {
        assert!(period_ns > 0, "non-positive interval for NewTicker");
        let c = Chan::new(1);
        let state = Arc::new(TickerState {
            c: c.clone(),
            period: period_ns,
            when: AtomicU64::new(nanotime().saturating_add(period_ns)),
            stopped: AtomicBool::new(false),
        });
        arm(state.clone());
        Ticker { c, state }
    }

    /// Go's `Ticker.Stop`: no more ticks are sent (one may already be in
    /// the channel). The armed timer finds the ticker stopped when it fires
    /// and lets go of it.
    pub fn stop(&self) {
        self.state.stopped.store(true, Ordering::Relaxed);
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn arm(state: Arc<TickerState>) {
    let when = state.when.load(Ordering::Relaxed);
    start_timer(when, tick, Arc::into_raw(state) as usize);
}

/// A ticker's timer function: send, then arm the next tick one period
/// later (skipping periods already past, as Go's timer does).
fn tick(state: usize) {
    // SAFETY: `arm` gave this timer one reference; a timer fires once.
    let state = unsafe { Arc::from_raw(state as *const TickerState) };
    if state.stopped.load(Ordering::Relaxed) {
        return;
    }
    let now = nanotime();
    let _ = state.c.try_send(now);
    let when = state.when.load(Ordering::Relaxed);
    let behind = now.saturating_sub(when) / state.period;
    state.when.store(when + (behind + 1) * state.period, Ordering::Relaxed);
    arm(state);
}
