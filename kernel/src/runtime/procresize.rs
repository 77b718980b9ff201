//! Changing GOMAXPROCS at run time: Go's `runtime.GOMAXPROCS(n)` and
//! `procresize`, under stop-the-world.
//!
//! gmpos allocates one P per core at boot and never frees one; GOMAXPROCS
//! is how many of them are in use (`sched.allp()`). Shrinking destroys the
//! Ps past the new count as Go's `(*p).destroy` does — their runnable Gs go
//! to the global run queue, their timers to the caller's P, their dead Gs
//! to the global free list — and marks them `_Pdead`. Growing revives Ps.
//! The cores whose P went away simply stay halted as idle Ms (Go's threads
//! would sit in `stopm` the same way); they get a P again when one is idle
//! and there is work (`startm`).

use alloc::format;
use alloc::string::String;

use super::g::GCENTRAL;
use super::getm;
use super::idle::{acquirep, releasep};
use super::p::{P, PStatus};
use super::proc::gfpurge;
use super::sched::{Sched, sched};
use super::stw::{start_the_world, stop_the_world};
use super::time::move_timers;

/// Go's `runtime.GOMAXPROCS(n)`: sets the number of Ps to `n` (1..=cores)
/// with the world stopped, and returns the previous setting.
pub fn set_gomaxprocs(n: usize) -> Result<usize, String> {
    let s = sched();
    let ncpu = s.allp_all().len();
    if !(1..=ncpu).contains(&n) {
        return Err(format!("GOMAXPROCS({n}): must be 1..={ncpu} (one P per core at most)"));
    }
    let world = stop_the_world("GOMAXPROCS");
    let old = s.gomaxprocs() as usize;
    procresize(s, n);
    start_the_world(world);
    Ok(old)
}

/// Go's `procresize`, with the world stopped: every P in use but the
/// caller's is `_Pgcstop`. Afterwards Ps `0..n` are in use, the caller holds
/// one of them, and the others are `_Pgcstop` for `start_the_world`.
fn procresize(s: &Sched, n: usize) {
    let old = s.gomaxprocs() as usize;
    let m = getm();
    for pp in &s.allp_all()[old.min(n)..n] {
        assert_eq!(pp.status(), PStatus::Dead, "procresize: P{} revived twice", pp.id);
        pp.set_status(PStatus::GcStop);
    }
    // The caller's own P goes away: move to P0, as Go does.
    if m.p().id >= n {
        let mine = releasep(m);
        mine.set_status(PStatus::GcStop);
        let p0 = &s.allp_all()[0];
        p0.set_status(PStatus::Idle);
        acquirep(m, p0);
    }
    for pp in &s.allp_all()[n..old.max(n)] {
        destroy(s, pp, m.p());
    }
    s.set_gomaxprocs(n as u32);
}

/// Go's `(*p).destroy`: moves everything `pp` holds elsewhere and marks it
/// `_Pdead`.
fn destroy(s: &Sched, pp: &P, to: &'static P) {
    assert_eq!(pp.status(), PStatus::GcStop, "procresize: destroying P{} that is not stopped", pp.id);
    {
        let mut locked = s.lock.lock();
        // The world is stopped: we are the P's owner now.
        pp.runq.runqdrain(|gp| s.globrunqput(&mut locked, gp));
    }
    move_timers(pp, to);
    gfpurge(pp);
    pp.gcache.flush(&GCENTRAL);
    pp.set_status(PStatus::Dead);
}
