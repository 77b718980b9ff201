//! The narrow entry through which interrupts reach the layers above arch.
//!
//! arch handles the hardware side of an interrupt (the EOI, reading CR2,
//! masking) and knows nothing of drivers or the runtime: what happens next
//! is a function in this table, which `main` — the top of the kernel, the
//! one place that knows every layer — fills in and installs once, in
//! `init_bsp`, before the IDT is built and before any core enables
//! interrupts. So calls go down, and events come up only through here.
//!
//! The table is read on every tick and device interrupt: one Acquire load
//! (a plain `mov` on x86) and an indirect call, no lock.

/// What the kernel does with the interrupts arch hands on. Every function
/// runs in interrupt context, with interrupts off, on whichever core took
/// the interrupt.
pub struct InterruptEntry {
    /// Every core's timer tick, after its EOI. Last in the handler: it may
    /// switch away from the interrupted code (preemption).
    pub tick: fn(),
    /// A PCI device's interrupt line, before its EOI: the driver's part,
    /// which masks a level-triggered line (see `ioapic`).
    pub device: fn(),
    /// After the device's EOI. Last in the handler: it may switch away.
    pub after_device: fn(),
    /// The interrupt line (GSI) of the console's receive interrupt: a fact
    /// of the console driver, routed to the bootstrap core by `init_bsp`.
    pub console_gsi: u32,
    /// The console's receive interrupt, before its EOI.
    pub console_input: fn(),
    /// A page fault on a page that is not present, with the faulting
    /// address: true if it grew the running goroutine's stack (Go's
    /// `morestack`), and the faulting instruction is to be retried. Runs on
    /// the page-fault IST stack and must take no lock.
    pub stack_fault: fn(u64) -> bool,
}

static ENTRY: spin::Once<&'static InterruptEntry> = spin::Once::new();

/// Installs the table. Called once, by `init_bsp`.
pub(super) fn install(entry: &'static InterruptEntry) {
    ENTRY.call_once(|| entry);
}

/// The installed table; `None` only before `init_bsp` (a fault in early
/// boot is then reported as it is).
#[inline]
pub(super) fn get() -> Option<&'static InterruptEntry> {
    ENTRY.get().copied()
}
