//! Loom models of the local run queue: loom runs each closure under every
//! interleaving (up to a preemption bound) and every value a Relaxed/Acquire
//! load may legally return, so a missing Release/Acquire shows up as a lost,
//! duplicated or null G.
//!
//! Run with `cargo test --features loom --test runq_loom --release`.
//!
//! The rings have 4 slots, so a handful of puts reaches the "full" and
//! wrap-around paths that take 256 puts on the real ring.
//!
//! What loom cannot check: it never lets a load return a value stored *later*
//! in the execution (load buffering), so argument 2 of `runq.rs` (a
//! consumer's Release CAS on head vs. the owner's Acquire load before reusing
//! a slot) is argued in the comments but not exercised here. Weakening any
//! of the tail or runnext orderings, the Acquire loads of head, or runqempty's
//! re-check makes at least one model below fail.
#![cfg(feature = "loom")]

use std::ptr::{self, NonNull};

use gmpos::runtime::runq::RunQueue;
use loom::sync::Arc;
use loom::thread;

struct G;
type Q = RunQueue<G, 4>;

fn g(id: usize) -> NonNull<G> {
    NonNull::new(ptr::without_provenance_mut((id + 1) * 8)).unwrap()
}
fn id(gp: NonNull<G>) -> usize {
    gp.as_ptr().addr() / 8 - 1
}

/// Runs a model. `preemption_bound: None` explores every interleaving;
/// `Some(k)` only those with at most k preemptions (needed to keep the
/// three-thread model to seconds).
fn model(preemption_bound: Option<usize>, f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = preemption_bound;
    b.check(f);
}

/// Every id in `0..n` exactly once.
fn assert_exactly_once(mut ids: Vec<usize>, n: usize) {
    ids.sort_unstable();
    assert_eq!(ids, (0..n).collect::<Vec<_>>(), "lost or duplicated G");
}

/// A thief: one runqsteal into its own queue, then runs everything it got.
fn steal_and_drain(victim: &Q, steal_runnext: bool) -> Vec<usize> {
    let mine = Q::new();
    let mut got = Vec::new();
    if let Some((gp, n)) = mine.runqsteal(victim, steal_runnext) {
        got.push(id(gp));
        while let Some((gp, _)) = mine.runqget() {
            got.push(id(gp));
        }
        assert_eq!(got.len(), n as usize);
    }
    got
}

/// Owner puts (wrapping the 4-slot ring) and gets while a thief steals half.
#[test]
fn owner_put_get_vs_thief() {
    model(None, || {
        let q = Arc::new(Q::new());
        q.runqput(g(0), false, |_| unreachable!());
        q.runqput(g(1), false, |_| unreachable!());
        q.runqput(g(2), false, |_| unreachable!());
        let thief = {
            let q = q.clone();
            thread::spawn(move || steal_and_drain(&q, false))
        };
        let mut seen = Vec::new();
        seen.extend(q.runqget().map(|(gp, _)| id(gp)));
        q.runqput(g(3), false, |_| unreachable!());
        q.runqput(g(4), false, |_| unreachable!()); // counter 4 = slot 0 again
        seen.extend(q.runqget().map(|(gp, _)| id(gp)));

        seen.extend(thief.join().unwrap());
        q.runqdrain(|gp| seen.push(id(gp)));
        assert_exactly_once(seen, 5);
    });
}

/// The owner overflows a full ring (runqputslow) while a thief steals: the
/// two race on `head`, and whoever loses must retry without losing a G.
#[test]
fn owner_overflow_vs_thief() {
    model(None, || {
        let q = Arc::new(Q::new());
        for i in 0..4 {
            q.runqput(g(i), false, |_| unreachable!());
        }
        let thief = {
            let q = q.clone();
            thread::spawn(move || steal_and_drain(&q, false))
        };
        let mut seen = Vec::new();
        q.runqput(g(4), false, |batch| {
            assert_eq!(batch.len(), 3);
            seen.extend(batch.iter().map(|&gp| id(gp)));
        });

        seen.extend(thief.join().unwrap());
        q.runqdrain(|gp| seen.push(id(gp)));
        assert_exactly_once(seen, 5);
    });
}

/// The owner puts with next=true (kicking the old runnext into the ring) and
/// then takes runnext, while a thief may steal runnext.
#[test]
fn owner_runnext_vs_thief_stealing_runnext() {
    model(None, || {
        let q = Arc::new(Q::new());
        q.runqput(g(0), true, |_| unreachable!());
        let thief = {
            let q = q.clone();
            thread::spawn(move || steal_and_drain(&q, true))
        };
        let mut seen = Vec::new();
        q.runqput(g(1), true, |_| unreachable!()); // kicks 0 into the ring
        if let Some((gp, inherit)) = q.runqget() {
            // runnext first; if the thief took it, the ring's G is next.
            assert_eq!(inherit, id(gp) == 1);
            seen.push(id(gp));
        }

        seen.extend(thief.join().unwrap());
        q.runqdrain(|gp| seen.push(id(gp)));
        assert_exactly_once(seen, 2);
    });
}

/// Go's runqempty must not report an empty queue while a G is always
/// queued: G0 moves from runnext into the ring as G1 takes runnext, then the
/// owner takes G1. The re-check of tail is what makes this pass.
#[test]
fn runqempty_is_never_spuriously_true() {
    model(None, || {
        let q = Arc::new(Q::new());
        q.runqput(g(0), true, |_| unreachable!());
        let observer = {
            let q = q.clone();
            thread::spawn(move || assert!(!q.runqempty(), "runqempty lied"))
        };
        q.runqput(g(1), true, |_| unreachable!());
        assert_eq!(q.runqget().map(|(gp, t)| (id(gp), t)), Some((1, true)));
        observer.join().unwrap();
    });
}

/// Two thieves and the owner race for the same ring.
#[test]
fn two_thieves_vs_owner() {
    model(Some(4), || {
        let q = Arc::new(Q::new());
        for i in 0..3 {
            q.runqput(g(i), false, |_| unreachable!());
        }
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                thread::spawn(move || steal_and_drain(&q, false))
            })
            .collect();
        let mut seen = Vec::new();
        seen.extend(q.runqget().map(|(gp, _)| id(gp)));
        q.runqput(g(3), false, |_| unreachable!());

        for t in thieves {
            seen.extend(t.join().unwrap());
        }
        q.runqdrain(|gp| seen.push(id(gp)));
        assert_exactly_once(seen, 4);
    });
}

/// A thief publishes what it stole (Release store of its tail) while a
/// second thief steals from the first: the second must see the slots.
#[test]
fn steal_from_a_thief() {
    model(None, || {
        let victim = Q::new();
        for i in 0..4 {
            victim.runqput(g(i), false, |_| unreachable!());
        }
        let a = Arc::new(Q::new());
        let b = {
            let a = a.clone();
            thread::spawn(move || steal_and_drain(&a, false))
        };
        // Steals 0 and 1: keeps 1 to run, publishes 0 in its ring.
        let mut seen = Vec::new();
        let (gp, n) = a.runqsteal(&victim, false).unwrap();
        assert_eq!(n, 2);
        seen.push(id(gp));
        seen.extend(a.runqget().map(|(gp, _)| id(gp)));

        seen.extend(b.join().unwrap());
        victim.runqdrain(|gp| seen.push(id(gp)));
        assert_exactly_once(seen, 4);
    });
}

/// A G with contents: the scheduler writes a G (its status, its saved
/// registers) before queueing it and whoever takes it reads them. loom's
/// UnsafeCell reports a data race unless the write happens-before the read,
/// which checks the Release/Acquire pairs on `tail` and `runnext`.
struct Gc {
    state: loom::cell::UnsafeCell<usize>,
}

#[test]
fn g_contents_are_published_to_the_thief() {
    model(None, || {
        let gs: Arc<Vec<Gc>> = Arc::new((0..2).map(|_| Gc { state: loom::cell::UnsafeCell::new(0) }).collect());
        let q = Arc::new(RunQueue::<Gc, 4>::new());
        let thief = {
            let (q, _gs) = (q.clone(), gs.clone()); // _gs keeps the Gs alive
            thread::spawn(move || {
                let mine = RunQueue::<Gc, 4>::new();
                let mut taken = 0;
                if let Some((gp, _)) = mine.runqsteal(&q, true) {
                    let mut gp = Some(gp);
                    while let Some(g) = gp.take().or_else(|| mine.runqget().map(|(g, _)| g)) {
                        // SAFETY: g points into `_gs`, alive until this thread ends,
                        // and the steal made this thread the G's only user.
                        let state = unsafe { g.as_ref() }.state.with(|p| unsafe { *p });
                        assert_eq!(state, 1);
                        taken += 1;
                    }
                }
                taken
            })
        };
        // G0 goes to the ring (published by tail), G1 to runnext (by the swap).
        for (i, gc) in gs.iter().enumerate() {
            // SAFETY: not queued yet, so no other thread can reach this G.
            gc.state.with_mut(|p| unsafe { *p = 1 });
            q.runqput(NonNull::from(gc), i == 1, |_| unreachable!());
        }
        let taken = thief.join().unwrap();
        let mut left = 0;
        q.runqdrain(|_| left += 1);
        assert_eq!(taken + left, 2);
    });
}
