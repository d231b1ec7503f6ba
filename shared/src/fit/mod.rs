//! Robust fit of scan regions to a binary or probability map.
//!
//! One fit serves the temporal weak labeler (a noisy per-pixel variation
//! map: static text inside the sector, ECG traces crossing its edge, a dark
//! near field), the trainer's post-processing of a network's coarse
//! probability map, and the firmware. It therefore allocates nothing (all
//! working memory is a [`FitScratch`] from the caller), never panics, and is
//! deterministic: RANSAC draws from a seeded SplitMix64, so the same map and
//! seed give the same region on every machine.
//!
//! How a component becomes a region:
//! 1. Pixels `>= threshold` are labelled into 8-connected components
//!    ([`crate::morph::label_components`]); components under
//!    [`FitOptions::min_area_frac`] of the map are ignored.
//! 2. Its boundary is sampled once per map row (leftmost and rightmost
//!    pixel) and once per column (topmost and bottommost), each sample at the
//!    sub-pixel threshold crossing of the linearly interpolated map. A pixel
//!    on the frame border gives a border sample instead: the region goes on
//!    past the frame there.
//! 3. A fan: RANSAC lines through the left and right samples meet at the
//!    apex; `r_outer` is the robust mode of the bottom samples' distance from
//!    the apex (or, where the frame hides the arc, the farthest border
//!    sample inside the wedge); the top samples inside the wedge give a flat
//!    top (mode of `y`) or an inner arc (mode of the distance), whichever
//!    explains more of them — if either spans the wedge. When the frame's
//!    sides cut the sector, further candidates take the apex from the centre
//!    of the outer or inner arc and put a hidden edge just past the frame.
//! 4. A rectangle: the robust mode of each side's samples, or the frame edge
//!    where that side lies on the frame border.
//! 5. The candidate whose rasterisation agrees best with the component (IoU
//!    at map resolution) wins; a tie goes to the rectangle, so linear probes
//!    and Doppler strips come out as [`Region::Rect`].
//!
//! This file holds the public types and entry points; the steps live in
//! submodules: `label` (1), `boundary` (2), `fan` with `ransac` and `mode`
//! (3), `rect` (4), `candidates` and `score` (5), `split` (cutting a
//! component no single region explains), `rng` (the seeded draws).

// Checks are written `!(x > limit)` on purpose: NaN must fail every one.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use crate::geometry::{Fan, MAX_REGIONS, Region, Regions};
use crate::morph::MorphError;

mod boundary;
mod candidates;
mod fan;
mod label;
mod mode;
mod ransac;
mod rect;
mod rng;
mod score;
mod split;
#[cfg(test)]
mod tests;

use candidates::fit_component;
use fan::fit_fan;
use label::components;
use rng::Rng;

/// Why no region could be fitted. Serialisable for the wire protocol
/// ([`crate::wire`]); variants may only be appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FitError {
    /// A map side is zero, `map.len()` is not `map_w * map_h`, or the map has
    /// more than [`crate::morph::MAX_MAP_PIXELS`] pixels.
    BadMapSize,
    /// A scratch buffer is shorter than [`scratch_len`] asks for.
    ScratchTooSmall,
    /// A scale, the full-resolution size, the tolerance or the minimum area
    /// fraction is zero, negative, out of range or not finite.
    BadParameter,
    /// No component reaches the threshold and the minimum area.
    EmptyMap,
    /// Too few usable edge points to fit both straight edges.
    TooFewPoints,
    /// The points describe no valid region (parallel or crossed edges, an
    /// apex out of reach, an empty rectangle).
    NoFit,
}

impl core::fmt::Display for FitError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            FitError::BadMapSize => "map length does not match its width and height",
            FitError::ScratchTooSmall => "fit scratch buffers too small for the map",
            FitError::BadParameter => "fit parameter out of range or not finite",
            FitError::EmptyMap => "no component of the map is large enough to fit",
            FitError::TooFewPoints => "too few edge points to fit the sector edges",
            FitError::NoFit => "edge points describe no valid scan region",
        })
    }
}

impl core::error::Error for FitError {}

impl From<MorphError> for FitError {
    fn from(e: MorphError) -> Self {
        match e {
            MorphError::BadMapSize => FitError::BadMapSize,
            MorphError::ScratchTooSmall => FitError::ScratchTooSmall,
        }
    }
}

/// How to read a map and where its result lives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitOptions {
    /// Map values `>=` this are inside. Edges are placed where the
    /// interpolated map crosses `threshold - 0.5`, i.e. on the pixel edge of
    /// a binary map when this is its midpoint: 128 for 0/255 maps and for
    /// probability maps, 1 for 0/1 maps.
    pub threshold: u8,
    /// Full-resolution pixels per map pixel horizontally: map pixel centre
    /// `mx + 0.5` is at `(mx + 0.5) * scale_x`.
    pub scale_x: f32,
    /// Full-resolution pixels per map pixel vertically.
    pub scale_y: f32,
    /// Full-resolution frame width (the clip rectangle and rectangle bounds).
    pub full_w: u16,
    /// Full-resolution frame height.
    pub full_h: u16,
    /// Components smaller than this fraction of the map are noise (text,
    /// logos, specks) and ignored. In `[0, 1]`.
    pub min_area_frac: f32,
    /// RANSAC seed; the same map and seed always give the same result.
    pub seed: u64,
    /// Fit a narrow fan whose apex lies far above its top (a linear image
    /// mapped as a trapezoid) as its bounding rectangle; see
    /// `candidates::rect_in_disguise`. On for network maps (host and
    /// cart); the weak labelers turn it off, so their labels, and the
    /// shipped models trained on them, stay what they were before it.
    pub trapezoid_rects: bool,
    /// Prefer a fan symmetric about the vertical (both edges mirrored,
    /// fitted together) to the free two-line fan when it scores within
    /// `candidates::SYMMETRIC_FAN_MARGIN` of it; see
    /// `ransac::symmetric_axis`. On for network maps (host and cart); the
    /// weak labelers turn it off, as they do `trapezoid_rects`.
    pub symmetric_fans: bool,
}

impl FitOptions {
    /// A full-resolution map (scale 1) with 0/255 or probability values.
    pub const fn full_res(full_w: u16, full_h: u16) -> Self {
        Self {
            threshold: 128,
            scale_x: 1.0,
            scale_y: 1.0,
            full_w,
            full_h,
            min_area_frac: 0.02,
            seed: 0,
            trapezoid_rects: true,
            symmetric_fans: true,
        }
    }

    /// A coarse `map_w × map_h` map covering the whole `full_w × full_h`
    /// frame (a network's output): scales are `full / map`.
    pub fn upscaled(map_w: usize, map_h: usize, full_w: u16, full_h: u16) -> Self {
        Self {
            scale_x: f32::from(full_w) / map_w as f32,
            scale_y: f32::from(full_h) / map_h as f32,
            ..Self::full_res(full_w, full_h)
        }
    }

    /// RANSAC inlier distance in full-resolution pixels: a binary map's edge
    /// samples are within half a map pixel of the true edge; allow one full
    /// pixel more for anti-aliasing and noise.
    fn tolerance(&self) -> f32 {
        1.0 + 0.5 * self.scale_x.max(self.scale_y)
    }

    fn is_valid(&self) -> bool {
        let scale_ok = |s: f32| s.is_finite() && s > 0.0;
        scale_ok(self.scale_x)
            && scale_ok(self.scale_y)
            && self.full_w > 0
            && self.full_h > 0
            && (0.0..=1.0).contains(&self.min_area_frac)
    }
}

/// Scratch lengths (in elements) for a `map_w × map_h` map, from
/// [`scratch_len`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScratchLen {
    /// `map_w * map_h` component labels, then `(map_w + 1) * map_h` member
    /// counts of the component being fitted (prefix sums per row, so a
    /// score counts the members under a run of pixels in constant time).
    pub labels: usize,
    /// `4 * map_w + 2 * map_h` boundary samples: one per row end and column
    /// end, and the top samples again as extra samples of a shallow edge.
    pub points: usize,
}

/// How long each [`FitScratch`] buffer must be for a `map_w × map_h` map
/// (saturating, so absurd sizes ask for more than any slice can hold).
pub const fn scratch_len(map_w: usize, map_h: usize) -> ScratchLen {
    ScratchLen {
        labels: map_w
            .saturating_mul(map_h)
            .saturating_add(map_w.saturating_add(1).saturating_mul(map_h)),
        points: map_w
            .saturating_mul(4)
            .saturating_add(map_h.saturating_mul(2)),
    }
}

/// Caller-provided working memory for the map fits; see [`scratch_len`].
/// For an 80×64 map that is 40 KiB of labels and member counts and
/// 3.5 KiB of points.
#[derive(Debug)]
pub struct FitScratch<'a> {
    /// Component labels and the fitted component's member counts, at least
    /// [`scratch_len`]`.labels` long.
    pub labels: &'a mut [u32],
    /// Boundary samples, at least [`scratch_len`]`.points` long.
    pub points: &'a mut [(f32, f32)],
}

/// Classified edge samples of one fan, in full-resolution coordinates. Any
/// set may hold outliers; non-finite points are ignored.
#[derive(Clone, Copy, Debug, Default)]
pub struct EdgePoints<'p> {
    /// On the left straight edge.
    pub left: &'p [(f32, f32)],
    /// On the right straight edge.
    pub right: &'p [(f32, f32)],
    /// On the far-field (outer) arc.
    pub arc: &'p [(f32, f32)],
    /// On the top boundary: a flat top or the inner arc. Points on either
    /// straight edge are skipped, so the top samples of a whole sector may be
    /// passed; empty for a pointed apex.
    pub top: &'p [(f32, f32)],
}

/// Narrowest fan opening (radians) a fit may return; the firmware's
/// plausibility check refuses narrower ones (its default `min_opening`).
pub const MIN_FAN_OPENING: f32 = 0.2;

/// Fits a fan to classified edge points: RANSAC lines for the two edges
/// (their intersection is the apex), the robust mode of the arc points'
/// distance from the apex for `r_outer`, and a flat top or inner radius from
/// the top points. Robust to well over 20 % outliers per set.
///
/// `tol` is the inlier distance in pixels (about the edge noise plus one).
/// With no arc points, `r_outer` is the farthest edge inlier from the apex.
/// `clip` is left `None`.
pub fn fit_fan_from_edge_points(
    points: &EdgePoints<'_>,
    tol: f32,
    seed: u64,
) -> Result<Fan, FitError> {
    if !(tol.is_finite() && tol > 0.0) {
        return Err(FitError::BadParameter);
    }
    fit_fan(points, tol, &mut Rng(seed))
}

/// Fits one region to the largest component of `map` (`map_w × map_h`,
/// row-major): a [`Region::Fan`] or [`Region::Rect`], whichever agrees better
/// with the map. A fan that reaches past the frame gets `clip` = the frame.
pub fn fit_region_from_map(
    map: &[u8],
    map_w: usize,
    map_h: usize,
    opts: &FitOptions,
    scratch: &mut FitScratch<'_>,
) -> Result<Region, FitError> {
    let comps = components::<1>(map, map_w, map_h, opts, scratch)?;
    let c = comps.first().ok_or(FitError::EmptyMap)?;
    fit_component(map, map_w, map_h, c, opts, scratch, 0).map(|(r, _)| r)
}

/// Fits up to [`MAX_REGIONS`] regions, one per component of at least
/// [`FitOptions::min_area_frac`] of the map, largest first (dual screens, a
/// fan above an M-mode or Doppler strip). A component that no single region
/// explains well may be cut in two (the `split` step: touching panes, a fan whose
/// coarse map runs into the strip below). Components whose fit fails are
/// left out (fail closed: they are blacked out); if every fit fails, the
/// first error is returned.
pub fn fit_regions_from_map(
    map: &[u8],
    map_w: usize,
    map_h: usize,
    opts: &FitOptions,
    scratch: &mut FitScratch<'_>,
) -> Result<Regions, FitError> {
    let comps = components::<MAX_REGIONS>(map, map_w, map_h, opts, scratch)?;
    let mut out = Regions::new();
    let mut first_err = None;
    for (k, c) in comps.iter().enumerate() {
        match fit_component(map, map_w, map_h, c, opts, scratch, k) {
            Ok((r, score)) => {
                let pair = (split::worth_trying(score) && out.len() + 2 <= MAX_REGIONS)
                    .then(|| split::try_split(map, map_w, map_h, c, score, opts, scratch, k))
                    .flatten();
                match pair {
                    Some([(a, _), (b, _)]) => {
                        let _ = out.push(a);
                        let _ = out.push(b);
                    }
                    None => {
                        let _ = out.push(r);
                    }
                }
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if out.is_empty() {
        return Err(first_err.unwrap_or(FitError::EmptyMap));
    }
    Ok(out)
}
