//! The fit's random numbers: SplitMix64, so the same map and seed give the
//! same region on every machine.

/// The 64-bit golden ratio, SplitMix64's increment.
pub(super) const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64: tiny, seedable, identical on every platform.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), by multiply-shift.
    pub(super) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}
