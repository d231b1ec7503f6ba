//! The fan fit: apex and edges from two lines, then `r_outer`, a flat top or
//! an inner arc from the robust 1-D mode of the other samples.
//!
//! Step 3 of the fit (see the [module documentation](super)), shared by
//! [`fit_fan_from_edge_points`](super::fit_fan_from_edge_points) (bare
//! edge points) and the map fit's fan candidates (which add what they know
//! about the frame).

use super::mode::mode_1d;
use super::ransac::{Line, dist, ransac_line};
use super::rng::Rng;
use super::{EdgePoints, FitError};
use crate::geometry::Fan;

/// What a fan fit works from: classified samples, the inlier distance and,
/// for a map, what it knows about the frame.
pub(super) struct FanInput<'a, 'p> {
    pub(super) edges: &'a EdgePoints<'p>,
    pub(super) tol: f32,
    pub(super) frame: Option<&'a FrameInfo<'p>>,
}

/// What a map fit knows beyond the classified edge points.
pub(super) struct FrameInfo<'p> {
    /// Frame-border samples on the left, right and bottom frame edges.
    pub(super) border_left: &'p [(f32, f32)],
    pub(super) border_right: &'p [(f32, f32)],
    pub(super) border_bottom: &'p [(f32, f32)],
    /// The window's horizontal extent and the spacing of the top samples
    /// (one per map column), to judge how many samples a flat top or inner
    /// arc should explain.
    pub(super) x0: f32,
    pub(super) x1: f32,
    pub(super) column: f32,
}

/// Fewest inliers a flat top or inner arc needs to count.
const MIN_TOP_INLIERS: usize = 3;
/// Apexes farther than this from the origin are parallel edges in disguise.
pub(super) const MAX_APEX_COORD: f32 = 1.0e5;

/// The two-line fan fit of
/// [`fit_fan_from_edge_points`](super::fit_fan_from_edge_points).
pub(super) fn fit_fan(e: &EdgePoints<'_>, tol: f32, rng: &mut Rng) -> Result<Fan, FitError> {
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
pub(super) fn finish_fan(
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
