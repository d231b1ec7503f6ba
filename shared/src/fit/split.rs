//! Cutting a component that no single region explains into two.
//!
//! Touching panes of a dual screen, or a fan whose coarse probability map
//! runs into the M-mode strip below it, label as one component; its best
//! single fan or rectangle then either covers the gap between them (PHI kept)
//! or drops one of them (signal lost). When the best single region explains
//! the component poorly (IoU below [`SPLIT_BELOW`]), a few cuts are tried:
//! the column where the component is shortest (the seam between two panes,
//! whose arcs are lowest mid-pane), the row where it is narrowest (a bridge
//! between fan and strip) and the row where its width jumps most (the top of
//! a strip). A column cut is a seam: each side is fitted in its own
//! [`Window`](super::label::Window), the cut acting as a frame edge, so a
//! pane comes out as a fan clipped there, just as dual screens draw it. A
//! row cut separates two regions stacked one above the other: each keeps
//! the whole window, and the boundary samples along the cut (an artefact of
//! the cut) are dropped.
//! Panes side by side are about equally tall, so a column cut must leave
//! parts of similar height. The cut whose two regions explain the component
//! best is kept if it beats the single region by [`SPLIT_GAIN`].
//!
//! Fits are what cost (on the cart, fitting all five cuts of a dual screen
//! took about 20 M instructions): the seam column's other sides reuse the
//! first column cut's regions with their cut edge moved, and no further cut
//! is fitted once one explains the component well ([`SPLIT_BELOW`]) or a
//! column cut has found the seam.
//!
//! Only poorly explained components pay for this, so a plain sector costs
//! nothing extra on the cart.

use super::candidates::fit_component;
use super::label::{Component, is_member};
use super::score::{MemberCounts, iou};
use super::{FitOptions, FitScratch};
use crate::geometry::{Fan, Rect, Region};

/// A component whose best single region has an IoU below this is tried cut.
const SPLIT_BELOW: f32 = 0.95;
/// A cut must raise the IoU by at least this much to be kept: noise alone
/// should not turn one sector into two.
const SPLIT_GAIN: f32 = 0.02;

/// Where a component is cut: the second part starts at this column or row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cut {
    Column(usize),
    Row(usize),
}

/// Whether a fit with IoU `score` is worth trying to cut.
pub(super) fn worth_trying(score: f32) -> bool {
    score < SPLIT_BELOW
}

/// The best two-region explanation of component `c` if it beats `single`
/// (the best single region's IoU) by [`SPLIT_GAIN`]: each region with the
/// area of the part it was fitted to, larger part first. `k` keys the
/// parts' RANSAC seeds. `scratch.labels` is as it was on return.
#[allow(clippy::too_many_arguments)]
pub(super) fn try_split(
    map: &[u8],
    w: usize,
    h: usize,
    c: &Component,
    single: f32,
    opts: &FitOptions,
    scratch: &mut FitScratch<'_>,
    k: usize,
) -> Option<[(Region, usize); 2]> {
    let min_area = libm::ceilf(opts.min_area_frac * (w * h) as f32).max(1.0) as usize;
    let mut best: Option<(f32, [(Region, usize); 2])> = None;
    // The first column cut fitted, and its regions.
    let mut seam: Option<(usize, [Region; 2])> = None;
    // The component's member counts (their total) while the scratch still
    // holds them: a refit of the parts overwrites them.
    let mut counted = None;
    let cuts = candidates(
        &member_counts(scratch.labels, c, w * h, w, &mut counted).1,
        c,
    );
    for (ci, cut) in cuts.iter().enumerate() {
        // Fitting a cut is what costs: none once a cut explains the
        // component well, nor once a column cut has been fitted (the seam:
        // its other sides are not fitted either). A row cut never beat a
        // fitted column cut, kept or not, in 484 searches (240 synthetic
        // frames and the test and validation sets, both shipped models):
        // where a row cut won, the column cuts before it were refused or
        // failed. Fitting the rows anyway was the cart's slowest frames.
        let refit = !matches!((cut, seam), (Cut::Column(_), Some(_)));
        if refit && (seam.is_some() || best.is_some_and(|(s, _)| s >= SPLIT_BELOW)) {
            continue;
        }
        let (_, counts) = member_counts(scratch.labels, c, w * h, w, &mut counted);
        let Some(parts) = parts(&counts, c, w, *cut) else {
            continue;
        };
        if parts.iter().any(|p| p.area < min_area) {
            continue;
        }
        // Panes side by side are about equally tall; a column cut through a
        // fan stacked on a wider strip is not a seam.
        let tall = |p: &Component| p.y1 - p.y0 + 1;
        let (ha, hb) = (tall(&parts[0]), tall(&parts[1]));
        if matches!(cut, Cut::Column(_)) && 4 * ha.min(hb) < 3 * ha.max(hb) {
            continue;
        }
        let [a, b] = match (cut, seam) {
            // The seam column's other side: the regions fitted to the
            // first column cut with their cut edge moved one column. One
            // column more or less barely moves the rest of a fit, and a
            // refit costs two fits.
            (Cut::Column(at), Some((fitted, regions))) => {
                let x = |col: usize| col as f32 * opts.scale_x;
                regions.map(|r| moved_edge(r, x(fitted), x(*at)))
            }
            _ => {
                let saved = scratch.labels[c.root];
                relabel(&mut scratch.labels[..w * h], c, w, &parts, *cut);
                let seed = |side: usize| k + super::MAX_REGIONS * (1 + 2 * ci + side);
                let fits = [
                    fit_component(map, w, h, &parts[0], opts, scratch, seed(0)),
                    fit_component(map, w, h, &parts[1], opts, scratch, seed(1)),
                ];
                restore(&mut scratch.labels[..w * h], c, w, &parts, saved);
                counted = None;
                let (Ok((a, _)), Ok((b, _))) = (fits[0], fits[1]) else {
                    continue;
                };
                // Stacked regions are a sector above a strip: a lower part
                // fitted as a fan is the same sector with dark sides in the
                // map (a real phased-array cine split into a narrow and a
                // wide fan, cutting notches out of the scan).
                if matches!(cut, Cut::Row(_)) && matches!(b, Region::Fan(_)) {
                    continue;
                }
                if let Cut::Column(at) = cut {
                    seam = Some((*at, [a, b]));
                }
                [a, b]
            }
        };
        let (labels, counts) = member_counts(scratch.labels, c, w * h, w, &mut counted);
        // Only a score above the best so far changes anything (the best,
        // which steers the search above, and the result): a scan that
        // cannot get there stops early.
        let bs = best.map(|(s, _)| s);
        let score = iou(&[a, b], labels, &counts, c, w, opts, |b| {
            bs.is_none_or(|s| b > s)
        });
        if best.is_none_or(|(s, _)| score > s) {
            let pair = if parts[0].area >= parts[1].area {
                [(a, parts[0].area), (b, parts[1].area)]
            } else {
                [(b, parts[1].area), (a, parts[0].area)]
            };
            best = Some((score, pair));
        }
    }
    best.filter(|(s, _)| *s >= single + SPLIT_GAIN)
        .map(|(_, pair)| pair)
}

/// The map's labels (its first `n` entries) and `c`'s member counts from
/// the rest of `scratch`: still there when `counted` holds their total
/// (nothing refitted since), filled again otherwise.
fn member_counts<'a>(
    scratch: &'a mut [u32],
    c: &Component,
    n: usize,
    w: usize,
    counted: &mut Option<u32>,
) -> (&'a [u32], MemberCounts<'a>) {
    let (labels, counts) = scratch.split_at_mut(n);
    let counts = match *counted {
        Some(total) => MemberCounts::filled(c, total, counts),
        None => MemberCounts::fill(labels, c, w, counts),
    };
    *counted = Some(counts.total);
    (labels, counts)
}

/// Up to five distinct cuts well inside the component's bounding box (at
/// least a fifth of its size, and 2 px, from either end): at the shortest
/// column or either side of it, the narrowest row and the row with the
/// largest width jump.
fn candidates(counts: &MemberCounts<'_>, c: &Component) -> heapless::Vec<Cut, 5> {
    let col = |x: usize| {
        (c.y0..=c.y1)
            .map(|y| counts.count(y, x, x + 1))
            .sum::<u32>()
    };
    let row = |y: usize| counts.count(y, c.x0, c.x1 + 1);
    let inner = |lo: usize, hi: usize| {
        let m = ((hi - lo + 1) / 5).max(2);
        (lo + m)..=(hi.saturating_sub(m))
    };
    let mut out = heapless::Vec::new();
    let mut add = |cut: Option<Cut>| {
        if let Some(cut) = cut
            && !out.contains(&cut)
        {
            let _ = out.push(cut);
        }
    };
    // The seam lies within a column of the shortest one: which side that
    // column belongs to is settled by trying both.
    if let Some(x) = inner(c.x0, c.x1).min_by_key(|&x| col(x)) {
        for x in [x, x + 1, x - 1] {
            add(Some(Cut::Column(x)));
        }
    }
    add(inner(c.y0, c.y1).min_by_key(|&y| row(y)).map(Cut::Row));
    add(inner(c.y0, c.y1)
        .max_by_key(|&y| row(y).abs_diff(row(y - 1)))
        .map(Cut::Row));
    out
}

/// `r` with its left or right edge at `from` (the clip of a fan or the side
/// of a rectangle fitted against a column cut) moved to `to`.
fn moved_edge(r: Region, from: f32, to: f32) -> Region {
    let mv = |mut rect: Rect| {
        if rect.x0 == from {
            rect.x0 = to;
        }
        if rect.x1 == from {
            rect.x1 = to;
        }
        rect
    };
    match r {
        Region::Fan(f) => Region::Fan(Fan {
            clip: f.clip.map(mv),
            ..f
        }),
        Region::Rect(rect) => Region::Rect(mv(rect)),
    }
}

/// Which side of `cut` pixel `(x, y)` is on.
fn side(cut: Cut, x: usize, y: usize) -> usize {
    match cut {
        Cut::Column(at) => usize::from(x >= at),
        Cut::Row(at) => usize::from(y >= at),
    }
}

/// The two parts of `c` on either side of `cut` before any member is
/// counted: no pixels yet, each with its window and dropped samples.
fn empty_parts(c: &Component, cut: Cut) -> [Component; 2] {
    let empty = Component {
        root: usize::MAX,
        area: 0,
        x0: usize::MAX,
        y0: usize::MAX,
        x1: 0,
        y1: 0,
        win: c.win,
        skip_top: None,
        skip_bottom: None,
    };
    let mut p = [empty, empty];
    match cut {
        Cut::Column(at) => (p[0].win.x1, p[1].win.x0) = (at, at),
        Cut::Row(at) => (p[0].skip_bottom, p[1].skip_top) = (Some(at - 1), Some(at)),
    }
    p
}

/// The two parts of `c` on either side of `cut`, each rooted at its first
/// pixel in raster order (see the module documentation for their windows
/// and dropped samples); `None` if a side is empty. From the member counts
/// (a row's members on one side, and its first and last by binary search
/// on the prefix counts): the pixel-by-pixel scan it replaces cost about
/// 50 instructions per pixel of the box on the cart, for every cut.
pub(super) fn parts(
    counts: &MemberCounts<'_>,
    c: &Component,
    w: usize,
    cut: Cut,
) -> Option<[Component; 2]> {
    let mut p = empty_parts(c, cut);
    let end = c.x1 + 1;
    for y in c.y0..=c.y1 {
        // The row's stretch on each side, left to right (raster order).
        let sides = match cut {
            Cut::Column(at) => {
                let at = at.clamp(c.x0, end);
                [(0, c.x0, at), (1, at, end)]
            }
            Cut::Row(at) => [(usize::from(y >= at), c.x0, end), (0, end, end)],
        };
        for (side, s, e) in sides {
            let Some((first, last, n)) = counts.members(y, s, e) else {
                continue;
            };
            let q = &mut p[side];
            if q.area == 0 {
                q.root = y * w + first;
            }
            q.area += n;
            q.x0 = q.x0.min(first);
            q.y0 = q.y0.min(y);
            q.x1 = q.x1.max(last);
            q.y1 = q.y1.max(y);
        }
    }
    (p[0].area > 0 && p[1].area > 0).then_some(p)
}

/// [`parts`] pixel by pixel, as it was: the reference the tests hold it to.
#[cfg(test)]
pub(super) fn parts_by_pixels(
    labels: &[u32],
    c: &Component,
    w: usize,
    cut: Cut,
) -> Option<[Component; 2]> {
    let mut p = empty_parts(c, cut);
    for y in c.y0..=c.y1 {
        for x in c.x0..=c.x1 {
            let i = y * w + x;
            if !is_member(labels, c, i) {
                continue;
            }
            let q = &mut p[side(cut, x, y)];
            if q.area == 0 {
                q.root = i;
            }
            q.area += 1;
            q.x0 = q.x0.min(x);
            q.y0 = q.y0.min(y);
            q.x1 = q.x1.max(x);
            q.y1 = q.y1.max(y);
        }
    }
    (p[0].area > 0 && p[1].area > 0).then_some(p)
}

/// Labels each member of `c` with the root of its part.
fn relabel(labels: &mut [u32], c: &Component, w: usize, parts: &[Component; 2], cut: Cut) {
    for y in c.y0..=c.y1 {
        for x in c.x0..=c.x1 {
            let i = y * w + x;
            if is_member(labels, c, i) {
                labels[i] = parts[side(cut, x, y)].root as u32;
            }
        }
    }
}

/// Undoes [`relabel`]; `saved` is the label `c`'s root pixel had.
fn restore(labels: &mut [u32], c: &Component, w: usize, parts: &[Component; 2], saved: u32) {
    let roots = [parts[0].root as u32, parts[1].root as u32];
    for y in c.y0..=c.y1 {
        for x in c.x0..=c.x1 {
            let i = y * w + x;
            if roots.contains(&labels[i]) {
                labels[i] = c.root as u32;
            }
        }
    }
    labels[c.root] = saved;
}
