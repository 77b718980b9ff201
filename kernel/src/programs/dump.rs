//! `PROG=dump`: goroutines parked in known states — waiting on a
//! WaitGroup, sleeping, blocked in a system call — then the goroutine dump
//! that Ctrl-\ prints (Go's SIGQUIT traceback), checked by the program
//! itself: every one is listed with its state and "created by" this
//! goroutine. Needs 2 cores: the system call holds one. With `N=1` it then
//! waits (up to 30 s) for a Ctrl-\\ on the console, and checks that the
//! dump was printed.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::Args;
use crate::arch::time::nanotime;
use crate::runtime::{self, WaitGroup, syscall, time};

/// Long enough that the sleepers and the blocked goroutine are still there
/// when the dump is taken, however slow the host; the run ends first.
const PARKED_NS: u64 = 60_000_000_000;
/// How long to wait for every goroutine to reach its state.
const SETTLE_NS: u64 = 30_000_000_000;

pub fn main(args: &Args) -> Result<(), String> {
    if args.ncpu < 2 {
        return Err("needs at least 2 cores (SMP=2): one goroutine blocks its core in a system call".into());
    }
    let me = runtime::goid();
    let gate = Arc::new(WaitGroup::new());
    gate.add(1);
    let waiters: Vec<u64> = (0..3)
        .map(|_| {
            let gate = gate.clone();
            runtime::go(move || gate.wait())
        })
        .collect();
    let sleepers: Vec<u64> = (0..2).map(|_| runtime::go(|| time::sleep(PARKED_NS))).collect();
    let blocked = runtime::go(|| {
        syscall::block_for(PARKED_NS);
    });

    let mut expected: Vec<(u64, &str)> = Vec::new();
    expected.push((me, "running"));
    expected.extend(waiters.iter().map(|&id| (id, "sync.WaitGroup.Wait")));
    expected.extend(sleepers.iter().map(|&id| (id, "sleep")));
    expected.push((blocked, "syscall"));

    // The goroutines start on other cores at their own pace: look until
    // each is in its state.
    let deadline = nanotime() + SETTLE_NS;
    let dump = loop {
        let dump = runtime::goroutine_dump();
        let missing: Vec<String> = expected
            .iter()
            .filter(|(id, state)| !dump.contains(&format!("goroutine {id} [{state}")))
            .map(|(id, state)| format!("goroutine {id} [{state}]"))
            .collect();
        if missing.is_empty() {
            break dump;
        }
        if nanotime() > deadline {
            crate::print!("{dump}");
            return Err(format!("not in the dump after 30 s: {}", missing.join(", ")));
        }
        time::sleep(1_000_000);
    };
    let created_here = format!("created by goroutine {me} at {}", file!());
    let children = expected.iter().filter(|(id, _)| *id != me).count();
    let listed = dump.matches(&created_here).count();
    crate::println!(
        "dump: running={me} waitgroup={waiters:?} sleep={sleepers:?} syscall={blocked} created_here={listed}"
    );
    crate::print!("{dump}");
    crate::println!("dump: end");
    gate.done();
    if listed != children {
        return Err(format!("{listed} goroutines say \"{created_here}\", expected {children}"));
    }
    if args.n == Some(1) {
        let before = runtime::sigquits();
        crate::println!("dump: waiting for Ctrl-\\");
        let deadline = nanotime() + SETTLE_NS;
        while runtime::sigquits() == before {
            if nanotime() > deadline {
                return Err("no Ctrl-\\ within 30 s".into());
            }
            time::sleep(1_000_000);
        }
        crate::println!("dump: got Ctrl-\\");
    }
    Ok(())
}
