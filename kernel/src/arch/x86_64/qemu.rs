//! Leaving QEMU with a status, through the `isa-debug-exit` device that the
//! runner (`boot/`) attaches at port 0xf4. QEMU exits with `(value << 1) | 1`:
//! 0x10 → 33 (success), 0x11 → 35 (failure); the runner maps them to 0 and 1.

use x86_64::instructions::port::Port;

const ISA_DEBUG_EXIT: u16 = 0xf4;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub enum ExitCode {
    Success = 0x10,
    Failure = 0x11,
}

/// Ends the virtual machine.
pub fn exit(code: ExitCode) -> ! {
    // SAFETY: writing the debug-exit port only ends QEMU.
    unsafe { Port::<u32>::new(ISA_DEBUG_EXIT).write(code as u32) };
    // Not under QEMU (or no exit device): stop here.
    super::halt_forever()
}
