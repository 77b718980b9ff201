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
