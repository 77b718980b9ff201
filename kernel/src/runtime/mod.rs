//! The Go runtime scheduler, re-created at OS level. One file per Go
//! concept, with Go's names:
//!
//! | Go (`src/runtime`)                         | here            |
//! |--------------------------------------------|-----------------|
//! | `getg`, `runtime.GOMAXPROCS`, `NumGoroutine` | `api.rs`      |
//! | `schedinit`, `runtime.main`, `mstart`      | `boot.rs`       |
//! | (none: the timer and device interrupts' entry) | `interrupt.rs` |
//! | `g`, `_Grunnable`…, `waitReason`, `gfput`  | `g.rs`, `proc.rs` |
//! | `m`, `g0`, `mcall`, `acquirem`, `getg().m` | `m.rs`          |
//! | `p`, `schedtick`                           | `p.rs`          |
//! | `runqput`, `runqget`, `runqsteal`…         | `runq.rs`       |
//! | `schedt`, `globrunqput`, `pidleput`…       | `sched.rs`      |
//! | `schedule`, `findRunnable`, `stealWork`    | `schedule.rs`   |
//! | `wakep`, `startm`, `stopm`                 | `idle.rs`       |
//! | `newproc`, `gopark`, `goready`, `Gosched`  | `proc.rs`       |
//! | `netpoll`, `pollDesc`, `netpollblock`       | `netpoll.rs`    |
//! | (gmpos's own) wake-up preemption for the network | `netpreempt.rs` |
//! | `schedtrace`, `scheddetail`                | `schedtrace.rs` |
//! | `tracebackothers` (the goroutine dump)     | `traceback.rs`  |
//! | `runtime/trace` (the execution trace)      | `trace.rs`      |
//! | (none: the dashboard's picture)            | `snapshot.rs`   |
//! | `sync.WaitGroup`                           | `waitgroup.rs`  |
//! | `hchan`, `chansend`, `chanrecv`, `closechan` | `chan.rs`     |
//! | `sudog`, `waitq`                           | `sudog.rs`      |
//! | `selectgo`, `sellock`                      | `select.rs`     |
//! | `semacquire`, `semrelease`                 | `sema.rs`       |
//! | `sync.Mutex`, `sync.Once`                  | `mutex.rs`, `once.rs` |
//! | `time.After`, `time.Ticker`                | `timechan.rs`   |
//! | `checkdead`                                | `checkdead.rs`  |
//! | `sysmon`, `sysmonwake`                      | `sysmon.rs`     |
//! | `debug` (GODEBUG's switches)               | `debug.rs`      |
//! | (a progress watchdog, for torture runs)    | `watchdog.rs`   |
//! | (`sched()`'s checks, as in xv6)            | `invariants.rs` |
//! | `gopanic` (runtime errors)                 | `panic.rs`      |
//!
//! The big difference from Go: an M is a CPU core, not an OS thread. There
//! are exactly as many Ms as cores, an idle M halts its core (`hlt`) and is
//! woken by an inter-processor interrupt, and g0 is the core's boot stack.

mod api;
mod boot;
pub mod chan;
mod checkdead;
pub mod cond;
pub mod debug;
pub mod g;
mod idle;
mod interrupt;
pub mod invariants;
pub mod latency;
mod m;
pub mod mcache;
pub mod mutex;
pub mod netpoll;
pub mod netpreempt;
pub mod once;
mod p;
mod panic;
mod preempt;
mod proc;
mod procresize;
pub mod rwmutex;
pub mod runq;
mod sched;
mod schedtrace;
mod schedule;
pub mod select;
mod sema;
pub mod snapshot;
mod stack;
mod stw;
mod sudog;
mod sysmon;
pub mod syscall;
pub mod time;
mod timechan;
pub mod trace;
mod traceback;
pub mod traceslot;
pub mod waitgroup;
pub mod watchdog;

pub use api::{PStats, getg, gomaxprocs, goid, num_goroutine, p_stats, pid, schedtrace, wakeups_and_spins, without_preemption};
pub use boot::{Options, mstart, start};
pub use chan::Chan;
pub use cond::Cond;
pub use interrupt::{device_interrupt, timer_tick};
pub use m::systemstack;
pub use netpoll::waiters;
pub use mutex::Mutex;
pub use once::Once;
pub use panic::{goexit, panic, recover};
pub use proc::{go, gopark, goready, gosched, goyield};
pub use procresize::set_gomaxprocs;
pub use stack::{morestack, stack_low, stack_mapped, stack_overflow_goid};
pub use stw::{start_the_world, stop_the_world};
pub use rwmutex::RWMutex;
pub use select::Select;
pub use traceback::{goroutine_dump, sigquit, sigquits};
pub use waitgroup::WaitGroup;

use m::{getm, with_this_m};
