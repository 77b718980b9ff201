//! schedtrace lines as Go 1.19 prints them, to compare the kernel's with.
//!
//! The lines below are verbatim output of Go 1.19.8 (Debian's
//! golang-1.19-go) running four CPU-bound goroutines, one blocked on a
//! channel and one asleep, with `GODEBUG=schedtrace=50` (GOMAXPROCS=4) and
//! `GODEBUG=schedtrace=50,scheddetail=1` (GOMAXPROCS=2). A kernel line
//! matches when it has the same [`shape`] as one of them: the same words,
//! fields, order, spacing and punctuation, with any numbers and booleans.

/// `GODEBUG=schedtrace=50`, GOMAXPROCS=4.
pub const PLAIN: &[&str] = &[
    "SCHED 0ms: gomaxprocs=4 idleprocs=3 threads=5 spinningthreads=0 idlethreads=3 runqueue=0 [0 0 0 0]",
    "SCHED 55ms: gomaxprocs=4 idleprocs=0 threads=5 spinningthreads=0 idlethreads=0 runqueue=0 [0 0 0 0]",
];

/// `GODEBUG=schedtrace=50,scheddetail=1`, GOMAXPROCS=2.
pub const DETAILED: &[&str] = &[
    "SCHED 0ms: gomaxprocs=2 idleprocs=1 threads=4 spinningthreads=0 idlethreads=2 runqueue=0 gcwaiting=0 nmidlelocked=0 stopwait=0 sysmonwait=0",
    "  P0: status=1 schedtick=4 syscalltick=0 m=3 runqsize=0 gfreecnt=0 timerslen=0",
    "  P0: status=0 schedtick=0 syscalltick=0 m=-1 runqsize=0 gfreecnt=0 timerslen=0",
    "  M3: p=0 curg=19 mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning=false blocked=false lockedg=-1",
    "  M3: p=-1 curg=-1 mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning=false blocked=true lockedg=-1",
    "  M2: p=-1 curg=-1 mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning=true blocked=true lockedg=-1",
    "  G2: status=4(force gc (idle)) m=-1 lockedm=-1",
    "  G19: status=2() m=3 lockedm=-1",
    "  G17: status=1() m=-1 lockedm=-1",
];

/// The line with every number (a digit run, with its minus sign) replaced
/// by `#`, every `true`/`false` by `B`, a G line's wait reason by `W`
/// (present or not) and a run-queue list `[...]` by `[#...]` (its length is
/// the number of Ps, which the tests check on their own).
pub fn shape(line: &str) -> String {
    let mut line = line.to_string();
    if let (Some(open), Some(close)) = (line.find("status="), line.rfind(") m=")) {
        if line.trim_start().starts_with('G') {
            if let Some(paren) = line[open..].find('(').map(|i| i + open) {
                line.replace_range(paren + 1..close, "W");
            }
        }
    }
    if let Some(open) = line.find(" [") {
        if let Some(close) = line[open..].find(']').map(|i| i + open) {
            if line[open + 2..close].bytes().all(|b| b.is_ascii_digit() || b == b' ') {
                line.replace_range(open + 2..close, "#...");
            }
        }
    }
    let line = line.replace("true", "B").replace("false", "B");
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let minus = c == '-' && chars.peek().is_some_and(char::is_ascii_digit);
        if c.is_ascii_digit() || minus {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('#');
        } else {
            out.push(c);
        }
    }
    out
}

/// Panics unless `line` has the shape of one of Go 1.19's lines.
#[track_caller]
pub fn assert_go119(line: &str) {
    let ok = PLAIN.iter().chain(DETAILED).any(|go| shape(go) == shape(line));
    assert!(ok, "not in Go 1.19's schedtrace format: {line:?} (shape {:?})", shape(line));
}
