//! UDP for goroutines: Go's `net.ListenUDP`, `WriteTo`, `ReadFrom`.

use smoltcp::iface::SocketHandle;

use super::{NetError, SocketAddr, block_on, with_stack};
use crate::runtime::netpoll::Mode;

/// A bound UDP port (Go's `net.UDPConn`). Closed when dropped.
pub struct UdpSocket {
    handle: SocketHandle,
}

impl UdpSocket {
    pub fn bind(port: u16) -> Result<UdpSocket, NetError> {
        let handle = with_stack(|s| s.udp_bind(port)).0??;
        Ok(UdpSocket { handle })
    }

    /// Sends one datagram, waiting for buffer room if needed.
    pub fn send_to(&mut self, buf: &[u8], to: SocketAddr) -> Result<usize, NetError> {
        let h = self.handle;
        block_on(Mode::Write, None, |s| s.udp_send(h, buf, to), |s| s.udp_pd(h))
    }

    /// Receives one datagram into `buf`. A datagram larger than `buf` is
    /// dropped and reported as [`NetError::MessageTooLong`].
    pub fn recv_from(&mut self, buf: &mut [u8]) -> Result<(usize, SocketAddr), NetError> {
        let h = self.handle;
        block_on(Mode::Read, None, |s| s.udp_recv(h, buf), |s| s.udp_pd(h))
    }
}

impl Drop for UdpSocket {
    fn drop(&mut self) {
        let h = self.handle;
        let _ = with_stack(|s| s.udp_close(h));
    }
}
