//! Scan-region geometry: fans and rectangles, and their rasterisation to
//! per-row spans at full resolution.
//!
//! Why geometry and not pixels: the cart cannot afford a full-resolution
//! per-pixel mask, and a model's coarse probability map is noisy at the edges.
//! A handful of parameters (apex, edge angles, radii) fitted to that map is
//! stable from frame to frame, can be checked for plausibility, and turns into
//! at most a few spans per row, so masking is a memory fill.
//!
//! Coordinates are in pixels of the full-resolution frame, `x` to the right and
//! `y` down; pixel `(x, y)` covers `[x, x+1) × [y, y+1)` and is *inside* a
//! region when its centre `(x + 0.5, y + 0.5)` is. Fan angles are measured
//! from the downward vertical (`+y`), positive towards `+x`, in radians.

use serde::{Deserialize, Serialize};

/// The most regions a frame can carry (dual screen + M-mode strip + spare).
pub const MAX_REGIONS: usize = 4;
/// The most spans one row can have: each fan contributes at most two (its row
/// can cross the inner arc), each rectangle one.
pub const MAX_SPANS_PER_ROW: usize = 2 * MAX_REGIONS;

/// Fans must open downwards: both edges within this many radians of vertical.
pub const MAX_EDGE_ANGLE: f32 = 1.45;

/// An axis-aligned rectangle in pixel-edge coordinates (`x0 <= x < x1`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rect {
    /// Left edge (inclusive), in pixels.
    pub x0: f32,
    /// Top edge (inclusive), in pixels.
    pub y0: f32,
    /// Right edge (exclusive), in pixels; > `x0` to be valid.
    pub x1: f32,
    /// Bottom edge (exclusive), in pixels; > `y0` to be valid.
    pub y1: f32,
}

impl Rect {
    /// The rectangle `[x0, x1) × [y0, y1)` (not checked; see
    /// [`Region::is_valid`]).
    pub const fn new(x0: f32, y0: f32, x1: f32, y1: f32) -> Self {
        Self { x0, y0, x1, y1 }
    }

    /// Whether the point lies inside (edges `x0`, `y0` included, `x1`, `y1` excluded).
    pub fn contains(&self, x: f32, y: f32) -> bool {
        x >= self.x0 && x < self.x1 && y >= self.y0 && y < self.y1
    }

    /// `x1 - x0`, in pixels.
    pub fn width(&self) -> f32 {
        self.x1 - self.x0
    }

    /// `y1 - y0`, in pixels.
    pub fn height(&self) -> f32 {
        self.y1 - self.y0
    }

    fn is_valid(&self) -> bool {
        self.x0.is_finite()
            && self.y0.is_finite()
            && self.x1.is_finite()
            && self.y1.is_finite()
            && self.x1 > self.x0
            && self.y1 > self.y0
    }
}

/// A sector (fan) as phased-array and curvilinear probes draw it.
///
/// The kept region is every point at distance `r_inner..=r_outer` from the
/// apex whose angle from the downward vertical lies in `angle_left..=angle_right`,
/// below `flat_top` when set (a truncated, flat apex) and inside `clip` when
/// set (the scanner's image area cuts wide fans). A phased array has its apex
/// on or just above the top of the image and `r_inner` ≈ 0; a curvilinear
/// probe has its (virtual) apex far above the image and `r_inner` = the probe
/// face radius.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fan {
    /// `x` of the apex, where the two edges meet (may lie outside the
    /// frame), in pixels.
    pub apex_x: f32,
    /// `y` of the apex, in pixels; above the image for a curvilinear probe.
    pub apex_y: f32,
    /// Left edge angle (radians from +y, negative = left of the apex).
    pub angle_left: f32,
    /// Right edge angle (radians from +y), greater than `angle_left`.
    pub angle_right: f32,
    /// Inner radius (0 for a pointed apex).
    pub r_inner: f32,
    /// Outer radius (the far-field arc).
    pub r_outer: f32,
    /// Everything above this `y` is outside (a flat, truncated apex).
    pub flat_top: Option<f32>,
    /// The scanner's image area; everything outside it is outside.
    pub clip: Option<Rect>,
}

impl Fan {
    /// Whether the point lies inside the fan.
    pub fn contains(&self, x: f32, y: f32) -> bool {
        let dx = x - self.apex_x;
        let dy = y - self.apex_y;
        if dy <= 0.0 {
            return false;
        }
        if let Some(top) = self.flat_top
            && y < top
        {
            return false;
        }
        if let Some(c) = self.clip
            && !c.contains(x, y)
        {
            return false;
        }
        let r2 = dx * dx + dy * dy;
        if r2 > self.r_outer * self.r_outer || r2 < self.r_inner * self.r_inner {
            return false;
        }
        let t = dx / dy;
        t >= libm::tanf(self.angle_left) && t <= libm::tanf(self.angle_right)
    }

    /// Whether the parameters describe a drawable fan (finite, ordered angles
    /// within ±[`MAX_EDGE_ANGLE`], `0 <= r_inner < r_outer`).
    pub fn is_valid(&self) -> bool {
        let finite = self.apex_x.is_finite()
            && self.apex_y.is_finite()
            && self.angle_left.is_finite()
            && self.angle_right.is_finite()
            && self.r_inner.is_finite()
            && self.r_outer.is_finite()
            && self.flat_top.is_none_or(f32::is_finite);
        finite
            && self.angle_left < self.angle_right
            && self.angle_left >= -MAX_EDGE_ANGLE
            && self.angle_right <= MAX_EDGE_ANGLE
            && self.r_inner >= 0.0
            && self.r_outer > self.r_inner
            && self.clip.is_none_or(|c| c.is_valid())
    }

    /// Opening angle in radians.
    pub fn opening(&self) -> f32 {
        self.angle_right - self.angle_left
    }

    /// The x-intervals (in continuous coordinates) where the horizontal line
    /// `y` is inside the fan; at most two (the line may cross the inner arc).
    /// For a [valid](Self::is_valid) fan whose edge tangents `tan_left =
    /// tanf(angle_left)` and `tan_right` the caller computed once (a mask
    /// asks for every row of the frame).
    fn line_intervals(
        &self,
        y: f32,
        tan_left: f32,
        tan_right: f32,
        out: &mut [(f32, f32); 2],
    ) -> usize {
        let dy = y - self.apex_y;
        if dy <= 0.0 {
            return 0;
        }
        if self.flat_top.is_some_and(|top| y < top) {
            return 0;
        }
        let ro2 = self.r_outer * self.r_outer;
        if dy * dy > ro2 {
            return 0;
        }
        let half_outer = crate::dsp::sqrtf(ro2 - dy * dy);
        let mut lo = -half_outer;
        let mut hi = half_outer;
        lo = lo.max(dy * tan_left);
        hi = hi.min(dy * tan_right);
        if let Some(c) = self.clip {
            if y < c.y0 || y >= c.y1 {
                return 0;
            }
            lo = lo.max(c.x0 - self.apex_x);
            // `x1` is exclusive; the pixel-centre conversion below handles it.
            hi = hi.min(c.x1 - self.apex_x);
        }
        if lo > hi {
            return 0;
        }
        let ri2 = self.r_inner * self.r_inner;
        let mut n = 0;
        if dy * dy < ri2 {
            let half_inner = crate::dsp::sqrtf(ri2 - dy * dy);
            // Keep [lo, hi] minus the open interval (-half_inner, half_inner).
            if lo < -half_inner {
                out[n] = (lo + self.apex_x, hi.min(-half_inner) + self.apex_x);
                n += 1;
            }
            if hi > half_inner {
                out[n] = (lo.max(half_inner) + self.apex_x, hi + self.apex_x);
                n += 1;
            }
        } else {
            out[0] = (lo + self.apex_x, hi + self.apex_x);
            n = 1;
        }
        n
    }
}

/// One scan region: a fan or a rectangle (linear probes, M-mode and spectral
/// Doppler strips).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "RegionRepr")]
pub enum Region {
    /// A sector: phased-array and curvilinear probes.
    Fan(Fan),
    /// A rectangle: linear probes, M-mode and spectral Doppler strips.
    Rect(Rect),
}

/// The wire form of [`Region`] for deserialising. serde buffers an
/// internally tagged enum's fields until it meets the tag, which needs
/// `alloc`; this flat struct reads the same `{"kind": ..., fields...}` JSON
/// without it, and [`Region`] is built from it.
#[derive(Deserialize)]
struct RegionRepr {
    kind: RegionKind,
    apex_x: Option<f32>,
    apex_y: Option<f32>,
    angle_left: Option<f32>,
    angle_right: Option<f32>,
    r_inner: Option<f32>,
    r_outer: Option<f32>,
    flat_top: Option<f32>,
    clip: Option<Rect>,
    x0: Option<f32>,
    y0: Option<f32>,
    x1: Option<f32>,
    y1: Option<f32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum RegionKind {
    Fan,
    Rect,
}

impl TryFrom<RegionRepr> for Region {
    type Error = &'static str;

    fn try_from(r: RegionRepr) -> Result<Self, Self::Error> {
        let need = |v: Option<f32>| v.ok_or("region is missing a field its kind needs");
        Ok(match r.kind {
            RegionKind::Fan => Region::Fan(Fan {
                apex_x: need(r.apex_x)?,
                apex_y: need(r.apex_y)?,
                angle_left: need(r.angle_left)?,
                angle_right: need(r.angle_right)?,
                r_inner: need(r.r_inner)?,
                r_outer: need(r.r_outer)?,
                flat_top: r.flat_top,
                clip: r.clip,
            }),
            RegionKind::Rect => Region::Rect(Rect::new(
                need(r.x0)?,
                need(r.y0)?,
                need(r.x1)?,
                need(r.y1)?,
            )),
        })
    }
}

impl Region {
    /// Whether the point `(x, y)`, in pixel-edge coordinates, lies inside.
    pub fn contains(&self, x: f32, y: f32) -> bool {
        match self {
            Region::Fan(f) => f.contains(x, y),
            Region::Rect(r) => r.contains(x, y),
        }
    }

    /// Whether the parameters describe a drawable region: see
    /// [`Fan::is_valid`]; a rectangle needs finite edges and a positive area.
    pub fn is_valid(&self) -> bool {
        match self {
            Region::Fan(f) => f.is_valid(),
            Region::Rect(r) => r.is_valid(),
        }
    }
}

/// A region with the constants of its point test computed once (a fan's
/// edge tangents and squared radii), for loops that test many points
/// against one region (the fit scores every candidate on every map pixel).
/// [`PreparedRegion::contains`] is exactly [`Region::contains`]: the same
/// operations on the same values.
#[derive(Clone, Copy, Debug)]
pub struct PreparedRegion {
    region: Region,
    r_outer2: f32,
    r_inner2: f32,
    tan_left: f32,
    tan_right: f32,
}

impl Region {
    /// See [`PreparedRegion`].
    pub fn prepare(&self) -> PreparedRegion {
        let mut p = PreparedRegion {
            region: *self,
            r_outer2: 0.0,
            r_inner2: 0.0,
            tan_left: 0.0,
            tan_right: 0.0,
        };
        if let Region::Fan(f) = self {
            p.r_outer2 = f.r_outer * f.r_outer;
            p.r_inner2 = f.r_inner * f.r_inner;
            p.tan_left = libm::tanf(f.angle_left);
            p.tan_right = libm::tanf(f.angle_right);
        }
        p
    }
}

impl PreparedRegion {
    /// Exactly [`Region::contains`] of the prepared region.
    #[inline]
    pub fn contains(&self, x: f32, y: f32) -> bool {
        let f = match &self.region {
            Region::Rect(r) => return r.contains(x, y),
            Region::Fan(f) => f,
        };
        // Fan::contains, step for step.
        let dx = x - f.apex_x;
        let dy = y - f.apex_y;
        if dy <= 0.0 {
            return false;
        }
        if let Some(top) = f.flat_top
            && y < top
        {
            return false;
        }
        if let Some(c) = f.clip
            && !c.contains(x, y)
        {
            return false;
        }
        let r2 = dx * dx + dy * dy;
        if r2 > self.r_outer2 || r2 < self.r_inner2 {
            return false;
        }
        let t = dx / dy;
        t >= self.tan_left && t <= self.tan_right
    }

    /// The test restricted to the row at `y`: `None` if no point of that
    /// row is inside, else a [`RowTest`] whose `contains(x)` equals
    /// `self.contains(x, y)`. Hoists everything that depends on `y` alone
    /// out of a scan along the row.
    #[inline]
    pub fn row(&self, y: f32) -> Option<RowTest> {
        match &self.region {
            Region::Rect(r) => (y >= r.y0 && y < r.y1).then_some(RowTest {
                x0: r.x0,
                x1: r.x1,
                fan: None,
            }),
            Region::Fan(f) => {
                let dy = y - f.apex_y;
                if dy <= 0.0 {
                    return None;
                }
                if let Some(top) = f.flat_top
                    && y < top
                {
                    return None;
                }
                let (x0, x1) = match f.clip {
                    Some(c) if !(y >= c.y0 && y < c.y1) => return None,
                    Some(c) => (c.x0, c.x1),
                    None => (f32::NEG_INFINITY, f32::INFINITY),
                };
                Some(RowTest {
                    x0,
                    x1,
                    fan: Some(RowFan {
                        apex_x: f.apex_x,
                        dy,
                        dy2: dy * dy,
                        r_outer2: self.r_outer2,
                        r_inner2: self.r_inner2,
                        tan_left: self.tan_left,
                        tan_right: self.tan_right,
                    }),
                })
            }
        }
    }

    /// A box outside which [`Self::contains`] is false (it may be
    /// larger than the region, by a safety margin for rounding); `None`
    /// when the region is not finite.
    pub fn bounds(&self) -> Option<Rect> {
        let b = match &self.region {
            Region::Rect(r) => *r,
            Region::Fan(f) => {
                // Inside means dy > 0 and dx² + dy² <= r_outer², so
                // |dx|, dy <= r_outer (plus rounding, well within the margin).
                let r = f.r_outer * 1.001 + 1.0;
                let mut b = Rect::new(f.apex_x - r, f.apex_y, f.apex_x + r, f.apex_y + r);
                if let Some(c) = f.clip {
                    b = Rect::new(
                        b.x0.max(c.x0),
                        b.y0.max(c.y0),
                        b.x1.min(c.x1),
                        b.y1.min(c.y1),
                    );
                }
                b
            }
        };
        let finite = b.x0.is_finite() && b.y0.is_finite() && b.x1.is_finite() && b.y1.is_finite();
        finite.then_some(b)
    }
}

/// [`PreparedRegion::contains`] along one row (see [`PreparedRegion::row`]).
#[derive(Clone, Copy, Debug)]
pub struct RowTest {
    /// `x0 <= x < x1` (a rectangle, or a fan's clip; infinite without one).
    x0: f32,
    x1: f32,
    fan: Option<RowFan>,
}

/// The row constants of a fan's test.
#[derive(Clone, Copy, Debug)]
struct RowFan {
    apex_x: f32,
    dy: f32,
    dy2: f32,
    r_outer2: f32,
    r_inner2: f32,
    tan_left: f32,
    tan_right: f32,
}

impl RowTest {
    /// Exactly the prepared region's `contains(x, y)` for this row's `y`.
    #[inline]
    pub fn contains(&self, x: f32) -> bool {
        if !(x >= self.x0 && x < self.x1) {
            return false;
        }
        let Some(f) = &self.fan else {
            return true;
        };
        let dx = x - f.apex_x;
        // dx * dx + dy * dy, with dy * dy computed once: the same roundings.
        let r2 = dx * dx + f.dy2;
        if r2 > f.r_outer2 || r2 < f.r_inner2 {
            return false;
        }
        let t = dx / f.dy;
        t >= f.tan_left && t <= f.tan_right
    }

    /// The pixels `i` in `lo..hi` whose centre `x = (i + 0.5) · scale`
    /// (`scale > 0`) is inside, `contains(x)` exactly, as at most two
    /// half-open runs `(start, end)` (empty runs have `start >= end`).
    ///
    /// Why exact without testing every pixel: the centre, `dx = x − apex`,
    /// `dx / dy` (`dy > 0`) and `dx² + dy²` on either side of `dx = 0` are
    /// monotone in `i` under round-to-nearest, so each condition of the test
    /// holds on an interval (the inner radius: off an interval), and each
    /// interval's ends are found by `first_true` with the same operations
    /// as `contains`, walking from a closed-form guess that only sets the
    /// cost (a few tests per row instead of one per pixel).
    // `!(a < b)` on purpose: the negations of `contains`' own comparisons,
    // NaN included.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    pub fn runs(&self, lo: usize, hi: usize, scale: f32) -> [(usize, usize); 2] {
        let at = |i: usize| (i as f32 + 0.5) * scale;
        let guess = |v: f32| v / scale - 0.5;
        let l = first_true(lo, hi, guess(self.x0), |i| at(i) >= self.x0);
        let r = first_true(lo, hi, guess(self.x1), |i| !(at(i) < self.x1));
        let Some(f) = &self.fan else {
            return [(l, r), (hi, hi)];
        };
        let dx = |i: usize| at(i) - f.apex_x;
        let r2 = |i: usize| {
            let d = dx(i);
            d * d + f.dy2
        };
        let t = |i: usize| dx(i) / f.dy;
        let l = l.max(first_true(
            lo,
            hi,
            guess(f.apex_x + f.tan_left * f.dy),
            |i| t(i) >= f.tan_left,
        ));
        let r = r.min(first_true(
            lo,
            hi,
            guess(f.apex_x + f.tan_right * f.dy),
            |i| !(t(i) <= f.tan_right),
        ));
        // Left of `m` the distance falls with i, from `m` on it grows.
        let m = first_true(lo, hi, guess(f.apex_x), |i| dx(i) >= 0.0);
        let half = |r2max: f32| crate::dsp::sqrtf((r2max - f.dy2).max(0.0));
        // Within the outer radius: [a, m) on the left, [m, b) on the right.
        let ho = half(f.r_outer2);
        let a = first_true(lo, m, guess(f.apex_x - ho), |i| !(r2(i) > f.r_outer2));
        let b = first_true(m, hi, guess(f.apex_x + ho), |i| r2(i) > f.r_outer2);
        // Within the inner radius (outside the fan): [c, m) and [m, d).
        // None on rows at or below it: dx² + dy², rounded, is never below
        // dy² there (a pointed fan: every row).
        let (c, d) = if f.dy2 >= f.r_inner2 {
            (m, m)
        } else {
            let hi_ = half(f.r_inner2);
            (
                first_true(lo, m, guess(f.apex_x - hi_), |i| r2(i) < f.r_inner2),
                first_true(m, hi, guess(f.apex_x + hi_), |i| !(r2(i) < f.r_inner2)),
            )
        };
        let (start, end) = (l.max(a), r.min(b));
        [(start, end.min(c)), (start.max(d), end)]
    }
}

/// The first `i` in `lo..hi` where `pred` holds (`hi` if none), for a
/// `pred` that is false and then true over the range; the walk starts at
/// `guess` (clamped into the range; any value, NaN included, is correct).
fn first_true(lo: usize, hi: usize, guess: f32, pred: impl Fn(usize) -> bool) -> usize {
    if lo >= hi {
        return lo;
    }
    // A saturating cast: NaN gives 0, then clamped.
    let mut i = (guess as usize).clamp(lo, hi);
    if i == hi || pred(i) {
        while i > lo && pred(i - 1) {
            i -= 1;
        }
    } else {
        while i < hi && !pred(i) {
            i += 1;
        }
    }
    i
}

/// A half-open run of kept pixels `[start, end)` on one row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// First kept column.
    pub start: u16,
    /// One past the last kept column.
    pub end: u16,
}

impl Span {
    /// Kept pixels: `end - start` (the spans this crate builds have
    /// `start <= end`).
    pub const fn len(&self) -> u16 {
        self.end - self.start
    }

    /// Whether it keeps no pixel.
    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// The kept spans of one row, sorted and non-overlapping.
pub type RowSpans = heapless::Vec<Span, MAX_SPANS_PER_ROW>;

/// Converts a continuous interval of pixel-centre x positions to a pixel span:
/// pixel `x` is in when `lo <= x + 0.5 <= hi`.
fn interval_to_span(lo: f32, hi: f32, width: u16) -> Option<Span> {
    let start = libm::ceilf(lo - 0.5).max(0.0);
    let end = (libm::floorf(hi - 0.5) + 1.0).min(width as f32);
    // Also `None` when either bound is NaN.
    if start.partial_cmp(&end) != Some(core::cmp::Ordering::Less) {
        return None;
    }
    Some(Span {
        start: start as u16,
        end: end as u16,
    })
}

/// The pixels two rows' spans both keep: the intersection of two sorted,
/// non-overlapping span lists, itself sorted and non-overlapping. The
/// firmware masks with the current fit intersected with its temporally
/// smoothed version, so smoothing can never widen what the current frame's
/// fit keeps.
pub fn intersect_spans(a: &RowSpans, b: &RowSpans) -> RowSpans {
    let mut out = RowSpans::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let start = a[i].start.max(b[j].start);
        let end = a[i].end.min(b[j].end);
        if start < end {
            // Up to a.len() + b.len() - 1 pieces may arise; one that does
            // not fit is dropped, i.e. blacked out (fail closed).
            let _ = out.push(Span { start, end });
        }
        if a[i].end < b[j].end {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Inserts a span into a sorted row, merging overlaps and neighbours.
fn insert_span(row: &mut RowSpans, s: Span) {
    let mut merged = s;
    let mut out = RowSpans::new();
    let mut placed = false;
    for &cur in row.iter() {
        if cur.end < merged.start {
            let _ = out.push(cur);
        } else if merged.end < cur.start {
            if !placed {
                let _ = out.push(merged);
                placed = true;
            }
            let _ = out.push(cur);
        } else {
            merged.start = merged.start.min(cur.start);
            merged.end = merged.end.max(cur.end);
        }
    }
    if !placed {
        let _ = out.push(merged);
    }
    *row = out;
}

/// The scan regions of one frame (one for most layouts; two for dual screens;
/// a fan or rectangle plus a strip for M-mode and spectral Doppler).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Regions {
    /// The regions; a pixel is kept when any valid one contains it.
    pub regions: heapless::Vec<Region, MAX_REGIONS>,
}

impl Regions {
    /// No region (nothing kept; not [`Regions::is_valid`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// A single region.
    pub fn one(r: Region) -> Self {
        let mut s = Self::new();
        let _ = s.regions.push(r);
        s
    }

    /// Adds a region; `Err` gives it back when [`MAX_REGIONS`] are already held.
    pub fn push(&mut self, r: Region) -> Result<(), Region> {
        self.regions.push(r)
    }

    /// How many regions it holds (at most [`MAX_REGIONS`]).
    pub fn len(&self) -> usize {
        self.regions.len()
    }

    /// Whether it holds no region.
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }

    /// The regions, in the order they were pushed.
    pub fn iter(&self) -> impl Iterator<Item = &Region> {
        self.regions.iter()
    }

    /// Whether every region is valid (and there is at least one).
    pub fn is_valid(&self) -> bool {
        !self.regions.is_empty() && self.regions.iter().all(Region::is_valid)
    }

    /// Whether pixel `(x, y)` (its centre) is kept.
    pub fn contains_pixel(&self, x: u32, y: u32) -> bool {
        let (cx, cy) = (x as f32 + 0.5, y as f32 + 0.5);
        self.regions
            .iter()
            .any(|r| r.is_valid() && r.contains(cx, cy))
    }

    /// The kept spans of row `y` of a frame `width` pixels wide, sorted and
    /// merged. Invalid regions contribute nothing (fail closed). For many
    /// rows, [`Self::prepare_rows`] once and ask it instead.
    pub fn row_spans(&self, y: u32, width: u16) -> RowSpans {
        self.prepare_rows().row_spans(y, width)
    }

    /// The valid regions with the constants of [`Self::row_spans`] computed
    /// once (validity, a fan's edge tangents): the cart asks for every row
    /// of every frame several times (area, consistency, mask), and
    /// recomputing them per row was a third of its masking time.
    pub fn prepare_rows(&self) -> PreparedRows {
        let mut rows = PreparedRows::default();
        for r in self.regions.iter().filter(|r| r.is_valid()) {
            let tan = match r {
                Region::Fan(f) => (libm::tanf(f.angle_left), libm::tanf(f.angle_right)),
                Region::Rect(_) => (0.0, 0.0),
            };
            // At most MAX_REGIONS, as many as `self` holds.
            let _ = rows.regions.push((*r, tan.0, tan.1));
        }
        rows
    }

    /// Writes a full-resolution keep mask (255 = kept, 0 = blacked out),
    /// row-major, `width * height` bytes. Returns `false` (and writes
    /// nothing) when `out` has the wrong length.
    pub fn rasterize(&self, width: u16, height: u16, out: &mut [u8]) -> bool {
        let (w, h) = (width as usize, height as usize);
        if out.len() != w * h {
            return false;
        }
        let rows = self.prepare_rows();
        for (y, row) in out.chunks_exact_mut(w).enumerate() {
            row.fill(0);
            for s in rows.row_spans(y as u32, width) {
                row[s.start as usize..s.end as usize].fill(255);
            }
        }
        true
    }

    /// Number of kept pixels in a `width × height` frame.
    pub fn area(&self, width: u16, height: u16) -> u64 {
        let rows = self.prepare_rows();
        (0..height as u32)
            .map(|y| {
                rows.row_spans(y, width)
                    .iter()
                    .map(|s| s.len() as u64)
                    .sum::<u64>()
            })
            .sum()
    }
}

/// [`Regions`] ready for [`Regions::row_spans`] on many rows: only the valid
/// regions, each fan with its edge tangents.
#[derive(Clone, Debug, Default)]
pub struct PreparedRows {
    regions: heapless::Vec<(Region, f32, f32), MAX_REGIONS>,
}

impl PreparedRows {
    /// Exactly [`Regions::row_spans`] of the prepared regions.
    pub fn row_spans(&self, y: u32, width: u16) -> RowSpans {
        let mut row = RowSpans::new();
        let cy = y as f32 + 0.5;
        for (region, tan_left, tan_right) in &self.regions {
            match region {
                Region::Fan(f) => {
                    let mut iv = [(0.0, 0.0); 2];
                    let n = f.line_intervals(cy, *tan_left, *tan_right, &mut iv);
                    for &(lo, hi) in &iv[..n] {
                        if let Some(s) = interval_to_span(lo, hi, width) {
                            insert_span(&mut row, s);
                        }
                    }
                }
                Region::Rect(r) => {
                    if cy >= r.y0 && cy < r.y1 {
                        // Centre in [x0, x1): x + 0.5 >= x0 and x + 0.5 < x1.
                        let start = libm::ceilf(r.x0 - 0.5).max(0.0);
                        let end = libm::ceilf(r.x1 - 0.5).min(width as f32);
                        if start < end {
                            insert_span(
                                &mut row,
                                Span {
                                    start: start as u16,
                                    end: end as u16,
                                },
                            );
                        }
                    }
                }
            }
        }
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fan() -> Fan {
        Fan {
            apex_x: 320.0,
            apex_y: 40.0,
            angle_left: -0.6,
            angle_right: 0.6,
            r_inner: 0.0,
            r_outer: 400.0,
            flat_top: Some(60.0),
            clip: Some(Rect::new(0.0, 0.0, 640.0, 480.0)),
        }
    }

    /// Spans must agree with the per-pixel definition everywhere.
    #[test]
    fn spans_match_pixel_test() {
        let cases = [
            Region::Fan(fan()),
            Region::Fan(Fan {
                apex_x: 300.3,
                apex_y: -150.7,
                angle_left: -0.5,
                angle_right: 0.45,
                r_inner: 190.2,
                r_outer: 560.0,
                flat_top: None,
                clip: None,
            }),
            Region::Rect(Rect::new(100.4, 80.5, 540.6, 400.2)),
        ];
        for r in cases {
            let regions = Regions::one(r);
            for y in 0..480u32 {
                let spans = regions.row_spans(y, 640);
                for x in 0..640u32 {
                    let in_span = spans
                        .iter()
                        .any(|s| (s.start as u32) <= x && x < s.end as u32);
                    assert_eq!(in_span, regions.contains_pixel(x, y), "{r:?} at ({x}, {y})");
                }
            }
        }
    }

    #[test]
    fn curvilinear_rows_can_have_two_spans() {
        let f = Fan {
            apex_x: 320.0,
            apex_y: -200.0,
            angle_left: -0.6,
            angle_right: 0.6,
            r_inner: 260.0,
            r_outer: 650.0,
            flat_top: None,
            clip: None,
        };
        let regions = Regions::one(Region::Fan(f));
        // Row just above the bottom of the inner arc (apex_y + r_inner = 60).
        let spans = regions.row_spans(55, 640);
        assert_eq!(spans.len(), 2, "{spans:?}");
    }

    #[test]
    fn overlapping_regions_merge() {
        let mut regions = Regions::new();
        regions
            .push(Region::Rect(Rect::new(10.0, 0.0, 50.0, 10.0)))
            .unwrap();
        regions
            .push(Region::Rect(Rect::new(40.0, 0.0, 90.0, 10.0)))
            .unwrap();
        regions
            .push(Region::Rect(Rect::new(90.0, 0.0, 95.0, 10.0)))
            .unwrap();
        let spans = regions.row_spans(5, 100);
        assert_eq!(spans.as_slice(), &[Span { start: 10, end: 95 }]);
    }

    #[test]
    fn invalid_fan_keeps_nothing() {
        let mut f = fan();
        f.angle_left = 0.7; // left of right edge violated
        let regions = Regions::one(Region::Fan(f));
        assert_eq!(regions.area(640, 480), 0);
        f = fan();
        f.r_outer = f32::NAN;
        assert_eq!(Regions::one(Region::Fan(f)).area(640, 480), 0);
    }

    #[test]
    fn intersection_of_spans_matches_pixels() {
        let row = |v: &[(u16, u16)]| -> RowSpans {
            v.iter().map(|&(start, end)| Span { start, end }).collect()
        };
        let a = row(&[(0, 10), (20, 30), (40, 50)]);
        let b = row(&[(5, 25), (28, 45), (49, 60)]);
        let c = intersect_spans(&a, &b);
        assert_eq!(c, row(&[(5, 10), (20, 25), (28, 30), (40, 45), (49, 50)]));
        for x in 0..64u16 {
            let inside = |r: &RowSpans| r.iter().any(|s| s.start <= x && x < s.end);
            assert_eq!(inside(&c), inside(&a) && inside(&b), "x = {x}");
        }
        assert!(intersect_spans(&a, &RowSpans::new()).is_empty());
    }

    /// `RowTest::runs` lists exactly the pixels whose centres `contains`
    /// accepts: random fans (inner arcs, flat tops, clips, apexes off the
    /// map, angles up to the steepest edge) and rectangles, every row of an
    /// 80-pixel-wide map at three scales, and sub-ranges of the row.
    #[test]
    fn row_runs_equal_the_pixel_test() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut u = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 40) as f32 / (1u64 << 24) as f32
        };
        let mut rows = 0;
        for k in 0..400 {
            let region = if k % 5 == 4 {
                Region::Rect(Rect::new(
                    700.0 * u() - 50.0,
                    500.0 * u() - 20.0,
                    700.0 * u() + 50.0,
                    500.0 * u() + 20.0,
                ))
            } else {
                let apex_y = -400.0 + 450.0 * u();
                let r_outer = 30.0 + 700.0 * u();
                Region::Fan(Fan {
                    apex_x: -200.0 + 1000.0 * u(),
                    apex_y,
                    angle_left: -MAX_EDGE_ANGLE + 1.5 * u(),
                    angle_right: MAX_EDGE_ANGLE - 1.5 * u(),
                    r_inner: if u() < 0.4 { r_outer * u() } else { 0.0 },
                    r_outer,
                    flat_top: (u() < 0.3).then(|| apex_y + 100.0 * u()),
                    clip: (u() < 0.5).then(|| {
                        Rect::new(
                            400.0 * u(),
                            200.0 * u(),
                            300.0 + 400.0 * u(),
                            250.0 + 300.0 * u(),
                        )
                    }),
                })
            };
            let p = region.prepare();
            for scale in [8.0f32, 7.5, 8.533_334] {
                for y in 0..64 {
                    let cy = (y as f32 + 0.5) * scale * 0.75;
                    let Some(row) = p.row(cy) else {
                        continue;
                    };
                    let (lo, hi) = if y % 3 == 0 { (11, 57) } else { (0, 80) };
                    let runs = row.runs(lo, hi, scale);
                    for i in lo..hi {
                        let x = (i as f32 + 0.5) * scale;
                        let listed = runs.iter().any(|&(s, e)| s <= i && i < e);
                        assert_eq!(listed, region.contains(x, cy), "{region:?} y {cy} i {i}");
                    }
                    assert!(runs.iter().all(|&(s, e)| s >= e || (lo <= s && e <= hi)));
                    rows += 1;
                }
            }
        }
        assert!(rows > 20_000, "only {rows} rows");
    }

    #[test]
    fn rasterize_checks_length() {
        let regions = Regions::one(Region::Fan(fan()));
        let mut buf = [0u8; 10];
        assert!(!regions.rasterize(640, 480, &mut buf));
    }
}
