//! `PROG=selectfair` (`N=` selects per scene, default 1000): how often a
//! `select` chooses each of its cases, on every path of `selectgo`, and
//! that it never pairs its own send with its own receive. Each scene
//! prints `selectfair: <scene> counts=a,b,...`; `tests/gosem.rs` judges
//! the counts (a chi-square against the uniform distribution).
//!
//! - `late-receiver`: two sends on one unbuffered channel; the receiver
//!   comes after the select has parked (pass 2: the receiver takes the
//!   first sudog queued on the channel).
//! - `late-sender`: the same with two receives and a late sender.
//! - `parked-receiver`: two sends on one unbuffered channel whose receiver
//!   is already parked (pass 1: the poll order decides).
//! - `buffered-mix`: four cases that are all ready, two receives from one
//!   buffered channel and two sends to another.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::Args;
use crate::runtime::{self, Chan, Select, time};

/// Long enough for the select to park before the partner arrives (if the
/// vCPU is descheduled, the scene falls into pass 1, which is uniform too).
const PARTNER_DELAY_NS: u64 = 20_000;

pub fn main(args: &Args) -> Result<(), String> {
    let n = args.n.unwrap_or(1000) as usize;
    if n == 0 {
        return Err("N must be at least 1".into());
    }
    report("late-receiver", &late_receiver(n));
    report("late-sender", &late_sender(n));
    report("parked-receiver", &parked_receiver(n));
    report("buffered-mix", &buffered_mix(n)?);
    no_self_pairing(n)?;
    crate::println!("selectfair: all ok");
    Ok(())
}

fn report(scene: &str, counts: &[u64]) {
    let list: Vec<String> = counts.iter().map(|c| format!("{c}")).collect();
    crate::println!("selectfair: {scene} counts={}", list.join(","));
}

/// `select { case c <- 0: case c <- 1: }` with the receiver arriving
/// `PARTNER_DELAY_NS` after being told to.
fn late_receiver(n: usize) -> Vec<u64> {
    late_partner(
        n,
        |c| {
            c.recv();
        },
        |c| Select::new().send(c, 0, || 0).send(c, 1, || 1).run(),
    )
}

/// `select { case <-c: case <-c: }` with the sender arriving late.
fn late_sender(n: usize) -> Vec<u64> {
    late_partner(n, |c| c.send(7), |c| Select::new().recv(c, |_, _| 0).recv(c, |_, _| 1).run())
}

/// `n` times: tell the partner goroutine to go, and `select` (two cases on
/// the unbuffered `c`, returning the case's number); the partner does its
/// side of the communication on `c` `PARTNER_DELAY_NS` after being told.
fn late_partner(n: usize, partner: fn(&Chan<u64>), select: fn(&Chan<u64>) -> usize) -> Vec<u64> {
    let c: Chan<u64> = Chan::new(0);
    let start: Chan<()> = Chan::new(0);
    {
        let (c, start) = (c.clone(), start.clone());
        runtime::go(move || {
            for _ in 0..n {
                start.recv();
                time::sleep(PARTNER_DELAY_NS);
                partner(&c);
            }
        });
    }
    let mut counts = vec![0; 2];
    for _ in 0..n {
        start.send(());
        counts[select(&c)] += 1;
    }
    counts
}

/// `select { case c <- 0: case c <- 1: }` with the receiver given time to
/// park on `c` first.
fn parked_receiver(n: usize) -> Vec<u64> {
    let c: Chan<u64> = Chan::new(0);
    {
        let c = c.clone();
        runtime::go(move || {
            for _ in 0..n {
                c.recv();
            }
        });
    }
    let mut counts = vec![0; 2];
    for _ in 0..n {
        time::sleep(PARTNER_DELAY_NS);
        let i = Select::new().send(&c, 0, || 0).send(&c, 1, || 1).run();
        counts[i] += 1;
    }
    counts
}

/// Four ready cases: receive from `full` (twice), send to `empty` (twice).
/// After each select the channels are put back as they were.
fn buffered_mix(n: usize) -> Result<Vec<u64>, String> {
    let full: Chan<u64> = Chan::new(1);
    let empty: Chan<u64> = Chan::new(1);
    full.send(1);
    let mut counts = vec![0; 4];
    for _ in 0..n {
        let i = Select::new()
            .recv(&full, |_, _| 0)
            .send(&empty, 2, || 1)
            .recv(&full, |_, _| 2)
            .send(&empty, 3, || 3)
            .default(|| 4)
            .run();
        match i {
            0 | 2 => full.send(1),
            1 | 3 => {
                empty.recv();
            }
            _ => return Err("buffered-mix: no case was ready, but all four were".into()),
        }
        counts[i] += 1;
    }
    Ok(counts)
}

/// `select { case c <- 1: case <-c: default: }` on an unbuffered channel
/// nobody else uses: the select must not hand its value to itself, so
/// `default` runs every time; without `default`, a timeout fires.
fn no_self_pairing(n: usize) -> Result<(), String> {
    let c: Chan<u64> = Chan::new(0);
    for _ in 0..n {
        let i = Select::new().send(&c, 1, || 0).recv(&c, |_, _| 1).default(|| 2).run();
        if i != 2 {
            return Err(format!("no self-pairing: case {i} fired with nobody else on the channel"));
        }
    }
    let timeout = time::after(1_000_000);
    let i = Select::new().send(&c, 1, || 0).recv(&c, |_, _| 1).recv(&timeout, |_, _| 2).run();
    if i != 2 {
        return Err(format!("no self-pairing: case {i} fired with nobody else on the channel"));
    }
    crate::println!("selectfair: no self-pairing ok ({n} selects ran default, a parked one timed out)");
    Ok(())
}
