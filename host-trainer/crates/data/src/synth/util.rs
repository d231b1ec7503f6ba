//! Deterministic helpers: seed mixing, sampling shortcuts and a fast,
//! table-driven source of normal deviates for speckle.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use std::sync::OnceLock;

/// SplitMix64 finaliser: a good 64-bit mixing function.
pub(crate) fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Combines a seed with a tag into an independent seed.
pub(crate) fn mix(seed: u64, tag: u64) -> u64 {
    splitmix64(seed ^ splitmix64(tag.wrapping_mul(0xD6E8_FEB8_6659_FD93)))
}

/// A standard RNG for one purpose (`tag`) of one clip.
pub(crate) fn rng_for(seed: u64, tag: u64) -> StdRng {
    StdRng::seed_from_u64(mix(seed, tag))
}

/// Sampling shortcuts on any RNG.
pub(crate) trait Pick {
    /// Uniform in `[lo, hi)` (returns `lo` when the range is empty).
    fn uf(&mut self, lo: f32, hi: f32) -> f32;
    /// Uniform integer in `lo..=hi`.
    fn ui(&mut self, lo: i32, hi: i32) -> i32;
    /// True with probability `p`.
    fn chance(&mut self, p: f32) -> bool;
    /// One item of a non-empty slice.
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T;
    /// An index drawn with the given (non-negative) weights.
    fn weighted(&mut self, weights: &[f32]) -> usize;
}

impl<R: Rng + ?Sized> Pick for R {
    fn uf(&mut self, lo: f32, hi: f32) -> f32 {
        if hi > lo {
            lo + (hi - lo) * self.random::<f32>()
        } else {
            lo
        }
    }

    fn ui(&mut self, lo: i32, hi: i32) -> i32 {
        if hi > lo {
            self.random_range(lo..=hi)
        } else {
            lo
        }
    }

    fn chance(&mut self, p: f32) -> bool {
        self.random::<f32>() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.random_range(0..items.len())]
    }

    fn weighted(&mut self, weights: &[f32]) -> usize {
        let total: f32 = weights.iter().sum();
        let mut r = self.random::<f32>() * total;
        for (i, &w) in weights.iter().enumerate() {
            if r < w {
                return i;
            }
            r -= w;
        }
        weights.len() - 1
    }
}

const TABLE_BITS: u32 = 16;
const TABLE_MASK: u64 = (1 << TABLE_BITS) - 1;

/// 65 536 standard normal deviates drawn once from a fixed seed.
fn normal_table() -> &'static [f32] {
    static TABLE: OnceLock<Vec<f32>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rng = StdRng::seed_from_u64(0x05EE_D0F5_EC1E);
        (0..1usize << TABLE_BITS)
            .map(|_| StandardNormal.sample(&mut rng))
            .collect()
    })
}

/// A fast deterministic generator (wyrand) with table-driven normals.
pub(crate) struct Fast {
    state: u64,
    table: &'static [f32],
}

impl Fast {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            state: splitmix64(seed),
            table: normal_table(),
        }
    }

    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0xA076_1D64_78BD_642F);
        let t = u128::from(self.state) * u128::from(self.state ^ 0xE703_7ED1_A0B4_28DB);
        ((t >> 64) ^ t) as u64
    }

    /// Four standard normal deviates.
    #[inline]
    pub(crate) fn normals4(&mut self) -> [f32; 4] {
        let r = self.next_u64();
        [
            self.table[(r & TABLE_MASK) as usize],
            self.table[((r >> 16) & TABLE_MASK) as usize],
            self.table[((r >> 32) & TABLE_MASK) as usize],
            self.table[((r >> 48) & TABLE_MASK) as usize],
        ]
    }

    /// Uniform in `[0, 1)`.
    #[inline]
    pub(crate) fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }
}

/// A normal deviate that depends only on `(a, b)`.
#[inline]
pub(crate) fn hash_normal(a: u64, b: u64) -> f32 {
    normal_table()[(mix(a, b) & TABLE_MASK) as usize]
}

/// Smooth Hermite step from 0 at `e0` to 1 at `e1` (either order).
#[inline]
pub(crate) fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

#[inline]
pub(crate) fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

/// Linear amplitude from decibels.
#[inline]
pub(crate) fn db_to_amp(db: f32) -> f32 {
    (db * (std::f32::consts::LN_10 / 20.0)).exp()
}

/// Value noise in `[-1, 1]` on a unit lattice.
pub(crate) fn vnoise(seed: u64, x: f32, y: f32) -> f32 {
    let (fx, fy) = (x.floor(), y.floor());
    let (tx, ty) = (x - fx, y - fy);
    let (ix, iy) = (fx as i64, fy as i64);
    let h = |i: i64, j: i64| {
        let k = ((i as u64) << 32) ^ (j as u64 & 0xFFFF_FFFF);
        (mix(seed, k) >> 40) as f32 * (2.0 / (1u64 << 24) as f32) - 1.0
    };
    let sx = tx * tx * (3.0 - 2.0 * tx);
    let sy = ty * ty * (3.0 - 2.0 * ty);
    let a = lerp(h(ix, iy), h(ix + 1, iy), sx);
    let b = lerp(h(ix, iy + 1), h(ix + 1, iy + 1), sx);
    lerp(a, b, sy)
}
