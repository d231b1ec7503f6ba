//! Growing a fitted scan rectangle to the image's own edges, and joining a
//! linear image the fit cut in pieces ([`merge_pieces`]).
//!
//! The network reads brightness from a thumbnail: a linear image whose far
//! side is darker (lower gain, a dark structure, an app's screenshot of a
//! half-dark scan), or whose top holds bright skin layers the map took for
//! a header, gets a rectangle over part of it, and the fit follows the
//! map. At full resolution the scan goes on: its lines still carry speckle
//! up to the image's edge, where a background, a UI panel or a text line
//! starts.
//!
//! Speckle is told from everything else by a line's *texture*: the mean of
//! the middle half (interquartile mean) of the absolute differences
//! between neighbouring pixels along it. Speckle varies everywhere, so even
//! a dark scan line scores; a flat background or panel scores 0; a text
//! line or a ruler varies only on its strokes (a minority of the line) and
//! a colour-flow box or colour bar covers a minority of a column, so
//! neither moves the measure.
//!
//! So, for a clip fitted as one rectangle, each side moves outward line by
//! line while the line beyond (over the rectangle's extent) is textured
//! (above [`SnapParams::texture_frac`] of the rectangle's median line);
//! it stops after [`SnapParams::patience`] untextured lines (going up,
//! [`SnapParams::top_gap`] of the height: the black near field under a
//! probe-face band) and keeps the last textured one. Left and right go
//! first, then top and bottom over the new columns. For the left and right sides a step in brightness
//! ([`SnapParams::step_ratio`]: a UI panel beside the image) counts as an
//! untextured line too, so a panel stops them and a one-line mark (a colour
//! box's frame) does not; top and bottom have no step rule, since tissue
//! layers change brightness from row to row. A side moves in only off a
//! background (a flat line, perhaps crossed by a stroke, which no scan
//! line is: a box the fit took from a trapezoid can overshoot onto it), or
//! off a text line over a panel (under [`SnapParams::text_line_changes`] of
//! the median line's changing pairs: a header's rows or a ruler's column
//! the map joined to the image), by at most a quarter of the extent. Several regions and flat (untextured)
//! rectangles are left as they are; a single fan goes to
//! [`crate::fan_snap`], which does the same for its apex, edges and arc.
//!
//! Host only (`sonomask mask`, `predict --mask-priors`); the cart runs the
//! fit alone.

use image::GrayImage;
use sonomask_core::{Rect, Region, Regions};

/// How far a side may move; see the module doc.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SnapParams {
    /// A line is textured when its texture is above this fraction of the
    /// rectangle's median line.
    pub texture_frac: f32,
    /// A column whose mean luma is under `step_ratio` × the edge's, or over
    /// edge / `step_ratio` + 20, is a step: the scan ends before it.
    pub step_ratio: f32,
    /// Untextured lines tolerated in a row before the side stops.
    pub patience: usize,
    /// Rectangles whose median line texture is under this (luma levels)
    /// are flat: nothing to compare with, left as they are.
    pub min_texture: f32,
    /// A line in which fewer neighbouring pairs differ than this fraction
    /// of the rectangle's median line is a text line over a panel (a
    /// header row, a ruler column), not scan: the side moves in off it.
    pub text_line_changes: f32,
    /// Going up, untextured rows tolerated in a row, as a fraction of the
    /// rectangle's height (at least `patience`): a linear image's probe-face
    /// band (bright skin lines) sits over a near field that the scanner
    /// draws black, row after row of zeros the top must cross to reach it.
    /// Only textured rows beyond the gap move the side, so a header's text
    /// rows above a gap do not.
    pub top_gap: f32,
}

impl Default for SnapParams {
    fn default() -> Self {
        Self {
            texture_frac: 0.35,
            step_ratio: 0.5,
            patience: 2,
            min_texture: 0.25,
            text_line_changes: 0.55,
            top_gap: 0.04,
        }
    }
}

/// Interquartile mean of the absolute differences between neighbours in
/// `values` (see the module doc); 0 for fewer than two values.
pub(crate) fn texture(values: impl Iterator<Item = u8>) -> f32 {
    let mut hist = [0u32; 256];
    let mut prev: Option<u8> = None;
    let mut n = 0u32;
    for v in values {
        if let Some(p) = prev {
            hist[usize::from(p.abs_diff(v))] += 1;
            n += 1;
        }
        prev = Some(v);
    }
    if n == 0 {
        return 0.0;
    }
    // Ranks [n/4, n - n/4) of the sorted differences.
    let (lo, hi) = (n / 4, n - n / 4);
    let (mut rank, mut sum) = (0u32, 0u64);
    for (d, &c) in hist.iter().enumerate() {
        let (a, b) = (rank.max(lo), (rank + c).min(hi));
        if b > a {
            sum += u64::from(b - a) * d as u64;
        }
        rank += c;
        if rank >= hi {
            break;
        }
    }
    sum as f32 / (hi - lo).max(1) as f32
}

/// Whether `values` are background: under 5 % of neighbouring pairs differ
/// at all (a flat value, perhaps crossed by a button's border or a
/// stroke). Speckle changes almost everywhere, even in a dark scan, where
/// it changes by a level or two. `None` for fewer than 8 values: too few to
/// tell.
pub(crate) fn background(values: impl Iterator<Item = u8>) -> Option<bool> {
    change_fraction(values).map(|f| f < 0.05)
}

/// The fraction of neighbouring pairs in `values` that differ at all;
/// `None` for fewer than 8 values.
fn change_fraction(values: impl Iterator<Item = u8>) -> Option<f32> {
    let (mut n, mut changes, mut prev) = (0u32, 0u32, None);
    for v in values {
        if let Some(p) = prev {
            n += 1;
            changes += u32::from(v != p);
        }
        prev = Some(v);
    }
    (n >= 7).then(|| changes as f32 / n as f32)
}

/// How far above the frame's noise floor ([`noise_floor`]) a line must be
/// textured to count as scan, for the rectangle and the fan snaps.
pub(crate) const NOISE_MARGIN: f32 = 3.0;

/// The frame's own noise: the 10th percentile of the texture of 32-pixel
/// row windows on every 8th row. A clean frame's flat background and
/// panels score 0; a screen recording's or a camera's noise lifts every
/// flat window, and a snap that took that for speckle would grow over the
/// whole frame. A frame that is nearly all scan has a high floor and the
/// snaps stay put: the safe side.
pub(crate) fn noise_floor(frame: &GrayImage) -> f32 {
    const WINDOW: u32 = 32;
    let (w, h) = frame.dimensions();
    let t: Vec<f32> = (0..h / 8)
        .flat_map(|r| (0..w / WINDOW).map(move |c| (c * WINDOW, r * 8 + 4)))
        .filter(|&(_, y)| y < h)
        .map(|(x0, y)| texture((x0..x0 + WINDOW).map(|x| frame.get_pixel(x, y)[0])))
        .collect();
    quantile(t, 1, 10).unwrap_or(0.0)
}

/// The value at rank `len · num / den` of `values` sorted (`num / den = 1 /
/// 2` is the median); `None` when there are none.
pub(crate) fn quantile(mut values: Vec<f32>, num: usize, den: usize) -> Option<f32> {
    values.sort_by(f32::total_cmp);
    values.get(values.len() * num / den).copied()
}

/// Statistics of the lines of `frame` across a rectangle's extent: columns
/// over rows `a..b`, or rows over columns `a..b`.
struct Lines<'a> {
    frame: &'a GrayImage,
    columns: bool,
    a: u32,
    b: u32,
}

impl Lines<'_> {
    fn pixels(&self, k: u32) -> impl Iterator<Item = u8> + '_ {
        (self.a..self.b).map(move |i| {
            let (x, y) = if self.columns { (k, i) } else { (i, k) };
            self.frame.get_pixel(x, y)[0]
        })
    }

    fn texture(&self, k: u32) -> f32 {
        texture(self.pixels(k))
    }

    /// Whether line `k` is background: under 5 % of its neighbours differ
    /// at all (a flat value, perhaps crossed by a button's border or a
    /// stroke). Speckle changes almost everywhere, even in a dark scan,
    /// where it changes by a level or two.
    fn background(&self, k: u32) -> bool {
        background(self.pixels(k)).unwrap_or(true)
    }

    fn changes(&self, k: u32) -> f32 {
        change_fraction(self.pixels(k)).unwrap_or(0.0)
    }

    fn mean(&self, k: u32) -> f32 {
        let sum: u32 = self.pixels(k).map(u32::from).sum();
        sum as f32 / (self.b - self.a).max(1) as f32
    }

    /// How many lines there are across (the frame's width for columns).
    fn count(&self) -> u32 {
        if self.columns {
            self.frame.width()
        } else {
            self.frame.height()
        }
    }
}

/// A rectangle, or the box of a fan that is a piece of a linear image: a
/// narrow fan cut at a seam whose apex lies far above it ([`wedge_box`]).
fn pane(r: &Region) -> Option<Rect> {
    match r {
        Region::Rect(r) => Some(*r),
        Region::Fan(f) => wedge_box(f),
    }
}

/// Two boxes side by side that share their seam (within 2 pixels) and most
/// of their rows (the overlap at least [`SEAM_OVERLAP`] of the shorter one)
/// as one box over their common rows: the fit's split step cuts a linear
/// image whose map is uneven into two "panes" with different tops, one of
/// which then runs into the header text above.
fn seam_join(a: &Rect, b: &Rect) -> Option<Rect> {
    let (l, r) = if a.x0 <= b.x0 { (a, b) } else { (b, a) };
    // Written so that NaN coordinates fail both checks.
    let on_seam = (l.x1 - r.x0).abs() <= 2.0;
    if !on_seam {
        return None;
    }
    let (top, bottom) = (l.y0.max(r.y0), l.y1.min(r.y1));
    let shorter = (l.y1 - l.y0).min(r.y1 - r.y0);
    let shared_rows = bottom - top >= SEAM_OVERLAP * shorter;
    shared_rows.then(|| Rect::new(l.x0, top, r.x1, bottom))
}

/// Pieces of one linear image as one rectangle: while two of the regions
/// (rectangles, or wedges that stand for their box) join at a seam
/// ([`seam_join`]) or stacked ([`stacked_join`]), they become
/// one; `None` unless that leaves a single rectangle from several pieces.
/// A map whose dark near field and uneven brightness it left out cuts a
/// linear image into a grid of such pieces; a DICOM clip whose declared
/// image rectangle holds several fails closed.
pub fn merge_pieces(regions: &Regions, frame: &GrayImage) -> Option<Regions> {
    let mut boxes: Vec<Rect> = regions.iter().map(pane).collect::<Option<_>>()?;
    if boxes.len() < 2 {
        return None;
    }
    'joined: while boxes.len() > 1 {
        for i in 0..boxes.len() {
            for j in i + 1..boxes.len() {
                let (a, b) = (boxes[i], boxes[j]);
                if let Some(r) = seam_join(&a, &b).or_else(|| stacked_join(&a, &b, frame)) {
                    boxes[i] = r;
                    boxes.remove(j);
                    continue 'joined;
                }
            }
        }
        return None;
    }
    Some(Regions::one(Region::Rect(boxes[0])))
}

/// What `sonomask mask` does after the fit (and `predict --mask-priors`
/// with it): [`merge_pieces`] or
/// [`merge_fan_and_rect`](crate::fan_snap::merge_fan_and_rect), then
/// [`snap_rect_sides`] or [`snap_fan`](crate::fan_snap::snap_fan) with the
/// default parameters on `frame` (luma, full resolution); `None` when
/// nothing changed.
pub fn refine(regions: &Regions, frame: &GrayImage) -> Option<Regions> {
    let merged =
        merge_pieces(regions, frame).or_else(|| crate::fan_snap::merge_fan_and_rect(regions));
    let one = merged.as_ref().unwrap_or(regions);
    let params = SnapParams::default();
    snap_rect_sides(one, frame, &params)
        .or_else(|| crate::fan_snap::snap_fan(one, frame, &params))
        .or(merged)
}

/// See [`seam_join`].
pub const SEAM_OVERLAP: f32 = 0.6;

/// Two boxes one above the other over nearly the same columns (their
/// overlap at least [`STACK_OVERLAP`] of the wider), the gap between them
/// under half their joint height, both textured alike in `frame` (the
/// median row texture of each at least [`SnapParams::texture_frac`] of the
/// other's), as one box over their common columns: a linear image whose
/// dark near field (under the bright skin layers) the map left out comes
/// out as a thin band over the rest. A header of text over the image is
/// not textured like it, and stays apart.
fn stacked_join(a: &Rect, b: &Rect, frame: &GrayImage) -> Option<Rect> {
    let (up, down) = if a.y0 <= b.y0 { (a, b) } else { (b, a) };
    let (x0, x1) = (up.x0.max(down.x0), up.x1.min(down.x1));
    let wider = (up.x1 - up.x0).max(down.x1 - down.x0);
    let height = down.y1 - up.y0;
    let stacked = x1 - x0 >= STACK_OVERLAP * wider
        && down.y0 - up.y0 > 0.0
        && down.y0 - up.y1 <= 0.5 * height;
    if !stacked {
        return None;
    }
    let (w, h) = frame.dimensions();
    let px = |v: f32, max: u32| v.round().clamp(0.0, max as f32) as u32;
    let rows = Lines {
        frame,
        columns: false,
        a: px(x0, w),
        b: px(x1, w),
    };
    let median = |r: &Rect| {
        quantile(
            (px(r.y0, h)..px(r.y1, h))
                .map(|k| rows.texture(k))
                .collect(),
            1,
            2,
        )
    };
    let (tu, td) = (median(up)?, median(down)?);
    let frac = SnapParams::default().texture_frac;
    let alike = tu.min(td) >= frac * tu.max(td) && tu.min(td) > 0.0;
    alike.then(|| Rect::new(x0, up.y0, x1, down.y1))
}

/// See [`stacked_join`].
pub const STACK_OVERLAP: f32 = 0.85;

/// The box of a fan that is a piece of a linear image rather than a scan
/// fan: cut by a clip (the seam), opening under [`WEDGE_OPENING`] and with
/// its apex more than [`WEDGE_APEX`] of its height above its top. The
/// shared fit reads such a fan with an edge on each side of its apex as a
/// rectangle already; a piece with both edges on one side (a slanted wedge)
/// it keeps, since alone it may be a phased fan cut by the frame.
pub fn wedge_box(f: &sonomask_core::Fan) -> Option<Rect> {
    let clip = f.clip?;
    let top = f.flat_top.unwrap_or(f.apex_y + f.r_inner).max(clip.y0);
    let bottom = (f.apex_y + f.r_outer * f.angle_left.cos().max(f.angle_right.cos())).min(clip.y1);
    let height = bottom - top;
    let wedge = f.opening() < WEDGE_OPENING && height > 0.0 && top - f.apex_y > WEDGE_APEX * height;
    if !wedge {
        return None;
    }
    let x = |y: f32, a: f32| f.apex_x + (y - f.apex_y) * a.tan();
    let x0 = x(top, f.angle_left)
        .min(x(bottom, f.angle_left))
        .max(clip.x0);
    let x1 = x(top, f.angle_right)
        .max(x(bottom, f.angle_right))
        .min(clip.x1);
    (x1 > x0).then(|| Rect::new(x0, top, x1, bottom))
}

/// See [`wedge_box`]: the narrowest curvilinear probes open about 0.7 rad.
pub const WEDGE_OPENING: f32 = 0.6;
/// See [`wedge_box`]: a phased fan's apex lies just above its top.
pub const WEDGE_APEX: f32 = 1.0;

/// `regions` with its single rectangle's sides moved out to the image's
/// edges in `frame` (luma, full resolution): left and right first, then top
/// and bottom over the new columns; `None` when nothing moved or the
/// regions are not one rectangle of at least 8×8 pixels inside the frame.
pub fn snap_rect_sides(
    regions: &Regions,
    frame: &GrayImage,
    params: &SnapParams,
) -> Option<Regions> {
    let mut it = regions.iter();
    let (Some(Region::Rect(r)), None) = (it.next(), it.next()) else {
        return None;
    };
    let (w, h) = frame.dimensions();
    let px = |v: f32, max: u32| -> Option<u32> {
        v.is_finite()
            .then(|| v.round().clamp(0.0, max as f32) as u32)
    };
    let (x0, x1) = (px(r.x0, w)?, px(r.x1, w)?);
    let (y0, y1) = (px(r.y0, h)?, px(r.y1, h)?);
    if x1 < x0 + 8 || y1 < y0 + 8 {
        return None;
    }
    let columns = Lines {
        frame,
        columns: true,
        a: y0,
        b: y1,
    };
    let floor = NOISE_MARGIN * noise_floor(frame);
    let (left, right) = grow_pair(&columns, x0, x1, params, true, floor)?;
    let rows = Lines {
        frame,
        columns: false,
        a: left,
        b: right,
    };
    let (top, bottom) = grow_pair(&rows, y0, y1, params, false, floor).unwrap_or((y0, y1));
    if (left, right, top, bottom) == (x0, x1, y0, y1) {
        return None;
    }
    // An unmoved side keeps the fit's sub-pixel edge.
    let side = |fit: f32, snap: u32, px: u32| if snap == px { fit } else { snap as f32 };
    let snapped = Rect::new(
        side(r.x0, left, x0),
        side(r.y0, top, y0),
        side(r.x1, right, x1),
        side(r.y1, bottom, y1),
    );
    Some(Regions::one(Region::Rect(snapped)))
}

/// The lines `lo..hi` grown outward on both ends while the lines beyond
/// are textured (and, with `steps`, about as bright as the edge); `None`
/// when the lines inside are flat.
fn grow_pair(
    lines: &Lines<'_>,
    lo: u32,
    hi: u32,
    params: &SnapParams,
    steps: bool,
    floor: f32,
) -> Option<(u32, u32)> {
    let median = quantile((lo..hi).map(|k| lines.texture(k)).collect(), 1, 2)?;
    if median.is_nan() || median < params.min_texture {
        return None;
    }
    let threshold = (params.texture_frac * median).max(floor);
    let n = lines.count();
    // Untextured rows a top may cross (see `SnapParams::top_gap`).
    let top_gap = params.top_gap * (hi - lo) as f32;
    // Moves the end at line `edge` (inclusive) by `step` (±1) while the
    // lines beyond look like more of the same scan.
    let grow = |edge: u32, step: i64| -> u32 {
        let at = |k: i64| {
            u32::try_from(i64::from(edge) - step * k)
                .ok()
                .filter(|&x| x < n)
        };
        let near: Vec<f32> = (0..4).filter_map(at).map(|x| lines.mean(x)).collect();
        let mut reference = near.iter().sum::<f32>() / near.len().max(1) as f32;
        let (mut p, mut best, mut miss) = (i64::from(edge), edge, 0);
        let patience = if !steps && step < 0 {
            params.patience.max(top_gap as usize)
        } else {
            params.patience
        };
        while miss < patience {
            p += step;
            let Some(x) = u32::try_from(p).ok().filter(|&x| x < n) else {
                break;
            };
            let mu = lines.mean(x);
            // A step counts as a miss, not an end: a one-line mark (a
            // colour box's frame, a tick line) is crossed, a panel is not.
            let step = steps
                && (mu < params.step_ratio * reference
                    || mu > reference / params.step_ratio + 20.0);
            if !step && lines.texture(x) > threshold {
                best = x;
                miss = 0;
                reference = 0.9 * reference + 0.1 * mu;
            } else {
                miss += 1;
            }
        }
        best
    };
    // A box taken from a trapezoid can overshoot onto the background: a
    // background outer line moves in first (at most a quarter of the
    // extent on each end).
    // A side also moves in off a text line over a panel (a header's rows or
    // a ruler's column the map joined to the image): its strokes change a
    // minority of the line, speckle nearly all of it.
    let text_line =
        params.text_line_changes * quantile((lo..hi).map(|k| lines.changes(k)).collect(), 1, 2)?;
    let off = |k: u32| lines.background(k) || lines.changes(k) < text_line;
    let (mut a, mut b) = (lo, hi);
    let limit = (hi - lo) / 4;
    while a < lo + limit && off(a) {
        a += 1;
    }
    while b > hi - limit && off(b - 1) {
        b -= 1;
    }
    let a = if a == lo {
        grow(lo, -1)
    } else if !steps && ((a - lo) as f32) < top_gap {
        // A top moved in off a black row or two may sit in the black near
        // field under a probe-face band: the band beyond the gap wins.
        Some(grow(a, -1)).filter(|&g| g < lo).unwrap_or(a)
    } else {
        a
    };
    let b = if b == hi { grow(hi - 1, 1) + 1 } else { b };
    Some((a, b))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Seeded speckle: uniform integers in `-amp..=amp` (xorshift64).
    pub(crate) fn speckle(seed: u64, amp: u64) -> impl FnMut() -> i32 {
        let mut state = seed;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % (2 * amp + 1)) as i32 - amp as i32
        }
    }

    /// A 200×100 frame: mid-grey background, a speckled scan over columns
    /// 40..160 and rows 10..90 whose right part (from column 110) is darker
    /// but still speckled, and a bright static panel from column 170.
    fn frame() -> GrayImage {
        let mut noise = speckle(0x9e37_79b9_7f4a_7c15, 20);
        GrayImage::from_fn(200, 100, |x, y| {
            let v = if (10..90).contains(&y) && (40..160).contains(&x) {
                let base = if x < 110 { 90 } else { 60 };
                (base + noise()).clamp(0, 255)
            } else if x >= 170 {
                200
            } else {
                30
            };
            image::Luma([v as u8])
        })
    }

    /// [`seam_join`] on a clip's two regions (rectangles or wedges).
    fn seam_pair(regions: &Regions) -> Option<Rect> {
        let mut it = regions.iter();
        let (Some(a), Some(b), None) = (it.next(), it.next(), it.next()) else {
            return None;
        };
        seam_join(&pane(a)?, &pane(b)?)
    }

    /// [`stacked_join`] on a clip's two rectangles.
    fn stacked_pair(regions: &Regions, frame: &GrayImage) -> Option<Rect> {
        let mut it = regions.iter();
        let (Some(Region::Rect(a)), Some(Region::Rect(b)), None) =
            (it.next(), it.next(), it.next())
        else {
            return None;
        };
        stacked_join(a, b, frame)
    }

    /// Two rectangles as one clip's regions.
    fn pair(a: Rect, b: Rect) -> Regions {
        let mut r = Regions::one(Region::Rect(a));
        r.push(Region::Rect(b)).unwrap();
        r
    }

    fn rect(regions: &Regions) -> Rect {
        match regions.iter().next() {
            Some(Region::Rect(r)) => *r,
            other => panic!("not one rectangle: {other:?}"),
        }
    }

    #[test]
    fn a_rectangle_over_the_bright_part_grows_to_the_scan_edges() {
        let fitted = Regions::one(Region::Rect(Rect::new(45.0, 12.0, 108.0, 88.0)));
        let r = rect(&snap_rect_sides(&fitted, &frame(), &SnapParams::default()).unwrap());
        assert_eq!((r.x0, r.x1), (40.0, 160.0), "{r:?}");
        // Top and bottom reach the scan's first and last rows.
        assert_eq!((r.y0, r.y1), (10.0, 90.0), "{r:?}");
    }

    /// A linear image on black over columns 40..160: a probe-face band of
    /// bright speckle (rows 20..30), a near field drawn as rows of zeros
    /// (30..35, 3 % of the image's height, as on a Philips L12-5), then dim
    /// speckle down to row 190; a line of text on black
    /// at rows 4..8, a gap of black rows above the band.
    fn with_probe_face() -> GrayImage {
        let mut noise = speckle(0x2545_f491_4f6c_dd1d, 6);
        GrayImage::from_fn(200, 200, |x, y| {
            let scan = (40..160).contains(&x);
            let v = if scan && (20..30).contains(&y) {
                200 + noise()
            } else if scan && (35..190).contains(&y) {
                12 + noise()
            } else if (4..8).contains(&y) && (50..150).contains(&x) && x % 9 < 3 {
                220
            } else {
                0
            };
            image::Luma([v.clamp(0, 255) as u8])
        })
    }

    #[test]
    fn a_top_under_the_black_near_field_reaches_the_probe_face_band() {
        let frame = with_probe_face();
        let params = SnapParams::default();
        // The fit's top in the scan under the gap, or on the gap's last
        // black row (it moves in off it first): both go up to the band.
        for y0 in [38.0, 34.0] {
            let fitted = Regions::one(Region::Rect(Rect::new(40.0, y0, 160.0, 190.0)));
            let r = rect(&snap_rect_sides(&fitted, &frame, &params).unwrap());
            assert_eq!((r.y0, r.y1), (20.0, 190.0), "from {y0}: {r:?}");
        }
        // Without the gap allowance the top stays under the near field.
        let strict = SnapParams {
            top_gap: 0.0,
            ..params
        };
        let fitted = Regions::one(Region::Rect(Rect::new(40.0, 38.0, 160.0, 190.0)));
        let r = rect(&snap_rect_sides(&fitted, &frame, &strict).unwrap());
        assert_eq!(r.y0, 35.0, "{r:?}");
    }

    /// A header of text rows over a flat panel, rows 2..10 of `frame()`:
    /// every other row carries strokes (4 bright pixels in 10, about a
    /// third of the pairs changing), as a line of small text does.
    fn with_header() -> GrayImage {
        let mut f = frame();
        for y in 2..10 {
            for x in 40..160 {
                if y % 2 == 0 && x % 10 < 4 {
                    f.put_pixel(x, y, image::Luma([220]));
                }
            }
        }
        f
    }

    #[test]
    fn a_top_in_the_header_text_moves_down_to_the_scan() {
        let fitted = Regions::one(Region::Rect(Rect::new(40.0, 3.0, 160.0, 90.0)));
        let r = rect(&snap_rect_sides(&fitted, &with_header(), &SnapParams::default()).unwrap());
        assert_eq!(r.y0, 10.0, "{r:?}");
        // Without the text-row rule the strokes hold the top in the header.
        let off = SnapParams {
            text_line_changes: 0.0,
            ..SnapParams::default()
        };
        let kept = snap_rect_sides(&fitted, &with_header(), &off).map(|r| rect(&r));
        assert!(kept.is_none_or(|r| r.y0 < 10.0), "{kept:?}");
    }

    #[test]
    fn a_band_over_the_scan_and_the_rest_of_it_are_one_rectangle() {
        // The map left out rows 25..45 of the scan (a dark near field).
        let split = pair(
            Rect::new(42.0, 45.0, 158.0, 90.0),
            Rect::new(40.0, 10.0, 160.0, 25.0),
        );
        let r = stacked_pair(&split, &frame()).unwrap();
        assert_eq!(r, Rect::new(42.0, 10.0, 158.0, 90.0));
        // A header of text over the scan is not textured like it.
        let header = pair(
            Rect::new(40.0, 2.0, 160.0, 9.0),
            Rect::new(40.0, 10.0, 160.0, 90.0),
        );
        assert!(stacked_pair(&header, &with_header()).is_none());
        // Side by side, or over other columns, is not stacked.
        let beside = pair(
            Rect::new(40.0, 10.0, 100.0, 90.0),
            Rect::new(100.0, 12.0, 160.0, 90.0),
        );
        assert!(stacked_pair(&beside, &frame()).is_none());
        let narrow = pair(
            Rect::new(40.0, 10.0, 160.0, 25.0),
            Rect::new(40.0, 45.0, 90.0, 90.0),
        );
        assert!(stacked_pair(&narrow, &frame()).is_none());
    }

    #[test]
    fn a_grid_of_pieces_is_one_rectangle_again() {
        let mut grid = Regions::one(Region::Rect(Rect::new(40.0, 12.0, 100.0, 25.0)));
        for r in [
            Rect::new(120.0, 40.0, 160.0, 88.0),
            Rect::new(100.0, 10.0, 160.0, 24.0),
            Rect::new(40.0, 45.0, 120.0, 90.0),
        ] {
            grid.push(Region::Rect(r)).unwrap();
        }
        let r = rect(&merge_pieces(&grid, &frame()).unwrap());
        assert_eq!(r, Rect::new(40.0, 12.0, 160.0, 88.0));
        // Two panes apart stay two: nothing is merged.
        let mut apart = Regions::one(Region::Rect(Rect::new(0.0, 10.0, 30.0, 90.0)));
        apart
            .push(Region::Rect(Rect::new(40.0, 10.0, 160.0, 90.0)))
            .unwrap();
        assert!(merge_pieces(&apart, &frame()).is_none());
    }

    #[test]
    fn texture_ignores_strokes_and_blobs_but_not_dark_speckle() {
        // Dark speckle: small differences everywhere.
        let dark: Vec<u8> = (0..200).map(|i| [3u8, 5, 2, 6, 4][i % 5]).collect();
        assert!(texture(dark.iter().copied()) >= 1.0);
        // A text line: flat background with a few strokes.
        let text: Vec<u8> = (0..200)
            .map(|i| if i % 20 < 2 { 250 } else { 40 })
            .collect();
        assert_eq!(texture(text.iter().copied()), 0.0);
        assert_eq!(texture([7u8; 50].into_iter()), 0.0);
        assert_eq!(texture(core::iter::once(9u8)), 0.0);
    }

    /// A frame whose scan (rows 40..160, columns 30..170) carries a bright
    /// colour-box-like blob over a third of its middle columns, a one-column
    /// bright line (column 45) and bright horizontal layers in its top
    /// rows, under a header line of text.
    fn layered_frame() -> GrayImage {
        let mut noise = speckle(0x2545_f491_4f6c_dd1d, 8);
        GrayImage::from_fn(200, 200, |x, y| {
            let v = if x == 45 && (40..160).contains(&y) {
                // A colour box's frame line, one column wide.
                240
            } else if (40..160).contains(&y) && (30..170).contains(&x) {
                let base = match y {
                    40..46 => 180,
                    46..52 => 15,
                    _ if (70..110).contains(&x) && (60..100).contains(&y) => 220,
                    _ => 60,
                };
                base + noise()
            } else if (20..28).contains(&y) && x % 9 < 2 {
                250
            } else {
                25
            };
            image::Luma([v.clamp(0, 255) as u8])
        })
    }

    #[test]
    fn layers_on_top_and_a_bright_box_inside_do_not_stop_the_growth() {
        let fitted = Regions::one(Region::Rect(Rect::new(60.0, 56.0, 140.0, 150.0)));
        let r = rect(&snap_rect_sides(&fitted, &layered_frame(), &SnapParams::default()).unwrap());
        assert_eq!(r, Rect::new(30.0, 40.0, 170.0, 160.0));
    }

    #[test]
    fn a_side_on_a_uniform_background_moves_in_to_the_scan() {
        // The frame's background left of the scan (columns 0..40) is one
        // flat value; a fit reaching 20 columns into it comes back.
        let fitted = Regions::one(Region::Rect(Rect::new(20.0, 10.0, 160.0, 90.0)));
        let r = rect(&snap_rect_sides(&fitted, &frame(), &SnapParams::default()).unwrap());
        assert_eq!((r.x0, r.y0, r.x1, r.y1), (40.0, 10.0, 160.0, 90.0), "{r:?}");
    }

    #[test]
    fn a_linear_image_cut_at_a_seam_is_one_rectangle_again() {
        // The left part runs up into the header; the common rows are kept.
        let mut cut = Regions::one(Region::Rect(Rect::new(232.0, 108.0, 527.0, 334.0)));
        cut.push(Region::Rect(Rect::new(90.0, 31.0, 232.5, 336.0)))
            .unwrap();
        let r = seam_pair(&cut).unwrap();
        assert_eq!(r, Rect::new(90.0, 108.0, 527.0, 334.0));
    }

    #[test]
    fn a_slanted_wedge_at_a_seam_is_a_pane_of_the_image() {
        // A cart map of a linear screenshot: the left part fitted as a
        // wedge with its apex far above, cut at the seam of the right part.
        let wedge = sonomask_core::Fan {
            apex_x: 92.1,
            apex_y: -557.4,
            angle_left: 0.0205,
            angle_right: 0.583,
            r_inner: 0.0,
            r_outer: 1277.9,
            flat_top: Some(170.7),
            clip: Some(Rect::new(0.0, 0.0, 553.8, 951.0)),
        };
        let mut cut = Regions::one(Region::Fan(wedge));
        cut.push(Region::Rect(Rect::new(553.8, 181.1, 708.2, 674.7)))
            .unwrap();
        let r = seam_pair(&cut).unwrap();
        assert!((r.x0 - 107.0).abs() < 1.0 && r.x1 == 708.2, "{r:?}");
        assert!(r.y0 == 181.1 && r.y1 == 674.7, "{r:?}");
        // The same wedge with its apex just above it is a cut phased fan.
        let mut near = Regions::one(Region::Fan(sonomask_core::Fan {
            apex_y: 120.0,
            r_outer: 600.0,
            ..wedge
        }));
        near.push(Region::Rect(Rect::new(553.8, 181.1, 708.2, 674.7)))
            .unwrap();
        assert!(seam_pair(&near).is_none());
    }

    #[test]
    fn panes_apart_stacked_or_of_other_shapes_are_not_merged() {
        // A gap between the panes.
        let apart = pair(
            Rect::new(0.0, 10.0, 100.0, 90.0),
            Rect::new(110.0, 10.0, 200.0, 90.0),
        );
        assert!(seam_pair(&apart).is_none());
        // A strip below a pane shares no rows with it.
        let stacked = pair(
            Rect::new(0.0, 0.0, 100.0, 60.0),
            Rect::new(100.0, 60.0, 200.0, 90.0),
        );
        assert!(seam_pair(&stacked).is_none());
        // A single region, or a fan and a rectangle.
        assert!(seam_pair(&Regions::one(Region::Rect(Rect::new(0.0, 0.0, 9.0, 9.0)))).is_none());
        let mut mixed = Regions::one(Region::Fan(sonomask_core::Fan {
            apex_x: 50.0,
            apex_y: 0.0,
            angle_left: -0.5,
            angle_right: 0.5,
            r_inner: 0.0,
            r_outer: 80.0,
            flat_top: None,
            clip: None,
        }));
        mixed
            .push(Region::Rect(Rect::new(100.0, 0.0, 200.0, 90.0)))
            .unwrap();
        assert!(seam_pair(&mixed).is_none());
    }

    #[test]
    fn a_rectangle_on_the_scan_edges_stays() {
        let fitted = Regions::one(Region::Rect(Rect::new(40.0, 10.0, 160.0, 90.0)));
        assert!(snap_rect_sides(&fitted, &frame(), &SnapParams::default()).is_none());
    }

    #[test]
    fn fans_several_regions_flat_and_tiny_rectangles_are_left_alone() {
        let f = frame();
        let p = SnapParams::default();
        let fan = Regions::one(Region::Fan(sonomask_core::Fan {
            apex_x: 100.0,
            apex_y: 0.0,
            angle_left: -0.5,
            angle_right: 0.5,
            r_inner: 0.0,
            r_outer: 80.0,
            flat_top: None,
            clip: None,
        }));
        assert!(snap_rect_sides(&fan, &f, &p).is_none());
        let mut two = Regions::one(Region::Rect(Rect::new(45.0, 12.0, 108.0, 88.0)));
        two.push(Region::Rect(Rect::new(0.0, 0.0, 10.0, 10.0)))
            .unwrap();
        assert!(snap_rect_sides(&two, &f, &p).is_none());
        let flat = GrayImage::from_pixel(200, 100, image::Luma([90]));
        let one = Regions::one(Region::Rect(Rect::new(45.0, 12.0, 108.0, 88.0)));
        assert!(snap_rect_sides(&one, &flat, &p).is_none());
        let tiny = Regions::one(Region::Rect(Rect::new(50.0, 50.0, 55.0, 80.0)));
        assert!(snap_rect_sides(&tiny, &f, &p).is_none());
        let nan = Regions::one(Region::Rect(Rect::new(f32::NAN, 12.0, 108.0, 88.0)));
        assert!(snap_rect_sides(&nan, &f, &p).is_none());
    }
}
