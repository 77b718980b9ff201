//! Real-thread stress test of the local run queue: one owner P and three
//! thieves, at least 10 million queue operations, and every G must come out
//! exactly once (no G lost, none duplicated).
#![cfg(not(feature = "loom"))] // loom atomics only work inside loom::model

use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering::Relaxed};
use std::thread;
use std::time::Instant;

use gmpos::runtime::runq::RunQueue;

struct G;

/// Number of distinct Gs the owner puts. Each is put once and taken once,
/// by a get, a steal (the G it returns) or an overflow batch, so there are
/// up to 2 × ITEMS successful operations; the puts alone reach MIN_OPS
/// however the threads are scheduled. Failed gets and steals (empty queue)
/// are counted separately and not towards MIN_OPS.
const ITEMS: usize = 10_000_000;
const MIN_OPS: u64 = 10_000_000;
const THIEVES: usize = 3;

fn g(id: usize) -> NonNull<G> {
    NonNull::new(ptr::without_provenance_mut((id + 1) * 8)).unwrap()
}
fn id(gp: NonNull<G>) -> usize {
    gp.as_ptr().addr() / 8 - 1
}

/// xorshift64: deterministic per thread, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Default, Debug)]
struct Stats {
    /// Successful runqput, runqget and runqsteal calls.
    ops: u64,
    /// Calls that found nothing.
    empty: u64,
    puts: u64,
    gets: u64,
    steals: u64,
    stolen: u64,
    overflow_batches: u64,
    overflowed: u64,
}

#[test]
fn owner_and_three_thieves_lose_and_duplicate_nothing() {
    let start = Instant::now();
    let seen: Vec<AtomicU8> = (0..ITEMS).map(|_| AtomicU8::new(0)).collect();
    let see = |gp: NonNull<G>| {
        seen[id(gp)].fetch_add(1, Relaxed);
    };
    let owner_q = RunQueue::<G>::new();
    let thief_qs: Vec<RunQueue<G>> = (0..THIEVES).map(|_| RunQueue::new()).collect();
    let done = AtomicBool::new(false);

    let stats: Vec<Stats> = thread::scope(|s| {
        let thieves: Vec<_> = (0..THIEVES)
            .map(|me| {
                let (owner_q, thief_qs, done, see) = (&owner_q, &thief_qs, &done, &see);
                s.spawn(move || {
                    let mut st = Stats::default();
                    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (me as u64 + 1) * 0x1234_5678);
                    let my = &thief_qs[me];
                    loop {
                        // Mostly rob the owner; sometimes another thief, whose
                        // queue is then a victim while its owner drains it.
                        let other = (me + 1 + rng.below(THIEVES as u64 - 1) as usize) % THIEVES;
                        let victim = if rng.below(4) == 0 { &thief_qs[other] } else { owner_q };
                        let finishing = done.load(std::sync::atomic::Ordering::Acquire);
                        match my.runqsteal(victim, rng.below(2) == 0) {
                            Some((gp, n)) => {
                                st.ops += 1;
                                st.steals += 1;
                                st.stolen += n as u64;
                                see(gp);
                                while let Some((gp, inherit)) = my.runqget() {
                                    assert!(!inherit, "a thief's runnext is never set");
                                    st.ops += 1;
                                    st.gets += 1;
                                    see(gp);
                                }
                            }
                            // `done` was set before this attempt and the owner
                            // had emptied its queue by then: nothing is left.
                            None if finishing && std::ptr::eq(victim, owner_q) => break,
                            None => {
                                st.empty += 1;
                                std::hint::spin_loop()
                            }
                        }
                    }
                    assert!(my.runqempty());
                    st
                })
            })
            .collect();

        // The owner: bursts of puts (a quarter with next=true), bursts of gets.
        let mut st = Stats::default();
        let mut rng = Rng(0xDEAD_BEEF_CAFE_F00D);
        let mut next_id = 0;
        while next_id < ITEMS {
            for _ in 0..rng.below(400) {
                if next_id == ITEMS {
                    break;
                }
                st.ops += 1;
                st.puts += 1;
                owner_q.runqput(g(next_id), rng.below(4) == 0, |batch| {
                    st.overflow_batches += 1;
                    st.overflowed += batch.len() as u64;
                    assert_eq!(batch.len(), 129);
                    batch.iter().for_each(|&gp| see(gp));
                });
                next_id += 1;
            }
            for _ in 0..rng.below(400) {
                match owner_q.runqget() {
                    Some((gp, _)) => {
                        st.ops += 1;
                        st.gets += 1;
                        see(gp);
                    }
                    None => {
                        st.empty += 1;
                        break;
                    }
                }
            }
        }
        while let Some((gp, _)) = owner_q.runqget() {
            st.ops += 1;
            st.gets += 1;
            see(gp);
        }
        assert!(owner_q.runqempty());
        done.store(true, std::sync::atomic::Ordering::Release);

        let mut all = vec![st];
        all.extend(thieves.into_iter().map(|t| t.join().unwrap()));
        all
    });

    let elapsed = start.elapsed();
    let ops: u64 = stats.iter().map(|s| s.ops).sum();
    let empty: u64 = stats.iter().map(|s| s.empty).sum();
    eprintln!("runq stress: {ops} successful ops (+{empty} on empty queues) in {elapsed:?}");
    for (who, s) in stats.iter().enumerate() {
        eprintln!("  {}: {s:?}", if who == 0 { "owner".to_string() } else { format!("thief {}", who - 1) });
    }

    let lost: Vec<usize> = (0..ITEMS).filter(|&i| seen[i].load(Relaxed) == 0).take(10).collect();
    let dup: Vec<usize> = (0..ITEMS).filter(|&i| seen[i].load(Relaxed) > 1).take(10).collect();
    assert!(lost.is_empty(), "lost Gs, e.g. {lost:?}");
    assert!(dup.is_empty(), "duplicated Gs, e.g. {dup:?}");
    assert!(ops >= MIN_OPS, "only {ops} operations");
    assert!(stats[0].overflow_batches > 0, "the overflow path was never taken");
    assert!(stats[1..].iter().any(|s| s.steals > 0), "nothing was ever stolen");
    assert!(owner_q.runqempty());
}
