//! Where one HTTP request's time goes, from the card's interrupt to the
//! reply handed to the card: `PROG=httpd` stamps each request with `rdtsc`
//! at four points and `/health` reports the last complete request's stages
//! (`path_*=`). Under `ICOUNT=1` an `rdtsc` delta is an exact instruction
//! count, so on one vCPU with one keep-alive connection these are the
//! instructions of each stage (docs/benchmarks.md):
//!
//! | field | from | to |
//! |---|---|---|
//! | `path_irq_poll` | the device interrupt | the poll that serves it starts (handler, waking a core, the scheduler) |
//! | `path_poll_run` | the poll starts | the parked goroutine runs again (TCP/IP, `goready`, `schedule`, the switch) |
//! | `path_run_reply` | it runs | the reply is built (HTTP parsing, routing, the page) |
//! | `path_reply_sent` | the reply is built | the socket has handed it to the card (TCP/IP, virtio) |
//!
//! With several connections or cores the stamps of different requests can
//! interleave; the figures are then indicative only.
//!
//! Every request stamped in order also counts, in wall-clock time, from
//! the interrupt to the reply written (`req_p50_us`, `req_p99_us`): what
//! the guest itself adds to a request's latency, apart from the host's
//! delivery of the packets (QEMU's threads, the host's network).

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::time::{rdtsc, tsc_hz};
use crate::runtime::latency::Latency;
use crate::runtime::netpoll;

/// The last complete request's stages, in `rdtsc` ticks, as in the table.
static STAGES: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
pub const FIELDS: [&str; 4] = ["path_irq_poll", "path_poll_run", "path_run_reply", "path_reply_sent"];
/// Interrupt to reply written, per request, in 200 µs buckets up to 50 ms
/// (few buckets: `/health` reads two quantiles on every request).
static REQUESTS: Latency<250, 200> = Latency::new();

/// One request being stamped: made when its goroutine runs again after the
/// read that completed the request.
pub struct Stamps {
    irq: u64,
    poll: u64,
    run: u64,
    built: u64,
}

impl Stamps {
    /// The goroutine runs: take the interrupt and poll that woke it.
    pub fn woke() -> Stamps {
        let run = rdtsc();
        let (irq, poll) = netpoll::last_interrupt_and_poll_tsc();
        Stamps { irq, poll, run, built: 0 }
    }

    /// The reply is built.
    pub fn built(&mut self) {
        self.built = rdtsc();
    }

    /// The reply was written: record the stages, unless the stamps are not
    /// in order (the request was not woken by the last interrupt: it was
    /// already buffered, or another connection's interrupt came between).
    pub fn sent(self) {
        let sent = rdtsc();
        let points = [self.irq, self.poll, self.run, self.built, sent];
        if self.built == 0 || points.windows(2).any(|w| w[0] > w[1]) {
            return;
        }
        for (stage, w) in STAGES.iter().zip(points.windows(2)) {
            stage.store(w[1] - w[0], Ordering::Relaxed);
        }
        REQUESTS.record_ns(((sent - self.irq) as u128 * 1_000_000_000 / tsc_hz().max(1) as u128) as u64);
    }
}

/// The last complete request's stages, in [`FIELDS`] order.
pub fn last() -> [u64; 4] {
    core::array::from_fn(|i| STAGES[i].load(Ordering::Relaxed))
}

/// The `q`-quantile of interrupt-to-reply times, in µs (200 µs buckets).
pub fn request_quantile_us(q: f64) -> u64 {
    REQUESTS.quantile_us(q)
}
