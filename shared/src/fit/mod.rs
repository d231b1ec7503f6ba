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

// Checks are written `!(x > limit)` on purpose: NaN must fail every one.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use crate::geometry::{Fan, MAX_EDGE_ANGLE, MAX_REGIONS, PreparedRegion, Rect, Region, Regions};
use crate::morph::{self, BACKGROUND, MorphError};

/// Why no region could be fitted. Serialisable for the wire protocol
/// ([`crate::wire`]); variants may only be appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FitError {
    /// A map side is zero, `map.len()` is not `map_w * map_h`, or the map has
    /// more than [`morph::MAX_MAP_PIXELS`] pixels.
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
    pub labels: &'a mut [u32],
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
/// explains well may be cut in two ([`split`]: touching panes, a fan whose
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

/// A connected component: root pixel, area, inclusive bounding box and the
/// window it is fitted in.
#[derive(Clone, Copy, Debug)]
struct Component {
    root: usize,
    area: usize,
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
    win: Window,
    /// A row whose top (bottom) samples are dropped: the row next to a cut
    /// between two regions stacked one above the other, where the
    /// boundary is an artefact of the cut, not an edge of the region.
    skip_top: Option<usize>,
    skip_bottom: Option<usize>,
}

/// The part of the map a component is fitted in, in map pixels (`x0..x1`,
/// `y0..y1`): the whole frame, or one side of a cut ([`split`]). Its edges
/// act as the frame's: samples on them are border samples, and a fan that
/// reaches past them is clipped to them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Window {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
}

impl Window {
    fn full(w: usize, h: usize) -> Self {
        Self {
            x0: 0,
            y0: 0,
            x1: w,
            y1: h,
        }
    }

    /// The window in full-resolution coordinates; the frame's own edges are
    /// exact.
    fn rect(&self, w: usize, h: usize, opts: &FitOptions) -> Rect {
        let at = |v: usize, end: usize, scale: f32, full: u16| {
            if v == end {
                f32::from(full)
            } else {
                v as f32 * scale
            }
        };
        Rect::new(
            at(self.x0, w, opts.scale_x, opts.full_w),
            at(self.y0, h, opts.scale_y, opts.full_h),
            at(self.x1, w, opts.scale_x, opts.full_w),
            at(self.y1, h, opts.scale_y, opts.full_h),
        )
    }
}

/// Validates everything, labels the map and returns the `N` largest
/// components over the minimum area (ties: first in raster order).
fn components<const N: usize>(
    map: &[u8],
    w: usize,
    h: usize,
    opts: &FitOptions,
    scratch: &mut FitScratch<'_>,
) -> Result<heapless::Vec<Component, N>, FitError> {
    let n = morph::check_map(map.len(), w, h)?;
    let need = scratch_len(w, h);
    if scratch.labels.len() < need.labels || scratch.points.len() < need.points {
        return Err(FitError::ScratchTooSmall);
    }
    if !opts.is_valid() {
        return Err(FitError::BadParameter);
    }
    let labels = &mut scratch.labels[..n];
    morph::label_components(map, w, h, opts.threshold, labels)?;
    let min_area = libm::ceilf(opts.min_area_frac * n as f32).max(1.0) as usize;
    let mut best: heapless::Vec<Component, N> = heapless::Vec::new();
    for root in 0..n {
        let area = morph::component_area(labels, root);
        if area < min_area {
            continue;
        }
        let c = Component {
            root,
            area,
            x0: w,
            y0: h,
            x1: 0,
            y1: 0,
            win: Window::full(w, h),
            skip_top: None,
            skip_bottom: None,
        };
        // Insertion into a short list sorted by area, largest first.
        let pos = best
            .iter()
            .position(|b| b.area < area)
            .unwrap_or(best.len());
        if pos < N {
            if best.is_full() {
                best.pop();
            }
            let _ = best.insert(pos, c);
        }
    }
    for i in 0..n {
        if labels[i] == BACKGROUND {
            continue;
        }
        let root = morph::component_of(labels, i);
        if let Some(c) = best.iter_mut().find(|c| Some(c.root) == root) {
            let (x, y) = (i % w, i / w);
            c.x0 = c.x0.min(x);
            c.x1 = c.x1.max(x);
            c.y0 = c.y0.min(y);
            c.y1 = c.y1.max(y);
        }
    }
    if best.is_empty() {
        return Err(FitError::EmptyMap);
    }
    Ok(best)
}

/// Where a component's boundary samples sit in the points scratch. Side
/// `s` owns `slots[s]` slots from `start[s]`: edge samples fill it from the
/// front, frame-border samples from the back. Left and right hold one
/// sample per row (`h`) and the top samples on their side's staircase
/// (`w`); top and bottom one per column (`w`).
struct Boundary {
    start: [usize; 4],
    slots: [usize; 4],
    /// Edge samples per side; for left and right, the first `rows[s]` are
    /// the per-row samples.
    len: [usize; 4],
    rows: [usize; 2],
    clipped: [usize; 4],
}

const LEFT: usize = 0;
const RIGHT: usize = 1;
const TOP: usize = 2;
const BOTTOM: usize = 3;

impl Boundary {
    fn new(w: usize, h: usize) -> Self {
        Self {
            start: [0, h + w, 2 * (h + w), 2 * h + 3 * w],
            slots: [h + w, h + w, w, w],
            len: [0; 4],
            rows: [0; 2],
            clipped: [0; 4],
        }
    }

    fn edge<'p>(&self, p: &'p [(f32, f32)], s: usize) -> &'p [(f32, f32)] {
        &p[self.start[s]..self.start[s] + self.len[s]]
    }

    fn border<'p>(&self, p: &'p [(f32, f32)], s: usize) -> &'p [(f32, f32)] {
        let end = self.start[s] + self.slots[s];
        &p[end - self.clipped[s]..end]
    }
}

/// Fraction of the way from an outside pixel centre to the adjacent inside
/// one where the linearly interpolated map crosses `level`.
fn crossing(outside: u8, inside: u8, level: f32) -> f32 {
    let (o, i) = (f32::from(outside), f32::from(inside));
    if i > o {
        ((level - o) / (i - o)).clamp(0.0, 1.0)
    } else {
        0.5
    }
}

/// Samples the boundary of component `c`: per row its leftmost and
/// rightmost pixel, per column its topmost and bottommost, each at the
/// sub-pixel threshold crossing in full-resolution coordinates; a pixel on
/// the frame border gives a border sample on the frame edge instead.
///
/// A shallow edge crosses few rows but many columns, so top samples also
/// join the left (right) set where the top profile steps down to the left
/// (right), as it does along that edge.
fn extract_boundary(
    map: &[u8],
    w: usize,
    h: usize,
    labels: &[u32],
    c: &Component,
    opts: &FitOptions,
    points: &mut [(f32, f32)],
) -> Boundary {
    let member = |i: usize| is_member(labels, c, i);
    let level = f32::from(opts.threshold) - 0.5;
    let (sx, sy) = (opts.scale_x, opts.scale_y);
    let (win, frame) = (c.win, c.win.rect(w, h, opts));
    let mut b = Boundary::new(w, h);
    for y in c.y0..=c.y1 {
        let row = y * w;
        let cy = (y as f32 + 0.5) * sy;
        let Some(xl) = (c.x0..=c.x1).find(|&x| member(row + x)) else {
            continue;
        };
        let xr = (c.x0..=c.x1).rev().find(|&x| member(row + x)).unwrap_or(xl);
        if xl == win.x0 {
            put(&mut b, points, LEFT, (frame.x0, cy), true);
        } else {
            let f = crossing(map[row + xl - 1], map[row + xl], level);
            put(
                &mut b,
                points,
                LEFT,
                ((xl as f32 - 0.5 + f) * sx, cy),
                false,
            );
        }
        if xr + 1 == win.x1 {
            put(&mut b, points, RIGHT, (frame.x1, cy), true);
        } else {
            let f = crossing(map[row + xr + 1], map[row + xr], level);
            put(
                &mut b,
                points,
                RIGHT,
                ((xr as f32 + 1.5 - f) * sx, cy),
                false,
            );
        }
    }
    b.rows = [b.len[LEFT], b.len[RIGHT]];
    // Top samples in runs of equal height; a run joins the left set when
    // the profile steps down to its left (or it starts the component), the
    // right set likewise, so a shallow edge's staircase joins its own side
    // only and a flat top or pointed apex joins both.
    let top_of = |x: usize| (c.y0..=c.y1).find(|&y| member(y * w + x));
    let flush =
        |b: &mut Boundary, points: &mut [(f32, f32)], first: usize, left: bool, right: bool| {
            for i in first..b.len[TOP] {
                let p = points[b.start[TOP] + i];
                if left {
                    put(b, points, LEFT, p, false);
                }
                if right {
                    put(b, points, RIGHT, p, false);
                }
            }
        };
    let mut run: Option<(usize, usize, bool)> = None;
    let mut prev = None;
    for x in c.x0..=c.x1 {
        let cur = top_of(x);
        if let Some((ry, first, left)) = run
            && cur != Some(ry)
        {
            flush(&mut b, points, first, left, cur.is_none_or(|y| y > ry));
            run = None;
        }
        let cx = (x as f32 + 0.5) * sx;
        if let Some(yt) = cur {
            if Some(yt) == c.skip_top {
                // The row just below a cut between two regions: no sample.
            } else if yt == win.y0 {
                put(&mut b, points, TOP, (cx, frame.y0), true);
            } else {
                let f = crossing(map[(yt - 1) * w + x], map[yt * w + x], level);
                put(&mut b, points, TOP, (cx, (yt as f32 - 0.5 + f) * sy), false);
                if run.is_none() {
                    run = Some((yt, b.len[TOP] - 1, prev.is_none_or(|yp| yp > yt)));
                }
            }
            let yb = (yt..=c.y1).rev().find(|&y| member(y * w + x)).unwrap_or(yt);
            if Some(yb) == c.skip_bottom {
                // The row just above a cut between two regions: no sample.
            } else if yb + 1 == win.y1 {
                put(&mut b, points, BOTTOM, (cx, frame.y1), true);
            } else {
                let f = crossing(map[(yb + 1) * w + x], map[yb * w + x], level);
                put(
                    &mut b,
                    points,
                    BOTTOM,
                    (cx, (yb as f32 + 1.5 - f) * sy),
                    false,
                );
            }
        }
        prev = cur;
    }
    if let Some((_, first, left)) = run {
        flush(&mut b, points, first, left, true);
    }
    b
}

/// Appends a sample to side `side` (a border sample to its back).
fn put(b: &mut Boundary, points: &mut [(f32, f32)], side: usize, p: (f32, f32), on_border: bool) {
    if on_border {
        b.clipped[side] += 1;
        points[b.start[side] + b.slots[side] - b.clipped[side]] = p;
    } else {
        points[b.start[side] + b.len[side]] = p;
        b.len[side] += 1;
    }
}

/// What a fan fit works from: classified samples, the inlier distance and,
/// for a map, what it knows about the frame.
struct FanInput<'a, 'p> {
    edges: &'a EdgePoints<'p>,
    tol: f32,
    frame: Option<&'a FrameInfo<'p>>,
}

/// What a map fit knows beyond the classified edge points.
struct FrameInfo<'p> {
    /// Frame-border samples on the left, right and bottom frame edges.
    border_left: &'p [(f32, f32)],
    border_right: &'p [(f32, f32)],
    border_bottom: &'p [(f32, f32)],
    /// The window's horizontal extent and the spacing of the top samples
    /// (one per map column), to judge how many samples a flat top or inner
    /// arc should explain.
    x0: f32,
    x1: f32,
    column: f32,
}

/// Fits the rectangle and fan candidates to component `c` and keeps the one
/// that agrees best with it (IoU; the rectangle wins ties).
///
/// Fan candidates: the apex where the two edge lines meet; and, when the
/// component touches a side of the frame (a wide sector cut by the image
/// area can hide one or both edges), apexes at the centre of the far-field
/// or the inner arc — projected onto whichever edge line is visible, or on
/// its own — with a hidden edge placed just beyond the samples on its side.
fn fit_component(
    map: &[u8],
    w: usize,
    h: usize,
    c: &Component,
    opts: &FitOptions,
    scratch: &mut FitScratch<'_>,
    k: usize,
) -> Result<(Region, f32), FitError> {
    let (labels, counts) = scratch.labels.split_at_mut(w * h);
    let counts = MemberCounts::fill(labels, c, w, counts);
    let labels = &*labels;
    let b = extract_boundary(map, w, h, labels, c, opts, scratch.points);
    let p = &scratch.points[..];
    let edges = EdgePoints {
        left: b.edge(p, LEFT),
        right: b.edge(p, RIGHT),
        arc: b.edge(p, BOTTOM),
        top: b.edge(p, TOP),
    };
    let win = c.win.rect(w, h, opts);
    let frame = FrameInfo {
        border_left: b.border(p, LEFT),
        border_right: b.border(p, RIGHT),
        border_bottom: b.border(p, BOTTOM),
        x0: win.x0,
        x1: win.x1,
        column: opts.scale_x,
    };
    let tol = opts.tolerance();
    let mut rng = Rng(opts.seed.wrapping_add((k as u64).wrapping_mul(GOLDEN)));

    // A hidden edge: just beyond the edge and border samples on its side.
    let hidden_edge = |apex: (f32, f32), right: bool| {
        let (pts, border, out) = if right {
            (edges.right, frame.border_right, tol)
        } else {
            (edges.left, frame.border_left, -tol)
        };
        // Samples next to the apex have no usable direction.
        let angles = pts
            .iter()
            .chain(border)
            .filter(|&&q| q.1 - apex.1 > 4.0 * tol)
            .map(|&q| libm::atan2f(q.0 + out - apex.0, q.1 - apex.1));
        let a = if right {
            angles.fold(-MAX_EDGE_ANGLE, f32::max)
        } else {
            angles.fold(MAX_EDGE_ANGLE, f32::min)
        };
        Line::at(apex, a.clamp(-MAX_EDGE_ANGLE, MAX_EDGE_ANGLE))
    };

    let score = |r: &Region, could_win: &dyn Fn(f32) -> bool| {
        iou(
            core::slice::from_ref(r),
            labels,
            &counts,
            c,
            w,
            opts,
            could_win,
        )
    };
    // The rectangle's score gets a small bonus so a fan must beat it.
    let rows = EdgePoints {
        left: &edges.left[..b.rows[LEFT]],
        right: &edges.right[..b.rows[RIGHT]],
        ..edges
    };
    let rect = fit_rect(&rows, &b, tol, &win, &mut rng).ok();
    let mut best = rect.map(|r| (score(&Region::Rect(r), &|_| true) + 1e-3, Region::Rect(r)));
    let left = ransac_line(edges.left, tol, &mut rng);
    let right = ransac_line(edges.right, tol, &mut rng);
    // A fan cut by a straight vertical side (the frame border, or the pane
    // of a dual screen) shows a vertical side line instead of an edge: it
    // is also located from its arcs, with hidden edges, and cut where the
    // rectangle found that side as well as by the window.
    let vertical = |l: Option<Line>| l.is_some_and(|l| l.angle().abs() < VERTICAL_SIDE);
    let (cut_left, cut_right) = (vertical(left), vertical(right));
    let side_cut = rect.filter(|_| cut_left || cut_right).map(|r| Rect {
        x0: if cut_left { r.x0.max(win.x0) } else { win.x0 },
        x1: if cut_right { r.x1.min(win.x1) } else { win.x1 },
        ..win
    });
    let mut first_err = None;
    let mut consider = |fan: Result<Fan, FitError>| match fan {
        // Parallel sides in disguise (a rectangle seen as a far-apex fan):
        // no probe opens this little, and the cart rejects such a fan.
        Ok(f) if f.opening() < MIN_FAN_OPENING => {
            first_err.get_or_insert(FitError::NoFit);
        }
        Ok(mut f) => {
            if exceeds(&f, &win) {
                f.clip = Some(win);
            }
            // The cut fan is the more flexible shape: it must win clearly.
            let cut = side_cut.map(|c| (Fan { clip: Some(c), ..f }, CUT_FAN_MARGIN));
            for (f, margin) in core::iter::once((f, 0.0)).chain(cut) {
                // The same `s > bs` test as below, on the bound.
                let bs = best.map(|(bs, _)| bs);
                let could_win = |bound: f32| bs.is_none_or(|bs| bound - margin > bs);
                let s = score(&Region::Fan(f), &could_win) - margin;
                if best.is_none_or(|(bs, _)| s > bs) {
                    best = Some((s, Region::Fan(f)));
                }
            }
        }
        Err(e) => {
            first_err.get_or_insert(e);
        }
    };

    let input = FanInput {
        edges: &edges,
        tol,
        frame: Some(&frame),
    };
    if let (Some(l), Some(r)) = (left, right) {
        let apex = l.intersect(&r).ok_or(FitError::NoFit);
        consider(apex.and_then(|a| finish_fan(&input, &mut rng, a, &l, &r)));
    } else {
        consider(Err(FitError::TooFewPoints));
    }
    if b.clipped[LEFT] > 0 || b.clipped[RIGHT] > 0 || side_cut.is_some() {
        for arc in [edges.arc, edges.top] {
            let Some(centre) = ransac_circle(arc, tol, &mut rng) else {
                continue;
            };
            if let Some(l) = left {
                let apex = l.project(centre);
                let r = hidden_edge(apex, true);
                consider(finish_fan(&input, &mut rng, apex, &l, &r));
            }
            if let Some(r) = right {
                let apex = r.project(centre);
                let l = hidden_edge(apex, false);
                consider(finish_fan(&input, &mut rng, apex, &l, &r));
            }
            let (l, r) = (hidden_edge(centre, false), hidden_edge(centre, true));
            consider(finish_fan(&input, &mut rng, centre, &l, &r));
        }
    }
    match best {
        Some((s, region)) => Ok((region, s)),
        None => Err(first_err.unwrap_or(FitError::NoFit)),
    }
}

/// Whether pixel `i` belongs to component `c`.
fn is_member(labels: &[u32], c: &Component, i: usize) -> bool {
    i == c.root || labels[i] == c.root as u32
}

/// The members of one component per map row, as prefix counts over its
/// bounding box: row `y`'s entry `k` counts the members left of column
/// `x0 + k`. Filled once per fit (one pass over the box), it lets [`iou`]
/// count the members under a run of pixels with two loads instead of a
/// label test per pixel — most of the fit's time on the cart before.
struct MemberCounts<'a> {
    counts: &'a [u32],
    /// All members.
    total: u32,
    x0: usize,
    x1: usize,
    y0: usize,
    y1: usize,
    stride: usize,
}

impl<'a> MemberCounts<'a> {
    /// Counts `c`'s members; `out` needs `(c.x1 - c.x0 + 2) · (c.y1 - c.y0 +
    /// 1)` entries, at most the `(w + 1) · h` that [`scratch_len`] provides.
    fn fill(labels: &[u32], c: &Component, w: usize, out: &'a mut [u32]) -> Self {
        let stride = c.x1 + 2 - c.x0.min(c.x1 + 1);
        let rows = (c.y1 + 1).saturating_sub(c.y0);
        let out = &mut out[..stride * rows];
        let mut total = 0;
        // `is_member` by label alone, as a plain slice loop; the root pixel
        // (a member whatever its label holds) is added after.
        let root = c.root as u32;
        let (root_y, root_x) = (c.root / w, c.root % w);
        for (r, row) in out.chunks_exact_mut(stride).enumerate() {
            let y = c.y0 + r;
            let mut n = 0;
            row[0] = 0;
            if c.x0 <= c.x1 {
                let labels = &labels[y * w + c.x0..y * w + c.x1 + 1];
                for (&l, slot) in labels.iter().zip(&mut row[1..]) {
                    n += u32::from(l == root);
                    *slot = n;
                }
                if y == root_y && (c.x0..=c.x1).contains(&root_x) && labels[root_x - c.x0] != root {
                    for slot in &mut row[root_x - c.x0 + 1..] {
                        *slot += 1;
                    }
                    n += 1;
                }
            }
            total += n;
        }
        Self::filled(c, total, out)
    }

    /// The counts [`Self::fill`] left in `out` for `c` (with `total`
    /// members), unchanged since.
    fn filled(c: &Component, total: u32, out: &'a [u32]) -> Self {
        let stride = c.x1 + 2 - c.x0.min(c.x1 + 1);
        let rows = (c.y1 + 1).saturating_sub(c.y0);
        Self {
            counts: &out[..stride * rows],
            total,
            x0: c.x0,
            x1: c.x1,
            y0: c.y0,
            y1: c.y1,
            stride,
        }
    }

    /// The first and last member in row `y`, columns `s..e`, and how many
    /// there are; `None` if none. Binary searches on the prefix counts.
    fn members(&self, y: usize, s: usize, e: usize) -> Option<(usize, usize, usize)> {
        let n = self.count(y, s, e);
        if n == 0 {
            return None;
        }
        let row = &self.counts[(y - self.y0) * self.stride..][..self.stride];
        // Members lie in x0..=x1: clamp, then index the prefix counts.
        let (s, e) = (s.max(self.x0), e.min(self.x1 + 1));
        let (ks, ke) = (s - self.x0, e - self.x0);
        let before = row[ks];
        // The first member: the first k whose prefix through it exceeds
        // `before`; the last: one before the first prefix reaching the total.
        let first = ks + row[ks + 1..=ke].partition_point(|&v| v <= before);
        let last = ks + row[ks..ke].partition_point(|&v| v < row[ke]) - 1;
        Some((self.x0 + first, self.x0 + last, n as usize))
    }

    /// Members in row `y`, columns `s..e` (none when `e <= s`).
    fn count(&self, y: usize, s: usize, e: usize) -> u32 {
        if y < self.y0 || y > self.y1 || e <= s {
            return 0;
        }
        let at = |x: usize| x.clamp(self.x0, self.x1 + 1) - self.x0;
        let row = &self.counts[(y - self.y0) * self.stride..][..self.stride];
        row[at(e)] - row[at(s)]
    }
}

/// IoU at map resolution between the union of `regions` (tested at map
/// pixel centres) and the component. Only the component's window is
/// scanned (fits never leave it), and within it only the box that holds the
/// component and every region (elsewhere both are empty). The regions are
/// [prepared](Region::prepare) once, and each row of each region comes as
/// at most two runs of inside pixels ([`RowTest::runs`](crate::geometry::RowTest::runs), the same answers
/// as a per-pixel test); the runs' union against the component's
/// [`MemberCounts`] gives the row's intersection and union without touching
/// a pixel.
///
/// `could_win(bound)` tells whether a score up to `bound` could still win
/// for the caller: the scan stops as soon as an upper bound on the IoU
/// cannot (most fan candidates lose, and clearly), and the result is then
/// `-∞`. The bound is exact in `f32` terms: the remaining rows can add at
/// most their members to both counts, `(i + r) / (u + r)` is at least the
/// final ratio, and rounding is monotone, so a candidate that would have won
/// is never cut short.
fn iou(
    regions: &[Region],
    labels: &[u32],
    counts: &MemberCounts<'_>,
    c: &Component,
    w: usize,
    opts: &FitOptions,
    could_win: impl Fn(f32) -> bool,
) -> f32 {
    let mut prepared: heapless::Vec<PreparedRegion, MAX_REGIONS> = heapless::Vec::new();
    // Union of the component's box and the regions' bounds, in map pixels
    // (inclusive), or the whole window when a region has no finite bounds.
    let (mut x0, mut y0, mut x1, mut y1) = (c.x0, c.y0, c.x1, c.y1);
    let mut whole = false;
    for r in regions {
        let p = r.prepare();
        match p.bounds() {
            Some(b) => {
                // Pixel x is tested at (x + 0.5) · scale; one pixel of margin.
                let lo = |v: f32, s: f32| libm::floorf(v / s - 0.5).max(0.0) as usize;
                let hi = |v: f32, s: f32| libm::ceilf(v / s).max(0.0) as usize;
                x0 = x0.min(lo(b.x0, opts.scale_x).saturating_sub(1));
                y0 = y0.min(lo(b.y0, opts.scale_y).saturating_sub(1));
                x1 = x1.max(hi(b.x1, opts.scale_x).saturating_add(1));
                y1 = y1.max(hi(b.y1, opts.scale_y).saturating_add(1));
            }
            None => whole = true,
        }
        if prepared.push(p).is_err() {
            whole = true;
        }
    }
    if whole || prepared.len() < regions.len() {
        return iou_scan(regions, labels, c, w, opts, c.win);
    }
    let scan = Window {
        x0: x0.max(c.win.x0),
        y0: y0.max(c.win.y0),
        x1: x1.saturating_add(1).min(c.win.x1),
        y1: y1.saturating_add(1).min(c.win.y1),
    };
    // Counts fit u32: a map has fewer than 2^31 pixels.
    let (mut inter, mut union, mut seen) = (0u32, 0u32, 0u32);
    for y in scan.y0..scan.y1 {
        // Every member lies in the scanned box; those of the rows to come
        // are at most `total - seen` (exact integers in f32 below 2^24).
        if (y - scan.y0) % PRUNE_ROWS == PRUNE_ROWS - 1 {
            let rest = counts.total.saturating_sub(seen);
            if !could_win((inter + rest) as f32 / (union + rest).max(1) as f32) {
                return f32::NEG_INFINITY;
            }
        }
        let cy = (y as f32 + 0.5) * opts.scale_y;
        // The regions' inside runs on this row, sorted by start.
        let mut runs: heapless::Vec<(usize, usize), { 2 * MAX_REGIONS }> = heapless::Vec::new();
        for p in &prepared {
            let Some(row) = p.row(cy) else { continue };
            for run in row.runs(scan.x0, scan.x1, opts.scale_x) {
                if run.0 < run.1 {
                    let at = runs.iter().position(|r| r.0 > run.0).unwrap_or(runs.len());
                    let _ = runs.insert(at, run);
                }
            }
        }
        let members = counts.count(y, scan.x0, scan.x1);
        let (mut inside, mut both) = (0u32, 0u32);
        let mut add = |(s, e): (usize, usize)| {
            inside += (e - s) as u32;
            both += counts.count(y, s, e);
        };
        // Merged into disjoint runs: their union is the regions' union.
        let mut open: Option<(usize, usize)> = None;
        for &(s, e) in &runs {
            open = match open {
                Some((os, oe)) if s <= oe => Some((os, oe.max(e))),
                Some(run) => {
                    add(run);
                    Some((s, e))
                }
                None => Some((s, e)),
            };
        }
        if let Some(run) = open {
            add(run);
        }
        inter += both;
        union += members + inside - both;
        seen += members;
    }
    if union == 0 {
        0.0
    } else {
        inter as f32 / union as f32
    }
}

/// How often (in rows) [`iou`] checks whether a candidate can still win.
const PRUNE_ROWS: usize = 4;

/// [`iou`] by testing every pixel of `win` with `Region::contains` (the
/// definition; the path for regions without finite bounds).
fn iou_scan(
    regions: &[Region],
    labels: &[u32],
    c: &Component,
    w: usize,
    opts: &FitOptions,
    win: Window,
) -> f32 {
    let (mut inter, mut union) = (0u64, 0u64);
    for y in win.y0..win.y1 {
        let cy = (y as f32 + 0.5) * opts.scale_y;
        for x in win.x0..win.x1 {
            let a = is_member(labels, c, y * w + x);
            let cx = (x as f32 + 0.5) * opts.scale_x;
            let b = regions.iter().any(|r| r.contains(cx, cy));
            inter += u64::from(a && b);
            union += u64::from(a || b);
        }
    }
    if union == 0 {
        0.0
    } else {
        inter as f32 / union as f32
    }
}

/// Whether any part of the fan lies outside `win`.
fn exceeds(f: &Fan, win: &Rect) -> bool {
    let (sl, cl) = (libm::sinf(f.angle_left), libm::cosf(f.angle_left));
    let (sr, cr) = (libm::sinf(f.angle_right), libm::cosf(f.angle_right));
    let left = f.apex_x + f.r_outer * sl.min(0.0);
    let right = f.apex_x + f.r_outer * sr.max(0.0);
    let bottom = if f.angle_left <= 0.0 && f.angle_right >= 0.0 {
        f.apex_y + f.r_outer
    } else {
        f.apex_y + f.r_outer * cl.max(cr)
    };
    let top = match f.flat_top {
        Some(t) => t.max(f.apex_y),
        None => f.apex_y + f.r_inner * cl.min(cr),
    };
    left < win.x0 || right > win.x1 || top < win.y0 || bottom > win.y1
}

/// Rectangle candidate: each side is the robust mode of its samples, or the
/// frame edge when more of that side lies on the frame border than on the
/// mode.
fn fit_rect(
    e: &EdgePoints<'_>,
    b: &Boundary,
    tol: f32,
    win: &Rect,
    rng: &mut Rng,
) -> Result<Rect, FitError> {
    let mut side = |pts: &[(f32, f32)], y: bool, clipped: usize, edge: f32| {
        let coord = |i: usize| Some(if y { pts[i].1 } else { pts[i].0 });
        match mode_1d(pts.len(), coord, tol, rng) {
            Some((v, n)) if n > clipped => v,
            _ => edge,
        }
    };
    let r = Rect::new(
        side(e.left, false, b.clipped[LEFT], win.x0).clamp(win.x0, win.x1),
        side(e.top, true, b.clipped[TOP], win.y0).clamp(win.y0, win.y1),
        side(e.right, false, b.clipped[RIGHT], win.x1).clamp(win.x0, win.x1),
        side(e.arc, true, b.clipped[BOTTOM], win.y1).clamp(win.y0, win.y1),
    );
    if r.x1 > r.x0 && r.y1 > r.y0 {
        Ok(r)
    } else {
        Err(FitError::NoFit)
    }
}

/// A side line within this angle (radians) of the vertical may be a cut
/// side (of a clipped fan or a rectangle) rather than a fan edge.
const VERTICAL_SIDE: f32 = 0.05;
/// Narrowest fan opening (radians) a fit may return; the firmware's
/// plausibility check refuses narrower ones (its default `min_opening`).
pub const MIN_FAN_OPENING: f32 = 0.2;
/// IoU a fan cut at a vertical side must gain over the other candidates.
const CUT_FAN_MARGIN: f32 = 0.01;

/// Fewest inliers a flat top or inner arc needs to count.
const MIN_TOP_INLIERS: usize = 3;
/// Apexes farther than this from the origin are parallel edges in disguise.
const MAX_APEX_COORD: f32 = 1.0e5;

/// The two-line fan fit of [`fit_fan_from_edge_points`].
fn fit_fan(e: &EdgePoints<'_>, tol: f32, rng: &mut Rng) -> Result<Fan, FitError> {
    let left = ransac_line(e.left, tol, rng).ok_or(FitError::TooFewPoints)?;
    let right = ransac_line(e.right, tol, rng).ok_or(FitError::TooFewPoints)?;
    let apex = left.intersect(&right).ok_or(FitError::NoFit)?;
    let input = FanInput {
        edges: e,
        tol,
        frame: None,
    };
    finish_fan(&input, rng, apex, &left, &right)
}

/// The rest of a fan once its apex and edge lines are known: `r_outer`,
/// flat top or inner radius. The frame (absent for bare edge points) adds
/// the frame-border samples, which the fan must reach where the frame cuts
/// off its far-field arc, and the sample spacing that tells a real flat top
/// or inner arc from a few clustered outliers.
fn finish_fan(
    input: &FanInput<'_, '_>,
    rng: &mut Rng,
    apex: (f32, f32),
    left: &Line,
    right: &Line,
) -> Result<Fan, FitError> {
    let (e, tol, frame) = (input.edges, input.tol, input.frame);
    if !(apex.0.abs() < MAX_APEX_COORD && apex.1.abs() < MAX_APEX_COORD) {
        return Err(FitError::NoFit);
    }
    let (angle_left, angle_right) = (left.angle(), right.angle());
    if !(angle_left < angle_right) {
        return Err(FitError::NoFit);
    }
    let from_apex = |p: (f32, f32)| dist(apex, p);
    // `left.dist` is positive and `right.dist` negative inside the wedge.
    let in_wedge = |p: (f32, f32), margin: f32| left.dist(p) > margin && right.dist(p) < -margin;
    let arc = mode_1d(
        e.arc.len(),
        |i| in_wedge(e.arc[i], -tol).then(|| from_apex(e.arc[i])),
        tol,
        rng,
    );
    // Frame-border samples well inside the wedge are inside the fan.
    let border = || {
        frame
            .into_iter()
            .flat_map(|f| {
                f.border_left
                    .iter()
                    .chain(f.border_right)
                    .chain(f.border_bottom)
            })
            .filter(|&&q| in_wedge(q, tol))
            .map(|&q| from_apex(q))
    };
    let r_outer = match arc {
        // The arc stands unless more border samples lie beyond it than it
        // has inliers (then it is clutter and the frame hides the real one).
        Some((r, n))
            if n >= MIN_TOP_INLIERS && 2 * border().filter(|&d| d > r + 2.0 * tol).count() <= n =>
        {
            r
        }
        _ => {
            // No usable arc: the frame or the edges' visible extent bounds it.
            let extent = |l: &Line, pts: &[(f32, f32)]| {
                pts.iter()
                    .filter(|&&p| l.dist(p).abs() <= tol)
                    .map(|&p| from_apex(p))
                    .fold(0.0f32, f32::max)
            };
            border()
                .fold(0.0f32, f32::max)
                .max(extent(left, e.left))
                .max(extent(right, e.right))
        }
    };
    // Top samples inside the wedge, clear of both edges: flat top or inner
    // arc. (Clutter outside the wedge, an ECG trace, is ignored.)
    let top = |i: usize| {
        let p = e.top[i];
        (in_wedge(p, tol) && p.1 > apex.1 + tol).then_some(p)
    };
    // A real flat top or inner arc spans the wedge: it must explain at least
    // half the columns it crosses inside the frame (a notch cut by text
    // touching the edge explains a few).
    let (tan_l, tan_r) = (libm::tanf(angle_left), libm::tanf(angle_right));
    let (sin_l, sin_r) = (libm::sinf(angle_left), libm::sinf(angle_right));
    let spans = |n: usize, x0: f32, x1: f32| {
        let Some(f) = frame else {
            return n >= MIN_TOP_INLIERS;
        };
        let width = x1.min(f.x1) - x0.max(f.x0);
        n >= MIN_TOP_INLIERS && n as f32 >= 0.5 * width / f.column
    };
    let flat = mode_1d(e.top.len(), |i| top(i).map(|p| p.1), tol, rng).filter(|&(y, n)| {
        let dy = y - apex.1;
        dy > 2.0 * tol && spans(n, apex.0 + dy * tan_l, apex.0 + dy * tan_r)
    });
    let inner = mode_1d(e.top.len(), |i| top(i).map(from_apex), tol, rng).filter(|&(r, n)| {
        // Above the frame top where the apex is above the frame.
        let half = if apex.1 < 0.0 {
            crate::dsp::sqrtf((r * r - apex.1 * apex.1).max(0.0))
        } else {
            r
        };
        let (x0, x1) = (
            apex.0 + (r * sin_l).max(-half),
            apex.0 + (r * sin_r).min(half),
        );
        r > 2.0 * tol && r < r_outer && spans(n, x0, x1)
    });
    let (flat_top, r_inner) = match (flat, inner) {
        (Some((y, nf)), Some((r, ni))) => {
            if ni > nf {
                (None, r)
            } else {
                (Some(y), 0.0)
            }
        }
        (Some((y, _)), None) => (Some(y), 0.0),
        (None, Some((r, _))) => (None, r),
        (None, None) => (None, 0.0),
    };
    let fan = Fan {
        apex_x: apex.0,
        apex_y: apex.1,
        angle_left,
        angle_right,
        r_inner,
        r_outer,
        flat_top,
        clip: None,
    };
    if fan.is_valid() {
        Ok(fan)
    } else {
        Err(FitError::NoFit)
    }
}

/// `√(dx² + dy²)` with the hardware square root ([`crate::dsp::sqrtf`]):
/// libm's `hypotf` guards against overflow the fit's coordinates (below
/// [`MAX_APEX_COORD`]) cannot reach, at several times the cost on the cart.
#[inline]
fn hypot(dx: f32, dy: f32) -> f32 {
    crate::dsp::sqrtf(dx * dx + dy * dy)
}

fn dist(a: (f32, f32), b: (f32, f32)) -> f32 {
    hypot(b.0 - a.0, b.1 - a.1)
}

/// A line through `(cx, cy)` with unit direction `(dx, dy)`, `dy >= 0`
/// (pointing down, the way a fan edge runs from its apex).
#[derive(Clone, Copy, Debug)]
struct Line {
    cx: f32,
    cy: f32,
    dx: f32,
    dy: f32,
}

impl Line {
    fn new(cx: f32, cy: f32, dx: f32, dy: f32) -> Option<Self> {
        let len = hypot(dx, dy);
        if !(len > 0.0 && len.is_finite() && cx.is_finite() && cy.is_finite()) {
            return None;
        }
        let s = if dy < 0.0 { -len } else { len };
        Some(Self {
            cx,
            cy,
            dx: dx / s,
            dy: dy / s,
        })
    }

    /// The line from `apex` at `angle` from the downward vertical.
    fn at(apex: (f32, f32), angle: f32) -> Self {
        Self {
            cx: apex.0,
            cy: apex.1,
            dx: libm::sinf(angle),
            dy: libm::cosf(angle),
        }
    }

    /// The foot of the perpendicular from `p`.
    fn project(&self, p: (f32, f32)) -> (f32, f32) {
        let t = (p.0 - self.cx) * self.dx + (p.1 - self.cy) * self.dy;
        (self.cx + t * self.dx, self.cy + t * self.dy)
    }

    /// Signed perpendicular distance (positive to the right of the downward
    /// direction as drawn, i.e. towards +x for a vertical line).
    fn dist(&self, p: (f32, f32)) -> f32 {
        (p.0 - self.cx) * self.dy - (p.1 - self.cy) * self.dx
    }

    /// Angle from the downward vertical, positive towards +x.
    fn angle(&self) -> f32 {
        libm::atan2f(self.dx, self.dy)
    }

    /// Whether a fan edge may run along this line.
    fn is_edge(&self) -> bool {
        self.angle().abs() <= MAX_EDGE_ANGLE
    }

    fn intersect(&self, o: &Line) -> Option<(f32, f32)> {
        let cross = self.dx * o.dy - self.dy * o.dx;
        if !(cross.abs() > 1e-6) {
            return None;
        }
        let (qx, qy) = (o.cx - self.cx, o.cy - self.cy);
        let t = (qx * o.dy - qy * o.dx) / cross;
        Some((self.cx + t * self.dx, self.cy + t * self.dy))
    }
}

/// RANSAC hypotheses per line (and per circle). With a third of the
/// samples outliers, 64 draws all miss an all-inlier pair with probability
/// (1 − 0.67²)^64 ≈ 3·10⁻¹⁷ (a circle's triple: 10⁻¹⁰), and the winner is
/// refined on its inliers anyway; 128 cost the cart twice the instructions.
const LINE_ITERATIONS: usize = 64;
/// Candidate values tried by the 1-D mode search.
const MODE_CANDIDATES: usize = 64;

/// RANSAC line (MSAC cost: inliers count their squared distance, outliers
/// `tol²`) restricted to fan-edge angles, refined by total least squares on
/// its inliers.
fn ransac_line(pts: &[(f32, f32)], tol: f32, rng: &mut Rng) -> Option<Line> {
    let n = pts.len();
    if n < 2 {
        return None;
    }
    let tol2 = tol * tol;
    let term = |l: &Line, p: (f32, f32)| {
        let d = l.dist(p);
        if d * d < tol2 { d * d } else { tol2 }
    };
    let mut best: Option<(f32, Line)> = None;
    for _ in 0..LINE_ITERATIONS {
        let (a, b) = (pts[rng.below(n)], pts[rng.below(n)]);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        // Close pairs give poorly determined directions.
        if !(hypot(dx, dy) >= 2.0 * tol) {
            continue;
        }
        let Some(l) = Line::new(a.0, a.1, dx, dy).filter(Line::is_edge) else {
            continue;
        };
        let Some(c) = capped_sum(pts, |p| term(&l, p), 0.0, best.map(|b| b.0)) else {
            continue;
        };
        if best.is_none_or(|(bc, _)| c < bc) {
            best = Some((c, l));
        }
    }
    let mut line = best?.1;
    for _ in 0..3 {
        match total_least_squares(pts, |p| line.dist(p).abs() <= tol) {
            Some(l) if l.is_edge() => line = l,
            _ => break,
        }
    }
    Some(line)
}

/// RANSAC circle through arc samples (three-point circumcircles, MSAC
/// cost), refined by an algebraic fit on its inliers; returns the centre.
/// Only circles centred above their sample points count: a fan's arcs are
/// centred on its apex.
fn ransac_circle(pts: &[(f32, f32)], tol: f32, rng: &mut Rng) -> Option<(f32, f32)> {
    let n = pts.len();
    if n < 3 {
        return None;
    }
    let tol2 = tol * tol;
    let term = |c: (f32, f32), r: f32, p: (f32, f32)| {
        let d = dist(c, p) - r;
        if d * d < tol2 { d * d } else { tol2 }
    };
    let mut best: Option<(f32, (f32, f32), f32)> = None;
    for _ in 0..LINE_ITERATIONS {
        let (a, b, c) = (pts[rng.below(n)], pts[rng.below(n)], pts[rng.below(n)]);
        if !(dist(a, b).min(dist(b, c)).min(dist(a, c)) >= 4.0 * tol) {
            continue;
        }
        let Some((centre, r)) = circumcircle(a, b, c) else {
            continue;
        };
        if !(centre.1 < a.1.min(b.1).min(c.1) && r < MAX_APEX_COORD) {
            continue;
        }
        let stop = best.map(|b| b.0);
        let Some(cc) = capped_sum(pts, |p| term(centre, r, p), 0.0, stop) else {
            continue;
        };
        if best.is_none_or(|(bc, _, _)| cc < bc) {
            best = Some((cc, centre, r));
        }
    }
    let (_, mut centre, mut r) = best?;
    for _ in 0..3 {
        match algebraic_circle(pts, |p| (dist(centre, p) - r).abs() <= tol) {
            Some((c2, r2)) if c2.1 < centre.1 + r => (centre, r) = (c2, r2),
            _ => break,
        }
    }
    Some(centre)
}

/// `Σ term(x)` over `xs` in order: the same `f32` additions as
/// `Iterator::sum` for non-negative terms. With `stop`, `None` as soon as a
/// partial sum plus `extra` is not below it: the MSAC searches keep a
/// candidate only if `sum + extra < stop` (their best cost so far), partial
/// sums of non-negative terms only grow, and rounding is monotone, so a
/// candidate dropped early could not have won. Most random hypotheses are
/// far off and are dropped after a few chunks.
#[inline(always)]
fn capped_sum<T: Copy>(
    xs: &[T],
    term: impl Fn(T) -> f32,
    extra: f32,
    stop: Option<f32>,
) -> Option<f32> {
    // `Iterator::sum`'s start for f32 (an empty sum is -0.0).
    let mut s = -0.0f32;
    for chunk in xs.chunks(CAP_CHUNK) {
        s = chunk.iter().fold(s, |a, &x| a + term(x));
        if let Some(b) = stop
            && !(s + extra < b)
        {
            return None;
        }
    }
    Some(s)
}

/// Terms [`capped_sum`] adds between two looks at its bound.
const CAP_CHUNK: usize = 16;

/// Centre and radius of the circle through three points.
fn circumcircle(a: (f32, f32), b: (f32, f32), c: (f32, f32)) -> Option<((f32, f32), f32)> {
    let (bx, by) = (f64::from(b.0 - a.0), f64::from(b.1 - a.1));
    let (cx, cy) = (f64::from(c.0 - a.0), f64::from(c.1 - a.1));
    let d = 2.0 * (bx * cy - by * cx);
    if !(d.abs() > 1e-9) {
        return None;
    }
    let (b2, c2) = (bx * bx + by * by, cx * cx + cy * cy);
    let ux = (cy * b2 - by * c2) / d;
    let uy = (bx * c2 - cx * b2) / d;
    let centre = ((f64::from(a.0) + ux) as f32, (f64::from(a.1) + uy) as f32);
    let r = libm::hypot(ux, uy) as f32;
    (centre.0.is_finite() && centre.1.is_finite() && r.is_finite()).then_some((centre, r))
}

/// Least-squares circle (Kåsa: minimises `Σ (|p - c|² - r²)²`, linear in the
/// unknowns) through the selected points, in `f64` about their centroid.
fn algebraic_circle(
    pts: &[(f32, f32)],
    keep: impl Fn((f32, f32)) -> bool,
) -> Option<((f32, f32), f32)> {
    let (mut n, mut sx, mut sy) = (0usize, 0.0f64, 0.0f64);
    for &p in pts.iter().filter(|&&p| keep(p)) {
        n += 1;
        sx += f64::from(p.0);
        sy += f64::from(p.1);
    }
    if n < 3 {
        return None;
    }
    let (mx, my) = (sx / n as f64, sy / n as f64);
    // With u, v centred, `u² + v² + D u + E v + F = 0` has normal equations
    // [Σuu Σuv; Σuv Σvv] [D; E] = -[Σuz; Σvz], F = -Σz / n, z = u² + v².
    let (mut uu, mut uv, mut vv, mut uz, mut vz, mut zz) = (0.0f64, 0.0, 0.0, 0.0, 0.0, 0.0);
    for &p in pts.iter().filter(|&&p| keep(p)) {
        let (u, v) = (f64::from(p.0) - mx, f64::from(p.1) - my);
        let z = u * u + v * v;
        uu += u * u;
        uv += u * v;
        vv += v * v;
        uz += u * z;
        vz += v * z;
        zz += z;
    }
    let det = uu * vv - uv * uv;
    if !(det.abs() > 1e-9 * (uu * vv).max(1e-300)) {
        return None;
    }
    let d = -(uz * vv - vz * uv) / det;
    let e = -(vz * uu - uz * uv) / det;
    let f = -zz / n as f64;
    let r2 = 0.25 * (d * d + e * e) - f;
    if !(r2 > 0.0) {
        return None;
    }
    let centre = ((mx - 0.5 * d) as f32, (my - 0.5 * e) as f32);
    let r = libm::sqrt(r2) as f32;
    (centre.0.is_finite() && centre.1.is_finite() && r.is_finite()).then_some((centre, r))
}

/// The line through the centroid of the selected points along their
/// principal axis.
fn total_least_squares(pts: &[(f32, f32)], keep: impl Fn((f32, f32)) -> bool) -> Option<Line> {
    let (mut n, mut sx, mut sy) = (0usize, 0.0f32, 0.0f32);
    for &p in pts.iter().filter(|&&p| keep(p)) {
        n += 1;
        sx += p.0;
        sy += p.1;
    }
    if n < 2 {
        return None;
    }
    let (mx, my) = (sx / n as f32, sy / n as f32);
    let (mut xx, mut xy, mut yy) = (0.0f32, 0.0f32, 0.0f32);
    for &p in pts.iter().filter(|&&p| keep(p)) {
        let (u, v) = (p.0 - mx, p.1 - my);
        xx += u * u;
        xy += u * v;
        yy += v * v;
    }
    let theta = 0.5 * libm::atan2f(2.0 * xy, xx - yy);
    Line::new(mx, my, libm::cosf(theta), libm::sinf(theta))
}

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
fn mode_1d(
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
fn order_key(x: f32) -> u32 {
    let b = x.to_bits();
    if b >> 31 == 1 { !b } else { b | 1 << 31 }
}

/// The inverse of [`order_key`].
fn from_order_key(k: u32) -> f32 {
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

/// The 64-bit golden ratio, SplitMix64's increment.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64: tiny, seedable, identical on every platform.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`), by multiply-shift.
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

mod split;
#[cfg(test)]
mod tests;
