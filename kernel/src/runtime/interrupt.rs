//! How interrupts enter the runtime: `main` installs these two functions
//! in arch's `InterruptEntry`, and arch calls them after the interrupt's
//! EOI. The tick dispatches to sysmon (core 0) and to this core's
//! preemption check; the device interrupt to wake-up preemption for the
//! network. Go has no tick: its sysmon is a thread that sleeps and
//! preempts by signal (`preemptone`, handled by `doSigPreempt`); here the
//! timer interrupt plays both parts.

use super::m::getm;
use super::sched::try_sched;
use super::{netpreempt, preempt, sysmon};

/// Called from every core's timer interrupt. Each core looks after its own
/// P: the interrupt holds the running G's registers, so that is where it can
/// act. Core 0's tick also plays Go's sysmon for what is global.
///
/// Runtime code touches a P only on g0 (interrupts off) or under `acquirem`
/// (`m.locks > 0`), so a tick that interrupted a goroutine with `m.locks ==
/// 0` never finds its P half-edited.
pub fn timer_tick() {
    let Some(s) = try_sched() else { return };
    let m = getm();
    let now = crate::arch::time::nanotime();
    if m.id == 0 {
        sysmon::sysmon(s, now);
    }
    // Last: this may switch away from the interrupted G (preemption).
    preempt::tick(m, now);
}

/// After the network card's interrupt (and its EOI): the running G may
/// have to make room for the goroutines the packet will ready
/// (`netpreempt.rs`). Last in the handler: this may switch away.
pub fn device_interrupt() {
    if try_sched().is_some() {
        netpreempt::on_device_interrupt(getm(), crate::arch::time::nanotime());
    }
}
