//! Widening a fitted scan rectangle to the image's own side edges, and
//! joining a linear image the fit cut in two ([`merge_seam_pair`]).
//!
//! The network reads brightness from a thumbnail: a linear image whose far
//! side is darker (lower gain, a dark structure, an app's screenshot of a
//! half-dark scan) gets a rectangle over its bright part only, and the fit
//! follows the map. At full resolution the scan goes on: its columns still
//! carry speckle (vertical texture) at about the brightness of the kept
//! edge, up to the image's side edge, where a background or a UI panel
//! starts with a step in brightness.
//!
//! So, for a clip fitted as one rectangle, each side moves outward column by
//! column while the column (over the rectangle's rows) is textured (mean
//! absolute vertical difference above [`SnapParams::texture_frac`] of the
//! rectangle's median column) and about as bright as the columns at the
//! edge (no step: [`SnapParams::step_ratio`]); it stops at the first step,
//! or after [`SnapParams::patience`] untextured columns, and keeps the last
//! textured one. Only outward: a fitted edge never moves in. Fans, several
//! regions and flat (untextured) rectangles are left as they are. Top and
//! bottom stay: horizontal tissue layers look like edges there.
//!
//! Host only (`sonomask mask`, `predict --mask-priors`); the cart runs the
//! fit alone.

use image::GrayImage;
use sonomask_core::{Rect, Region, Regions};

/// How far a side may move; see the module doc.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SnapParams {
    /// A column is textured when its mean absolute vertical difference is
    /// above this fraction of the rectangle's median column.
    pub texture_frac: f32,
    /// A column whose mean luma is under `step_ratio` × the edge's, or over
    /// edge / `step_ratio` + 20, is a step: the scan ends before it.
    pub step_ratio: f32,
    /// Untextured columns tolerated in a row before the side stops.
    pub patience: usize,
    /// Rectangles whose median column texture is under this (luma levels)
    /// are flat: nothing to compare with, left as they are.
    pub min_texture: f32,
}

impl Default for SnapParams {
    fn default() -> Self {
        Self {
            texture_frac: 0.5,
            step_ratio: 0.5,
            patience: 2,
            min_texture: 0.5,
        }
    }
}

/// Column statistics of `frame` over rows `y0..y1`.
struct Columns<'a> {
    frame: &'a GrayImage,
    y0: u32,
    y1: u32,
}

impl Columns<'_> {
    /// Mean absolute difference between vertically adjacent pixels.
    fn texture(&self, x: u32) -> f32 {
        let mut sum = 0u32;
        for y in self.y0..self.y1 - 1 {
            let a = self.frame.get_pixel(x, y)[0];
            let b = self.frame.get_pixel(x, y + 1)[0];
            sum += u32::from(a.abs_diff(b));
        }
        sum as f32 / (self.y1 - 1 - self.y0) as f32
    }

    fn mean(&self, x: u32) -> f32 {
        let sum: u32 = (self.y0..self.y1)
            .map(|y| u32::from(self.frame.get_pixel(x, y)[0]))
            .sum();
        sum as f32 / (self.y1 - self.y0) as f32
    }
}

/// Two rectangles side by side that share their seam (within 2 pixels) and
/// most of their rows (the overlap at least [`SEAM_OVERLAP`] of the shorter
/// one) as one rectangle over their common rows: the fit's split step cuts
/// a linear image whose map is uneven into two "panes" with different tops,
/// one of which then runs into the header text above.
pub fn merge_seam_pair(regions: &Regions) -> Option<Regions> {
    let mut it = regions.iter();
    let (Some(Region::Rect(a)), Some(Region::Rect(b)), None) = (it.next(), it.next(), it.next())
    else {
        return None;
    };
    let (l, r) = if a.x0 <= b.x0 { (a, b) } else { (b, a) };
    // Written so that NaN coordinates fail both checks.
    let on_seam = (l.x1 - r.x0).abs() <= 2.0;
    if !on_seam {
        return None;
    }
    let (top, bottom) = (l.y0.max(r.y0), l.y1.min(r.y1));
    let shorter = (l.y1 - l.y0).min(r.y1 - r.y0);
    let shared_rows = bottom - top >= SEAM_OVERLAP * shorter;
    if !shared_rows {
        return None;
    }
    Some(Regions::one(Region::Rect(Rect::new(
        l.x0, top, r.x1, bottom,
    ))))
}

/// What `sonomask mask` does after the fit (and `predict --mask-priors`
/// with it): [`merge_seam_pair`], then [`snap_rect_sides`] with the default
/// parameters on `frame` (luma, full resolution); `None` when neither
/// changed anything.
pub fn refine(regions: &Regions, frame: &GrayImage) -> Option<Regions> {
    let merged = merge_seam_pair(regions);
    let one = merged.as_ref().unwrap_or(regions);
    snap_rect_sides(one, frame, &SnapParams::default()).or(merged)
}

/// See [`merge_seam_pair`].
pub const SEAM_OVERLAP: f32 = 0.6;

/// `regions` with its single rectangle's left and right sides moved out to
/// the image's side edges in `frame` (luma, full resolution); `None` when
/// nothing moved or the regions are not one rectangle of at least 8×8
/// pixels inside the frame.
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
    let cols = Columns { frame, y0, y1 };
    let mut inside: Vec<f32> = (x0..x1).map(|x| cols.texture(x)).collect();
    inside.sort_by(f32::total_cmp);
    let median = inside[inside.len() / 2];
    if median.is_nan() || median < params.min_texture {
        return None;
    }
    let threshold = params.texture_frac * median;
    // Moves the side at column `edge` (inclusive) by `step` (±1) while the
    // columns beyond look like more of the same scan.
    let grow = |edge: u32, step: i64| -> u32 {
        let at = |k: i64| {
            u32::try_from(i64::from(edge) - step * k)
                .ok()
                .filter(|&x| x < w)
        };
        let near: Vec<f32> = (0..4).filter_map(at).map(|x| cols.mean(x)).collect();
        let mut reference = near.iter().sum::<f32>() / near.len().max(1) as f32;
        let (mut p, mut best, mut miss) = (i64::from(edge), edge, 0);
        while miss < params.patience {
            p += step;
            let Some(x) = u32::try_from(p).ok().filter(|&x| x < w) else {
                break;
            };
            let mu = cols.mean(x);
            if mu < params.step_ratio * reference || mu > reference / params.step_ratio + 20.0 {
                break;
            }
            if cols.texture(x) > threshold {
                best = x;
                miss = 0;
                reference = 0.9 * reference + 0.1 * mu;
            } else {
                miss += 1;
            }
        }
        best
    };
    let left = grow(x0, -1);
    let right = grow(x1 - 1, 1) + 1;
    if left == x0 && right == x1 {
        return None;
    }
    let snapped = Rect::new(r.x0.min(left as f32), r.y0, r.x1.max(right as f32), r.y1);
    Some(Regions::one(Region::Rect(snapped)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 200×100 frame: mid-grey background, a speckled scan over columns
    /// 40..160 and rows 10..90 whose right part (from column 110) is darker
    /// but still speckled, and a bright static panel from column 170.
    fn frame() -> GrayImage {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut noise = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 41) as i32 - 20
        };
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
        // Top and bottom stay.
        assert_eq!((r.y0, r.y1), (12.0, 88.0));
    }

    #[test]
    fn a_linear_image_cut_at_a_seam_is_one_rectangle_again() {
        // The left part runs up into the header; the common rows are kept.
        let mut cut = Regions::one(Region::Rect(Rect::new(232.0, 108.0, 527.0, 334.0)));
        cut.push(Region::Rect(Rect::new(90.0, 31.0, 232.5, 336.0)))
            .unwrap();
        let r = rect(&merge_seam_pair(&cut).unwrap());
        assert_eq!(r, Rect::new(90.0, 108.0, 527.0, 334.0));
    }

    #[test]
    fn panes_apart_stacked_or_of_other_shapes_are_not_merged() {
        let pair = |a: Rect, b: Rect| {
            let mut r = Regions::one(Region::Rect(a));
            r.push(Region::Rect(b)).unwrap();
            r
        };
        // A gap between the panes.
        let apart = pair(
            Rect::new(0.0, 10.0, 100.0, 90.0),
            Rect::new(110.0, 10.0, 200.0, 90.0),
        );
        assert!(merge_seam_pair(&apart).is_none());
        // A strip below a pane shares no rows with it.
        let stacked = pair(
            Rect::new(0.0, 0.0, 100.0, 60.0),
            Rect::new(100.0, 60.0, 200.0, 90.0),
        );
        assert!(merge_seam_pair(&stacked).is_none());
        // A single region, or a fan and a rectangle.
        assert!(
            merge_seam_pair(&Regions::one(Region::Rect(Rect::new(0.0, 0.0, 9.0, 9.0)))).is_none()
        );
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
        assert!(merge_seam_pair(&mixed).is_none());
    }

    #[test]
    fn a_rectangle_on_the_scan_edges_stays() {
        let fitted = Regions::one(Region::Rect(Rect::new(40.0, 12.0, 160.0, 88.0)));
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
