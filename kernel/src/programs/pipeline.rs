//! `PROG=pipeline` (`N=` primes, default 100): the concurrent prime sieve
//! of Go's tour — a chain of goroutines connected by unbuffered channels.
//! A generator sends 2, 3, 4, ...; each prime found gets its own filter
//! goroutine that passes on only the numbers it does not divide. The
//! numbers flow through up to N goroutines; the primes come out at the end
//! of the chain. They are checked against a sieve of Eratosthenes.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::Args;
use crate::runtime::{self, Chan};

/// Sends 2, 3, 4, ... to `ch`.
fn generate(ch: Chan<u64>) {
    for i in 2.. {
        ch.send(i);
    }
}

/// Copies the values from `inp` to `out`, removing those divisible by `prime`.
fn filter(inp: Chan<u64>, out: Chan<u64>, prime: u64) {
    loop {
        let (i, _) = inp.recv();
        if i % prime != 0 {
            out.send(i);
        }
    }
}

pub fn main(args: &Args) -> Result<(), String> {
    let n = args.n.unwrap_or(100) as usize;
    if n == 0 {
        return Err("N must be at least 1".into());
    }
    let mut ch = Chan::new(0);
    {
        let ch = ch.clone();
        runtime::go(move || generate(ch));
    }
    let mut primes = Vec::with_capacity(n);
    for _ in 0..n {
        let (prime, _) = ch.recv();
        primes.push(prime);
        let ch1 = Chan::new(0);
        let (inp, out) = (ch, ch1.clone());
        runtime::go(move || filter(inp, out, prime));
        ch = ch1;
    }
    crate::println!("pipeline: the first {n} primes, through a chain of {n} filter goroutines:");
    for row in primes.chunks(15) {
        let row: Vec<String> = row.iter().map(|p| format!("{p}")).collect();
        crate::println!("pipeline:   {}", row.join(" "));
    }
    let expected = first_primes(n);
    if let Some(i) = (0..n).find(|&i| primes[i] != expected[i]) {
        return Err(format!("prime #{} is {}, expected {}", i + 1, primes[i], expected[i]));
    }
    crate::println!("pipeline: n={n} last={} ok", primes[n - 1]);
    Ok(())
}

/// The first `n` primes by the sieve of Eratosthenes (the reference).
fn first_primes(n: usize) -> Vec<u64> {
    let mut limit = 16;
    loop {
        let mut composite = vec![false; limit];
        let mut primes = Vec::new();
        for i in 2..limit {
            if !composite[i] {
                primes.push(i as u64);
                for j in (i * i..limit).step_by(i) {
                    composite[j] = true;
                }
            }
        }
        if primes.len() >= n {
            primes.truncate(n);
            return primes;
        }
        limit *= 2;
    }
}
