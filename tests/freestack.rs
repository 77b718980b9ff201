//! The frame pool's lock-free free list (`kernel/src/mm/freestack.rs`) on
//! the host: LIFO order alone, then threads that pop and push the same
//! indices as fast as they can, each checking that no index is ever held by
//! two threads at once and that none is lost.
#![cfg(not(feature = "loom"))]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use gmpos::mm::freestack::FreeStack;

#[test]
fn lifo_and_empty() {
    let s = FreeStack::new(8);
    assert_eq!(s.pop(), None);
    for i in [3, 0, 7] {
        s.push(i);
    }
    assert_eq!((s.pop(), s.pop(), s.pop(), s.pop()), (Some(7), Some(0), Some(3), None));
    s.push(5);
    assert_eq!(s.pop(), Some(5));
}

#[test]
fn threads_never_share_or_lose_an_index() {
    const N: usize = 64;
    const THREADS: usize = 4;
    const ROUNDS: usize = 200_000;
    let s = Arc::new(FreeStack::new(N));
    for i in 0..N {
        s.push(i);
    }
    let held: Arc<Vec<AtomicBool>> = Arc::new((0..N).map(|_| AtomicBool::new(false)).collect());
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (s, held) = (s.clone(), held.clone());
            thread::spawn(move || {
                let mut mine = Vec::new();
                for r in 0..ROUNDS {
                    // Hold up to 3 at a time, in a pattern that varies per thread.
                    if mine.len() < 3 && (r + t) % 3 != 0 {
                        if let Some(i) = s.pop() {
                            assert!(!held[i].swap(true, Ordering::SeqCst), "index {i} handed out twice");
                            mine.push(i);
                        }
                    } else if let Some(i) = mine.pop() {
                        held[i].store(false, Ordering::SeqCst);
                        s.push(i);
                    }
                }
                for i in mine {
                    held[i].store(false, Ordering::SeqCst);
                    s.push(i);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut all: Vec<usize> = std::iter::from_fn(|| s.pop()).collect();
    all.sort();
    assert_eq!(all, (0..N).collect::<Vec<_>>(), "every index back exactly once");
}
