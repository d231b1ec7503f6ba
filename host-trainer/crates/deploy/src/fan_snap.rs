//! Moving a fitted fan's apex, edges and far arc to the image's own edges:
//! the fan counterpart of [`snap_rect_sides`](crate::edge_snap::snap_rect_sides).
//!
//! The network's map is coarse (one cell is 5–30 full-resolution pixels)
//! and reads brightness, so a fan's narrow apex, an edge along a dark
//! chamber and a far arc over dim tissue come out short, and the fit
//! follows: on real echo frames the fitted apex lies 20–30 pixels low and
//! the arc a few pixels in. At full resolution the scan still carries
//! speckle there, while outside it lies a flat background.
//!
//! Three steps, on `frame` (luma, full resolution), with the texture and
//! background measures of [`crate::edge_snap`]:
//! 1. **Apex.** A pointed fan (no inner arc, no flat top below its apex)
//!    moves its apex up its axis, row by row, while a short window of the
//!    row around the axis is textured; the far arc stays where it was. A
//!    phased array's image starts at its apex, so the near field's speckle
//!    marks it.
//! 2. **Edges.** Each edge turns about the apex: out while the ray beyond
//!    (from the apex, or the inner arc, to the far arc) is textured, in
//!    while the edge's own ray is background (under 5 % of its neighbours
//!    differ), by at most [`MAX_TURN`] either way.
//! 3. **Far arc.** The same for the arc: out while the arc beyond is
//!    textured, in while its own is background, by at most a quarter of
//!    the fan's depth.
//!
//! "Textured" is above [`SnapParams::texture_frac`] of the median texture
//! of rays across the fan, or above [`DIM_TEXTURE`]; a flat fan (median under
//! [`SnapParams::min_texture`]) is left as it is, as are several regions.
//! Host only, like the rectangle snap.

use image::GrayImage;
use sonomask_core::{Fan, Region, Regions};

use crate::edge_snap::{NOISE_MARGIN, SnapParams, background, noise_floor, quantile, texture};

/// The most an edge turns, either way (radians, about 6°).
pub const MAX_TURN: f32 = 0.1;
/// Half-width of the window of a row around the axis that the apex step
/// reads, in pixels.
const APEX_WINDOW: f32 = 6.0;
/// A ray or arc this textured (luma levels) is scan, however bright the
/// rest of the fan: flat backgrounds score 0, and a text line or tick
/// crossing a dark ray leaves its middle half flat too.
const DIM_TEXTURE: f32 = 1.0;
/// Rays across the fan for its median texture.
const MEDIAN_RAYS: usize = 33;

/// `regions` with its single fan's apex, edges and far arc moved to the
/// image's edges in `frame` (see the module doc); `None` when nothing
/// moved, the regions are not one fan, or the fan is flat.
pub fn snap_fan(regions: &Regions, frame: &GrayImage, params: &SnapParams) -> Option<Regions> {
    let mut it = regions.iter();
    let (Some(Region::Fan(f)), None) = (it.next(), it.next()) else {
        return None;
    };
    if !f.is_valid() || f.r_outer < 16.0 {
        return None;
    }
    let view = View { frame, fan: *f };
    let inside: Vec<f32> = (0..MEDIAN_RAYS)
        .map(|i| {
            let t = (i as f32 + 0.5) / MEDIAN_RAYS as f32;
            view.ray_texture(f.angle_left + t * f.opening())
        })
        .collect();
    let median = quantile(inside, 1, 2)?;
    if median.is_nan() || median < params.min_texture {
        return None;
    }
    // Dim speckle (a dark chamber against the edge, a weak far field)
    // varies by a level or two, under a bright scan's fraction; but a noisy
    // background (a screen recording's compression noise) varies too, so
    // what counts must stand clear of the frame's own noise outside the fan.
    let threshold = (params.texture_frac * median)
        .min(DIM_TEXTURE)
        .max(NOISE_MARGIN * noise_floor(frame));
    let mut g = *f;
    raise_apex(&mut g, frame, threshold, params);
    turn_edges(&mut g, frame, threshold, params);
    move_arc(&mut g, frame, threshold, params);
    (g != *f && g.is_valid()).then(|| Regions::one(Region::Fan(g)))
}

/// Step 1 of the module doc.
fn raise_apex(g: &mut Fan, frame: &GrayImage, threshold: f32, params: &SnapParams) {
    if g.r_inner > 0.0 {
        return;
    }
    raise_flat_top(g, frame);
    if g.flat_top.is_some_and(|t| t > g.apex_y + 2.0) {
        return;
    }
    // Up the axis, the bisector of the two edges.
    let axis = 0.5 * (g.angle_left + g.angle_right);
    let (ux, uy) = (-(axis).sin(), -(axis).cos());
    let limit = (0.25 * g.r_outer) as u32;
    let (mut best, mut miss) = (0u32, 0usize);
    for k in 1..=limit {
        if miss >= params.patience {
            break;
        }
        let (cx, cy) = (g.apex_x + k as f32 * ux, g.apex_y + k as f32 * uy);
        if cy < 0.0 || cy.is_nan() {
            break;
        }
        let row = (-APEX_WINDOW as i32..=APEX_WINDOW as i32)
            .filter_map(|d| pixel(frame, cx + d as f32, cy));
        if texture(row) > threshold {
            best = k;
            miss = 0;
        } else {
            miss += 1;
        }
    }
    if best > 0 {
        let d = best as f32;
        g.apex_x += d * ux;
        g.apex_y += d * uy;
        g.r_outer += d;
        if g.flat_top.is_some() {
            g.flat_top = Some(g.apex_y);
        }
    }
}

/// A flat top moves up, row by row, while the row's stretch between the
/// edges is not background; it is dropped when it reaches the apex. A map
/// cell over a narrow apex is mostly dark, so the map of a phased fan
/// often ends a few cells under its apex.
fn raise_flat_top(g: &mut Fan, frame: &GrayImage) {
    let Some(top) = g.flat_top else {
        return;
    };
    let (tl, tr) = (g.angle_left.tan(), g.angle_right.tan());
    let mut y = top.floor();
    while y - 1.0 > g.apex_y {
        let row = y - 1.0;
        let depth = row - g.apex_y;
        let (x0, x1) = (g.apex_x + depth * tl, g.apex_x + depth * tr);
        let pixels =
            (x0.ceil() as i64..x1.floor() as i64).filter_map(|x| pixel(frame, x as f32, row));
        // Rows too short to tell, next to the apex, go on.
        if background(pixels) == Some(true) {
            break;
        }
        y = row;
    }
    g.flat_top = (y > g.apex_y + 2.0).then_some(y.min(top));
}

/// A fan over a scan's upper part and a rectangle under it (the fit's
/// split step cuts a phased fan whose middle is dark in two) as one fan
/// reaching the rectangle's bottom, when at least [`MERGE_INSIDE`] of the
/// rectangle lies inside that fan and the rectangle starts inside the fan
/// it extends.
pub fn merge_fan_and_rect(regions: &Regions) -> Option<Regions> {
    let mut it = regions.iter();
    let (Some(a), Some(b), None) = (it.next(), it.next(), it.next()) else {
        return None;
    };
    let (f, r) = match (a, b) {
        (Region::Fan(f), Region::Rect(r)) | (Region::Rect(r), Region::Fan(f)) => (f, r),
        _ => return None,
    };
    if !f.is_valid() || f.r_inner > 0.0 {
        return None;
    }
    let bottom = f.apex_y + f.r_outer;
    // The rectangle starts above the fan's bottom and ends below it.
    if !(r.y0 < bottom && r.y1 > bottom && r.x1 > r.x0) {
        return None;
    }
    let g = Fan {
        r_outer: r.y1 - f.apex_y,
        ..*f
    };
    const N: usize = 16;
    let inside = (0..N * N)
        .filter(|i| {
            let (u, v) = ((i % N) as f32 + 0.5, (i / N) as f32 + 0.5);
            let (x, y) = (
                r.x0 + u * (r.x1 - r.x0) / N as f32,
                r.y0 + v * (r.y1 - r.y0) / N as f32,
            );
            g.contains(x, y)
        })
        .count();
    (g.is_valid() && inside as f32 >= MERGE_INSIDE * (N * N) as f32)
        .then(|| Regions::one(Region::Fan(g)))
}

/// See [`merge_fan_and_rect`].
pub const MERGE_INSIDE: f32 = 0.8;

/// Step 2 of the module doc.
fn turn_edges(g: &mut Fan, frame: &GrayImage, threshold: f32, params: &SnapParams) {
    // One pixel at the far arc per step.
    let step = 1.0 / g.r_outer;
    let max_steps = (MAX_TURN / step) as usize;
    for (right, sign) in [(false, -1.0f32), (true, 1.0)] {
        let edge = if right { g.angle_right } else { g.angle_left };
        let view = View { frame, fan: *g };
        // In off a background first.
        let mut inward = 0;
        while inward < max_steps && view.ray_background(edge - sign * step * inward as f32) {
            inward += 1;
        }
        let moved = if inward > 0 {
            edge - sign * step * inward as f32
        } else {
            let (mut best, mut miss) = (0usize, 0usize);
            for k in 1..=max_steps {
                if miss >= params.patience {
                    break;
                }
                if view.ray_texture(edge + sign * step * k as f32) > threshold {
                    best = k;
                    miss = 0;
                } else {
                    miss += 1;
                }
            }
            edge + sign * step * best as f32
        };
        if right {
            g.angle_right = moved.min(sonomask_core::geometry::MAX_EDGE_ANGLE);
        } else {
            g.angle_left = moved.max(-sonomask_core::geometry::MAX_EDGE_ANGLE);
        }
    }
}

/// Step 3 of the module doc.
fn move_arc(g: &mut Fan, frame: &GrayImage, threshold: f32, params: &SnapParams) {
    let view = View { frame, fan: *g };
    let limit = (0.25 * (g.r_outer - g.r_inner)) as usize;
    let mut inward = 0;
    while inward < limit && view.arc_background(g.r_outer - 1.0 - inward as f32) {
        inward += 1;
    }
    if inward > 0 {
        g.r_outer -= inward as f32;
        return;
    }
    let (mut best, mut miss) = (0usize, 0usize);
    for k in 1..=limit {
        if miss >= params.patience {
            break;
        }
        if view.arc_texture(g.r_outer + k as f32) > threshold {
            best = k;
            miss = 0;
        } else {
            miss += 1;
        }
    }
    g.r_outer += best as f32;
}

/// Luma at `(x, y)` (nearest pixel), `None` outside the frame.
fn pixel(frame: &GrayImage, x: f32, y: f32) -> Option<u8> {
    let (w, h) = frame.dimensions();
    let ok = x >= 0.0 && y >= 0.0 && x < w as f32 && y < h as f32;
    ok.then(|| frame.get_pixel(x as u32, y as u32)[0])
}

/// Rays and arcs of one fan over a frame, cut by the fan's clip and flat
/// top as its mask is.
struct View<'a> {
    frame: &'a GrayImage,
    fan: Fan,
}

impl View<'_> {
    fn at(&self, r: f32, angle: f32) -> Option<u8> {
        let f = &self.fan;
        let (x, y) = (f.apex_x + r * (angle).sin(), f.apex_y + r * (angle).cos());
        let clipped = f
            .clip
            .is_some_and(|c| !(x >= c.x0 && x < c.x1 && y >= c.y0 && y < c.y1));
        let above = f.flat_top.is_some_and(|t| y < t);
        if clipped || above {
            return None;
        }
        pixel(self.frame, x, y)
    }

    /// The pixels along the ray at `angle`, inner arc to far arc.
    fn ray(&self, angle: f32) -> impl Iterator<Item = u8> + '_ {
        let (r0, r1) = (self.fan.r_inner.max(0.0), self.fan.r_outer);
        (r0 as u32..r1 as u32).filter_map(move |r| self.at(r as f32, angle))
    }

    /// The pixels along the arc of radius `r` between the edges.
    fn arc(&self, r: f32) -> impl Iterator<Item = u8> + '_ {
        let f = &self.fan;
        let n = (f.opening() * r).max(0.0) as u32;
        (0..n).filter_map(move |i| self.at(r, f.angle_left + (i as f32 + 0.5) / r))
    }

    fn ray_texture(&self, angle: f32) -> f32 {
        texture(self.ray(angle))
    }

    fn ray_background(&self, angle: f32) -> bool {
        background(self.ray(angle)).unwrap_or(false)
    }

    fn arc_texture(&self, r: f32) -> f32 {
        texture(self.arc(r))
    }

    fn arc_background(&self, r: f32) -> bool {
        background(self.arc(r)).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edge_snap::tests::speckle;
    use sonomask_core::Rect;

    /// The scan every test draws: a 320×240 frame, black outside a phased
    /// fan from (160, 8), ±0.65 rad, 200 px deep, filled with speckle
    /// around luma 90, except a dim band (luma 4 ± 3, still speckled)
    /// along its left edge, the way a dark chamber lies against the edge.
    const TRUTH: Fan = Fan {
        apex_x: 160.0,
        apex_y: 8.0,
        angle_left: -0.65,
        angle_right: 0.65,
        r_inner: 0.0,
        r_outer: 200.0,
        flat_top: None,
        clip: None,
    };

    fn frame() -> GrayImage {
        let mut noise = speckle(7, 30);
        let mut dim = speckle(11, 3);
        GrayImage::from_fn(320, 240, |x, y| {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let v = if TRUTH.contains(px, py) {
                let (dx, dy) = (px - TRUTH.apex_x, py - TRUTH.apex_y);
                let a = dx.atan2(dy);
                if a < -0.45 { 4 + dim() } else { 90 + noise() }
            } else {
                0
            };
            image::Luma([v.clamp(0, 255) as u8])
        })
    }

    fn one(f: Fan) -> Regions {
        Regions::one(Region::Fan(f))
    }

    fn fan_of(r: Option<Regions>) -> Fan {
        match r.as_ref().and_then(|r| r.iter().next()) {
            Some(Region::Fan(f)) => *f,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_short_narrow_fan_grows_to_the_scan() {
        // What a coarse map gives: apex 20 px low, the dim left edge and
        // the right edge in, the arc short.
        let fitted = Fan {
            apex_y: 28.0,
            angle_left: -0.58,
            angle_right: 0.6,
            r_outer: 170.0,
            ..TRUTH
        };
        let g = fan_of(snap_fan(&one(fitted), &frame(), &SnapParams::default()));
        assert!((g.apex_y - TRUTH.apex_y).abs() <= 5.0, "{g:?}");
        assert!((g.angle_left - TRUTH.angle_left).abs() < 0.03, "{g:?}");
        assert!((g.angle_right - TRUTH.angle_right).abs() < 0.03, "{g:?}");
        let bottom = g.apex_y + g.r_outer;
        assert!(
            (bottom - (TRUTH.apex_y + TRUTH.r_outer)).abs() <= 3.0,
            "{g:?}"
        );
    }

    #[test]
    fn a_fan_over_the_background_moves_in() {
        let fitted = Fan {
            angle_left: -0.7,
            angle_right: 0.72,
            r_outer: 215.0,
            ..TRUTH
        };
        let g = fan_of(snap_fan(&one(fitted), &frame(), &SnapParams::default()));
        assert!(g.angle_right < 0.67 && g.angle_right > 0.62, "{g:?}");
        assert!(g.r_outer < 203.0 && g.r_outer > 195.0, "{g:?}");
    }

    #[test]
    fn a_flat_top_under_speckle_rises_to_the_apex() {
        let fitted = Fan {
            flat_top: Some(40.0),
            ..TRUTH
        };
        let g = fan_of(snap_fan(&one(fitted), &frame(), &SnapParams::default()));
        assert!(g.flat_top.is_none_or(|t| t < 14.0), "{g:?}");
    }

    #[test]
    fn flat_frames_and_other_regions_are_left_alone() {
        let flat = GrayImage::from_pixel(320, 240, image::Luma([50]));
        let p = SnapParams::default();
        assert!(snap_fan(&one(TRUTH), &flat, &p).is_none());
        let rect = Regions::one(Region::Rect(Rect::new(10.0, 10.0, 200.0, 200.0)));
        assert!(snap_fan(&rect, &frame(), &p).is_none());
        // The truth itself stays where it is.
        let g = snap_fan(&one(TRUTH), &frame(), &p).map(|r| fan_of(Some(r)));
        assert!(g.is_none_or(|g| (g.r_outer - 200.0).abs() <= 2.0), "{g:?}");
    }

    #[test]
    fn a_fan_and_the_rectangle_under_it_merge() {
        let upper = Fan {
            r_outer: 120.0,
            ..TRUTH
        };
        let under = Rect::new(80.0, 100.0, 240.0, 205.0);
        let mut both = one(upper);
        both.push(Region::Rect(under)).unwrap();
        let g = fan_of(merge_fan_and_rect(&both));
        assert!((g.apex_y + g.r_outer - 205.0).abs() < 0.01, "{g:?}");
        // A rectangle beside the fan (a colour bar, a second pane) is not
        // part of it.
        let mut beside = one(upper);
        beside
            .push(Region::Rect(Rect::new(250.0, 20.0, 310.0, 200.0)))
            .unwrap();
        assert!(merge_fan_and_rect(&beside).is_none());
    }
}
