//! One component's region: the rectangle and every fan candidate fitted to
//! it, scored against it, best kept.
//!
//! Steps 3 to 5 of the fit (see the [module documentation](super)): the
//! driver that ties the boundary samples, the fan and rectangle fits and
//! the IoU score together for each component (and for each part of a cut,
//! [`split`](super::split)).

use super::boundary::{BOTTOM, LEFT, RIGHT, TOP, extract_boundary};
use super::fan::{FanInput, FrameInfo, finish_fan};
use super::label::Component;
use super::ransac::{Line, ransac_circle, ransac_line, symmetric_axis};
use super::rect::fit_rect;
use super::rng::{GOLDEN, Rng};
use super::score::{MemberCounts, iou};
use super::{EdgePoints, FitError, FitOptions, FitScratch, MIN_FAN_OPENING};
use crate::geometry::{Fan, MAX_EDGE_ANGLE, Rect, Region};

/// A side line within this angle (radians) of the vertical may be a cut
/// side (of a clipped fan or a rectangle) rather than a fan edge.
const VERTICAL_SIDE: f32 = 0.05;
/// IoU a fan cut at a vertical side must gain over the other candidates.
const CUT_FAN_MARGIN: f32 = 0.01;
/// IoU a fan symmetric about the vertical may lose to the best free fan
/// and still win ([`FitOptions::symmetric_fans`]): a map pulled in at one
/// dark edge tilts the free fit, and that tilt buys it a little IoU
/// against the very map that is wrong.
const SYMMETRIC_FAN_MARGIN: f32 = 0.02;

/// Fits the rectangle and fan candidates to component `c` and keeps the one
/// that agrees best with it (IoU; the rectangle wins ties).
///
/// Fan candidates: the apex where the two edge lines meet; and, when the
/// component touches a side of the frame (a wide sector cut by the image
/// area can hide one or both edges), apexes at the centre of the far-field
/// or the inner arc — projected onto whichever edge line is visible, or on
/// its own — with a hidden edge placed just beyond the samples on its side.
pub(super) fn fit_component(
    map: &[u8],
    w: usize,
    h: usize,
    c: &Component,
    opts: &FitOptions,
    scratch: &mut FitScratch<'_>,
    k: usize,
) -> Result<(Region, f32), FitError> {
    let (labels, counts) = scratch.labels.split_at_mut(w * h);
    let counts = MemberCounts::fill(labels, c, w, counts);
    let labels = &*labels;
    let b = extract_boundary(map, w, h, labels, c, opts, scratch.points);
    let p = &scratch.points[..];
    let edges = EdgePoints {
        left: b.edge(p, LEFT),
        right: b.edge(p, RIGHT),
        arc: b.edge(p, BOTTOM),
        top: b.edge(p, TOP),
    };
    let win = c.win.rect(w, h, opts);
    let frame = FrameInfo {
        border_left: b.border(p, LEFT),
        border_right: b.border(p, RIGHT),
        border_bottom: b.border(p, BOTTOM),
        x0: win.x0,
        x1: win.x1,
        column: opts.scale_x,
    };
    let tol = opts.tolerance();
    let mut rng = Rng(opts.seed.wrapping_add((k as u64).wrapping_mul(GOLDEN)));

    // A hidden edge: just beyond the edge and border samples on its side.
    let hidden_edge = |apex: (f32, f32), right: bool| {
        let (pts, border, out) = if right {
            (edges.right, frame.border_right, tol)
        } else {
            (edges.left, frame.border_left, -tol)
        };
        // Samples next to the apex have no usable direction.
        let angles = pts
            .iter()
            .chain(border)
            .filter(|&&q| q.1 - apex.1 > 4.0 * tol)
            .map(|&q| libm::atan2f(q.0 + out - apex.0, q.1 - apex.1));
        let a = if right {
            angles.fold(-MAX_EDGE_ANGLE, f32::max)
        } else {
            angles.fold(MAX_EDGE_ANGLE, f32::min)
        };
        Line::at(apex, a.clamp(-MAX_EDGE_ANGLE, MAX_EDGE_ANGLE))
    };

    let score = |r: &Region, could_win: &dyn Fn(f32) -> bool| {
        iou(
            core::slice::from_ref(r),
            labels,
            &counts,
            c,
            w,
            opts,
            could_win,
        )
    };
    // The rectangle's score gets a small bonus so a fan must beat it.
    let rows = EdgePoints {
        left: &edges.left[..b.rows[LEFT]],
        right: &edges.right[..b.rows[RIGHT]],
        ..edges
    };
    let rect = fit_rect(&rows, &b, tol, &win, &mut rng).ok();
    let mut best = rect.map(|r| (score(&Region::Rect(r), &|_| true) + 1e-3, Region::Rect(r)));
    let left = ransac_line(edges.left, tol, &mut rng);
    let right = ransac_line(edges.right, tol, &mut rng);
    // A fan cut by a straight vertical side (the frame border, or the pane
    // of a dual screen) shows a vertical side line instead of an edge: it
    // is also located from its arcs, with hidden edges, and cut where the
    // rectangle found that side as well as by the window.
    let vertical = |l: Option<Line>| l.is_some_and(|l| l.angle().abs() < VERTICAL_SIDE);
    let (cut_left, cut_right) = (vertical(left), vertical(right));
    let side_cut = rect.filter(|_| cut_left || cut_right).map(|r| Rect {
        x0: if cut_left { r.x0.max(win.x0) } else { win.x0 },
        x1: if cut_right { r.x1.min(win.x1) } else { win.x1 },
        ..win
    });
    let mut first_err = None;
    let mut consider = |fan: Result<Fan, FitError>| match fan {
        // Parallel sides in disguise (a rectangle seen as a far-apex fan):
        // no probe opens this little, and the cart rejects such a fan.
        Ok(f) if f.opening() < MIN_FAN_OPENING => {
            first_err.get_or_insert(FitError::NoFit);
        }
        Ok(mut f) => {
            if exceeds(&f, &win) {
                f.clip = Some(win);
            }
            // The cut fan is the more flexible shape: it must win clearly.
            let cut = side_cut.map(|c| (Fan { clip: Some(c), ..f }, CUT_FAN_MARGIN));
            for (f, margin) in core::iter::once((f, 0.0)).chain(cut) {
                // The same `s > bs` test as below, on the bound.
                let bs = best.map(|(bs, _)| bs);
                let could_win = |bound: f32| bs.is_none_or(|bs| bound - margin > bs);
                let s = score(&Region::Fan(f), &could_win) - margin;
                if best.is_none_or(|(bs, _)| s > bs) {
                    best = Some((s, Region::Fan(f)));
                }
            }
        }
        Err(e) => {
            first_err.get_or_insert(e);
        }
    };

    let input = FanInput {
        edges: &edges,
        tol,
        frame: Some(&frame),
    };
    if let (Some(l), Some(r)) = (left, right) {
        let apex = l.intersect(&r).ok_or(FitError::NoFit);
        consider(apex.and_then(|a| finish_fan(&input, &mut rng, a, &l, &r)));
    } else {
        consider(Err(FitError::TooFewPoints));
    }
    if b.clipped[LEFT] > 0 || b.clipped[RIGHT] > 0 || side_cut.is_some() {
        for arc in [edges.arc, edges.top] {
            let Some(centre) = ransac_circle(arc, tol, &mut rng) else {
                continue;
            };
            if let Some(l) = left {
                let apex = l.project(centre);
                let r = hidden_edge(apex, true);
                consider(finish_fan(&input, &mut rng, apex, &l, &r));
            }
            if let Some(r) = right {
                let apex = r.project(centre);
                let l = hidden_edge(apex, false);
                consider(finish_fan(&input, &mut rng, apex, &l, &r));
            }
            let (l, r) = (hidden_edge(centre, false), hidden_edge(centre, true));
            consider(finish_fan(&input, &mut rng, centre, &l, &r));
        }
    }
    // Scanners draw fans symmetric about the vertical. A map pulled in
    // along one edge (a dark chamber or shadow there) tilts the free fit;
    // the fan made of the wider free edge and its mirror image keeps the
    // sector. Its axis is taken three ways, each biased by a different
    // flaw of the map: least squares on both edges' samples (a dent), the
    // far arc's centre (an arc the frame cuts) and the free fan's apex (a
    // tilt); the one that agrees best with the map may lose a little to
    // the free fan and still win.
    if let (true, Some(l), Some(r), Some((bs, Region::Fan(free)))) =
        (opts.symmetric_fans, left, right, best)
    {
        let axes = [
            symmetric_axis(&l, &r, edges.left, edges.right, tol),
            ransac_circle(edges.arc, tol, &mut rng).map(|c| c.0),
            Some(free.apex_x),
        ];
        let wider = if l.angle().abs() >= r.angle().abs() {
            l
        } else {
            r
        };
        let mut sym: Option<(f32, Fan)> = None;
        for (k, axis) in axes.iter().enumerate() {
            let Some(axis) = *axis else { continue };
            // Axes that agree give the same fan: one fit and score each.
            if axes[..k].iter().flatten().any(|&a| (a - axis).abs() < 0.5) {
                continue;
            }
            let Some((apex, half)) = wider.mirrored_apex(axis) else {
                continue;
            };
            let (ls, rs) = (Line::at(apex, -half), Line::at(apex, half));
            let Ok(mut f) = finish_fan(&input, &mut rng, apex, &ls, &rs) else {
                continue;
            };
            if f.opening() < MIN_FAN_OPENING {
                continue;
            }
            if exceeds(&f, &win) {
                f.clip = Some(win);
            }
            // A free fan cut at a vertical side keeps that cut.
            if free.clip.is_some_and(|c| c != win) {
                f.clip = free.clip;
            }
            // Only a score that could still be kept is worth scanning to
            // the end (see `iou`).
            let floor = sym.map_or(bs - SYMMETRIC_FAN_MARGIN, |(ss, _)| ss);
            let s = score(&Region::Fan(f), &|bound| bound > floor);
            if s >= bs - SYMMETRIC_FAN_MARGIN && sym.is_none_or(|(ss, _)| s > ss) {
                sym = Some((s, f));
            }
        }
        if let Some((s, f)) = sym {
            best = Some((s.max(bs), Region::Fan(f)));
        }
    }
    match best {
        // A linear image whose top corners are dark (a dark near field, an
        // app's darker band) maps as a trapezoid, and a narrow fan with its
        // apex far above its top wins. No probe scans that shape: it stands
        // for the rectangle it was cut from, its box. The score stays the
        // fan's, so what the split step decides is unchanged.
        Some((s, Region::Fan(f))) if opts.trapezoid_rects && rect_in_disguise(&f) => {
            let r = extent(&f, &win);
            if r.x1 > r.x0 && r.y1 > r.y0 {
                Ok((Region::Rect(r), s))
            } else {
                Ok((Region::Fan(f), s))
            }
        }
        Some((s, region)) => Ok((region, s)),
        None => Err(first_err.unwrap_or(FitError::NoFit)),
    }
}

/// Openings under this (radians, about 34°) with the apex far above the
/// fan's top are linear images in disguise ([`rect_in_disguise`]); the
/// narrowest curvilinear probes open about 40°, phased arrays 60–90°.
const DISGUISED_RECT_OPENING: f32 = 0.6;

/// How far above the fan's top its apex must lie, in fan heights, for a
/// narrow flat-topped fan to be a rectangle in disguise: a phased fan cut
/// flat just under its apex has its apex a few pixels above that top.
const DISGUISED_RECT_APEX: f32 = 0.6;

/// The same for a fan with an inner arc: a curvilinear probe's face is
/// 0.2–0.75 image heights from its virtual apex; an "arc" much flatter
/// than that is a straight top.
const DISGUISED_RECT_ARC_APEX: f32 = 1.5;

/// Whether `f` is a trapezoid cut from a rectangle rather than a scan
/// fan: narrow, with an edge on each side of an apex far above its top
/// (see the constants).
fn rect_in_disguise(f: &Fan) -> bool {
    let (left, top, right, bottom) = fan_box(f);
    let height = bottom - top;
    let apex_above = if f.r_inner > 0.0 {
        DISGUISED_RECT_ARC_APEX
    } else {
        DISGUISED_RECT_APEX
    };
    right > left
        && height > 0.0
        // A rectangle's sides lean out on both sides of the apex; a wedge
        // with both edges on one side is no trapezoid of one.
        && f.angle_left < 0.0
        && f.angle_right > 0.0
        && f.opening() < DISGUISED_RECT_OPENING
        && top - f.apex_y > apex_above * height
}

/// The fan's box (left, top, right, bottom), before its clip.
fn fan_box(f: &Fan) -> (f32, f32, f32, f32) {
    let (sl, cl) = (libm::sinf(f.angle_left), libm::cosf(f.angle_left));
    let (sr, cr) = (libm::sinf(f.angle_right), libm::cosf(f.angle_right));
    let left = f.apex_x + f.r_outer * sl.min(0.0);
    let right = f.apex_x + f.r_outer * sr.max(0.0);
    let bottom = if f.angle_left <= 0.0 && f.angle_right >= 0.0 {
        f.apex_y + f.r_outer
    } else {
        f.apex_y + f.r_outer * cl.max(cr)
    };
    let top = match f.flat_top {
        Some(t) => t.max(f.apex_y),
        None => f.apex_y + f.r_inner * cl.min(cr),
    };
    (left, top, right, bottom)
}

/// The fan's box cut by its clip and by `win`.
fn extent(f: &Fan, win: &Rect) -> Rect {
    let (left, top, right, bottom) = fan_box(f);
    let c = f.clip.unwrap_or(*win);
    Rect::new(
        left.max(c.x0).max(win.x0),
        top.max(c.y0).max(win.y0),
        right.min(c.x1).min(win.x1),
        bottom.min(c.y1).min(win.y1),
    )
}

/// Whether any part of the fan lies outside `win`.
fn exceeds(f: &Fan, win: &Rect) -> bool {
    let (left, top, right, bottom) = fan_box(f);
    left < win.x0 || right > win.x1 || top < win.y0 || bottom > win.y1
}
