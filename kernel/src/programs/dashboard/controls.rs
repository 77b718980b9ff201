//! The dashboard's controls, each bounded: a request outside a bound is
//! answered 400 with the bound, never attempted.
//!
//! - a **burst**: `n` goroutines spawned at once from the handler's
//!   goroutine with preemption off, so all land on its P (runnext, then the
//!   256-slot queue, then the global queue) and the others must steal
//!   them; each does `work` rounds of `PROG=spawn`'s multiply-add, then
//!   sleeps `sleep_ms`. With `wait=1` the answer comes when all are done,
//!   with the time it took (the cost measurement uses it);
//! - **hogs**: exactly `n` goroutines spinning in `PROG=hog`'s loop, so
//!   that preemption is what shares their Ps (the previous ones stop);
//! - **GOMAXPROCS**: `runtime::set_gomaxprocs` (stop the world, `procresize`);
//! - the **goroutine dump**, with the world stopped, as Ctrl-\\ prints it.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::super::hog::spin_until;
use super::super::http::query_numbers;
use super::{Reply, TEXT};
use crate::arch::time::nanotime;
use crate::mm::frames;
use crate::runtime::{self, Mutex, WaitGroup, time};

/// Goroutines in one burst.
pub const MAX_BURST: u64 = 100_000;
/// Rounds of work per goroutine, and for the whole burst (about 10 s of
/// one core under QEMU's translator).
pub const MAX_WORK: u64 = 10_000_000;
pub const MAX_BURST_WORK: u64 = 2_000_000_000;
/// How long a burst's goroutines may sleep.
pub const MAX_SLEEP_MS: u64 = 600_000;
/// Hogs at once.
pub const MAX_HOGS: u64 = 64;
/// `PROG=spawn`'s work per goroutine.
const DEFAULT_WORK: u64 = 200;
/// Frames (4 KiB) a new goroutine may need: its stack's first page and its
/// share of page tables and heap, rounded up generously.
const FRAMES_PER_G: u64 = 2;
/// The longest goroutine dump sent.
const MAX_DUMP: usize = 256 * 1024;

fn ok(message: String) -> Reply {
    (200, TEXT, message + "\n")
}

fn refuse(message: String) -> Reply {
    (400, TEXT, message + "\n")
}

/// Checks `value` (of parameter `name`) against `0..=max`.
fn bounded(name: &str, value: u64, max: u64) -> Result<u64, String> {
    if value > max { Err(format!("{name}={value} is too large (at most {max})")) } else { Ok(value) }
}

/// `POST /api/burst?n=&work=&sleep_ms=&wait=`.
pub fn burst(query: &str) -> Reply {
    let checked = || -> Result<(u64, u64, u64, bool), String> {
        let [n, work, sleep_ms, wait] = query_numbers(query, ["n", "work", "sleep_ms", "wait"])?;
        let n = bounded("n", n.ok_or(format!("n= is required: how many goroutines, 1..={MAX_BURST}"))?, MAX_BURST)?;
        if n == 0 {
            return Err(format!("n=0: a burst is 1..={MAX_BURST} goroutines"));
        }
        let work = bounded("work", work.unwrap_or(DEFAULT_WORK), MAX_WORK)?;
        if n * work > MAX_BURST_WORK {
            return Err(format!("n*work={} is too much work for one burst (at most {MAX_BURST_WORK})", n * work));
        }
        let sleep_ms = bounded("sleep_ms", sleep_ms.unwrap_or(0), MAX_SLEEP_MS)?;
        let wait = bounded("wait", wait.unwrap_or(0), 1)? == 1;
        let (used, total) = frames::usage();
        if n * FRAMES_PER_G > total - used {
            return Err(format!("n={n}: not enough free memory for that many goroutines ({} MiB free)", (total - used) / 256));
        }
        Ok((n, work, sleep_ms, wait))
    };
    let (n, work, sleep_ms, wait) = match checked() {
        Ok(v) => v,
        Err(message) => return refuse(message),
    };
    let wg = Arc::new(WaitGroup::new());
    wg.add(n as i64);
    let start = nanotime();
    let p = runtime::without_preemption(|| {
        for i in 0..n {
            let wg = wg.clone();
            runtime::go(move || {
                let mut x = i;
                for _ in 0..work {
                    x = core::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
                if sleep_ms > 0 {
                    time::sleep(sleep_ms * 1_000_000);
                }
                wg.done();
            });
        }
        runtime::pid()
    });
    let what = format!("burst: n={n} work={work} sleep_ms={sleep_ms} spawned on P{p}");
    if !wait {
        return ok(what);
    }
    wg.wait();
    ok(format!("{what}; all done, elapsed_us={}", (nanotime() - start) / 1000))
}

/// The stop flag of the hogs running now (Go's `sync.Mutex` serialises
/// concurrent requests), and how many hogs are spinning.
static HOG_STOP: Mutex<Option<Arc<AtomicBool>>> = Mutex::new(None);
static HOGS: AtomicU64 = AtomicU64::new(0);

/// Hogs spinning now (a stopped one counts until it next runs and sees
/// its flag).
pub fn hogs_running() -> u64 {
    HOGS.load(Ordering::Relaxed)
}

/// `POST /api/hogs?n=`: stops the hogs running and starts `n` new ones.
pub fn hogs(query: &str) -> Reply {
    let n = match query_numbers(query, ["n"]).and_then(|[n]| bounded("n", n.ok_or(format!("n= is required: how many hogs, 0..={MAX_HOGS}"))?, MAX_HOGS)) {
        Ok(n) => n,
        Err(message) => return refuse(message),
    };
    let flag = Arc::new(AtomicBool::new(false));
    let mut current = HOG_STOP.lock();
    if let Some(old) = current.replace(flag.clone()) {
        old.store(true, Ordering::Relaxed);
    }
    for _ in 0..n {
        let flag = flag.clone();
        HOGS.fetch_add(1, Ordering::Relaxed);
        runtime::go(move || {
            spin_until(&flag);
            HOGS.fetch_sub(1, Ordering::Relaxed);
        });
    }
    ok(format!("hogs: {n} started, the previous ones stop at their next turn"))
}

/// `POST /api/gomaxprocs?n=`.
pub fn gomaxprocs(query: &str) -> Reply {
    let n = match query_numbers(query, ["n"]).and_then(|[n]| n.ok_or(String::from("n= is required: the new GOMAXPROCS"))) {
        Ok(n) => n,
        Err(message) => return refuse(message),
    };
    match runtime::set_gomaxprocs(usize::try_from(n).unwrap_or(usize::MAX)) {
        Ok(old) => ok(format!("GOMAXPROCS: {old} -> {n}")),
        Err(message) => refuse(message),
    }
}

/// `GET /api/dump`: every goroutine, with the world stopped.
pub fn dump(query: &str) -> Reply {
    if let Err(message) = query_numbers(query, []) {
        return refuse(message);
    }
    let world = runtime::stop_the_world("dashboard dump");
    let mut dump = runtime::goroutine_dump();
    runtime::start_the_world(world);
    if dump.len() > MAX_DUMP {
        let cut = (0..=MAX_DUMP).rev().find(|&i| dump.is_char_boundary(i)).unwrap_or(0);
        dump.truncate(cut);
        dump.push_str(&format!("\n... (cut at {} KiB)\n", MAX_DUMP / 1024));
    }
    (200, TEXT, dump)
}
