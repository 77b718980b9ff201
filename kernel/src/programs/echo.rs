//! `PROG=echo`: an echo server (RFC 862) on port 7, TCP and UDP. Each TCP
//! connection gets its own goroutine that simply reads and writes back — the
//! blocking style of Go's `net` package; the netpoller parks it between
//! messages. `N=` adds that many CPU-bound goroutines, to show that
//! connections are served while every P is busy.

use alloc::format;
use alloc::string::String;

use super::Args;
use super::hog::spawn_hogs;
use crate::net::{TcpListener, TcpStream, UdpSocket};
use crate::runtime;

pub const PORT: u16 = 7;
/// Connections that may be handshaking or waiting for `accept`.
pub(super) const BACKLOG: usize = 64;
/// A connection idle this long is closed (its goroutine ends).
const IDLE_TIMEOUT_NS: u64 = 60_000_000_000;

pub fn main(args: &Args) -> Result<(), String> {
    let mut listener = TcpListener::bind(PORT, BACKLOG).map_err(|e| format!("listen on tcp port {PORT}: {e}"))?;
    let mut udp = UdpSocket::bind(PORT).map_err(|e| format!("bind udp port {PORT}: {e}"))?;
    runtime::go(move || {
        let mut buf = [0u8; 1500];
        loop {
            match udp.recv_from(&mut buf) {
                Ok((n, from)) => {
                    let _ = udp.send_to(&buf[..n], from);
                }
                Err(e) => crate::println!("echo: udp: {e}"),
            }
        }
    });
    let hogs = args.n.unwrap_or(0);
    spawn_hogs(hogs);
    crate::println!("echo: listening on tcp and udp port {PORT} (hogs={hogs})");
    loop {
        let conn = listener.accept().map_err(|e| format!("accept: {e}"))?;
        runtime::go(move || serve(conn));
    }
}

/// One connection: echo until the peer closes, errs or idles too long
/// (also `PROG=torture`'s server).
pub(super) fn serve(mut conn: TcpStream) {
    conn.set_timeout(Some(IDLE_TIMEOUT_NS));
    let mut buf = [0u8; 1024];
    while let Ok(n @ 1..) = conn.read(&mut buf) {
        if conn.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}
