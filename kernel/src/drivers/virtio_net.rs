//! The network card: QEMU's virtio-net on PCI, driven through the
//! `virtio-drivers` crate (queues, feature negotiation) and offered to
//! smoltcp as a `phy::Device`.
//!
//! The interrupt is the netpoller's event source. virtio-drivers does not
//! program MSI-X vectors, so the device signals on its legacy INTx pin,
//! routed through the IOAPIC. That line is level-triggered: it stays
//! asserted until the driver reads the device's ISR register. Reading it
//! needs the driver, which the network stack's lock protects, and an
//! interrupt handler must not wait for a lock held by a goroutine on
//! another core. So the handler does the least possible: mask the line
//! ([`on_interrupt`]), tell the runtime (`netpoll_device_event`; `main`
//! wires the two together), EOI. The poller, holding the
//! lock, acknowledges the device ([`VirtioNet::ack`]), processes the queues
//! and unmasks the line ([`VirtioNet::rearm`]); if the device asserted
//! again meanwhile, unmasking delivers the interrupt again, so none is lost.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::sync::atomic::{AtomicU32, Ordering};

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use virtio_drivers::device::net::VirtIONetRaw;
use virtio_drivers::transport::pci::bus::{Command, ConfigurationAccess, PciRoot};
use virtio_drivers::transport::pci::{PciTransport, virtio_device_type};
use virtio_drivers::transport::DeviceType;

use super::virtio_hal::VirtioHal;
use crate::arch::{cpu, ioapic, pci::Bus0};

/// Descriptors per virtqueue; also the number of receive buffers posted.
const QUEUE_SIZE: usize = 64;
/// One Ethernet frame (1514 bytes) plus the virtio-net header, rounded up.
const BUF_LEN: usize = 2048;
/// Ethernet MTU as smoltcp counts it (frame without the FCS).
const MTU: usize = 1514;

/// The interrupt line, for the handler; `u32::MAX` until the card is up.
static GSI: AtomicU32 = AtomicU32::new(u32::MAX);

type Raw = VirtIONetRaw<VirtioHal, PciTransport, QUEUE_SIZE>;

struct Queues {
    raw: Raw,
    /// Receive buffers posted to the device, by descriptor token.
    rx: [Option<Box<[u8]>>; QUEUE_SIZE],
    /// Frames being sent, by token, with their length (header included).
    tx: [Option<(Box<[u8]>, usize)>; QUEUE_SIZE],
    /// Sent buffers, for reuse.
    spare: Vec<Box<[u8]>>,
    /// Frames handed to the device so far.
    sent: u64,
}

/// The network card. Lives inside the network stack, under its lock.
pub struct VirtioNet {
    queues: RefCell<Queues>,
    mac: [u8; 6],
    gsi: u32,
}

// SAFETY: the device's registers and queues are only used by whoever holds
// the network stack's lock, i.e. one core at a time.
unsafe impl Send for VirtioNet {}

/// Finds the virtio-net device on PCI bus 0 (its configuration space at
/// `ecam_bus0`), initialises it, posts its receive buffers and routes its
/// interrupt line to the bootstrap core.
pub fn init(ecam_bus0: u64) -> Result<VirtioNet, &'static str> {
    let bus = Bus0::map(ecam_bus0);
    // SAFETY: `config` only reads (the interrupt pin) while `root` is used.
    let config = unsafe { bus.unsafe_clone() };
    let mut root = PciRoot::new(bus);
    let (df, _) = root
        .enumerate_bus(0)
        .find(|(_, info)| virtio_device_type(info) == Some(DeviceType::Network))
        .ok_or("no virtio-net device on PCI bus 0")?;
    root.set_command(df, Command::MEMORY_SPACE | Command::BUS_MASTER);
    let gsi = config.intx_gsi(df).ok_or("virtio-net has no INTx interrupt line")?;
    let transport = PciTransport::new::<VirtioHal, _>(&mut root, df).map_err(|_| "virtio-net: bad PCI transport")?;
    let mut raw = Raw::new(transport).map_err(|_| "virtio-net: device initialisation failed")?;
    let mac = raw.mac_address();
    let mut rx = [const { None }; QUEUE_SIZE];
    for _ in 0..QUEUE_SIZE {
        let mut buf = vec![0u8; BUF_LEN].into_boxed_slice();
        // SAFETY: the buffer is kept in `rx` (on the heap, never moved)
        // until the device hands it back.
        let token = unsafe { raw.receive_begin(&mut buf) }.map_err(|_| "virtio-net: posting receive buffers")?;
        rx[token as usize] = Some(buf);
    }
    GSI.store(gsi, Ordering::Relaxed);
    ioapic::route_level(gsi, cpu::get(0).expect("the bootstrap core").apic_id);
    crate::println!("virtio-net: pci 00:{:02x}.{} mac {:02x?} irq gsi {gsi}", df.device, df.function, mac);
    let queues = Queues { raw, rx, tx: [const { None }; QUEUE_SIZE], spare: Vec::new(), sent: 0 };
    Ok(VirtioNet { queues: RefCell::new(queues), mac, gsi })
}

/// The interrupt handler's part (see the module comment): masks the line
/// and returns true if the card is up — the caller then tells the
/// netpoller (`network_interrupt` in `main.rs`).
pub fn on_interrupt() -> bool {
    let gsi = GSI.load(Ordering::Relaxed);
    if gsi != u32::MAX {
        ioapic::set_masked(gsi, true);
    }
    gsi != u32::MAX
}

impl VirtioNet {
    /// Frames handed to the device so far.
    pub fn frames_sent(&self) -> u64 {
        self.queues.borrow().sent
    }

    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Acknowledges the device's interrupt (reading its ISR register
    /// deasserts the line). Before processing the queues.
    pub fn ack(&mut self) {
        self.queues.get_mut().raw.ack_interrupt();
    }

    /// Unmasks the interrupt line. After processing the queues.
    pub fn rearm(&self) {
        ioapic::set_masked(self.gsi, false);
    }
}

impl Queues {
    /// Takes back the buffers of frames the device has sent.
    fn reap_tx(&mut self) {
        while let Some(token) = self.raw.poll_transmit() {
            let Some((buf, len)) = self.tx[token as usize].take() else { break };
            // SAFETY: the same buffer and length as in `transmit_begin`.
            let _ = unsafe { self.raw.transmit_complete(token, &buf[..len]) };
            self.spare.push(buf);
        }
    }
}

pub struct RxToken<'a> {
    queues: &'a RefCell<Queues>,
    /// The received frame's buffer; reposted when the token is consumed or
    /// dropped, so the receive ring never shrinks.
    buf: Option<Box<[u8]>>,
    frame: core::ops::Range<usize>,
}

pub struct TxToken<'a> {
    queues: &'a RefCell<Queues>,
}

impl phy::Device for VirtioNet {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let q = self.queues.get_mut();
        let token = q.raw.poll_receive()?;
        let mut buf = q.rx[token as usize].take()?;
        // SAFETY: the same buffer that was posted with this token.
        let frame = match unsafe { q.raw.receive_complete(token, &mut buf) } {
            Ok((header, len)) => header..header + len,
            Err(_) => 0..0, // a bad completion: drop the frame, repost the buffer
        };
        Some((RxToken { queues: &self.queues, buf: Some(buf), frame }, TxToken { queues: &self.queues }))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        let q = self.queues.get_mut();
        q.reap_tx();
        q.raw.can_send().then_some(TxToken { queues: &self.queues })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MTU;
        caps
    }
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.buf.as_ref().expect("an unconsumed token has its buffer")[self.frame.clone()])
    }
}

impl Drop for RxToken<'_> {
    fn drop(&mut self) {
        let Some(mut buf) = self.buf.take() else { return };
        let mut q = self.queues.borrow_mut();
        // SAFETY: as in `init`: the buffer is kept in `rx` until returned.
        if let Ok(token) = unsafe { q.raw.receive_begin(&mut buf) } {
            q.rx[token as usize] = Some(buf);
        }
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut q = self.queues.borrow_mut();
        let mut buf = q.spare.pop().unwrap_or_else(|| vec![0u8; BUF_LEN].into_boxed_slice());
        let header = q.raw.fill_buffer_header(&mut buf).expect("virtio-net: header fits a buffer");
        let result = f(&mut buf[header..header + len]);
        // SAFETY: the buffer is kept in `tx` until `reap_tx` takes it back.
        match unsafe { q.raw.transmit_begin(&buf[..header + len]) } {
            Ok(token) => {
                q.tx[token as usize] = Some((buf, header + len));
                q.sent += 1;
            }
            Err(_) => q.spare.push(buf), // queue full: the frame is dropped, TCP resends
        }
        result
    }
}
