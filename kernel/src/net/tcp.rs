//! TCP for goroutines: Go's `net.Listen("tcp", ...)`, `Accept`, `Read`,
//! `Write` and `Close`, over smoltcp. Each call that cannot proceed parks
//! the goroutine in the netpoller ("IO wait") until the socket is ready.

use smoltcp::iface::SocketHandle;

use super::{NetError, block_on, with_stack};
use crate::arch::time::nanotime;
use crate::runtime::netpoll::Mode;

/// A listening TCP port (Go's `net.TCPListener`). Closed when dropped.
pub struct TcpListener {
    port: u16,
}

impl TcpListener {
    /// Listens on `port` of the guest's address, with room for `backlog`
    /// connections that are handshaking or waiting for `accept`; beyond
    /// that, new connections are refused (RST).
    pub fn bind(port: u16, backlog: usize) -> Result<TcpListener, NetError> {
        with_stack(|s| s.listen(port, backlog)).0??;
        Ok(TcpListener { port })
    }

    /// Waits for the next connection (Go's `Accept`).
    pub fn accept(&mut self) -> Result<TcpStream, NetError> {
        let port = self.port;
        let handle = block_on(Mode::Read, None, |s| s.accept(port), |s| s.listener_pd(port))?;
        Ok(TcpStream { handle, timeout: None })
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let port = self.port;
        let _ = with_stack(|s| s.unlisten(port));
    }
}

/// A TCP connection (Go's `net.TCPConn`). Closed when dropped.
pub struct TcpStream {
    handle: SocketHandle,
    /// How long a read or write may wait, in ns (Go's deadlines, renewed
    /// on every call).
    timeout: Option<u64>,
}

impl TcpStream {
    /// Limits how long each `read` or `write` may wait; `None`: for ever.
    /// A call that waits longer fails with [`NetError::TimedOut`].
    pub fn set_timeout(&mut self, ns: Option<u64>) {
        self.timeout = ns;
    }

    fn deadline(&self) -> Option<u64> {
        self.timeout.map(|t| nanotime().saturating_add(t))
    }

    /// Reads at least one byte, waiting if none has arrived; `Ok(0)` means
    /// the peer closed its side.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize, NetError> {
        let h = self.handle;
        block_on(Mode::Read, self.deadline(), |s| s.recv(h, buf), |s| s.conn_pd(h))
    }

    /// Queues at least one byte of `buf` for sending, waiting for room in
    /// the send buffer if there is none; returns how many.
    pub fn write(&mut self, buf: &[u8]) -> Result<usize, NetError> {
        let h = self.handle;
        block_on(Mode::Write, self.deadline(), |s| s.send(h, buf), |s| s.conn_pd(h))
    }

    /// Writes all of `buf`.
    pub fn write_all(&mut self, mut buf: &[u8]) -> Result<(), NetError> {
        while !buf.is_empty() {
            let n = self.write(buf)?;
            buf = &buf[n..];
        }
        Ok(())
    }
}

impl Drop for TcpStream {
    /// Closes the connection: queued data is still sent, then FIN.
    fn drop(&mut self) {
        let h = self.handle;
        let _ = with_stack(|s| s.close(h));
    }
}
