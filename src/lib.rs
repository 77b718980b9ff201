//! Host build of the kernel's pure logic, for unit, thread and loom tests.
//!
//! The kernel's files are included by path, so the host tests exercise the
//! very code that runs on bare metal. With `--features loom` the run queue
//! and the trace's slots use loom's atomics (see `tests/runq_loom.rs`,
//! `tests/traceslot_loom.rs`). The channel wait queues
//! (`sudog.rs`) are tested in `tests/sudog.rs`.

/// Mirrors `kernel/src/runtime/`. The `#[path]` on this inline module sets
/// the directory that the `#[path]`s inside it are relative to.
#[path = "../kernel/src/runtime"]
pub mod runtime {
    #[path = "debug.rs"]
    pub mod debug;

    #[path = "runq.rs"]
    pub mod runq;

    /// On the host a goroutine is just something a sudog points to.
    pub mod g {
        pub struct G;
    }

    #[path = "sudog.rs"]
    pub mod sudog;

    #[path = "traceslot.rs"]
    pub mod traceslot;
}

extern crate alloc;

/// Mirrors `kernel/src/mm/` (only its pure logic).
#[path = "../kernel/src/mm"]
pub mod mm {
    #[path = "freestack.rs"]
    pub mod freestack;
}

#[path = "../kernel/src/cmdline.rs"]
pub mod cmdline;

/// Mirrors `kernel/src/programs/` (only its pure parts).
#[path = "../kernel/src/programs"]
pub mod programs {
    #[path = "http.rs"]
    pub mod http;
}
