//! Growing goroutine stacks: Go's `morestack`/`newstack`, driven by page
//! faults instead of function prologues (see `mm::stack` for the layout and
//! for why a kernel need not copy stacks as Go does), and the stack-overflow
//! report.

use core::ptr::NonNull;
use core::sync::atomic::Ordering;

use x86_64::VirtAddr;

use super::g::G;
use super::sched::try_sched;
use crate::arch::cpu;

/// The goroutine running on this core, if the scheduler is up and one is.
fn curg() -> Option<&'static G> {
    let m = try_sched()?.allm.get(cpu::id())?;
    let gp = NonNull::new(m.curg.load(Ordering::Relaxed))?;
    // SAFETY: Gs are never freed.
    Some(unsafe { gp.as_ref() })
}

/// Go's `morestack`, called by the page-fault handler with the faulting
/// address: if it lies in the running goroutine's stack below what is
/// mapped (and above the guard), maps the pages down to it and returns true
/// — the goroutine then resumes at the faulting instruction. Runs with
/// interrupts off on the fault's IST stack, and takes no lock.
///
/// Unlike Go's `newstack`, nothing is copied and the stack never moves.
/// Running out of memory is fatal, as in Go ("out of memory").
pub fn morestack(addr: u64) -> bool {
    let Some(g) = curg() else { return false };
    let addr = VirtAddr::new_truncate(addr);
    if !g.stack.can_grow_to(addr) {
        return false;
    }
    if !g.stack.grow(addr) {
        panic!("fatal error: out of memory growing the stack of goroutine {}", g.goid.load(Ordering::Relaxed));
    }
    true
}

/// If `addr` is in the guard page of the goroutine running on this core,
/// that goroutine's id (for the page-fault report).
pub fn stack_overflow_goid(addr: u64) -> Option<u64> {
    let g = curg()?;
    g.stack.in_guard(VirtAddr::new_truncate(addr)).then(|| g.goid.load(Ordering::Relaxed))
}

/// Bytes of the running goroutine's stack that are mapped.
pub fn stack_mapped() -> u64 {
    curg().map_or(0, |g| g.stack.mapped())
}

/// The lowest mapped address of the running goroutine's stack.
pub fn stack_low() -> u64 {
    curg().map_or(0, |g| g.stack.top.as_u64() - g.stack.mapped())
}
