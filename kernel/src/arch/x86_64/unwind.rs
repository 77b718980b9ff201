//! Walks an interrupted core's stack for the watchdog and the fault
//! report: from the instruction and stack pointer its NMI (or the fault)
//! saw, up through the functions that called it.
//!
//! The kernel has no frame pointers, so the walk follows the frame
//! descriptions the compiler emits for every function (`.eh_frame`, found
//! through its sorted table `.eh_frame_hdr`), the ones `recover`'s
//! unwinder reads: at each instruction they say where the caller's stack
//! pointer (the CFA) is relative to this one's, and where the return
//! address is saved. The walk needs only the stack pointer and RBP (for a
//! function that addresses its frame through RBP, which it saves like any
//! other register), so the two pointers the NMI's frame holds suffice.
//!
//! An interrupt handler's description treats the interrupted instruction's
//! address as a return address, and knows nothing of the rest of the frame
//! the CPU pushed; so when a function is an entry of the IDT
//! ([`idt::handler_pushes_error_code`]), the walk reads the interrupted RIP
//! and RSP from that frame instead, and goes on on the interrupted stack.
//!
//! It runs in an NMI, which can come at any instruction: it takes no lock,
//! allocates nothing, and reads a stack word only after a walk of the page
//! table ([`mm::mapped`]) says its page is there. It stops at the first
//! function without a description (the context switch and the boot code,
//! written in assembly), at an address outside the kernel's code, or when
//! the descriptions ask for a register it does not have.

use gimli::{
    BaseAddresses, CfaRule, EhFrame, EhFrameHdr, EndianSlice, NativeEndian, ParsedEhFrameHdr, Register, RegisterRule,
    UnwindContext, UnwindContextStorage, UnwindSection, UnwindTableRow, X86_64,
};
use x86_64::VirtAddr;

use super::idt;
use crate::mm;

unsafe extern "C" {
    static __stext: u8;
    static __etext: u8;
    static __GNU_EH_FRAME_HDR: u8;
    static __eh_frame_hdr_end: u8;
    static __eh_frame_start: u8;
    static __eh_frame_end: u8;
}

/// The unwind rules of one function at one instruction, kept on the NMI's
/// stack (16 KiB): 32 registers is more than x86_64 has (an interrupt
/// handler saves all 15 and its return address).
struct OnStack;

impl<T: gimli::ReaderOffset> UnwindContextStorage<T> for OnStack {
    type Rules = [(Register, RegisterRule<T>); 32];
    type Stack = [UnwindTableRow<T, Self>; 2];
}

const _: () = assert!(
    core::mem::size_of::<UnwindContext<usize, OnStack>>() <= 8 * 1024,
    "the unwind rules must fit on the NMI stack"
);

type Section = EndianSlice<'static, NativeEndian>;

/// Where the walk is: an instruction address, whether it is where the
/// core (or the code an interrupt stopped) was rather than a return
/// address (one past a call), and the two registers the frame
/// descriptions are relative to.
struct Regs {
    pc: u64,
    interrupted: bool,
    rsp: u64,
    rbp: Option<u64>,
}

/// One function on a walked stack.
#[derive(Clone, Copy)]
pub struct Frame {
    /// Where it is: a return address (one past the call it is in), or
    /// the instruction an interrupt stopped.
    pub pc: u64,
    /// Whether `pc` is an interrupted instruction: the first frame's and
    /// the one below each interrupt handler.
    pub interrupted: bool,
}

/// As the reports print a frame: `ret=0x...`, or `interrupted at
/// rip=0x...` (the host names both: `boot::symbols`).
impl core::fmt::Display for Frame {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        match self.interrupted {
            true => write!(f, "interrupted at rip={:#x}", self.pc),
            false => write!(f, "ret={:#x}", self.pc),
        }
    }
}

/// Walks the stack of the code interrupted at `rip` with stack pointer
/// `rsp`: calls `each` with that instruction's frame and then each
/// caller's, innermost first, at most `max` times. Returns whether the
/// stack goes on past the last frame given (the walk stopped at `max`).
pub fn walk(rip: u64, rsp: u64, max: usize, mut each: impl FnMut(Frame)) -> bool {
    let tables = Tables::new();
    let mut regs = Regs { pc: rip, interrupted: true, rsp, rbp: None };
    for _ in 0..max {
        if !code().contains(&regs.pc) {
            return false;
        }
        each(Frame { pc: regs.pc, interrupted: regs.interrupted });
        match tables.as_ref().and_then(|t| step(t, &regs)) {
            Some(caller) => regs = caller,
            None => return false,
        }
    }
    code().contains(&regs.pc)
}

/// Walks the caller's own stack, as [`walk`] does an interrupted one,
/// starting in this function: through the interrupt frame of a handler
/// that called it, down into the code that the interrupt stopped.
#[inline(never)]
pub fn walk_here(max: usize, each: impl FnMut(Frame)) -> bool {
    let (rip, rsp): (u64, u64);
    // SAFETY: reads this instruction's address and the stack pointer at
    // it, which is what the frame description of that address is
    // relative to; nothing is written.
    unsafe { core::arch::asm!("lea {}, [rip]", "mov {}, rsp", out(reg) rip, out(reg) rsp, options(nomem, nostack, preserves_flags)) };
    walk(rip, rsp, max, each)
}

/// What a report prints where it stops walking a stack that goes on
/// (Go's traceback prints the same at its limit).
pub const ELIDED: &str = "...additional frames elided...";

/// The kernel's code (`unwind.ld` defines the symbols).
fn code() -> core::ops::Range<u64> {
    (&raw const __stext) as u64..(&raw const __etext) as u64
}

/// The registers of the function that called the one at `regs.pc`.
fn step(t: &Tables, regs: &Regs) -> Option<Regs> {
    // A return address is one past its call, which may be the function's
    // last instruction: look the call itself up.
    let at = if regs.interrupted { regs.pc } else { regs.pc - 1 };
    let fde = t.hdr.table()?.fde_for_address(&t.eh_frame, &t.bases, at, EhFrame::cie_from_offset).ok()?;
    let mut ctx = UnwindContext::<usize, OnStack>::new_in();
    let row = fde.unwind_info_for_address(&t.eh_frame, &t.bases, &mut ctx, at).ok()?;
    let cfa = match *row.cfa() {
        CfaRule::RegisterAndOffset { register, offset } if register == X86_64::RSP => regs.rsp.wrapping_add_signed(offset),
        CfaRule::RegisterAndOffset { register, offset } if register == X86_64::RBP => regs.rbp?.wrapping_add_signed(offset),
        _ => return None,
    };
    let saved = |register| match row.register(register) {
        Some(RegisterRule::Offset(offset)) => read(cfa.wrapping_add_signed(offset)),
        _ => None,
    };
    // RBP keeps its value through a function that does not save it.
    let rbp = match row.register(X86_64::RBP) {
        None | Some(RegisterRule::SameValue) => regs.rbp,
        _ => saved(X86_64::RBP),
    };
    if let Some(error_code) = idt::handler_pushes_error_code(fde.initial_address()) {
        // Every function's description starts with CFA = RSP + 8, so the
        // CPU's frame starts 8 below the CFA: [error code,] RIP, CS,
        // RFLAGS, RSP, SS.
        // (Wrapping: the kernel checks overflow, and a wrong CFA must end
        // the walk at `read`, not panic in an NMI.)
        let frame = cfa.wrapping_sub(8).wrapping_add(if error_code { 8 } else { 0 });
        return Some(Regs { pc: read(frame)?, interrupted: true, rsp: read(frame.wrapping_add(24))?, rbp });
    }
    let pc = saved(X86_64::RA)?;
    // Each caller's frame lies above its callee's on the same stack.
    (cfa > regs.rsp).then_some(Regs { pc, interrupted: false, rsp: cfa, rbp })
}

/// `.eh_frame`, the base addresses its pointers are relative to, and the
/// parsed table that finds a function's description in it: read once
/// per walk.
struct Tables {
    eh_frame: EhFrame<Section>,
    bases: BaseAddresses,
    hdr: ParsedEhFrameHdr<Section>,
}

impl Tables {
    fn new() -> Option<Tables> {
        let hdr_start = &raw const __GNU_EH_FRAME_HDR;
        let frame_start = &raw const __eh_frame_start;
        // SAFETY: the linker script's symbols bound the two sections,
        // which are part of the kernel image, mapped and never written.
        let (hdr, frame) = unsafe {
            (
                core::slice::from_raw_parts(hdr_start, (&raw const __eh_frame_hdr_end).offset_from_unsigned(hdr_start)),
                core::slice::from_raw_parts(frame_start, (&raw const __eh_frame_end).offset_from_unsigned(frame_start)),
            )
        };
        let bases = BaseAddresses::default()
            .set_text(code().start)
            .set_eh_frame_hdr(hdr_start as u64)
            .set_eh_frame(frame_start as u64);
        let hdr = EhFrameHdr::new(hdr, NativeEndian).parse(&bases, 8).ok()?;
        Some(Tables { eh_frame: EhFrame::new(frame, NativeEndian), bases, hdr })
    }
}

/// The stack word at `addr`, if its page is mapped.
fn read(addr: u64) -> Option<u64> {
    if addr % 8 != 0 || !VirtAddr::try_new(addr).is_ok_and(mm::mapped) {
        return None;
    }
    // SAFETY: aligned, and its page is mapped (a stack page in use by the
    // interrupted core is not unmapped under it: a stack shrinks only
    // once its goroutine has exited).
    Some(unsafe { core::ptr::read_volatile(addr as *const u64) })
}
