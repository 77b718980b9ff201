//! The comparison with Go 1.19's schedtrace lines (`tests/common/go119.rs`)
//! on the host: it tells Go 1.19's format from the ones gmpos printed
//! before (Go 1.21's `needspinning`, Go 1.22's `schedticks`, booleans for
//! `gcwaiting`). The boots in `scheduler.rs` and `trace.rs` apply it to
//! what the kernel prints.

#[path = "common/go119.rs"]
mod go119;
use go119::{DETAILED, PLAIN, assert_go119, shape};

#[test]
fn go_lines_match_themselves_with_other_numbers() {
    for line in PLAIN.iter().chain(DETAILED) {
        assert_go119(line);
    }
    assert_go119("SCHED 1234ms: gomaxprocs=3 idleprocs=0 threads=8 spinningthreads=2 idlethreads=5 runqueue=17 [1 200 3]");
    assert_go119("  G123: status=4(chan receive) m=-1 lockedm=-1");
    assert_go119("  M0: p=0 curg=1 mallocing=0 throwing=0 preemptoff= locks=1 dying=0 spinning=true blocked=false lockedg=-1");
    assert_eq!(shape("  G1: status=4(select (no cases)) m=2 lockedm=-1"), "  G#: status=#(W) m=# lockedm=#");
}

#[test]
fn other_formats_do_not_match() {
    for old in [
        // gmpos before: Go 1.21's needspinning and Go 1.22's schedticks.
        "SCHED 212ms: gomaxprocs=4 idleprocs=0 threads=4 spinningthreads=1 needspinning=0 idlethreads=0 runqueue=3 [5 0 12 1] schedticks=[ 33 41 28 30 ]",
        "SCHED 212ms: gomaxprocs=4 idleprocs=0 threads=4 spinningthreads=1 idlethreads=0 runqueue=3 [5 0 12 1] schedticks=[ 33 41 28 30 ]",
        "SCHED 112ms: gomaxprocs=4 idleprocs=0 threads=4 spinningthreads=0 idlethreads=0 runqueue=0 gcwaiting=false nmidlelocked=0 stopwait=0 sysmonwait=false",
        // Newer Go prints "nil" for none.
        "  P0: status=0 schedtick=0 syscalltick=0 m=nil runqsize=0 gfreecnt=0 timerslen=0",
        "  G1: status=4(sleep) m=-1 lockedm=-1 ",
    ] {
        let caught = std::panic::catch_unwind(|| assert_go119(old)).is_err();
        assert!(caught, "accepted as Go 1.19: {old}");
    }
}
