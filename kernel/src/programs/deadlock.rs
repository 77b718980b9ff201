//! `PROG=deadlock`: a program that can never finish, to show Go's
//! deadlock detector (`checkdead`). Goroutines block on a channel send, a
//! select, a mutex, a WaitGroup, and a send and a receive on a nil channel
//! (which block forever); main blocks on a receive nobody will
//! ever satisfy. When the last core goes idle the runtime prints
//! `fatal error: all goroutines are asleep - deadlock!` and every
//! goroutine with what it waits for, and the run fails.

use alloc::string::String;

use super::Args;
use crate::runtime::{self, Chan, Mutex, Select, WaitGroup, time};

static MU: Mutex<()> = Mutex::new(());
static WG: WaitGroup = WaitGroup::new();

pub fn main(_args: &Args) -> Result<(), String> {
    let nobody_receives: Chan<u64> = Chan::new(0);
    let nobody_sends: Chan<u64> = Chan::new(0);
    let silent: Chan<u64> = Chan::new(1);
    let _held = MU.lock();
    WG.add(1);
    {
        let c = nobody_receives.clone();
        runtime::go(move || c.send(1));
    }
    {
        let (a, b) = (nobody_sends.clone(), silent.clone());
        runtime::go(move || Select::new().recv(&a, |_, _| ()).recv(&b, |_, _| ()).run());
    }
    runtime::go(|| drop(MU.lock()));
    runtime::go(|| WG.wait());
    // A sleeper does not count as deadlocked: the detector must wait for it.
    runtime::go(|| time::sleep(50_000_000));
    runtime::go(|| Chan::<u64>::nil().send(1));
    runtime::go(|| {
        Chan::<u64>::nil().recv();
    });
    crate::println!("deadlock: main waits for a value nobody will send");
    let _ = nobody_sends.recv();
    Err("main received a value nobody sent".into())
}
