//! `PROG=sleep`: N goroutines (default 10000) sleep random durations up to
//! 1 s; each measures how late it woke. Then 100 timers armed in shuffled
//! order check that timers fire in deadline order.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use super::Args;
use crate::arch::time::nanotime;
use crate::runtime::{self, WaitGroup, time};
use crate::sync::IrqLock;

pub fn main(args: &Args) -> Result<(), String> {
    let n = args.n.unwrap_or(10_000) as usize;
    if n == 0 {
        return Err("N must be at least 1".into());
    }
    let l = sleepers(n, 1_000_000_000);
    let in_order = timers_fire_in_deadline_order();
    crate::println!(
        "sleep: n={n} late_p50_us={} late_p99_us={} max_us={} early={} timer_order={}",
        l.p50_us,
        l.p99_us,
        l.max_us,
        l.early,
        if in_order { "ok" } else { "WRONG" }
    );
    if l.early != 0 {
        return Err(format!("{} sleepers woke before their deadline", l.early));
    }
    if !in_order {
        return Err("timers fired out of deadline order".into());
    }
    Ok(())
}

/// How late sleepers woke.
pub struct Lateness {
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    /// Sleepers that woke before their deadline (must be 0).
    pub early: u64,
}

/// `n` goroutines sleep random durations up to `max_ns`; each measures how
/// late it woke.
pub fn sleepers(n: usize, max_ns: u64) -> Lateness {
    let late_ns: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let early = Arc::new(AtomicU64::new(0));
    let wg = Arc::new(WaitGroup::new());
    wg.add(n as i64);
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for i in 0..n {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let duration = 1_000 + rng % max_ns;
        let (late_ns, early, wg) = (late_ns.clone(), early.clone(), wg.clone());
        runtime::go(move || {
            let deadline = nanotime() + duration;
            time::sleep(duration);
            let now = nanotime();
            if now < deadline {
                early.fetch_add(1, Ordering::Relaxed);
            }
            late_ns[i].store(now.saturating_sub(deadline), Ordering::Relaxed);
            wg.done();
        });
    }
    wg.wait();
    let mut late: Vec<u64> = late_ns.iter().map(|l| l.load(Ordering::Relaxed) / 1000).collect();
    late.sort_unstable();
    let pct = |p: usize| late[(late.len() * p / 100).min(late.len() - 1)];
    Lateness { p50_us: pct(50), p99_us: pct(99), max_us: late[late.len() - 1], early: early.load(Ordering::Relaxed) }
}

static FIRED: IrqLock<Vec<u64>> = IrqLock::new(Vec::new());

fn record(deadline: usize) {
    FIRED.lock().push(deadline as u64);
}

/// Arms 100 timers 1 ms apart in a shuffled order (on this P) and checks
/// that their functions ran in deadline order.
fn timers_fire_in_deadline_order() -> bool {
    const COUNT: u64 = 100;
    let base = nanotime() + 5_000_000;
    let mut order: Vec<u64> = (0..COUNT).collect();
    let mut rng = 0x9e37_79b9u64;
    for i in (1..order.len()).rev() {
        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        order.swap(i, (rng >> 33) as usize % (i + 1));
    }
    for &k in &order {
        time::start_timer(base + k * 1_000_000, record, (base + k * 1_000_000) as usize);
    }
    time::sleep(COUNT * 1_000_000 + 20_000_000);
    let fired = FIRED.lock();
    fired.len() == COUNT as usize && fired.windows(2).all(|w| w[0] <= w[1])
}
