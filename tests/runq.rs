//! Single-threaded unit tests of the local run queue (`kernel/src/runtime/runq.rs`).
#![cfg(not(feature = "loom"))] // loom atomics only work inside loom::model

use std::ptr::{self, NonNull};

use gmpos::runtime::runq::{RUNQ_SIZE, RunQueue};

/// Stand-in for a goroutine; the queue never dereferences it.
struct G;

/// Distinct fake G pointers: id 0 -> 0x8, id 1 -> 0x10, ...
fn g(id: usize) -> NonNull<G> {
    NonNull::new(ptr::without_provenance_mut((id + 1) * 8)).unwrap()
}
fn id(gp: NonNull<G>) -> usize {
    gp.as_ptr().addr() / 8 - 1
}

fn no_overflow(batch: &[NonNull<G>]) {
    panic!("unexpected overflow of {} Gs", batch.len());
}

/// Pops everything with runqget, returning (id, inherit_time) pairs.
fn get_all<const N: usize>(q: &RunQueue<G, N>) -> Vec<(usize, bool)> {
    std::iter::from_fn(|| q.runqget()).map(|(gp, inherit)| (id(gp), inherit)).collect()
}

#[test]
fn send_and_sync() {
    fn check<Q: Send + Sync>() {}
    check::<RunQueue<G>>();
}

#[test]
fn empty_queue() {
    let q = RunQueue::<G>::new();
    assert!(q.runqempty());
    assert_eq!(q.len(), 0);
    assert!(!q.has_runnext());
    assert!(q.runqget().is_none());
}

#[test]
fn ring_is_fifo() {
    let q = RunQueue::<G>::new();
    for i in 0..10 {
        q.runqput(g(i), false, no_overflow);
    }
    assert_eq!(q.len(), 10);
    assert!(!q.runqempty());
    let got = get_all(&q);
    assert_eq!(got, (0..10).map(|i| (i, false)).collect::<Vec<_>>());
    assert!(q.runqempty());
}

#[test]
fn runnext_first_and_inherits_time() {
    let q = RunQueue::<G>::new();
    q.runqput(g(0), false, no_overflow);
    q.runqput(g(1), false, no_overflow);
    q.runqput(g(2), true, no_overflow);
    assert_eq!(q.len(), 2, "len counts the ring only");
    assert!(q.has_runnext());
    assert_eq!(get_all(&q), vec![(2, true), (0, false), (1, false)]);
}

#[test]
fn runnext_kicks_old_runnext_to_tail() {
    let q = RunQueue::<G>::new();
    q.runqput(g(0), false, no_overflow);
    q.runqput(g(1), true, no_overflow);
    q.runqput(g(2), true, no_overflow); // kicks 1 behind 0
    assert_eq!(q.len(), 2);
    assert_eq!(get_all(&q), vec![(2, true), (0, false), (1, false)]);
}

#[test]
fn runqempty_sees_runnext_alone() {
    let q = RunQueue::<G>::new();
    q.runqput(g(7), true, no_overflow);
    assert_eq!(q.len(), 0);
    assert!(!q.runqempty());
    assert_eq!(q.runqget().map(|(gp, t)| (id(gp), t)), Some((7, true)));
    assert!(q.runqempty());
}

#[test]
fn full_ring_overflows_half_plus_one_in_order() {
    let q = RunQueue::<G>::new();
    for i in 0..RUNQ_SIZE {
        q.runqput(g(i), false, no_overflow);
    }
    assert_eq!(q.len(), RUNQ_SIZE as u32);
    let mut batches = Vec::new();
    q.runqput(g(1000), false, |b| batches.push(b.iter().map(|&gp| id(gp)).collect::<Vec<_>>()));
    assert_eq!(batches.len(), 1);
    let mut want: Vec<usize> = (0..RUNQ_SIZE / 2).collect();
    want.push(1000);
    assert_eq!(batches[0].len(), 129);
    assert_eq!(batches[0], want);
    // The newer half stays, in order.
    assert_eq!(q.len(), 128);
    assert_eq!(get_all(&q), (128..256).map(|i| (i, false)).collect::<Vec<_>>());
}

#[test]
fn kicked_runnext_can_overflow() {
    let q = RunQueue::<G>::new();
    for i in 0..RUNQ_SIZE {
        q.runqput(g(i), false, no_overflow);
    }
    q.runqput(g(500), true, no_overflow); // runnext was empty: no overflow
    let mut batch = Vec::new();
    q.runqput(g(501), true, |b| batch.extend(b.iter().map(|&gp| id(gp))));
    assert_eq!(batch.len(), 129);
    assert_eq!(*batch.last().unwrap(), 500, "the kicked-out runnext goes last");
    assert_eq!(q.runqget().map(|(gp, t)| (id(gp), t)), Some((501, true)));
}

#[test]
fn small_ring_overflows_too() {
    let q = RunQueue::<G, 4>::new();
    for i in 0..4 {
        q.runqput(g(i), false, no_overflow);
    }
    let mut batch = Vec::new();
    q.runqput(g(9), false, |b| batch.extend(b.iter().map(|&gp| id(gp))));
    assert_eq!(batch, vec![0, 1, 9]);
    assert_eq!(get_all(&q), vec![(2, false), (3, false)]);
}

#[test]
fn counters_wrap_around_the_ring_many_times() {
    let q = RunQueue::<G, 4>::new();
    let mut next_put = 0;
    let mut next_get = 0;
    for round in 0..1000 {
        for _ in 0..(round % 4 + 1) {
            q.runqput(g(next_put), false, no_overflow);
            next_put += 1;
        }
        while let Some((gp, _)) = q.runqget() {
            assert_eq!(id(gp), next_get);
            next_get += 1;
        }
    }
    assert_eq!(next_put, next_get);
}

#[test]
fn steal_takes_half_rounded_up() {
    for n in 1..=RUNQ_SIZE {
        let victim = RunQueue::<G>::new();
        let thief = RunQueue::<G>::new();
        for i in 0..n {
            victim.runqput(g(i), false, no_overflow);
        }
        let want = n - n / 2;
        let (gp, stolen) = thief.runqsteal(&victim, false).expect("something to steal");
        assert_eq!(stolen as usize, want, "n = {n}");
        // The oldest `want` Gs move; the last of them is returned to run now.
        assert_eq!(id(gp), want - 1);
        assert_eq!(thief.len() as usize, want - 1);
        assert_eq!(get_all(&thief), (0..want - 1).map(|i| (i, false)).collect::<Vec<_>>());
        assert_eq!(get_all(&victim), (want..n).map(|i| (i, false)).collect::<Vec<_>>());
    }
}

#[test]
fn steal_from_empty_victim() {
    let victim = RunQueue::<G>::new();
    let thief = RunQueue::<G>::new();
    assert!(thief.runqsteal(&victim, true).is_none());
    assert!(thief.runqsteal(&victim, false).is_none());
}

#[test]
fn steal_runnext_only_when_asked_and_ring_empty() {
    let victim = RunQueue::<G>::new();
    let thief = RunQueue::<G>::new();
    victim.runqput(g(1), true, no_overflow);
    assert!(thief.runqsteal(&victim, false).is_none(), "runnext not stolen unless asked");
    assert!(victim.has_runnext());

    // With something in the ring, only the ring is stolen.
    victim.runqput(g(2), false, no_overflow);
    let (gp, n) = thief.runqsteal(&victim, true).unwrap();
    assert_eq!((id(gp), n), (2, 1));
    assert!(victim.has_runnext());

    // Ring empty and asked: runnext goes.
    let (gp, n) = thief.runqsteal(&victim, true).unwrap();
    assert_eq!((id(gp), n), (1, 1));
    assert!(!victim.has_runnext());
    assert!(victim.runqempty());
    assert!(thief.runqempty(), "the returned G is not queued on the thief");
}

#[test]
fn steal_into_ring_that_has_wrapped() {
    // The thief's tail is not a multiple of N: the batch must wrap in its ring.
    let victim = RunQueue::<G, 8>::new();
    let thief = RunQueue::<G, 8>::new();
    for i in 0..6 {
        thief.runqput(g(100 + i), false, no_overflow);
    }
    assert_eq!(get_all(&thief).len(), 6);
    for i in 0..8 {
        victim.runqput(g(i), false, no_overflow);
    }
    let (gp, n) = thief.runqsteal(&victim, false).unwrap();
    assert_eq!((id(gp), n), (3, 4));
    assert_eq!(get_all(&thief), vec![(0, false), (1, false), (2, false)]);
}

#[test]
#[should_panic(expected = "runqsteal: runq overflow")]
fn steal_into_a_busy_ring_panics() {
    let victim = RunQueue::<G, 4>::new();
    let thief = RunQueue::<G, 4>::new();
    for i in 0..3 {
        thief.runqput(g(i), false, no_overflow);
        victim.runqput(g(10 + i), false, no_overflow);
    }
    thief.runqsteal(&victim, false);
}

#[test]
fn drain_runnext_first_then_ring() {
    let q = RunQueue::<G>::new();
    for i in 0..5 {
        q.runqput(g(i), false, no_overflow);
    }
    q.runqput(g(9), true, no_overflow);
    let mut seen = Vec::new();
    q.runqdrain(|gp| seen.push(id(gp)));
    assert_eq!(seen, vec![9, 0, 1, 2, 3, 4]);
    assert!(q.runqempty());
    assert_eq!(q.len(), 0);
    assert!(!q.has_runnext());

    let mut calls = 0;
    q.runqdrain(|_| calls += 1);
    assert_eq!(calls, 0, "draining an empty queue calls nothing");
}

#[test]
fn drain_full_ring_and_requeue_from_callback() {
    let q = RunQueue::<G>::new();
    for i in 0..RUNQ_SIZE {
        q.runqput(g(i), false, no_overflow);
    }
    let mut seen = Vec::new();
    // f may put Gs back on the same queue: the drained ones were copied out.
    q.runqdrain(|gp| {
        seen.push(id(gp));
        q.runqput(g(id(gp) + 1000), false, no_overflow);
    });
    assert_eq!(seen, (0..RUNQ_SIZE).collect::<Vec<_>>());
    assert_eq!(get_all(&q), (1000..1000 + RUNQ_SIZE).map(|i| (i, false)).collect::<Vec<_>>());
}

#[test]
fn peek_shows_runnext_and_the_queue_from_its_head_without_taking() {
    let q = RunQueue::<G>::new();
    let mut seen = Vec::new();
    assert!(q.peek(10, |gp| seen.push(id(gp))).is_none());
    assert!(seen.is_empty());
    for i in 0..5 {
        q.runqput(g(i), false, no_overflow);
    }
    q.runqput(g(9), true, no_overflow);
    assert_eq!(q.runqget().map(|(gp, _)| id(gp)), Some(9)); // runnext first
    q.runqput(g(7), true, no_overflow);
    assert_eq!(q.runqget().map(|(gp, _)| id(gp)), Some(7));
    assert_eq!(q.runqget().map(|(gp, _)| id(gp)), Some(0)); // head moves
    q.runqput(g(8), true, no_overflow);
    let next = q.peek(3, |gp| seen.push(id(gp)));
    assert_eq!((next.map(id), seen), (Some(8), vec![1, 2, 3]), "runnext, then at most 3 from the head");
    assert_eq!(get_all(&q), [(8, true), (1, false), (2, false), (3, false), (4, false)], "peek took nothing");
}
