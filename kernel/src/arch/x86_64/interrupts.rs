//! The local interrupt flag (IF): disable, restore, enable-and-halt.

use x86_64::instructions::interrupts as x86;

/// Whether interrupts were enabled before [`disable`].
#[derive(Clone, Copy)]
pub struct Saved(bool);

impl Saved {
    pub fn were_enabled(self) -> bool {
        self.0
    }
}

/// Disables interrupts on this core and returns the previous state.
#[inline]
pub fn disable() -> Saved {
    let was = x86::are_enabled();
    x86::disable();
    Saved(was)
}

/// Restores the state returned by [`disable`].
#[inline]
pub fn restore(saved: Saved) {
    if saved.0 {
        x86::enable();
    }
}

#[inline]
pub fn enable() {
    x86::enable();
}

#[inline]
pub fn are_enabled() -> bool {
    x86::are_enabled()
}

/// Atomically enables interrupts and halts until the next one (`sti; hlt`:
/// an interrupt that arrives between the two still wakes the `hlt`), then
/// disables them again. This is how an idle M sleeps without losing a wakeup.
#[inline]
pub fn enable_and_hlt_then_disable() {
    x86::enable_and_hlt();
    x86::disable();
}

/// For the self-test of interrupt redelivery (`PROG=lostirq`): with
/// interrupts enabled and the stack pointer moved to `stack`, spins until
/// `*word != old` or `spins` rounds pass; returns whether it changed, with
/// the interrupt flag as it was. The
/// loop itself touches no stack, so the only pushes below `stack` are
/// those of interrupt delivery.
///
/// # Safety
/// `stack` must be 16-byte aligned, inside the current stack's slot, and
/// everything at or above it that is in use must stay untouched by the
/// interrupts taken meanwhile (they push below `stack`).
pub unsafe fn spin_on_stack_until_change(stack: u64, word: &core::sync::atomic::AtomicU64, old: u64, spins: u64) -> bool {
    let left: u64;
    // SAFETY: guaranteed by the caller; rsp is restored before the block ends.
    unsafe {
        core::arch::asm!(
            "pushfq",
            "pop {flags}",
            "mov {saved}, rsp",
            "mov rsp, {stack}",
            "sti",
            "2:",
            "cmp [{word}], {old}",
            "jne 3f",
            "dec {left}",
            "jnz 2b",
            "3:",
            "mov rsp, {saved}",
            "push {flags}",
            "popfq",
            flags = out(reg) _,
            saved = out(reg) _,
            stack = in(reg) stack,
            word = in(reg) word.as_ptr(),
            old = in(reg) old,
            left = inout(reg) spins => left,
        );
    }
    left != 0
}
