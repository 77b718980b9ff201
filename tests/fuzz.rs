//! Fuzzing what reads outside input, on the host: the kernel command-line
//! parser (`kernel/src/cmdline.rs`) and the HTTP request parser and
//! response writer (`kernel/src/programs/http.rs`), the very files the
//! kernel runs, through `src/lib.rs`. With proptest: random input (any
//! string, any bytes), valid input built from the grammar, and valid input
//! mutated byte by byte. No input may panic; every result must hold the
//! parser's own promises.
//!
//! `make test` runs proptest's default 256 cases per property (about a
//! second); `make fuzz` runs `PROPTEST_CASES=` many more (see the Makefile).
//! A failure is shrunk to a smallest input and saved under
//! `tests/fuzz.proptest-regressions`, which proptest replays first on every
//! later run: commit it, and add the input as a named regression test here.

use gmpos::cmdline::{self, GODEBUG_KEYS, KEYS};
use gmpos::programs::http::{MAX_BODY, MAX_HEADER, Parse, parse, response};
use proptest::prelude::*;

/// The statuses `parse` may answer a bad request with.
const ERRORS: [u16; 5] = [400, 413, 431, 501, 505];

/// What `parse` promises for any input.
fn check_parse(buf: &[u8]) -> Result<(), TestCaseError> {
    let blank = buf.windows(4).position(|w| w == b"\r\n\r\n");
    match parse(buf) {
        Parse::Incomplete => {
            prop_assert!(blank.is_none(), "incomplete, yet the head is there");
            prop_assert!(buf.len() <= MAX_HEADER, "incomplete beyond MAX_HEADER");
        }
        Parse::Complete(r, n) => {
            prop_assert_eq!(Some(n - 4), blank, "a head ends at the first blank line");
            prop_assert!(n <= MAX_HEADER);
            prop_assert!(!r.method.is_empty() && r.path.starts_with('/'));
            prop_assert!(r.minor <= 1 && r.content_length <= MAX_BODY);
            // A whole head parses the same with any bytes after it.
            let mut more = buf[..n].to_vec();
            more.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
            prop_assert_eq!(parse(&more), parse(buf));
        }
        Parse::Error(status) => prop_assert!(ERRORS.contains(&status), "status {}", status),
    }
    Ok(())
}

/// What `cmdline::parse` promises for any line: a config, or an error that
/// names the offending word or setting.
fn check_cmdline(line: &str) -> Result<(), TestCaseError> {
    match cmdline::parse(line) {
        Ok(c) => {
            prop_assert!(c.gomaxprocs != Some(0));
            prop_assert!(line.split_whitespace().all(|w| w.contains('=')));
        }
        Err(e) => {
            prop_assert!(e.starts_with("bad ") || e.starts_with("unknown "), "{}", e);
            prop_assert!(e.contains('"'), "the error quotes what was wrong: {}", e);
        }
    }
    Ok(())
}

/// A header name (an HTTP token).
fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
}

/// One valid request head (but for a Content-Length that may be over
/// `MAX_BODY`), with what `parse` must read from it.
#[derive(Debug, Clone)]
struct Valid {
    bytes: Vec<u8>,
    method: String,
    path: String,
    minor: u8,
    keep_alive: bool,
    content_length: usize,
}

fn valid_request() -> impl Strategy<Value = Valid> {
    (
        token(),
        "/[!-~]{0,40}",
        0u8..=1,
        prop::collection::vec((token(), "[ -~\t]{0,20}"), 0..6),
        prop::option::of(0..=2 * MAX_BODY),
        prop::option::of(prop::bool::ANY),
    )
        .prop_map(|(method, path, minor, headers, length, close)| {
            let mut head = format!("{method} {path} HTTP/1.{minor}\r\n");
            let mut keep_alive = minor == 1;
            for (name, value) in headers {
                // Only the generated Content-Length / Connection may carry meaning.
                let special = ["content-length", "transfer-encoding", "connection"];
                if !special.iter().any(|s| name.eq_ignore_ascii_case(s)) {
                    head += &format!("{name}:{value}\r\n");
                }
            }
            if let Some(n) = length {
                head += &format!("Content-Length: {n}\r\n");
            }
            if let Some(close) = close {
                head += if close { "Connection: close\r\n" } else { "Connection: keep-alive\r\n" };
                keep_alive = !close;
            }
            head += "\r\n";
            Valid { bytes: head.into_bytes(), method, path, minor, keep_alive, content_length: length.unwrap_or(0) }
        })
}

/// A byte-level edit of a valid head: set, insert or delete a byte.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), prop::sample::select(&b"\r\n :/,=\t\0\xff0aA"[..])).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = bytes.len().max(1);
        match *e {
            Edit::Set(i, b) if !bytes.is_empty() => bytes[i % len] = b,
            Edit::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Edit::Delete(i) if !bytes.is_empty() => {
                bytes.remove(i % len);
            }
            _ => {}
        }
    }
    bytes
}

/// A command line built from the kernel's keys and near misses.
fn cmdline_words() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        prop::sample::select(KEYS.iter().map(|(k, _)| k.to_string()).collect::<Vec<_>>()),
        "[A-Z]{0,10}",
    ];
    let godebug = prop::collection::vec(
        (prop::sample::select(GODEBUG_KEYS.iter().map(|(k, _)| k.to_string()).collect::<Vec<_>>()), "-?[0-9]{0,21}|[a-z]{0,3}"),
        0..4,
    )
    .prop_map(|settings| settings.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","));
    let value = prop_oneof!["[0-9]{0,22}", "-[0-9]{1,3}", "[a-z=,]{0,8}", godebug];
    let word = prop_oneof![(key, value).prop_map(|(k, v)| format!("{k}={v}")), "[^ ]{0,12}"];
    prop::collection::vec((word, "[ \t\n]{1,3}"), 0..6)
        .prop_map(|words| words.into_iter().map(|(w, sep)| w + &sep).collect())
}

proptest! {
    #[test]
    fn http_any_bytes(buf in prop::collection::vec(any::<u8>(), 0..600)) {
        check_parse(&buf)?;
    }

    #[test]
    fn http_any_text_around_a_blank_line(a in "[ -~\r\n]{0,200}", b in "[ -~\r\n]{0,40}") {
        check_parse(format!("{a}\r\n\r\n{b}").as_bytes())?;
    }

    #[test]
    fn http_valid_requests_parse_to_what_was_sent(v in valid_request()) {
        if v.content_length > MAX_BODY {
            prop_assert_eq!(parse(&v.bytes), Parse::Error(413), "a body over MAX_BODY is refused");
            return Ok(());
        }
        match parse(&v.bytes) {
            Parse::Complete(r, n) => {
                prop_assert_eq!(n, v.bytes.len());
                prop_assert_eq!((r.method, r.path), (v.method.as_str(), v.path.as_str()));
                prop_assert_eq!((r.minor, r.keep_alive, r.content_length), (v.minor, v.keep_alive, v.content_length));
            }
            other => prop_assert!(false, "{:?}: {:?}", String::from_utf8_lossy(&v.bytes), other),
        }
        // Every strict prefix waits for more.
        for cut in 0..v.bytes.len() {
            prop_assert_eq!(parse(&v.bytes[..cut]), Parse::Incomplete, "prefix of {}", cut);
        }
    }

    #[test]
    fn http_heads_near_the_size_limit(pad in (MAX_HEADER - 64)..(MAX_HEADER + 64)) {
        let head = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(pad - 25));
        let expected = if head.len() <= MAX_HEADER { head.len() } else { 0 };
        match parse(head.as_bytes()) {
            Parse::Complete(_, n) => prop_assert_eq!(n, expected),
            other => prop_assert!(expected == 0 && other == Parse::Error(431), "{} bytes: {:?}", head.len(), other),
        }
        check_parse(head.as_bytes())?;
    }

    #[test]
    fn http_mutated_requests(v in valid_request(), edits in prop::collection::vec(edit(), 1..8)) {
        check_parse(&apply(v.bytes, &edits))?;
    }

    #[test]
    fn http_responses_say_their_length(status in prop::sample::select(vec![200u16, 400, 404, 405, 408, 413, 431, 501, 503, 505]),
                                       body in prop::collection::vec(any::<u8>(), 0..300),
                                       keep_alive in any::<bool>(), head_only in any::<bool>()) {
        let r = response(status, "text/plain", &body, keep_alive, head_only);
        let end = r.windows(4).position(|w| w == b"\r\n\r\n").expect("a head") + 4;
        let head = std::str::from_utf8(&r[..end]).expect("an ASCII head");
        let prefix = format!("HTTP/1.1 {status} ");
        prop_assert!(head.starts_with(&prefix));
        let length = format!("\r\nContent-Length: {}\r\n", body.len());
        prop_assert!(head.contains(&length));
        prop_assert_eq!(&r[end..], if head_only { &[][..] } else { &body[..] });
    }

    #[test]
    fn cmdline_any_string(line in "\\PC{0,80}") {
        check_cmdline(&line)?;
    }

    #[test]
    fn cmdline_near_misses(line in cmdline_words()) {
        check_cmdline(&line)?;
    }

    #[test]
    fn cmdline_valid_lines_read_back(prog in "[a-z]{1,10}", procs in 1usize..=64, n in any::<u64>(), cpu in 0usize..64,
                                     schedtrace in any::<u64>(), detail in 0u64..3) {
        let line = format!("N={n} PROG={prog}\tGOMAXPROCS={procs}  CPU={cpu} GODEBUG=schedtrace={schedtrace},scheddetail={detail}");
        let c = cmdline::parse(&line).map_err(TestCaseError::fail)?;
        prop_assert_eq!((c.prog, c.gomaxprocs, c.n, c.cpu), (prog.as_str(), Some(procs), Some(n), Some(cpu)));
        prop_assert_eq!((c.godebug.schedtrace_ms, c.godebug.scheddetail), (schedtrace, detail != 0));
    }
}
