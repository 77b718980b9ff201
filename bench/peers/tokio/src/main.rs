//! The Tokio side of `make bench-peers`: runs one operation N times on a
//! current-thread runtime, for bench/peers/run.sh, which counts its
//! instructions under callgrind at two values of N and divides the
//! difference by the difference in operations.
//!
//! Usage: tokio-peers OP N, with OP one of yield, spawn, spawn_many,
//! chan_pingpong (mpsc, capacity 1, in each direction).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// yield: two tasks take turns calling `yield_now`, N times each (2N yields).
async fn yield_(n: u64) {
    let stop = Arc::new(AtomicBool::new(false));
    let partner = {
        let stop = stop.clone();
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                tokio::task::yield_now().await;
            }
        })
    };
    let main = tokio::spawn(async move {
        for _ in 0..n {
            tokio::task::yield_now().await;
        }
        stop.store(true, Ordering::Relaxed);
    });
    main.await.unwrap();
    partner.await.unwrap();
}

/// spawn: spawn an empty task and await it, N times.
async fn spawn(n: u64) {
    for _ in 0..n {
        tokio::spawn(async {}).await.unwrap();
    }
}

/// spawn_many: N/1000 rounds of spawning 1000 empty tasks, then awaiting
/// all of them.
async fn spawn_many(n: u64) {
    let mut handles = Vec::with_capacity(1000);
    for _ in 0..n / 1000 {
        handles.extend((0..1000).map(|_| tokio::spawn(async {})));
        for h in handles.drain(..) {
            h.await.unwrap();
        }
    }
}

/// chan_pingpong: N round trips over two mpsc channels of capacity 1.
async fn chan_pingpong(n: u64) {
    let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel::<u64>(1);
    let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel::<u64>(1);
    let partner = tokio::spawn(async move {
        while let Some(v) = ping_rx.recv().await {
            pong_tx.send(v).await.unwrap();
        }
    });
    for i in 0..n {
        ping_tx.send(i).await.unwrap();
        pong_rx.recv().await.unwrap();
    }
    drop(ping_tx);
    partner.await.unwrap();
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (op, n) = match args.as_slice() {
        [op, n] => match n.parse::<u64>() {
            Ok(n) => (op.as_str(), n),
            Err(_) => {
                eprintln!("tokio-peers: N must be a whole number");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: tokio-peers yield|spawn|spawn_many|chan_pingpong N");
            return ExitCode::from(2);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("a current-thread runtime");
    match op {
        "yield" => rt.block_on(yield_(n)),
        "spawn" => rt.block_on(spawn(n)),
        "spawn_many" => rt.block_on(spawn_many(n)),
        "chan_pingpong" => rt.block_on(chan_pingpong(n)),
        _ => {
            eprintln!("tokio-peers: unknown operation {op:?}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
