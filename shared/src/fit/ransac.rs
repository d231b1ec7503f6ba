//! The RANSAC (MSAC-scored) searches for a fan's edge lines and arc
//! centres, their least-squares refinements, and the [`Line`] they return.
//!
//! [`capped_sum`] is their speed helper: an MSAC cost sum that gives up as
//! soon as the candidate cannot beat the best so far, with the same bits as
//! the plain sum otherwise (the tests hold it to `Iterator::sum`). The 1-D
//! mode search uses it too.

use super::fan::MAX_APEX_COORD;
use super::rng::Rng;
use crate::geometry::MAX_EDGE_ANGLE;

/// `√(dx² + dy²)` with the hardware square root ([`crate::dsp::sqrtf`]):
/// libm's `hypotf` guards against overflow the fit's coordinates (below
/// [`MAX_APEX_COORD`]) cannot reach, at several times the cost on the cart.
#[inline]
fn hypot(dx: f32, dy: f32) -> f32 {
    crate::dsp::sqrtf(dx * dx + dy * dy)
}

pub(super) fn dist(a: (f32, f32), b: (f32, f32)) -> f32 {
    hypot(b.0 - a.0, b.1 - a.1)
}

/// A line through `(cx, cy)` with unit direction `(dx, dy)`, `dy >= 0`
/// (pointing down, the way a fan edge runs from its apex).
#[derive(Clone, Copy, Debug)]
pub(super) struct Line {
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
    pub(super) fn at(apex: (f32, f32), angle: f32) -> Self {
        Self {
            cx: apex.0,
            cy: apex.1,
            dx: libm::sinf(angle),
            dy: libm::cosf(angle),
        }
    }

    /// The foot of the perpendicular from `p`.
    pub(super) fn project(&self, p: (f32, f32)) -> (f32, f32) {
        let t = (p.0 - self.cx) * self.dx + (p.1 - self.cy) * self.dy;
        (self.cx + t * self.dx, self.cy + t * self.dy)
    }

    /// Signed perpendicular distance (positive to the right of the downward
    /// direction as drawn, i.e. towards +x for a vertical line).
    pub(super) fn dist(&self, p: (f32, f32)) -> f32 {
        (p.0 - self.cx) * self.dy - (p.1 - self.cy) * self.dx
    }

    /// Angle from the downward vertical, positive towards +x.
    pub(super) fn angle(&self) -> f32 {
        libm::atan2f(self.dx, self.dy)
    }

    /// Whether a fan edge may run along this line.
    fn is_edge(&self) -> bool {
        self.angle().abs() <= MAX_EDGE_ANGLE
    }

    /// Where this edge line crosses the vertical `x = axis`, and its angle
    /// from the vertical: the apex and half-opening of the fan made of this
    /// edge and its mirror image about the axis. `None` for a line too
    /// close to vertical to cross it usefully.
    pub(super) fn mirrored_apex(&self, axis: f32) -> Option<((f32, f32), f32)> {
        if !(self.dx.abs() > 1e-3) {
            return None;
        }
        let y = self.cy + (axis - self.cx) * self.dy / self.dx;
        let half = self.angle().abs();
        (y.is_finite() && y.abs() < MAX_APEX_COORD).then_some(((axis, y), half))
    }

    pub(super) fn intersect(&self, o: &Line) -> Option<(f32, f32)> {
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

/// RANSAC line (MSAC cost: inliers count their squared distance, outliers
/// `tol²`) restricted to fan-edge angles, refined by total least squares on
/// its inliers.
pub(super) fn ransac_line(pts: &[(f32, f32)], tol: f32, rng: &mut Rng) -> Option<Line> {
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
pub(super) fn ransac_circle(pts: &[(f32, f32)], tol: f32, rng: &mut Rng) -> Option<(f32, f32)> {
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
pub(super) fn capped_sum<T: Copy>(
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

/// The vertical axis (its `x`) of the pair of mirror-symmetric fan edges
/// that fits the inliers of `left` and `right` best (least squares on
/// `x`): every scanner draws its sector symmetric about the vertical, while
/// a map's edge is often pulled in on one side only (a dark chamber or
/// shadow at the edge), which tilts a free two-line fit. `None` when either
/// side has fewer than two inliers or the edges would not open downwards.
///
/// Model: left edge `x = a − t·y`, right edge `x = b + t·y`; with each
/// side's samples centred, `t = (Sxy_R − Sxy_L) / (Syy_L + Syy_R)`.
pub(super) fn symmetric_axis(
    left: &Line,
    right: &Line,
    left_pts: &[(f32, f32)],
    right_pts: &[(f32, f32)],
    tol: f32,
) -> Option<f32> {
    // Means, then centred sums: the coordinates reach a few thousand.
    let stats = |l: &Line, pts: &[(f32, f32)]| {
        let inl = || pts.iter().filter(|&&p| l.dist(p).abs() <= tol);
        let n = inl().count();
        if n < 2 {
            return None;
        }
        let (sx, sy) = inl().fold((0.0f32, 0.0f32), |(a, b), p| (a + p.0, b + p.1));
        let (mx, my) = (sx / n as f32, sy / n as f32);
        let (sxy, syy) = inl().fold((0.0f32, 0.0f32), |(a, b), p| {
            let (dx, dy) = (p.0 - mx, p.1 - my);
            (a + dx * dy, b + dy * dy)
        });
        Some((mx, my, sxy, syy))
    };
    let (lmx, lmy, lxy, lyy) = stats(left, left_pts)?;
    let (rmx, rmy, rxy, ryy) = stats(right, right_pts)?;
    let t = (rxy - lxy) / (lyy + ryy);
    // Half-openings from MIN_FAN_OPENING / 2 up to the steepest edge.
    if !(t > 0.1 && t < libm::tanf(MAX_EDGE_ANGLE)) {
        return None;
    }
    let a = lmx + t * lmy;
    let b = rmx - t * rmy;
    // The apex: on the axis, where the two edges meet.
    let apex = ((a + b) / 2.0, (a - b) / (2.0 * t));
    (apex.0.abs() < MAX_APEX_COORD && apex.1.abs() < MAX_APEX_COORD).then_some(apex.0)
}
