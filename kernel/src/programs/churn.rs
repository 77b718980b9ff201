//! `PROG=churn`: spawn/exit storms through the per-P caches. Waves of
//! goroutines each spawn children; every child takes a token from a per-P
//! cache (`runtime::mcache`), stamps its own id into it, yields, checks the
//! stamp and its goroutine id are unchanged (an object handed out twice
//! would be overwritten), and frees the token on whatever P it is on now.
//! At the end every child must have run once and every token be back in a
//! cache: none lost, none handed out twice.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use super::Args;
use crate::runtime::mcache::{Central, Local};
use crate::runtime::{self, WaitGroup};

struct Token {
    owner: u64,
}

static TOKENS: Central<Token> = Central::new();

pub fn main(args: &Args) -> Result<(), String> {
    let waves = 20;
    let parents = 4 * args.ncpu;
    let children = args.n.unwrap_or(100) as usize;
    let per_wave = parents * children;
    let locals: Arc<Vec<Local<Token>>> = Arc::new((0..args.ncpu).map(|_| Local::new()).collect());
    let ran: Arc<Vec<AtomicU8>> = Arc::new((0..waves * per_wave).map(|_| AtomicU8::new(0)).collect());
    let errors = Arc::new(AtomicU64::new(0));
    let goroutines0 = runtime::num_goroutine();
    for wave in 0..waves {
        let wg = Arc::new(WaitGroup::new());
        wg.add(per_wave as i64);
        for p in 0..parents {
            let (locals, ran, errors, wg) = (locals.clone(), ran.clone(), errors.clone(), wg.clone());
            runtime::go(move || {
                for c in 0..children {
                    let id = (wave * per_wave + p * children + c) as u64;
                    let (locals, ran, errors, wg) = (locals.clone(), ran.clone(), errors.clone(), wg.clone());
                    runtime::go(move || {
                        let goid = runtime::goid();
                        let slot = runtime::without_preemption(|| locals[runtime::pid()].alloc(&TOKENS))
                            .expect("out of memory for tokens");
                        // SAFETY: the slot is ours until we free it.
                        let token = unsafe { &mut *slot.as_ptr() }.write(Token { owner: id });
                        runtime::gosched();
                        if token.owner != id || runtime::goid() != goid {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                        runtime::without_preemption(|| locals[runtime::pid()].free(&TOKENS, slot));
                        ran[id as usize].fetch_add(1, Ordering::Relaxed);
                        wg.done();
                    });
                }
            });
        }
        wg.wait();
    }
    // Every G has signalled; wait until they have all exited.
    while runtime::num_goroutine() > goroutines0 {
        runtime::time::sleep(1_000_000);
    }
    let once = ran.iter().filter(|r| r.load(Ordering::Relaxed) == 1).count();
    let cached: usize = locals.iter().map(|l| l.len()).sum();
    let (central, created) = TOKENS.counts();
    crate::println!(
        "churn: goroutines={} ran_once={once} errors={} tokens_created={created} tokens_free={}",
        ran.len(),
        errors.load(Ordering::Relaxed),
        cached + central
    );
    if errors.load(Ordering::Relaxed) != 0 {
        return Err(format!("{} tokens or goroutine ids changed under their owner", errors.load(Ordering::Relaxed)));
    }
    if once != ran.len() {
        return Err(format!("{} goroutines did not run exactly once", ran.len() - once));
    }
    if cached + central != created {
        return Err(format!("tokens lost: {created} created, {} free", cached + central));
    }
    Ok(())
}
