//! Activation ranges from calibration frames.
//!
//! Every calibration input goes through the float graph
//! ([`super::float_graph::FloatGraph::forward`]) and each tensor's values
//! are summarised. Two summaries:
//!
//! - [`RangeMethod::MinMax`]: the smallest and largest value seen. Nothing
//!   is clipped; one outlier stretches the grid for every other value.
//! - [`RangeMethod::Percentile`]: the `p`-th percentile of all values of the
//!   tensor over all frames (and the `100 − p`-th at the low end), from a
//!   4096-bin histogram over the min/max range (a second pass). Clips the
//!   rare extremes for a finer grid everywhere else.
//!
//! Which one `sonomask quantize` uses by default, and why, is measured and
//! written down in [`super::DEFAULT_METHOD`].
//!
//! Both always include 0 (a zero point must exist for padding and ReLU).
//! The passes run frames in parallel; min/max and integer histogram counts
//! merge exactly, so the result does not depend on the thread count.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::float_graph::FloatGraph;

/// Bins of the percentile histogram.
pub const HIST_BINS: usize = 4096;

/// How a tensor's range is taken (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeMethod {
    MinMax,
    /// The percentile, in `(50, 100]`.
    Percentile(f64),
}

impl std::fmt::Display for RangeMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RangeMethod::MinMax => f.write_str("minmax"),
            RangeMethod::Percentile(p) => write!(f, "percentile:{p}"),
        }
    }
}

impl std::str::FromStr for RangeMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "minmax" {
            return Ok(RangeMethod::MinMax);
        }
        let bad = || format!("{s:?}: expected `minmax` or `percentile:P` with 50 < P <= 100");
        let p: f64 = s
            .strip_prefix("percentile:")
            .ok_or_else(bad)?
            .parse()
            .map_err(|_| bad())?;
        if !(p > 50.0 && p <= 100.0) {
            return Err(bad());
        }
        Ok(RangeMethod::Percentile(p))
    }
}

/// The range of one tensor.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TensorRange {
    /// Smallest and largest value seen.
    pub min: f32,
    pub max: f32,
    /// The range the grid covers (`lo ≤ 0 ≤ hi`).
    pub lo: f32,
    pub hi: f32,
}

/// Min and max of every tensor.
fn min_max(
    graph: &FloatGraph,
    inputs: &[Vec<f32>],
    on_frame: &(dyn Fn() + Sync),
) -> Vec<(f32, f32)> {
    let n = graph.shapes.len();
    inputs
        .par_iter()
        .map(|x| {
            let ts = graph.forward(x);
            on_frame();
            ts.iter()
                .map(|t| {
                    t.iter()
                        .fold((0f32, 0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)))
                })
                .collect::<Vec<_>>()
        })
        .reduce(
            || vec![(0f32, 0f32); n],
            |a, b| {
                a.iter()
                    .zip(&b)
                    .map(|(x, y)| (x.0.min(y.0), x.1.max(y.1)))
                    .collect()
            },
        )
}

fn bin(v: f32, lo: f32, hi: f32) -> usize {
    if hi <= lo {
        return 0;
    }
    let f = ((v - lo) / (hi - lo) * HIST_BINS as f32) as usize;
    f.min(HIST_BINS - 1)
}

/// Histograms of every tensor over its `[min, max]`.
fn histograms(
    graph: &FloatGraph,
    inputs: &[Vec<f32>],
    mm: &[(f32, f32)],
    on_frame: &(dyn Fn() + Sync),
) -> Vec<Vec<u64>> {
    let n = graph.shapes.len();
    inputs
        .par_iter()
        .map(|x| {
            let ts = graph.forward(x);
            on_frame();
            ts.iter()
                .zip(mm)
                .map(|(t, &(lo, hi))| {
                    let mut h = vec![0u64; HIST_BINS];
                    for &v in t {
                        h[bin(v, lo, hi)] += 1;
                    }
                    h
                })
                .collect::<Vec<_>>()
        })
        .reduce(
            || vec![vec![0u64; HIST_BINS]; n],
            |a, b| {
                a.iter()
                    .zip(&b)
                    .map(|(x, y)| x.iter().zip(y).map(|(p, q)| p + q).collect())
                    .collect()
            },
        )
}

/// `[lo, hi]` holding all but `(100 − p)%` of the values at each end.
fn percentile_range(h: &[u64], min: f32, max: f32, p: f64) -> (f32, f32) {
    let total: u64 = h.iter().sum();
    if total == 0 || max <= min {
        return (min, max);
    }
    let cut = ((1.0 - p / 100.0) * total as f64).floor() as u64;
    let width = (max - min) / HIST_BINS as f32;
    // hi: the upper edge of the first bin (from the top) where more than
    // `cut` values lie at or above it.
    let mut above = 0u64;
    let mut hi = max;
    for (i, &c) in h.iter().enumerate().rev() {
        above += c;
        if above > cut {
            hi = min + width * (i + 1) as f32;
            break;
        }
    }
    let mut below = 0u64;
    let mut lo = min;
    for (i, &c) in h.iter().enumerate() {
        below += c;
        if below > cut {
            lo = min + width * i as f32;
            break;
        }
    }
    (lo.max(min), hi.min(max))
}

/// The range of every tensor of `graph` over `inputs`, by `method`.
/// `on_frame` is called once per forward pass (one or two per input).
pub fn ranges(
    graph: &FloatGraph,
    inputs: &[Vec<f32>],
    method: RangeMethod,
    on_frame: &(dyn Fn() + Sync),
) -> Vec<TensorRange> {
    let mm = min_max(graph, inputs, on_frame);
    let bounds: Vec<(f32, f32)> = match method {
        RangeMethod::MinMax => mm.clone(),
        RangeMethod::Percentile(p) => histograms(graph, inputs, &mm, on_frame)
            .iter()
            .zip(&mm)
            .map(|(h, &(lo, hi))| percentile_range(h, lo, hi, p))
            .collect(),
    };
    mm.iter()
        .zip(&bounds)
        .map(|(&(min, max), &(lo, hi))| TensorRange {
            min,
            max,
            lo: lo.min(0.0),
            hi: hi.max(0.0),
        })
        .collect()
}

/// How many forward passes [`ranges`] makes per input.
pub fn passes(method: RangeMethod) -> u64 {
    match method {
        RangeMethod::MinMax => 1,
        RangeMethod::Percentile(_) => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_parses() {
        assert_eq!("minmax".parse::<RangeMethod>(), Ok(RangeMethod::MinMax));
        assert_eq!(
            "percentile:99.9".parse::<RangeMethod>(),
            Ok(RangeMethod::Percentile(99.9))
        );
        for bad in [
            "",
            "max",
            "percentile:",
            "percentile:40",
            "percentile:101",
            "percentile:x",
        ] {
            assert!(bad.parse::<RangeMethod>().is_err(), "{bad}");
        }
        assert_eq!(
            RangeMethod::Percentile(99.99).to_string(),
            "percentile:99.99"
        );
    }

    #[test]
    fn percentile_clips_only_the_tails() {
        // 10 000 values 0..1 evenly plus one outlier at 100.
        let mut h = vec![0u64; HIST_BINS];
        let (min, max) = (0.0f32, 100.0f32);
        for i in 0..10_000 {
            h[bin(i as f32 / 10_000.0, min, max)] += 1;
        }
        h[bin(100.0, min, max)] += 1;
        let (lo, hi) = percentile_range(&h, min, max, 99.9);
        assert_eq!(lo, 0.0);
        assert!(hi > 0.99 && hi < 1.1, "{hi}");
        // 100%: nothing clipped.
        let (_, hi) = percentile_range(&h, min, max, 100.0);
        assert_eq!(hi, 100.0);
    }
}
