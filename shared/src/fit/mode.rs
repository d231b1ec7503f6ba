//! The robust 1-D mode search: `r_outer`, flat tops, inner radii and
//! rectangle sides are each the MSAC mode of one coordinate of the samples.
//!
//! [`mode_1d`] picks the path: the buffered, sorted search with per-value
//! windows and early exits ([`mode_1d_in`], the fast path the fit runs), or
//! the plain search over every value ([`mode_1d_of`], for more values than
//! fit the buffer). The tests hold the fast path to a plain reference, bit
//! for bit and draw for draw.

use super::ransac::capped_sum;
use super::rng::Rng;

/// Candidate values tried by the 1-D mode search.
pub(super) const MODE_CANDIDATES: usize = 64;

/// Values [`mode_1d`] keeps on the stack (16 · this bytes) instead of
/// recomputing them for every candidate.
const MODE_CACHE: usize = 512;
/// The buffer size [`mode_1d`] tries first.
const MODE_CACHE_SMALL: usize = 128;

/// Robust mode of the values `val(0..n)` (`None` entries skipped): the
/// candidate with the least MSAC cost, refined as the mean of the values
/// within `tol`. Returns the mode and its inlier count.
///
/// Each value is computed once (a distance from the apex costs a square
/// root) and kept in a stack buffer, unless there are more than
/// [`MODE_CACHE`]. The buffered values are also sorted, so a candidate's
/// cost only visits the values within `tol` of it (the others each cost
/// `tol²`): the fit calls this three times per fan candidate, and visiting
/// every value for each of [`MODE_CANDIDATES`] candidates was the largest
/// part of the fit on the cart.
pub(super) fn mode_1d(
    n: usize,
    val: impl Fn(usize) -> Option<f32>,
    tol: f32,
    rng: &mut Rng,
) -> Option<(f32, usize)> {
    let finite = |i: usize| val(i).filter(|v| v.is_finite());
    // Buffers sized for the usual sample counts (one per map row or
    // column): zeroing four arrays of MODE_CACHE entries on every call cost
    // more on the cart than some of the searches.
    if n <= MODE_CACHE_SMALL {
        mode_1d_in::<MODE_CACHE_SMALL>(n, finite, tol, rng)
    } else if n <= MODE_CACHE {
        mode_1d_in::<MODE_CACHE>(n, finite, tol, rng)
    } else {
        mode_1d_of(n, finite, tol, rng)
    }
}

/// [`mode_1d`] with buffers of `N` entries (`n <= N <= MODE_CACHE`) for
/// `finite` values.
fn mode_1d_in<const N: usize>(
    n: usize,
    finite: impl Fn(usize) -> Option<f32>,
    tol: f32,
    rng: &mut Rng,
) -> Option<(f32, usize)> {
    let mut cache = [f32::NAN; N];
    // The finite values as sort keys: plain integers sort faster on the
    // cart than `f32::total_cmp`.
    let mut keys = [0u32; N];
    let mut m = 0;
    for (i, v) in cache[..n].iter_mut().enumerate() {
        if let Some(x) = finite(i) {
            *v = x;
            keys[m] = order_key(x);
            m += 1;
        }
    }
    let (cache, keys) = (&cache[..n], &mut keys[..m]);
    keys.sort_unstable();
    let keys = &*keys;
    let mut sorted = [0.0f32; N];
    for (v, &k) in sorted.iter_mut().zip(keys) {
        *v = from_order_key(k);
    }
    let sorted = &sorted[..m];
    // The sorted values within `tol` of `c`.
    let near = |c: f32| {
        let lo = sorted.partition_point(|&v| v < c - tol);
        let hi = sorted.partition_point(|&v| v <= c + tol);
        &sorted[lo..hi.max(lo)]
    };
    // The same bounds for every sorted value at once, walking up (both
    // bounds only rise with `c`): a candidate then finds them with one
    // integer search for itself instead of two searches on `f32`, which
    // cost as much as its cost sum.
    let mut window = [(0u16, 0u16); N];
    let (mut lo, mut hi) = (0, 0);
    for (&c, w) in sorted.iter().zip(&mut window) {
        while lo < m && sorted[lo] < c - tol {
            lo += 1;
        }
        while hi < m && sorted[hi] <= c + tol {
            hi += 1;
        }
        // m <= MODE_CACHE fits u16.
        *w = (lo as u16, hi.max(lo) as u16);
    }
    let tol2 = tol * tol;
    let mut best: Option<(f32, f32)> = None;
    for k in 0..n.min(MODE_CANDIDATES) {
        let i = if n <= MODE_CANDIDATES {
            k
        } else {
            rng.below(n)
        };
        let c = cache[i];
        if c.is_nan() {
            continue;
        }
        // Equal values share their window: any position of `c` will do.
        let (lo, hi) = window[keys.partition_point(|&k| k < order_key(c))];
        let near = &sorted[usize::from(lo)..usize::from(hi)];
        // Every value outside the window costs tol²: a candidate whose
        // outside alone reaches the best cost cannot win (the sum below
        // only adds to it, and rounding is monotone).
        let outside = (m - near.len()) as f32 * tol2;
        if best.is_some_and(|(bc, _)| !(outside < bc)) {
            continue;
        }
        let term = |v: f32| ((v - c) * (v - c)).min(tol2);
        let Some(inside) = capped_sum(near, term, outside, best.map(|b| b.0)) else {
            continue;
        };
        let cc = inside + outside;
        if best.is_none_or(|(bc, _)| cc < bc) {
            best = Some((cc, c));
        }
    }
    let mut mode = best?.1;
    let mut count = 0;
    for _ in 0..3 {
        let near = near(mode);
        if near.is_empty() {
            break;
        }
        mode = near.iter().sum::<f32>() / near.len() as f32;
        count = near.len();
    }
    Some((mode, count))
}

/// `x`'s bits as an unsigned integer in [`f32::total_cmp`]'s order.
pub(super) fn order_key(x: f32) -> u32 {
    let b = x.to_bits();
    if b >> 31 == 1 { !b } else { b | 1 << 31 }
}

/// The inverse of [`order_key`].
pub(super) fn from_order_key(k: u32) -> f32 {
    f32::from_bits(if k >> 31 == 1 { k & !(1 << 31) } else { !k })
}

/// [`mode_1d`] over values `finite(0..n)` that are finite or `None`,
/// without a buffer (more values than [`MODE_CACHE`]).
fn mode_1d_of(
    n: usize,
    finite: impl Fn(usize) -> Option<f32>,
    tol: f32,
    rng: &mut Rng,
) -> Option<(f32, usize)> {
    let tol2 = tol * tol;
    let cost = |c: f32| -> f32 {
        (0..n)
            .filter_map(&finite)
            .map(|v| ((v - c) * (v - c)).min(tol2))
            .sum()
    };
    let mut best: Option<(f32, f32)> = None;
    for k in 0..n.min(MODE_CANDIDATES) {
        let i = if n <= MODE_CANDIDATES {
            k
        } else {
            rng.below(n)
        };
        let Some(c) = finite(i) else { continue };
        let cc = cost(c);
        if best.is_none_or(|(bc, _)| cc < bc) {
            best = Some((cc, c));
        }
    }
    let mut m = best?.1;
    let mut count = 0;
    for _ in 0..3 {
        let (mut s, mut k) = (0.0f32, 0usize);
        for v in (0..n).filter_map(&finite).filter(|v| (v - m).abs() <= tol) {
            s += v;
            k += 1;
        }
        if k == 0 {
            break;
        }
        m = s / k as f32;
        count = k;
    }
    Some((m, count))
}
