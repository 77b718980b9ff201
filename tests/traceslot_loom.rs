//! Loom model of one slot of the execution trace (`kernel/src/runtime/
//! traceslot.rs`): a reader racing a writer that rewrites the slot (a ring
//! lapping it) must get a whole event — a timestamp with the word written
//! with it — or nothing, never one event's timestamp with another's word.
//!
//! Run with `make loom` (`cargo test --release --features loom --test
//! traceslot_loom`). Removing either fence from `Slot` makes the first
//! model fail.
#![cfg(feature = "loom")]

use gmpos::runtime::traceslot::Slot;
use loom::sync::Arc;
use loom::thread;

/// The slot holds (1, A) and is rewritten with (2, B) while a reader reads.
#[test]
fn a_reader_racing_a_rewrite_gets_a_whole_event_or_nothing() {
    const A: u64 = 0xa;
    const B: u64 = 0xb;
    loom::model(|| {
        let slot = Arc::new(Slot::new());
        slot.write(1, A);
        let writer = {
            let slot = slot.clone();
            thread::spawn(move || slot.write(2, B))
        };
        let got = slot.read();
        assert!(matches!(got, None | Some((1, A)) | Some((2, B))), "read {got:?}");
        writer.join().unwrap();
        assert_eq!(slot.read(), Some((2, B)), "after the write");
    });
}

/// The first write races the reader: nothing, or the event whole.
#[test]
fn a_reader_racing_the_first_write_gets_the_event_or_nothing() {
    loom::model(|| {
        let slot = Arc::new(Slot::new());
        let writer = {
            let slot = slot.clone();
            thread::spawn(move || slot.write(7, 0x77))
        };
        let got = slot.read();
        assert!(matches!(got, None | Some((7, 0x77))), "read {got:?}");
        writer.join().unwrap();
    });
}
