//! TCP/IP for goroutines: smoltcp over the virtio-net card, and a socket
//! API that looks blocking — `TcpListener::accept`, `TcpStream::read`,
//! `UdpSocket::recv_from` — but parks the goroutine in the runtime's
//! netpoller ("IO wait") instead of blocking a core, as Go's `net` package
//! does.
//!
//! One lock ([`STACK`]) guards the whole stack: interface, sockets, the
//! card and every socket's `PollDesc`. Everything done under it runs on the
//! core's g0 stack (`runtime::systemstack`): smoltcp needs more stack than a
//! goroutine has mapped (one 4 KiB page at spawn, grown by page faults), and
//! on g0 it does not grow the stack of every goroutine that uses a socket.
//! Network configuration is QEMU's user networking:
//! guest 10.0.2.15/24, gateway 10.0.2.2.

mod stack;
pub mod tcp;
pub mod udp;

use core::fmt;

use smoltcp::wire::{IpAddress, IpEndpoint, Ipv4Address};

use crate::runtime::g::GList;
use crate::runtime::netpoll::{self, Mode, PollDesc};
use crate::runtime::systemstack;
use crate::sync::{IrqLock, IrqLockGuard};
use stack::Stack;

pub use stack::stats;
pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;

/// The guest's address under QEMU user networking.
pub const GUEST_IP: [u8; 4] = [10, 0, 2, 15];
pub const GATEWAY: [u8; 4] = [10, 0, 2, 2];
pub const PREFIX_LEN: u8 = 24;

static STACK: IrqLock<Option<Stack>> = IrqLock::new(None);

/// What a socket call can fail with. Never a panic: every way a peer or a
/// program can misbehave ends here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetError {
    /// There is no network card (or it failed to start).
    NoNetwork,
    /// The peer reset the connection (or it timed out inside TCP).
    ConnectionReset,
    /// The connection was closed: writing after the peer or we shut it.
    Closed,
    /// The read or write timeout passed with nothing done.
    TimedOut,
    /// Another socket already listens on / is bound to this port.
    AddrInUse,
    /// The socket table is full (a bound on memory).
    TooManySockets,
    /// A datagram larger than the socket's buffer.
    MessageTooLong,
    /// The destination cannot be reached (not an IPv4 unicast address).
    Unaddressable,
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NetError::NoNetwork => "no network device",
            NetError::ConnectionReset => "connection reset by peer",
            NetError::Closed => "connection closed",
            NetError::TimedOut => "i/o timeout",
            NetError::AddrInUse => "address already in use",
            NetError::TooManySockets => "too many open sockets",
            NetError::MessageTooLong => "message too long",
            NetError::Unaddressable => "destination unreachable",
        })
    }
}

/// An IPv4 address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketAddr {
    pub ip: [u8; 4],
    pub port: u16,
}

impl fmt::Display for SocketAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.ip;
        write!(f, "{a}.{b}.{c}.{d}:{}", self.port)
    }
}

impl From<IpEndpoint> for SocketAddr {
    fn from(e: IpEndpoint) -> SocketAddr {
        let IpAddress::Ipv4(ip) = e.addr;
        SocketAddr { ip: ip.octets(), port: e.port }
    }
}

impl From<SocketAddr> for IpEndpoint {
    fn from(a: SocketAddr) -> IpEndpoint {
        let [a0, a1, a2, a3] = a.ip;
        IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::new(a0, a1, a2, a3)), a.port)
    }
}

/// Brings up the card and the stack and registers the poller with the
/// runtime. Without a card, socket calls fail with [`NetError::NoNetwork`].
pub fn init(ecam_bus0: Option<u64>) -> Result<(), &'static str> {
    let nic = crate::drivers::virtio_net::init(ecam_bus0.ok_or("no PCIe ECAM (ACPI MCFG table)")?)?;
    *STACK.lock() = Some(Stack::new(nic));
    netpoll::netpollinit(poll);
    Ok(())
}

/// The poll function the runtime's netpoller calls (from findRunnable or
/// sysmon): run the stack and collect the Gs whose sockets became ready.
fn poll(ready: &mut GList) {
    let mut guard = STACK.lock();
    systemstack(&mut || {
        if let Some(stack) = guard.as_mut() {
            stack.poll(ready, true);
        }
    });
}

type Guard = IrqLockGuard<'static, Option<Stack>>;

/// Runs `op` on the stack under its lock, on g0's stack, then, if `op`
/// queued something to send, polls (so that it goes out at once) and
/// readies the Gs that made runnable.
/// Returns the lock still held, for a caller that must park.
fn with_stack<R>(op: impl FnOnce(&mut Stack) -> R) -> (Result<R, NetError>, Guard) {
    let mut guard = STACK.lock();
    let mut op = Some(op);
    let mut out = None;
    let mut ready = GList::new();
    systemstack(&mut || {
        if let Some(stack) = guard.as_mut() {
            out = Some((op.take().expect("with_stack: op ran twice"))(stack));
            if stack.dirty {
                stack.poll(&mut ready, false);
            }
        }
    });
    netpoll::injectglist(ready);
    (out.ok_or(NetError::NoNetwork), guard)
}

/// The blocking pattern every socket call shares (Go's `fd.pd.waitRead`
/// loop): try `op`; if it would block, park on the socket's `PollDesc` for
/// `mode` until the poller readies us or `deadline` passes; try again.
/// `op` returns `None` for "would block".
fn block_on<R>(
    mode: Mode,
    deadline: Option<u64>,
    mut op: impl FnMut(&mut Stack) -> Option<Result<R, NetError>>,
    pd: impl Fn(&mut Stack) -> &mut PollDesc,
) -> Result<R, NetError> {
    loop {
        let (out, mut guard) = with_stack(&mut op);
        if let Some(result) = out? {
            return result;
        }
        let stack = guard.as_mut().expect("with_stack returned the stack");
        let pd: *mut PollDesc = pd(stack);
        // SAFETY: the PollDesc lives in the stack, which `guard` keeps
        // locked until the G is parked; netpollblock only uses `pd`
        // before it parks.
        if netpoll::netpollblock(unsafe { &mut *pd }, mode, guard, deadline).is_err() {
            return Err(NetError::TimedOut);
        }
    }
}
