//! Host build of the kernel's pure logic, for unit, thread and loom tests.
//!
//! The kernel's files are included by path, so the host tests exercise the
//! very code that runs on bare metal. With `--features loom` the run queue
//! uses loom's atomics (see `tests/runq_loom.rs`).

/// Mirrors `kernel/src/runtime/`. The `#[path]` on this inline module sets
/// the directory that the `#[path]`s inside it are relative to.
#[path = "../kernel/src/runtime"]
pub mod runtime {
    #[path = "runq.rs"]
    pub mod runq;
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
