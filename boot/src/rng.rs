//! A seeded random number generator, for what must replay from a seed:
//! `make torture`'s boots and the fuzz tests in QEMU (splitmix64: every
//! seed, 0 included, gives a good stream; the kernel's `PROG=torture` has
//! its own copy, on the other side of the fw_cfg line).

pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// A new seed from the clock.
pub fn clock_seed() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
}

/// The seed of this run: `$name` from the environment if set (to replay a
/// failure), else [`clock_seed`]. Printed either way.
pub fn seed(name: &str) -> u64 {
    let seed = match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v:?}: not a number")),
        Err(_) => clock_seed(),
    };
    eprintln!("{name}={seed} (set it to replay this run)");
    seed
}
