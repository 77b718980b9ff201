//! The console: COM1 (a 16550 UART at port 0x3f8) behind an [`IrqLock`].

use core::fmt::{self, Write};

use uart_16550::SerialPort;

use crate::sync::IrqLock;

const COM1: u16 = 0x3f8;

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

/// The console's interrupt line (ISA IRQ 4, identity-mapped to GSI 4).
pub const COM1_GSI: u32 = 4;

/// Called from COM1's receive interrupt: drains what arrived. Ctrl-\\ asks
/// for a goroutine dump, as SIGQUIT does for a Go program; nothing else
/// reads the console yet, so other bytes are dropped.
pub fn on_input() {
    loop {
        let byte = CONSOLE.lock().as_mut().and_then(|port| port.try_receive().ok());
        match byte {
            Some(0x1c) => crate::runtime::sigquit(),
            Some(_) => {}
            None => return,
        }
    }
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
