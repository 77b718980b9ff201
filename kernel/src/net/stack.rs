//! The stack itself: smoltcp's interface and sockets over the card, each
//! socket's `PollDesc`, and [`Stack::poll`], which runs smoltcp and finds
//! the goroutines whose sockets became ready. Only used under the lock in
//! `net/mod.rs`, on g0's stack.
//!
//! smoltcp has no accept queue: a listening socket *becomes* the
//! connection when a SYN arrives. A [`Listener`] therefore keeps a backlog
//! of listening sockets on its port; when one gets past the handshake, it
//! moves to the listener's ready queue (what `accept` takes) and a fresh
//! listening socket replaces it. A full backlog means further SYNs find no
//! listener and are refused with a RST: memory stays bounded.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::{tcp, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address};

use super::{GATEWAY, GUEST_IP, NetError, PREFIX_LEN, SocketAddr};
use crate::arch::time::nanotime;
use crate::drivers::virtio_net::VirtioNet;
use crate::runtime::g::GList;
use crate::runtime::netpoll::{Mode, PollDesc, set_poll_at};

/// Bytes of buffer per TCP socket, each way (bounds memory per connection).
pub const TCP_BUFFER: usize = 16 * 1024;
/// Datagrams and payload bytes buffered per UDP socket, each way.
const UDP_PACKETS: usize = 32;
pub const UDP_BUFFER: usize = 16 * 1024;
/// At most this many TCP sockets at once (connections, backlogs, closing).
pub const MAX_TCP_SOCKETS: usize = 512;
/// A closed connection is aborted if its FIN exchange takes longer.
const LINGER_NS: u64 = 5_000_000_000;

/// A connection handed to a program (or closed by it and finishing).
pub struct Conn {
    pub pd: PollDesc,
    /// Set by `close`: when to give up on a graceful close.
    closing: Option<u64>,
}

pub struct Listener {
    pub pd: PollDesc,
    /// Listening (or handshaking) sockets on the port.
    syn: Vec<SocketHandle>,
    /// Established connections not yet accepted.
    ready: VecDeque<SocketHandle>,
    backlog: usize,
}

pub struct Stack {
    iface: Interface,
    nic: VirtioNet,
    sockets: SocketSet<'static>,
    pub conns: BTreeMap<SocketHandle, Conn>,
    pub listeners: BTreeMap<u16, Listener>,
    pub udp: BTreeMap<SocketHandle, PollDesc>,
    /// A socket call queued something to send (data, FIN, a window
    /// update): the caller polls at once instead of waiting for the poller.
    pub dirty: bool,
}

/// Counters for reports (`/health`, the httpd page).
pub struct Stats {
    pub accepted: u64,
    pub tcp_sockets: usize,
    pub interrupts: u64,
    pub polls: u64,
    /// Goroutines preempted to make room for a packet (`netpreempt.rs`).
    pub netpoll_preempts: u64,
    /// Median and 99th percentile of an interrupt's wait for its poll, µs.
    pub irq_wait_p50_us: u64,
    pub irq_wait_p99_us: u64,
}

static ACCEPTED: AtomicU64 = AtomicU64::new(0);
static TCP_SOCKETS: AtomicUsize = AtomicUsize::new(0);

pub fn stats() -> Stats {
    let (interrupts, polls) = crate::runtime::netpoll::counts();
    Stats {
        accepted: ACCEPTED.load(Ordering::Relaxed),
        tcp_sockets: TCP_SOCKETS.load(Ordering::Relaxed),
        interrupts,
        polls,
        netpoll_preempts: crate::runtime::netpreempt::preempts(),
        irq_wait_p50_us: crate::runtime::netpoll::irq_wait_quantile_us(0.5),
        irq_wait_p99_us: crate::runtime::netpoll::irq_wait_quantile_us(0.99),
    }
}

fn now() -> Instant {
    Instant::from_micros((nanotime() / 1000) as i64)
}

fn tcp_socket() -> tcp::Socket<'static> {
    let rx = tcp::SocketBuffer::new(vec![0; TCP_BUFFER]);
    let tx = tcp::SocketBuffer::new(vec![0; TCP_BUFFER]);
    let mut s = tcp::Socket::new(rx, tx);
    // As Go's net package does (TCP_NODELAY): send small writes at once.
    s.set_nagle_enabled(false);
    s
}

impl Stack {
    pub fn new(mut nic: VirtioNet) -> Stack {
        let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(nic.mac())));
        config.random_seed = nanotime();
        let mut iface = Interface::new(config, &mut nic, now());
        let [a, b, c, d] = GUEST_IP;
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::new(Ipv4Address::new(a, b, c, d).into(), PREFIX_LEN));
        });
        let [a, b, c, d] = GATEWAY;
        let _ = iface.routes_mut().add_default_ipv4_route(Ipv4Address::new(a, b, c, d));
        Stack {
            iface,
            nic,
            sockets: SocketSet::new(Vec::new()),
            conns: BTreeMap::new(),
            listeners: BTreeMap::new(),
            udp: BTreeMap::new(),
            dirty: false,
        }
    }

    fn tcp(&mut self, h: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(h)
    }

    fn add_tcp(&mut self) -> Result<SocketHandle, NetError> {
        if TCP_SOCKETS.load(Ordering::Relaxed) >= MAX_TCP_SOCKETS {
            return Err(NetError::TooManySockets);
        }
        TCP_SOCKETS.fetch_add(1, Ordering::Relaxed);
        Ok(self.sockets.add(tcp_socket()))
    }

    fn remove_tcp(&mut self, h: SocketHandle) {
        self.sockets.remove(h);
        TCP_SOCKETS.fetch_sub(1, Ordering::Relaxed);
    }

    /// Runs smoltcp once (Go's platform netpoll) and puts on `ready` the
    /// goroutines whose sockets can now make progress. `device_event`: the
    /// runtime's poll, which acknowledges the card's interrupt and unmasks
    /// its line (register accesses are costly VM exits; a goroutine's own
    /// poll skips them).
    pub fn poll(&mut self, ready: &mut GList, device_event: bool) {
        let t = now();
        self.dirty = false;
        if device_event {
            self.nic.ack();
        }
        let mut sent = self.nic.frames_sent();
        self.iface.poll(t, &mut self.nic, &mut self.sockets);
        // smoltcp's poll sends at most one segment per socket; a reply of
        // several segments would otherwise wait for one poll each — with
        // every core busy, a tick or more apiece (an 11-segment page took
        // p50 28 ms instead of 4). So while the last pass sent something
        // and a socket still has a segment due now, send again. Each pass
        // sends a frame or ends the loop, and the sockets' buffers are
        // finite. (Asking `poll_at` costs less than an egress pass over
        // every socket, most of them listening, that finds nothing.)
        while self.nic.frames_sent() != sent && self.iface.poll_at(t, &self.sockets).is_some_and(|at| at <= t) {
            sent = self.nic.frames_sent();
            self.iface.poll_egress(t, &mut self.nic, &mut self.sockets);
        }
        self.poll_listeners(ready);
        self.poll_conns(ready);
        for (&h, pd) in self.udp.iter_mut() {
            let s = self.sockets.get::<udp::Socket>(h);
            if s.can_recv() {
                pd.ready(Mode::Read, ready);
            }
            if s.can_send() {
                pd.ready(Mode::Write, ready);
            }
        }
        let at = self.iface.poll_at(t, &self.sockets);
        set_poll_at(at.map_or(0, |at| (at.total_micros().max(1) as u64) * 1000));
        if device_event {
            self.nic.rearm();
        }
    }

    fn poll_listeners(&mut self, ready: &mut GList) {
        let ports: Vec<u16> = self.listeners.keys().copied().collect();
        for port in ports {
            let mut l = self.listeners.remove(&port).expect("listener");
            let mut i = 0;
            while i < l.syn.len() {
                let s = self.tcp(l.syn[i]);
                match s.state() {
                    tcp::State::Listen | tcp::State::SynReceived => i += 1,
                    tcp::State::Established | tcp::State::CloseWait => l.ready.push_back(l.syn.swap_remove(i)),
                    _ => {
                        // Reset during the handshake: listen again.
                        s.abort();
                        let _ = s.listen(port);
                        i += 1;
                    }
                }
            }
            while l.syn.len() + l.ready.len() < l.backlog {
                let Ok(h) = self.add_tcp() else { break };
                let _ = self.tcp(h).listen(port);
                l.syn.push(h);
            }
            if !l.ready.is_empty() {
                l.pd.ready(Mode::Read, ready);
            }
            self.listeners.insert(port, l);
        }
    }

    fn poll_conns(&mut self, ready: &mut GList) {
        let now_ns = nanotime();
        let mut gone = Vec::new();
        for (&h, c) in self.conns.iter_mut() {
            let s = self.sockets.get_mut::<tcp::Socket>(h);
            match c.closing {
                Some(deadline) => {
                    if matches!(s.state(), tcp::State::Closed | tcp::State::TimeWait) {
                        gone.push(h);
                    } else if now_ns > deadline {
                        s.abort();
                    }
                }
                None => {
                    if s.can_recv() || !s.may_recv() {
                        c.pd.ready(Mode::Read, ready);
                    }
                    if s.can_send() || !s.may_send() {
                        c.pd.ready(Mode::Write, ready);
                    }
                }
            }
        }
        for h in gone {
            self.conns.remove(&h);
            self.remove_tcp(h);
        }
    }

    pub fn listen(&mut self, port: u16, backlog: usize) -> Result<(), NetError> {
        if port == 0 {
            return Err(NetError::Unaddressable);
        }
        if self.listeners.contains_key(&port) {
            return Err(NetError::AddrInUse);
        }
        let l = Listener { pd: PollDesc::default(), syn: Vec::new(), ready: VecDeque::new(), backlog: backlog.max(1) };
        self.listeners.insert(port, l);
        self.dirty = true; // the poll fills the backlog
        Ok(())
    }

    pub fn unlisten(&mut self, port: u16) {
        if let Some(l) = self.listeners.remove(&port) {
            for h in l.syn.into_iter().chain(l.ready) {
                self.tcp(h).abort();
                self.conns.insert(h, Conn { pd: PollDesc::default(), closing: Some(0) });
            }
            self.dirty = true;
        }
    }

    /// A connection that finished its handshake, if any (`None`: would block).
    pub fn accept(&mut self, port: u16) -> Option<Result<SocketHandle, NetError>> {
        let h = self.listeners.get_mut(&port)?.ready.pop_front()?;
        self.conns.insert(h, Conn { pd: PollDesc::default(), closing: None });
        ACCEPTED.fetch_add(1, Ordering::Relaxed);
        Some(Ok(h))
    }

    pub fn listener_pd(&mut self, port: u16) -> &mut PollDesc {
        &mut self.listeners.get_mut(&port).expect("a bound listener").pd
    }

    pub fn conn_pd(&mut self, h: SocketHandle) -> &mut PollDesc {
        &mut self.conns.get_mut(&h).expect("an open connection").pd
    }

    /// Reads what has arrived; `Ok(0)` at end of stream; `None` if nothing
    /// yet.
    pub fn recv(&mut self, h: SocketHandle, buf: &mut [u8]) -> Option<Result<usize, NetError>> {
        let s = self.tcp(h);
        if buf.is_empty() {
            return Some(Ok(0));
        }
        if s.can_recv() {
            // Reading from a nearly full buffer reopens the window: say so.
            let was_full = s.recv_queue() * 2 >= s.recv_capacity();
            let n = s.recv_slice(buf).map_err(|_| NetError::Closed);
            self.dirty |= was_full;
            return Some(n);
        }
        if s.may_recv() {
            return None;
        }
        // Nothing more will arrive: after the peer's FIN that is the end
        // of the stream; a socket that went straight to Closed was reset.
        Some(if s.state() == tcp::State::Closed { Err(NetError::ConnectionReset) } else { Ok(0) })
    }

    /// Queues what fits of `buf`; `None` if the send buffer is full.
    pub fn send(&mut self, h: SocketHandle, buf: &[u8]) -> Option<Result<usize, NetError>> {
        let s = self.tcp(h);
        if buf.is_empty() {
            return Some(Ok(0));
        }
        if !s.may_send() {
            return Some(Err(if s.state() == tcp::State::Closed { NetError::ConnectionReset } else { NetError::Closed }));
        }
        if s.can_send() {
            let n = s.send_slice(buf).map_err(|_| NetError::Closed);
            self.dirty = true;
            return Some(n);
        }
        None
    }

    /// Starts a graceful close (FIN after the queued data); the socket is
    /// freed once the exchange is over, or aborted after [`LINGER_NS`].
    pub fn close(&mut self, h: SocketHandle) {
        self.tcp(h).close();
        self.dirty = true;
        if let Some(c) = self.conns.get_mut(&h) {
            c.closing = Some(nanotime() + LINGER_NS);
        }
    }

    pub fn udp_bind(&mut self, port: u16) -> Result<SocketHandle, NetError> {
        if port == 0 {
            return Err(NetError::Unaddressable);
        }
        if self.udp.keys().any(|&h| self.sockets.get::<udp::Socket>(h).endpoint().port == port) {
            return Err(NetError::AddrInUse);
        }
        let buffer = || {
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; UDP_PACKETS], vec![0; UDP_BUFFER])
        };
        let mut s = udp::Socket::new(buffer(), buffer());
        s.bind(port).map_err(|_| NetError::Unaddressable)?;
        let h = self.sockets.add(s);
        self.udp.insert(h, PollDesc::default());
        Ok(h)
    }

    pub fn udp_close(&mut self, h: SocketHandle) {
        self.udp.remove(&h);
        self.sockets.remove(h);
    }

    pub fn udp_pd(&mut self, h: SocketHandle) -> &mut PollDesc {
        self.udp.get_mut(&h).expect("a bound UDP socket")
    }

    pub fn udp_send(&mut self, h: SocketHandle, buf: &[u8], to: SocketAddr) -> Option<Result<usize, NetError>> {
        let s = self.sockets.get_mut::<udp::Socket>(h);
        if buf.len() > s.payload_send_capacity() {
            return Some(Err(NetError::MessageTooLong));
        }
        match s.send_slice(buf, smoltcp::wire::IpEndpoint::from(to)) {
            Ok(()) => {
                self.dirty = true;
                Some(Ok(buf.len()))
            }
            Err(udp::SendError::BufferFull) => None,
            Err(udp::SendError::Unaddressable) => Some(Err(NetError::Unaddressable)),
        }
    }

    pub fn udp_recv(&mut self, h: SocketHandle, buf: &mut [u8]) -> Option<Result<(usize, SocketAddr), NetError>> {
        match self.sockets.get_mut::<udp::Socket>(h).recv_slice(buf) {
            Ok((n, meta)) => Some(Ok((n, meta.endpoint.into()))),
            Err(udp::RecvError::Exhausted) => None,
            Err(udp::RecvError::Truncated) => Some(Err(NetError::MessageTooLong)),
        }
    }
}
