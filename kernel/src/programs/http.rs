//! A strict little HTTP/1.x request parser and response writer for
//! `httpd`. Pure logic (no kernel dependencies): it is compiled for the
//! host too and unit-tested there (`tests/http_parse.rs`).
//!
//! Every way a request can be wrong has an answer: malformed → 400,
//! header section too long → 431, body too long → 413, chunked bodies →
//! 501, another HTTP version → 505. Nothing here allocates more than the
//! caller's bounded buffer holds.

use alloc::format;
use alloc::vec::Vec;

/// The longest header section accepted (request line and headers).
pub const MAX_HEADER: usize = 8 * 1024;
/// The longest body accepted (it is read and discarded).
pub const MAX_BODY: usize = 64 * 1024;

/// A parsed request head, borrowing from the buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    /// Whether the connection stays open after the response.
    pub keep_alive: bool,
    pub content_length: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Parse<'a> {
    /// More bytes are needed.
    Incomplete,
    /// A request head, and how many bytes of the buffer it took.
    Complete(Request<'a>, usize),
    /// A bad request: answer with this status and close.
    Error(u16),
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Parses the request head at the start of `buf`.
pub fn parse(buf: &[u8]) -> Parse<'_> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() > MAX_HEADER { Parse::Error(431) } else { Parse::Incomplete };
    };
    if end + 4 > MAX_HEADER {
        return Parse::Error(431);
    }
    let Ok(head) = core::str::from_utf8(&buf[..end]) else { return Parse::Error(400) };
    let mut lines = head.split("\r\n");
    let mut parts = lines.next().unwrap_or("").split(' ');
    let (Some(method), Some(path), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Parse::Error(400);
    };
    if !is_token(method) || !path.starts_with('/') || !path.bytes().all(|b| b.is_ascii_graphic()) {
        return Parse::Error(400);
    }
    let minor = match version {
        "HTTP/1.1" => 1,
        "HTTP/1.0" => 0,
        v if v.starts_with("HTTP/") => return Parse::Error(505),
        _ => return Parse::Error(400),
    };
    let mut keep_alive = minor == 1;
    let mut content_length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { return Parse::Error(400) };
        if !is_token(name) || value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Parse::Error(400);
        }
        let value = value.trim_matches([' ', '\t']);
        if name.eq_ignore_ascii_case("content-length") {
            let Ok(n) = value.parse::<usize>() else { return Parse::Error(400) };
            if content_length.is_some_and(|m| m != n) {
                return Parse::Error(400);
            }
            if n > MAX_BODY {
                return Parse::Error(413);
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Parse::Error(501);
        } else if name.eq_ignore_ascii_case("connection") {
            for option in value.split(',').map(str::trim) {
                if option.eq_ignore_ascii_case("close") {
                    keep_alive = false;
                } else if option.eq_ignore_ascii_case("keep-alive") {
                    keep_alive = true;
                }
            }
        }
    }
    let request = Request { method, path, minor, keep_alive, content_length: content_length.unwrap_or(0) };
    Parse::Complete(request, end + 4)
}

/// Splits a request target into its path and query (`"/a?b=1"` →
/// `("/a", "b=1")`; no `?`: an empty query).
pub fn split_query(target: &str) -> (&str, &str) {
    target.split_once('?').unwrap_or((target, ""))
}

/// The value of each of `names` in `query` (`a=1&b=2`), as numbers: `None`
/// for a name not given. Strict: a parameter not in `names`, given twice,
/// without `=`, or whose value is not a decimal number is an error, with a
/// message for the client. (No percent-decoding: numbers need none.)
pub fn query_numbers<const K: usize>(query: &str, names: [&str; K]) -> Result<[Option<u64>; K], alloc::string::String> {
    let mut values = [None; K];
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let Some((name, value)) = pair.split_once('=') else { return Err(format!("parameter {pair:?} has no value")) };
        let Some(i) = names.iter().position(|n| *n == name) else {
            return Err(match names.len() {
                0 => format!("unknown parameter {name:?} (this takes none)"),
                _ => format!("unknown parameter {name:?} (expected one of {})", names.join(", ")),
            });
        };
        if values[i].is_some() {
            return Err(format!("parameter {name:?} given twice"));
        }
        let n = value.parse::<u64>().ok().filter(|_| value.bytes().all(|b| b.is_ascii_digit()));
        values[i] = Some(n.ok_or_else(|| format!("{name}={value:?} is not a number"))?);
    }
    Ok(values)
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// A whole response: status line, headers and (unless `head_only`) body.
pub fn response(status: u16, content_type: &str, body: &[u8], keep_alive: bool, head_only: bool) -> Vec<u8> {
    let connection = if keep_alive { "keep-alive" } else { "close" };
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n",
        reason(status),
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    out
}
