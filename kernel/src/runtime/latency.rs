//! A latency histogram that interrupt handlers and goroutines can record
//! into without a lock: fixed buckets of equal width, one atomic counter
//! each, the last bucket also counting everything longer. Quantiles are
//! read by summing the buckets, so they are rounded up to a bucket's edge.

use core::sync::atomic::{AtomicU64, Ordering};

/// `N` buckets of `BUCKET_US` µs each.
pub struct Latency<const N: usize, const BUCKET_US: u64> {
    buckets: [AtomicU64; N],
}

impl<const N: usize, const BUCKET_US: u64> Latency<N, BUCKET_US> {
    pub const fn new() -> Self {
        Latency { buckets: [const { AtomicU64::new(0) }; N] }
    }

    /// Counts one wait of `ns` nanoseconds.
    pub fn record_ns(&self, ns: u64) {
        let bucket = (ns / 1000 / BUCKET_US) as usize;
        self.buckets[bucket.min(N - 1)].fetch_add(1, Ordering::Relaxed);
    }

    /// The `q`-quantile (0.0–1.0) in µs, rounded up to a bucket's upper
    /// edge; 0 before anything was recorded.
    pub fn quantile_us(&self, q: f64) -> u64 {
        let counts: [u64; N] = core::array::from_fn(|k| self.buckets[k].load(Ordering::Relaxed));
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0;
        }
        let rank = ((total as f64 * q) as u64).clamp(1, total);
        let mut seen = 0;
        for (k, &c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return (k as u64 + 1) * BUCKET_US;
            }
        }
        N as u64 * BUCKET_US
    }
}
