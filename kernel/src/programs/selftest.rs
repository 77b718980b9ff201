//! Self-tests of the foundation, run by `tests/` in QEMU: the timer on
//! every core, IPIs between every pair of cores, the heap under concurrent
//! stress, and the fault, panic and stack-overflow reports.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::Args;
use crate::arch::{cpu, smp};
use crate::arch::time::nanotime;
use crate::runtime::{self, WaitGroup, time, watchdog};

/// Spins (the G is alone on its P) until `done()` or `ms` milliseconds pass.
fn wait_until(ms: u64, done: impl Fn() -> bool) -> bool {
    let deadline = nanotime() + ms * 1_000_000;
    while !done() {
        if nanotime() > deadline {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

/// `PROG=timer`: every busy core takes LAPIC timer interrupts, and an idle
/// core takes none (core 0's tick, sysmon, sleeps while every P is idle). Phase 1 keeps every core
/// busy with a spinning goroutine per P; phase 2 lets them all go idle for
/// 100 ms.
pub fn timer(args: &Args) -> Result<(), String> {
    const WANT: u64 = 20;
    if runtime::gomaxprocs() != args.ncpu {
        return Err("needs a P on every core (leave GOMAXPROCS unset)".into());
    }
    let ticks = |i| cpu::get(i).map_or(0, |c| c.ticks.load(Ordering::Relaxed));
    let start: Vec<u64> = (0..args.ncpu).map(ticks).collect();
    let all_ticked = Arc::new(AtomicBool::new(false));
    let wg = Arc::new(WaitGroup::new());
    wg.add(args.ncpu as i64 - 1);
    for _ in 1..args.ncpu {
        let (all_ticked, wg) = (all_ticked.clone(), wg.clone());
        runtime::go(move || {
            wait_until(5_000, || all_ticked.load(Ordering::Relaxed));
            wg.done();
        });
    }
    let ok = wait_until(5_000, || (0..args.ncpu).all(|i| ticks(i) >= start[i] + WANT));
    all_ticked.store(true, Ordering::Relaxed);
    wg.wait();
    let counts: Vec<String> = (0..args.ncpu).map(|i| format!("{}", ticks(i) - start[i])).collect();

    let before: Vec<u64> = (0..args.ncpu).map(ticks).collect();
    time::sleep(100_000_000);
    let idle: Vec<String> = (0..args.ncpu).map(|i| format!("{}", ticks(i) - before[i])).collect();
    crate::println!("timer: ticks=[{}] idle_ticks=[{}]", counts.join(" "), idle.join(" "));
    if !ok {
        return Err(format!("some core took fewer than {WANT} ticks in 5 s"));
    }
    Ok(())
}

/// The core that started the current round trip, and the one it pinged.
static PING_FROM: AtomicUsize = AtomicUsize::new(0);
static PING_TO: AtomicUsize = AtomicUsize::new(0);
static PONG_BACK: AtomicBool = AtomicBool::new(false);
static WRONG_CORE: AtomicBool = AtomicBool::new(false);

fn check_core(expected: usize) {
    if cpu::id() != expected {
        WRONG_CORE.store(true, Ordering::Relaxed);
    }
}

fn ping(to: usize) {
    check_core(PING_FROM.load(Ordering::Relaxed));
    smp::call(to, pong, cpu::id()).expect("pong call");
}

fn pong(from: usize) {
    check_core(PING_TO.load(Ordering::Relaxed));
    smp::call(from, back, 0).expect("back call");
}

fn back(_: usize) {
    check_core(PING_FROM.load(Ordering::Relaxed));
    PONG_BACK.store(true, Ordering::Release);
}

/// `PROG=ipi`: for every ordered pair of cores (a, b), a sends an IPI to b
/// and b answers with an IPI to a; each handler checks it runs on the core
/// the IPI was addressed to.
pub fn ipi(args: &Args) -> Result<(), String> {
    let mut pairs = 0;
    for a in 0..args.ncpu {
        for b in (0..args.ncpu).filter(|&b| b != a) {
            PING_FROM.store(a, Ordering::Relaxed);
            PING_TO.store(b, Ordering::Relaxed);
            PONG_BACK.store(false, Ordering::Relaxed);
            smp::call(a, ping, b).map_err(|e| format!("cpu {a}: {e}"))?;
            if !wait_until(2_000, || PONG_BACK.load(Ordering::Acquire)) {
                return Err(format!("no IPI round trip cpu {a} -> cpu {b} -> cpu {a} within 2 s"));
            }
            pairs += 1;
        }
    }
    if WRONG_CORE.load(Ordering::Relaxed) {
        return Err("an IPI handler ran on a core it was not sent to".into());
    }
    crate::println!("ipi: pairs={pairs} ok");
    Ok(())
}

/// `PROG=heap`: 4 goroutines per core allocate, fill, check and free blocks
/// of random sizes concurrently.
pub fn heap(args: &Args) -> Result<(), String> {
    const OPS: usize = 20_000;
    let goroutines = 4 * args.ncpu;
    let errors = Arc::new(AtomicUsize::new(0));
    let wg = Arc::new(WaitGroup::new());
    wg.add(goroutines as i64);
    for id in 0..goroutines {
        let (errors, wg) = (errors.clone(), wg.clone());
        runtime::go(move || {
            let mut rng = id as u64 * 0x9e37_79b9 + 1;
            let mut live: Vec<Vec<u8>> = Vec::new();
            for op in 0..OPS {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                if live.len() < 64 && rng % 3 != 0 {
                    let size = 1 + (rng >> 20) as usize % 4096;
                    live.push(alloc::vec![(op % 251) as u8; size]);
                } else if let Some(block) = live.pop() {
                    let first = block[0];
                    if block.iter().any(|&b| b != first) {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            wg.done();
        });
    }
    wg.wait();
    let (used, size) = crate::mm::heap::usage();
    crate::println!("heap: goroutines={goroutines} ops={} heap_used={used} heap_size={size}", goroutines * OPS);
    match errors.load(Ordering::Relaxed) {
        0 => Ok(()),
        n => Err(format!("{n} blocks were corrupted")),
    }
}

/// The core a fault/panic self-test acts on: `CPU=`, default 1.
fn target_core(args: &Args) -> Result<usize, String> {
    let cpu = args.cpu.unwrap_or(1);
    if cpu >= args.ncpu {
        return Err(format!("CPU={cpu}, but cores are 0..{}", args.ncpu - 1));
    }
    Ok(cpu)
}

/// `PROG=fault`: core CPU touches an unmapped address; the run must end
/// with the fault report naming that core.
pub fn fault(args: &Args) -> Result<(), String> {
    let cpu = target_core(args)?;
    smp::call(cpu, |_| {
        // SAFETY: deliberately not safe: this address is never mapped, and
        // the page fault it causes is the point of the test.
        unsafe { core::ptr::read_volatile(0xdead_beef_000 as *const u64) };
    }, 0)?;
    wait_until(5_000, || false);
    Err("the deliberate page fault was not reported".into())
}

/// `PROG=wedge`: core CPU (default 1) spins for ever with interrupts off
/// (in its IPI handler), a hang no tick can see into; the watchdog, armed
/// for 3 s, must report it with that core's instruction pointer, which the
/// host names: [`wedged`].
pub fn wedge(args: &Args) -> Result<(), String> {
    let cpu = target_core(args)?;
    if cpu == 0 {
        return Err("CPU=0 would stop the watchdog's own tick; pick another core".into());
    }
    watchdog::arm(3_000_000_000);
    smp::call(cpu, |_| wedged(), 0)?;
    wait_until(60_000, || false);
    Err("the watchdog did not report the wedged core".into())
}

/// Where `PROG=wedge`'s core spins (never inlined, so that it has a name).
#[inline(never)]
fn wedged() -> ! {
    loop {
        core::hint::spin_loop();
    }
}

/// `PROG=panic`: core CPU panics; the run must end with the panic report
/// naming that core.
pub fn panic(args: &Args) -> Result<(), String> {
    let cpu = target_core(args)?;
    smp::call(cpu, |_| panic!("deliberate panic requested by PROG=panic"), 0)?;
    wait_until(5_000, || false);
    Err("the deliberate panic was not reported".into())
}

#[inline(never)]
#[allow(unconditional_recursion)] // the point: it only ends in the guard page
fn recurse(depth: u64) -> u64 {
    let frame = core::hint::black_box([depth; 32]);
    recurse(depth + 1).wrapping_add(frame[7])
}

/// `PROG=overflow`: a goroutine recurses without end; the report must name it.
pub fn overflow(_: &Args) -> Result<(), String> {
    runtime::go(|| {
        crate::println!("overflow: goroutine {} recurses without end", runtime::goid());
        recurse(0);
    });
    wait_until(5_000, || false);
    Err("the stack overflow was not reported".into())
}

/// `PROG=lostirq`: a goroutine moves its stack pointer to the lowest mapped
/// byte of its stack and waits, interrupts on, for a timer tick. The tick's
/// delivery must push below — onto a page not mapped yet — so it faults;
/// the page-fault handler maps the page and raises the lost tick again. If
/// it did not, the tick would stay "in service" and never come again.
pub fn lostirq(_: &Args) -> Result<(), String> {
    let before = crate::arch::apic::redelivered();
    let (ok, more) = runtime::without_preemption(|| {
        let ticks = &cpu::current().ticks;
        // Interrupts off from reading `old` until the spin enables them on
        // the edge: a tick taken in between, on the ordinary stack, would
        // end the spin at once without any fault (seen about 1 boot in 6).
        let saved = crate::arch::interrupts::disable();
        let old = ticks.load(Ordering::Relaxed);
        let low = runtime::stack_low();
        // SAFETY: `low` is page-aligned and the bottom of this goroutine's
        // mapped stack, below everything in use; what interrupts push goes
        // below it, onto pages the fault handler maps.
        let ok = unsafe { crate::arch::interrupts::spin_on_stack_until_change(low, ticks, old, 1 << 30) };
        crate::arch::interrupts::restore(saved);
        // The tick must keep coming afterwards (same core: no preemption).
        let after = ticks.load(Ordering::Relaxed);
        let more = wait_until(5_000, || ticks.load(Ordering::Relaxed) >= after + 5);
        (ok, more)
    });
    let redelivered = crate::arch::apic::redelivered() - before;
    crate::println!("lostirq: tick_taken={ok} redelivered={redelivered}");
    if !ok {
        return Err("no timer tick arrived while the stack pointer sat on the mapped edge".into());
    }
    if redelivered == 0 {
        return Err("the tick was taken without a redelivery: its delivery did not fault".into());
    }
    if !more {
        return Err("the tick stopped after the redelivery".into());
    }
    Ok(())
}
