//! Temporal smoothing of the fitted geometry, and the consistency check
//! against the previous frames.
//!
//! The network sees each frame afresh, so a fan's edges wobble by a pixel
//! or two from frame to frame. The pipeline keeps a running blend of the
//! geometry ([`blend`]) and masks with the *intersection* of the current
//! fit and that blend: edges only move when the current fit moves them
//! inwards or the blend catches up, and nothing the current frame's fit
//! would black out is ever kept — smoothing can shrink the kept region,
//! never widen it.

use sonomask_core::{Fan, Rect, Region, Regions};

/// Per-parameter exponential blend, `prev + alpha · (cur − prev)`, when the
/// two geometries correspond region by region (same count, same kinds,
/// each pair's apex or centre within a tenth of the frame width); else
/// `cur` (a new layout restarts the blend). A blend that comes out invalid
/// is replaced by `cur` too.
pub fn blend(prev: &Regions, cur: &Regions, alpha: f32, frame_w: u16) -> Regions {
    if prev.len() != cur.len() {
        return cur.clone();
    }
    let near = 0.1 * f32::from(frame_w);
    let mut out = Regions::new();
    for (p, c) in prev.iter().zip(cur.iter()) {
        let mixed = match (p, c) {
            (Region::Fan(p), Region::Fan(c))
                if dist(p.apex_x, p.apex_y, c.apex_x, c.apex_y) < near =>
            {
                Region::Fan(blend_fan(p, c, alpha))
            }
            (Region::Rect(p), Region::Rect(c)) if dist_rect(p, c) < near => {
                Region::Rect(blend_rect(p, c, alpha))
            }
            _ => return cur.clone(),
        };
        if !mixed.is_valid() || out.push(mixed).is_err() {
            return cur.clone();
        }
    }
    out
}

fn dist(ax: f32, ay: f32, bx: f32, by: f32) -> f32 {
    libm::sqrtf((ax - bx) * (ax - bx) + (ay - by) * (ay - by))
}

fn dist_rect(a: &Rect, b: &Rect) -> f32 {
    dist(
        0.5 * (a.x0 + a.x1),
        0.5 * (a.y0 + a.y1),
        0.5 * (b.x0 + b.x1),
        0.5 * (b.y0 + b.y1),
    )
}

fn mix(p: f32, c: f32, alpha: f32) -> f32 {
    p + alpha * (c - p)
}

fn blend_fan(p: &Fan, c: &Fan, a: f32) -> Fan {
    Fan {
        apex_x: mix(p.apex_x, c.apex_x, a),
        apex_y: mix(p.apex_y, c.apex_y, a),
        angle_left: mix(p.angle_left, c.angle_left, a),
        angle_right: mix(p.angle_right, c.angle_right, a),
        r_inner: mix(p.r_inner, c.r_inner, a),
        r_outer: mix(p.r_outer, c.r_outer, a),
        flat_top: match (p.flat_top, c.flat_top) {
            (Some(pt), Some(ct)) => Some(mix(pt, ct, a)),
            (_, ct) => ct,
        },
        clip: c.clip,
    }
}

fn blend_rect(p: &Rect, c: &Rect, a: f32) -> Rect {
    Rect::new(
        mix(p.x0, c.x0, a),
        mix(p.y0, c.y0, a),
        mix(p.x1, c.x1, a),
        mix(p.y1, c.y1, a),
    )
}

/// Intersection over union of the pixels two geometries keep in a
/// `w × h` frame, sampled on every `step`-th row (exact spans per row).
/// 1 when both keep nothing.
pub fn iou(a: &Regions, b: &Regions, w: u16, h: u16, step: usize) -> f32 {
    let (mut inter, mut union) = (0u64, 0u64);
    let (a, b) = (a.prepare_rows(), b.prepare_rows());
    for y in (0..u32::from(h)).step_by(step.max(1)) {
        let (ra, rb) = (a.row_spans(y, w), b.row_spans(y, w));
        let len = |r: &sonomask_core::RowSpans| r.iter().map(|s| u64::from(s.len())).sum::<u64>();
        let both = len(&sonomask_core::intersect_spans(&ra, &rb));
        inter += both;
        union += len(&ra) + len(&rb) - both;
    }
    if union == 0 {
        1.0
    } else {
        inter as f32 / union as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fan(apex_x: f32, r_outer: f32) -> Regions {
        Regions::one(Region::Fan(Fan {
            apex_x,
            apex_y: 20.0,
            angle_left: -0.6,
            angle_right: 0.6,
            r_inner: 0.0,
            r_outer,
            flat_top: Some(40.0),
            clip: None,
        }))
    }

    #[test]
    fn blends_matching_geometry_and_restarts_on_a_new_layout() {
        let b = blend(&fan(300.0, 400.0), &fan(310.0, 420.0), 0.5, 640);
        let Region::Fan(f) = b.regions[0] else {
            panic!("kind changed")
        };
        assert_eq!(
            (f.apex_x, f.r_outer, f.flat_top),
            (305.0, 410.0, Some(40.0))
        );
        // Far away (another screen half): the current geometry as it is.
        assert_eq!(
            blend(&fan(100.0, 400.0), &fan(500.0, 420.0), 0.5, 640),
            fan(500.0, 420.0)
        );
        let rect = Regions::one(Region::Rect(Rect::new(0.0, 0.0, 10.0, 10.0)));
        assert_eq!(blend(&fan(300.0, 400.0), &rect, 0.5, 640), rect);
    }

    #[test]
    fn iou_of_spans() {
        let a = fan(320.0, 400.0);
        assert_eq!(iou(&a, &a, 640, 480, 1), 1.0);
        assert_eq!(iou(&Regions::new(), &Regions::new(), 640, 480, 1), 1.0);
        assert_eq!(iou(&a, &Regions::new(), 640, 480, 1), 0.0);
        let b = fan(320.0, 200.0);
        let exact = b.area(640, 480) as f32 / a.area(640, 480) as f32;
        assert!((iou(&a, &b, 640, 480, 1) - exact).abs() < 1e-6);
        assert!((iou(&a, &b, 640, 480, 4) - exact).abs() < 0.02);
    }
}
