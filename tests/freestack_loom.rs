//! Loom models of the frame pool's lock-free free list
//! (`kernel/src/mm/freestack.rs`): every interleaving of two or three
//! threads popping and pushing, checking that an index is never handed to
//! two threads and that none is lost.
//!
//! Run with `cargo test --features loom --test freestack_loom --release`
//! (`make loom`). The ABA tag's wrap-around (2^32 operations) is argued in
//! the module comment, not modelled. Weakening `push`'s Release CAS to
//! Relaxed makes two of these models fail.
#![cfg(feature = "loom")]

use gmpos::mm::freestack::FreeStack;
use loom::sync::Arc;
use loom::thread;

fn drain(s: &FreeStack) -> Vec<usize> {
    let mut v: Vec<usize> = std::iter::from_fn(|| s.pop()).collect();
    v.sort();
    v
}

#[test]
fn two_poppers_never_get_the_same_index() {
    loom::model(|| {
        let s = Arc::new(FreeStack::new(2));
        s.push(0);
        s.push(1);
        let t = {
            let s = s.clone();
            thread::spawn(move || s.pop())
        };
        let a = s.pop();
        let b = t.join().unwrap();
        assert!(a.is_some() && b.is_some() && a != b, "{a:?} {b:?}");
        assert_eq!(s.pop(), None);
    });
}

#[test]
fn pop_push_races_keep_every_index() {
    loom::model(|| {
        let s = Arc::new(FreeStack::new(3));
        for i in 0..3 {
            s.push(i);
        }
        let t = {
            let s = s.clone();
            thread::spawn(move || {
                // Pop one and give it back: the ABA shape (same index on top
                // again) against the other thread's pop.
                let i = s.pop().unwrap();
                s.push(i);
            })
        };
        let mine = s.pop().unwrap();
        let second = s.pop();
        t.join().unwrap();
        assert_ne!(Some(mine), second);
        s.push(mine);
        if let Some(i) = second {
            s.push(i);
        }
        assert_eq!(drain(&s), vec![0, 1, 2]);
    });
}

#[test]
fn three_threads_pop_and_push() {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(|| {
        let s = Arc::new(FreeStack::new(2));
        s.push(0);
        s.push(1);
        let spawn = |s: Arc<FreeStack>| {
            thread::spawn(move || {
                if let Some(i) = s.pop() {
                    s.push(i);
                }
            })
        };
        let (t1, t2) = (spawn(s.clone()), spawn(s.clone()));
        if let Some(i) = s.pop() {
            s.push(i);
        }
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(drain(&s), vec![0, 1]);
    });
}
