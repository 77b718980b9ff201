//! httpd's request parser (`kernel/src/programs/http.rs`), on the host.

use gmpos::programs::http::{MAX_BODY, MAX_HEADER, Parse, Request, parse, query_numbers, response, split_query};

fn complete(buf: &[u8]) -> (Request<'_>, usize) {
    match parse(buf) {
        Parse::Complete(r, n) => (r, n),
        other => panic!("{:?}: expected a request, got {other:?}", String::from_utf8_lossy(buf)),
    }
}

#[test]
fn a_simple_get() {
    let buf = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nNEXT";
    let (r, n) = complete(buf);
    assert_eq!(r, Request { method: "GET", path: "/health", minor: 1, keep_alive: true, content_length: 0 });
    assert_eq!(&buf[n..], b"NEXT", "pipelined bytes are left for the next request");
}

#[test]
fn keep_alive_follows_the_version_and_connection_header() {
    assert!(!complete(b"GET / HTTP/1.0\r\n\r\n").0.keep_alive);
    assert!(complete(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").0.keep_alive);
    assert!(!complete(b"GET / HTTP/1.1\r\nconnection: Close\r\n\r\n").0.keep_alive);
}

#[test]
fn content_length_is_read_and_bounded() {
    assert_eq!(complete(b"POST / HTTP/1.1\r\nContent-Length:  12 \r\n\r\n").0.content_length, 12);
    let too_long = format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", MAX_BODY + 1);
    assert_eq!(parse(too_long.as_bytes()), Parse::Error(413));
    assert_eq!(parse(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), Parse::Error(400));
}

#[test]
fn incomplete_until_the_blank_line() {
    assert_eq!(parse(b""), Parse::Incomplete);
    assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: x\r\n"), Parse::Incomplete);
    assert_eq!(parse(&vec![b'a'; MAX_HEADER]), Parse::Incomplete);
    assert_eq!(parse(&vec![b'a'; MAX_HEADER + 1]), Parse::Error(431));
}

#[test]
fn malformed_requests_are_rejected() {
    for bad in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET /\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\n\r\n",
        b"GET nopath HTTP/1.1\r\n\r\n",
        b"G(T / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nno colon\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"GET / FTP/1.1\r\n\r\n",
        b"\xff\xfe / HTTP/1.1\r\n\r\n",
    ] {
        assert_eq!(parse(bad), Parse::Error(400), "{:?}", String::from_utf8_lossy(bad));
    }
    assert_eq!(parse(b"GET / HTTP/2.0\r\n\r\n"), Parse::Error(505));
    assert_eq!(parse(b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"), Parse::Error(501));
}

#[test]
fn responses_carry_length_and_connection() {
    let r = String::from_utf8(response(200, "text/plain", b"hi", true, false)).unwrap();
    assert_eq!(r, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nhi");
    let head = String::from_utf8(response(404, "text/plain", b"gone", false, true)).unwrap();
    assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n") && head.ends_with("Connection: close\r\n\r\n"), "{head}");
    assert!(head.contains("Content-Length: 4\r\n"));
}

#[test]
fn query_strings_for_the_dashboard() {
    assert_eq!(split_query("/api/burst?n=5&work=1"), ("/api/burst", "n=5&work=1"));
    assert_eq!(split_query("/"), ("/", ""));
    assert_eq!(query_numbers("n=5&work=10", ["n", "work", "wait"]), Ok([Some(5), Some(10), None]));
    assert_eq!(query_numbers("", ["n"]), Ok([None]));
    assert_eq!(query_numbers("", []), Ok([]));
    for (bad, says) in [
        ("n=5&n=6", "given twice"),
        ("x=1", "unknown parameter \"x\""),
        ("n", "has no value"),
        ("n=", "not a number"),
        ("n=-1", "not a number"),
        ("n=+1", "not a number"),
        ("n=1e9", "not a number"),
        ("n=99999999999999999999999", "not a number"),
    ] {
        let err = query_numbers(bad, ["n"]).expect_err(bad);
        assert!(err.contains(says), "{bad}: {err}");
    }
    assert!(query_numbers("n=1", []).expect_err("no parameters").contains("takes none"));
}
