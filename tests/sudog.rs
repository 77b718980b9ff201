//! Host tests of the channel wait queues (`kernel/src/runtime/sudog.rs`):
//! FIFO order, unlinking a select's sudogs from anywhere in a queue, and
//! "first waker wins" for a select parked on several queues — also with
//! real threads racing, as wakers on different cores do.

use std::ptr::{self, NonNull};
use std::sync::{Arc, Barrier, Mutex};

use gmpos::runtime::g::G;
use gmpos::runtime::sudog::{SelectDone, Sudog, WaitQ};

fn g() -> NonNull<G> {
    NonNull::dangling()
}

/// Sudogs with distinct `casi` tags, boxed so their addresses are stable.
fn sudogs(n: usize, select: *const SelectDone) -> Vec<Box<Sudog<u32>>> {
    (0..n)
        .map(|i| {
            let mut s = Box::new(Sudog::new(g(), ptr::null_mut()));
            s.casi = i;
            s.select = select;
            s
        })
        .collect()
}

fn drain(q: &mut WaitQ<u32>) -> Vec<usize> {
    std::iter::from_fn(|| q.dequeue()).map(|s| unsafe { (*s).casi }).collect()
}

#[test]
fn enqueue_dequeue_is_fifo_and_enqueue_front_is_lifo() {
    let mut s = sudogs(4, ptr::null());
    let mut q = WaitQ::new();
    unsafe {
        q.enqueue(&mut *s[0]);
        q.enqueue(&mut *s[1]);
        q.enqueue_front(&mut *s[2]);
        q.enqueue(&mut *s[3]);
    }
    assert_eq!(drain(&mut q), [2, 0, 1, 3]);
    assert!(q.dequeue().is_none());
}

#[test]
fn dequeue_sudog_unlinks_from_head_middle_tail_and_only_element() {
    for victim in 0..3 {
        let mut s = sudogs(3, ptr::null());
        let mut q = WaitQ::new();
        for sg in s.iter_mut() {
            unsafe { q.enqueue(&mut **sg) };
        }
        unsafe { q.dequeue_sudog(&mut *s[victim]) };
        let rest: Vec<usize> = (0..3).filter(|&i| i != victim).collect();
        assert_eq!(drain(&mut q), rest, "after unlinking #{victim}");
        // The queue is usable again after being emptied this way.
        unsafe { q.enqueue(&mut *s[victim]) };
        assert_eq!(drain(&mut q), [victim]);
    }
    let mut s = sudogs(1, ptr::null());
    let mut q = WaitQ::new();
    unsafe {
        q.enqueue(&mut *s[0]);
        q.dequeue_sudog(&mut *s[0]);
        // Unlinking one already gone (a waker took it) changes nothing.
        q.dequeue_sudog(&mut *s[0]);
    }
    assert!(q.dequeue().is_none());
}

#[test]
fn a_select_is_won_once_and_its_other_sudogs_are_skipped() {
    let done = SelectDone::new();
    let mut sel = sudogs(3, &done);
    let mut later = sudogs(1, ptr::null());
    later[0].casi = 9;
    // The select waits on three queues; queue 1 also has a plain waiter.
    let mut queues: Vec<WaitQ<u32>> = (0..3).map(|_| WaitQ::new()).collect();
    for (q, sg) in queues.iter_mut().zip(sel.iter_mut()) {
        unsafe { q.enqueue(&mut **sg) };
    }
    unsafe { queues[1].enqueue(&mut *later[0]) };
    // A waker on queue 2 wins case 2.
    assert_eq!(queues[2].dequeue().map(|s| unsafe { (*s).casi }), Some(2));
    assert_eq!(done.winner(), Some(2));
    // A waker on queue 1 skips the select's sudog and finds the next waiter.
    assert_eq!(queues[1].dequeue().map(|s| unsafe { (*s).casi }), Some(9));
    // Queue 0 has only the lost sudog: nothing to wake.
    assert!(queues[0].dequeue().is_none());
    assert_eq!(done.winner(), Some(2));
}

#[test]
fn racing_wakers_on_different_queues_wake_a_select_exactly_once() {
    const QUEUES: usize = 4;
    const ROUNDS: usize = 2000;
    for _ in 0..ROUNDS {
        let done = Arc::new(SelectDone::new());
        let mut sel = sudogs(QUEUES, &*done);
        let queues: Arc<Vec<Mutex<SendQ>>> = Arc::new((0..QUEUES).map(|_| Mutex::new(SendQ(WaitQ::new()))).collect());
        for (i, sg) in sel.iter_mut().enumerate() {
            unsafe { queues[i].lock().unwrap().0.enqueue(&mut **sg) };
        }
        let start = Arc::new(Barrier::new(QUEUES));
        let handles: Vec<_> = (0..QUEUES)
            .map(|i| {
                let (queues, start) = (queues.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    queues[i].lock().unwrap().0.dequeue().map(|s| unsafe { (*s).casi })
                })
            })
            .collect();
        let woken: Vec<usize> = handles.into_iter().filter_map(|h| h.join().unwrap()).collect();
        assert_eq!(woken.len(), 1, "wakers that won: {woken:?}");
        assert_eq!(done.winner(), Some(woken[0]));
    }
}

/// A wait queue behind a lock, as a channel's is; the raw pointers are to
/// sudogs that outlive the threads (the test joins them first).
struct SendQ(WaitQ<u32>);
unsafe impl Send for SendQ {}
