//! The rectangle fit: each side the robust 1-D mode of its samples, or the
//! frame edge.
//!
//! Step 4 of the fit (see the [module documentation](super)); the
//! candidate that linear probes and Doppler strips come out as.

use super::boundary::{BOTTOM, Boundary, LEFT, RIGHT, TOP};
use super::mode::mode_1d;
use super::rng::Rng;
use super::{EdgePoints, FitError};
use crate::geometry::Rect;

/// Rectangle candidate: each side is the robust mode of its samples, or the
/// frame edge when more of that side lies on the frame border than on the
/// mode.
pub(super) fn fit_rect(
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
