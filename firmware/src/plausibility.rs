//! Is a fitted geometry believable as a scanner's image area? A fit that is
//! not is treated like no fit at all: the frame goes out black.
//!
//! The limits are deliberately loose — they are there to catch a network
//! or fit gone wrong (a sliver, a fan opening the wrong way, an apex in the
//! middle of the frame, a rectangle of a few pixels), not to second-guess
//! unusual but real layouts; every layout the synthetic generator draws
//! (phased and curvilinear fans, linear rectangles, dual screens, M-mode
//! and spectral strips) passes.

use sonomask_core::wire::Implausibility;
use sonomask_core::{Region, Regions};

/// Limits, relative to the frame so they hold at any resolution.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Kept area as a fraction of the frame: at least this …
    pub min_area: f32,
    /// … and at most this.
    pub max_area: f32,
    /// Smallest fan opening (radians).
    pub min_opening: f32,
    /// The apex may lie this many frame widths left or right of the frame.
    pub apex_x_margin: f32,
    /// The apex may lie this many frame heights above the frame (a
    /// curvilinear probe's virtual apex is far above) …
    pub apex_above: f32,
    /// … and no lower than this fraction of the frame's height.
    pub apex_below: f32,
    /// Largest outer radius, in frame diagonals.
    pub max_radius: f32,
    /// Smallest rectangle side, as a fraction of the frame's side.
    pub min_rect_side: f32,
    /// Largest rectangle aspect ratio (long side over short side).
    pub max_aspect: f32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            min_area: 0.03,
            max_area: 0.98,
            min_opening: sonomask_core::fit::MIN_FAN_OPENING,
            apex_x_margin: 1.0,
            apex_above: 4.0,
            apex_below: 0.5,
            max_radius: 4.0,
            min_rect_side: 0.05,
            max_aspect: 25.0,
        }
    }
}

/// Checks every region and the kept area (`area` pixels of a `w × h`
/// frame); the first failure wins.
// `!(x >= limit)` on purpose: NaN fails every check.
#[allow(clippy::neg_cmp_op_on_partial_ord)]
pub fn check(
    regions: &Regions,
    area: u64,
    w: u16,
    h: u16,
    limits: &Limits,
) -> Result<(), Implausibility> {
    let (fw, fh) = (f32::from(w), f32::from(h));
    let diag = libm::sqrtf(fw * fw + fh * fh);
    for region in regions.iter() {
        match region {
            Region::Fan(f) => {
                if !(f.opening() >= limits.min_opening) {
                    return Err(Implausibility::Opening);
                }
                let x_ok = f.apex_x >= -limits.apex_x_margin * fw
                    && f.apex_x <= (1.0 + limits.apex_x_margin) * fw;
                let y_ok =
                    f.apex_y >= -limits.apex_above * fh && f.apex_y <= limits.apex_below * fh;
                if !(x_ok && y_ok) {
                    return Err(Implausibility::Apex);
                }
                if !(f.r_outer <= limits.max_radius * diag && f.r_inner < f.r_outer) {
                    return Err(Implausibility::Radius);
                }
            }
            Region::Rect(r) => {
                let (rw, rh) = (r.width(), r.height());
                if !(rw >= limits.min_rect_side * fw && rh >= limits.min_rect_side * fh) {
                    return Err(Implausibility::Aspect);
                }
                if !(rw.max(rh) <= limits.max_aspect * rw.min(rh)) {
                    return Err(Implausibility::Aspect);
                }
            }
        }
    }
    let frac = area as f32 / (fw * fh);
    if !(frac >= limits.min_area && frac <= limits.max_area) {
        return Err(Implausibility::Area);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonomask_core::{Fan, Rect};

    fn fan() -> Fan {
        Fan {
            apex_x: 320.0,
            apex_y: 30.0,
            angle_left: -0.7,
            angle_right: 0.7,
            r_inner: 0.0,
            r_outer: 420.0,
            flat_top: None,
            clip: None,
        }
    }

    #[test]
    fn accepts_real_layouts_and_rejects_broken_ones() {
        let l = Limits::default();
        let ok = Regions::one(Region::Fan(fan()));
        let area = ok.area(640, 480);
        assert_eq!(check(&ok, area, 640, 480, &l), Ok(()));
        // Curvilinear: virtual apex far above the frame.
        let curvi = Fan {
            apex_y: -300.0,
            r_inner: 330.0,
            r_outer: 760.0,
            ..fan()
        };
        let r = Regions::one(Region::Fan(curvi));
        assert_eq!(check(&r, r.area(640, 480), 640, 480, &l), Ok(()));
        let narrow = Regions::one(Region::Fan(Fan {
            angle_left: -0.05,
            angle_right: 0.05,
            ..fan()
        }));
        assert_eq!(
            check(&narrow, area, 640, 480, &l),
            Err(Implausibility::Opening)
        );
        let low = Regions::one(Region::Fan(Fan {
            apex_y: 400.0,
            ..fan()
        }));
        assert_eq!(check(&low, area, 640, 480, &l), Err(Implausibility::Apex));
        let nan = Regions::one(Region::Fan(Fan {
            apex_x: f32::NAN,
            ..fan()
        }));
        assert_eq!(check(&nan, area, 640, 480, &l), Err(Implausibility::Apex));
        let huge = Regions::one(Region::Fan(Fan {
            r_outer: 5000.0,
            ..fan()
        }));
        assert_eq!(
            check(&huge, area, 640, 480, &l),
            Err(Implausibility::Radius)
        );
        let sliver = Regions::one(Region::Rect(Rect::new(10.0, 10.0, 600.0, 20.0)));
        assert_eq!(
            check(&sliver, 5900, 640, 480, &l),
            Err(Implausibility::Aspect)
        );
        assert_eq!(check(&ok, 100, 640, 480, &l), Err(Implausibility::Area));
        assert_eq!(
            check(&ok, 640 * 480, 640, 480, &l),
            Err(Implausibility::Area)
        );
        let strip = Regions::one(Region::Rect(Rect::new(40.0, 330.0, 600.0, 470.0)));
        assert_eq!(check(&strip, strip.area(640, 480), 640, 480, &l), Ok(()));
    }
}
