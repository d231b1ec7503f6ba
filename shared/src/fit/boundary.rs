//! Boundary sampling: a component's edge samples at the sub-pixel threshold
//! crossing, sorted by side, with frame-border samples kept apart.
//!
//! Step 2 of the fit (see the [module documentation](super)). The samples
//! live in the caller's points scratch; [`Boundary`] says where.

use super::FitOptions;
use super::label::{Component, is_member};

/// Where a component's boundary samples sit in the points scratch. Side
/// `s` owns `slots[s]` slots from `start[s]`: edge samples fill it from the
/// front, frame-border samples from the back. Left and right hold one
/// sample per row (`h`) and the top samples on their side's staircase
/// (`w`); top and bottom one per column (`w`).
pub(super) struct Boundary {
    start: [usize; 4],
    slots: [usize; 4],
    /// Edge samples per side; for left and right, the first `rows[s]` are
    /// the per-row samples.
    len: [usize; 4],
    pub(super) rows: [usize; 2],
    pub(super) clipped: [usize; 4],
}

pub(super) const LEFT: usize = 0;
pub(super) const RIGHT: usize = 1;
pub(super) const TOP: usize = 2;
pub(super) const BOTTOM: usize = 3;

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

    pub(super) fn edge<'p>(&self, p: &'p [(f32, f32)], s: usize) -> &'p [(f32, f32)] {
        &p[self.start[s]..self.start[s] + self.len[s]]
    }

    pub(super) fn border<'p>(&self, p: &'p [(f32, f32)], s: usize) -> &'p [(f32, f32)] {
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
pub(super) fn extract_boundary(
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
