//! The context switch: the whole of it is the dozen instructions in
//! [`switch`]. A goroutine's saved context is only its stack pointer; the
//! callee-saved registers are pushed onto its own stack before the switch and
//! popped after it. (The caller-saved ones were already saved by the
//! compiler around the call, as for any function call.)
//!
//! The kernel is built without SSE (the `x86_64-unknown-none` target is
//! soft-float), so there is no FPU state to save.

use core::arch::naked_asm;

/// A suspended stack: where `switch` left its stack pointer.
#[repr(C)]
#[derive(Default)]
pub struct Context {
    rsp: u64,
}

/// Saves the current callee-saved registers on the current stack, stores the
/// stack pointer in `*from`, loads `to`'s, and pops its registers: execution
/// continues wherever `to` last called `switch` (or at a new stack's entry).
///
/// # Safety
/// `to` must hold a context saved by `switch` or made by [`Context::new`]
/// whose stack is still alive, and nothing else may run on it.
#[unsafe(naked)]
pub unsafe extern "C" fn switch(from: *mut Context, to: *const Context) {
    naked_asm!(
        "push rbp",
        "push rbx",
        "push r12",
        "push r13",
        "push r14",
        "push r15",
        "mov [rdi], rsp",
        "mov rsp, [rsi]",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop rbx",
        "pop rbp",
        "ret",
    )
}

/// Calls `f(arg)` with the stack pointer at `top`, then returns to the
/// caller's stack (the stack switch behind Go's `systemstack`). rbp, which
/// `f` preserves as any callee does, remembers where the caller's stack was.
///
/// # Safety
/// `top` must be the 16-byte-aligned end of free, writable stack space,
/// large enough for `f`, that nothing else uses until this returns.
#[unsafe(naked)]
pub unsafe extern "C" fn call_on_stack(top: u64, f: extern "C" fn(usize), arg: usize) {
    naked_asm!("push rbp", "mov rbp, rsp", "mov rsp, rdi", "mov rdi, rdx", "call rsi", "mov rsp, rbp", "pop rbp", "ret")
}

/// First code on a new stack: `switch` "returns" here with the entry
/// function in r12 and its argument in r13.
#[unsafe(naked)]
unsafe extern "C" fn start_trampoline() -> ! {
    naked_asm!("mov rdi, r13", "call r12", "ud2")
}

impl Context {
    /// Where the suspended stack's pointer is: everything below it is free.
    pub fn sp(&self) -> u64 {
        self.rsp
    }

    /// Prepares a fresh stack ending at `top` so that switching to it calls
    /// `entry(arg)`; `entry` must never return.
    ///
    /// # Safety
    /// `top` must be the 16-byte-aligned end of a writable stack with room
    /// for seven words.
    pub unsafe fn new(top: u64, entry: extern "C" fn(usize) -> !, arg: usize) -> Context {
        let frame: [u64; 7] = [
            0,                               // r15
            0,                               // r14
            arg as u64,                      // r13
            entry as *const () as u64,          // r12
            0,                               // rbx
            0,                               // rbp
            start_trampoline as *const () as u64, // `switch`'s `ret` goes here, leaving rsp = top
        ];
        let rsp = top - (frame.len() * 8) as u64;
        // SAFETY: the caller guarantees the stack has room for the frame.
        unsafe { core::ptr::copy_nonoverlapping(frame.as_ptr(), rsp as *mut u64, frame.len()) };
        Context { rsp }
    }
}
