//! The console: COM1 (a 16550 UART at port 0x3f8) behind an [`IrqLock`];
//! and COM2 (0x2f8), an output-only channel for the execution trace.

use core::fmt::{self, Write};

use uart_16550::SerialPort;
use x86_64::instructions::port::Port;

use crate::sync::IrqLock;

const COM1: u16 = 0x3f8;
const COM2: u16 = 0x2f8;
/// 16550 registers, as offsets from the base port.
const SCRATCH: u16 = 7;
const LINE_STATUS: u16 = 5;
/// Line status: the transmit FIFO is empty.
const THR_EMPTY: u8 = 1 << 5;
/// The 16550's transmit FIFO holds this many bytes.
const TX_FIFO: usize = 16;

static CONSOLE: IrqLock<Option<SerialPort>> = IrqLock::new(None);

/// Initialises COM1. Called once, first thing, by the bootstrap core.
pub fn init() {
    // SAFETY: 0x3f8 is COM1 on every PC QEMU emulates; nothing else uses it.
    let mut port = unsafe { SerialPort::new(COM1) };
    port.init();
    *CONSOLE.lock() = Some(port);
}

/// Writes formatted text to the console; used by `print!`/`println!`.
pub fn print(args: fmt::Arguments) {
    if let Some(port) = CONSOLE.lock().as_mut() {
        let _ = port.write_fmt(args);
    }
}

/// Writes to the console even if another core died holding its lock: the
/// panic and fault reports must get out. Gives the holder a moment, then
/// writes through a fresh handle on the same port.
pub fn print_emergency(args: fmt::Arguments) {
    match CONSOLE.try_lock_for(1 << 20) {
        Some(mut guard) => {
            if let Some(port) = guard.as_mut() {
                let _ = port.write_fmt(args);
            }
        }
        None => {
            // SAFETY: the lock's holder is stopped or stuck; interleaving
            // its half-written line with ours is the lesser evil.
            let mut port = unsafe { SerialPort::new(COM1) };
            let _ = port.write_fmt(args);
        }
    }
}

/// Prepares COM2 for the execution trace; false if the machine has no
/// COM2 (QEMU adds it only for a second `-serial`), which shows as a
/// scratch register that does not keep what is written to it.
pub fn trace_port_init() -> bool {
    // SAFETY: 0x2f8..0x300 is COM2 on every PC; only the trace uses it.
    unsafe {
        let mut scratch = Port::<u8>::new(COM2 + SCRATCH);
        scratch.write(0x5a);
        if scratch.read() != 0x5a {
            return false;
        }
        // 115200 8N1 with the FIFOs on (the crate's `init`).
        SerialPort::new(COM2).init();
    }
    true
}

/// Sends `bytes` on COM2, a FIFO-load at a time: wait until the transmit
/// FIFO is empty, then write up to 16 bytes without looking (one status
/// read per 16 bytes instead of one per byte). Only the trace's flush
/// calls it, on one core at a time.
pub fn trace_port_write(bytes: &[u8]) {
    let mut status = Port::<u8>::new(COM2 + LINE_STATUS);
    let mut data = Port::<u8>::new(COM2);
    for chunk in bytes.chunks(TX_FIFO) {
        // SAFETY: COM2's status and data registers (see `trace_port_init`).
        unsafe {
            while status.read() & THR_EMPTY == 0 {
                core::hint::spin_loop();
            }
            for &b in chunk {
                data.write(b);
            }
        }
    }
}

/// The console's interrupt line (ISA IRQ 4, identity-mapped to GSI 4).
pub const COM1_GSI: u32 = 4;

/// The next byte COM1 received, if any; COM1's receive interrupt drains
/// them (see `console_input` in `main.rs`).
pub fn receive() -> Option<u8> {
    CONSOLE.lock().as_mut().and_then(|port| port.try_receive().ok())
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::drivers::serial::print(format_args!($($arg)*)) };
}

#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => { $crate::drivers::serial::print(format_args!("{}\n", format_args!($($arg)*))) };
}
