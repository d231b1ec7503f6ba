//! Scoring a candidate: its IoU with the component at map resolution.
//!
//! Scoring is most of the fit's time, so [`iou`] is the fast path: member
//! counts per row ([`MemberCounts`]), a scan bounded to the component and
//! the regions, and an early exit once a candidate cannot win. Beside it is
//! [`iou_scan`], the pixel-by-pixel definition it must match bit for bit
//! (and the path for regions without finite bounds).

use super::FitOptions;
use super::label::{Component, Window, is_member};
use crate::geometry::{MAX_REGIONS, PreparedRegion, Region};

/// The members of one component per map row, as prefix counts over its
/// bounding box: row `y`'s entry `k` counts the members left of column
/// `x0 + k`. Filled once per fit (one pass over the box), it lets [`iou`]
/// count the members under a run of pixels with two loads instead of a
/// label test per pixel — most of the fit's time on the cart before.
pub(super) struct MemberCounts<'a> {
    counts: &'a [u32],
    /// All members.
    pub(super) total: u32,
    x0: usize,
    x1: usize,
    y0: usize,
    y1: usize,
    stride: usize,
}

impl<'a> MemberCounts<'a> {
    /// Counts `c`'s members; `out` needs `(c.x1 - c.x0 + 2) · (c.y1 - c.y0 +
    /// 1)` entries, at most the `(w + 1) · h` that
    /// [`scratch_len`](super::scratch_len) provides.
    pub(super) fn fill(labels: &[u32], c: &Component, w: usize, out: &'a mut [u32]) -> Self {
        let stride = c.x1 + 2 - c.x0.min(c.x1 + 1);
        let rows = (c.y1 + 1).saturating_sub(c.y0);
        let out = &mut out[..stride * rows];
        let mut total = 0;
        // `is_member` by label alone, as a plain slice loop; the root pixel
        // (a member whatever its label holds) is added after.
        let root = c.root as u32;
        let (root_y, root_x) = (c.root / w, c.root % w);
        for (r, row) in out.chunks_exact_mut(stride).enumerate() {
            let y = c.y0 + r;
            let mut n = 0;
            row[0] = 0;
            if c.x0 <= c.x1 {
                let labels = &labels[y * w + c.x0..y * w + c.x1 + 1];
                for (&l, slot) in labels.iter().zip(&mut row[1..]) {
                    n += u32::from(l == root);
                    *slot = n;
                }
                if y == root_y && (c.x0..=c.x1).contains(&root_x) && labels[root_x - c.x0] != root {
                    for slot in &mut row[root_x - c.x0 + 1..] {
                        *slot += 1;
                    }
                    n += 1;
                }
            }
            total += n;
        }
        Self::filled(c, total, out)
    }

    /// The counts [`Self::fill`] left in `out` for `c` (with `total`
    /// members), unchanged since.
    pub(super) fn filled(c: &Component, total: u32, out: &'a [u32]) -> Self {
        let stride = c.x1 + 2 - c.x0.min(c.x1 + 1);
        let rows = (c.y1 + 1).saturating_sub(c.y0);
        Self {
            counts: &out[..stride * rows],
            total,
            x0: c.x0,
            x1: c.x1,
            y0: c.y0,
            y1: c.y1,
            stride,
        }
    }

    /// The first and last member in row `y`, columns `s..e`, and how many
    /// there are; `None` if none. Binary searches on the prefix counts.
    pub(super) fn members(&self, y: usize, s: usize, e: usize) -> Option<(usize, usize, usize)> {
        let n = self.count(y, s, e);
        if n == 0 {
            return None;
        }
        let row = &self.counts[(y - self.y0) * self.stride..][..self.stride];
        // Members lie in x0..=x1: clamp, then index the prefix counts.
        let (s, e) = (s.max(self.x0), e.min(self.x1 + 1));
        let (ks, ke) = (s - self.x0, e - self.x0);
        let before = row[ks];
        // The first member: the first k whose prefix through it exceeds
        // `before`; the last: one before the first prefix reaching the total.
        let first = ks + row[ks + 1..=ke].partition_point(|&v| v <= before);
        let last = ks + row[ks..ke].partition_point(|&v| v < row[ke]) - 1;
        Some((self.x0 + first, self.x0 + last, n as usize))
    }

    /// Members in row `y`, columns `s..e` (none when `e <= s`).
    pub(super) fn count(&self, y: usize, s: usize, e: usize) -> u32 {
        if y < self.y0 || y > self.y1 || e <= s {
            return 0;
        }
        let at = |x: usize| x.clamp(self.x0, self.x1 + 1) - self.x0;
        let row = &self.counts[(y - self.y0) * self.stride..][..self.stride];
        row[at(e)] - row[at(s)]
    }
}

/// IoU at map resolution between the union of `regions` (tested at map
/// pixel centres) and the component. Only the component's window is
/// scanned (fits never leave it), and within it only the box that holds the
/// component and every region (elsewhere both are empty). The regions are
/// [prepared](Region::prepare) once, and each row of each region comes as
/// at most two runs of inside pixels ([`RowTest::runs`](crate::geometry::RowTest::runs), the same answers
/// as a per-pixel test); the runs' union against the component's
/// [`MemberCounts`] gives the row's intersection and union without touching
/// a pixel.
///
/// `could_win(bound)` tells whether a score up to `bound` could still win
/// for the caller: the scan stops as soon as an upper bound on the IoU
/// cannot (most fan candidates lose, and clearly), and the result is then
/// `-∞`. The bound is exact in `f32` terms: the remaining rows can add at
/// most their members to both counts, `(i + r) / (u + r)` is at least the
/// final ratio, and rounding is monotone, so a candidate that would have won
/// is never cut short.
pub(super) fn iou(
    regions: &[Region],
    labels: &[u32],
    counts: &MemberCounts<'_>,
    c: &Component,
    w: usize,
    opts: &FitOptions,
    could_win: impl Fn(f32) -> bool,
) -> f32 {
    let mut prepared: heapless::Vec<PreparedRegion, MAX_REGIONS> = heapless::Vec::new();
    // Union of the component's box and the regions' bounds, in map pixels
    // (inclusive), or the whole window when a region has no finite bounds.
    let (mut x0, mut y0, mut x1, mut y1) = (c.x0, c.y0, c.x1, c.y1);
    let mut whole = false;
    for r in regions {
        let p = r.prepare();
        match p.bounds() {
            Some(b) => {
                // Pixel x is tested at (x + 0.5) · scale; one pixel of margin.
                let lo = |v: f32, s: f32| libm::floorf(v / s - 0.5).max(0.0) as usize;
                let hi = |v: f32, s: f32| libm::ceilf(v / s).max(0.0) as usize;
                x0 = x0.min(lo(b.x0, opts.scale_x).saturating_sub(1));
                y0 = y0.min(lo(b.y0, opts.scale_y).saturating_sub(1));
                x1 = x1.max(hi(b.x1, opts.scale_x).saturating_add(1));
                y1 = y1.max(hi(b.y1, opts.scale_y).saturating_add(1));
            }
            None => whole = true,
        }
        if prepared.push(p).is_err() {
            whole = true;
        }
    }
    if whole || prepared.len() < regions.len() {
        return iou_scan(regions, labels, c, w, opts, c.win);
    }
    let scan = Window {
        x0: x0.max(c.win.x0),
        y0: y0.max(c.win.y0),
        x1: x1.saturating_add(1).min(c.win.x1),
        y1: y1.saturating_add(1).min(c.win.y1),
    };
    // Counts fit u32: a map has fewer than 2^31 pixels.
    let (mut inter, mut union, mut seen) = (0u32, 0u32, 0u32);
    for y in scan.y0..scan.y1 {
        // Every member lies in the scanned box; those of the rows to come
        // are at most `total - seen` (exact integers in f32 below 2^24).
        if (y - scan.y0) % PRUNE_ROWS == PRUNE_ROWS - 1 {
            let rest = counts.total.saturating_sub(seen);
            if !could_win((inter + rest) as f32 / (union + rest).max(1) as f32) {
                return f32::NEG_INFINITY;
            }
        }
        let cy = (y as f32 + 0.5) * opts.scale_y;
        // The regions' inside runs on this row, sorted by start.
        let mut runs: heapless::Vec<(usize, usize), { 2 * MAX_REGIONS }> = heapless::Vec::new();
        for p in &prepared {
            let Some(row) = p.row(cy) else { continue };
            for run in row.runs(scan.x0, scan.x1, opts.scale_x) {
                if run.0 < run.1 {
                    let at = runs.iter().position(|r| r.0 > run.0).unwrap_or(runs.len());
                    let _ = runs.insert(at, run);
                }
            }
        }
        let members = counts.count(y, scan.x0, scan.x1);
        let (mut inside, mut both) = (0u32, 0u32);
        let mut add = |(s, e): (usize, usize)| {
            inside += (e - s) as u32;
            both += counts.count(y, s, e);
        };
        // Merged into disjoint runs: their union is the regions' union.
        let mut open: Option<(usize, usize)> = None;
        for &(s, e) in &runs {
            open = match open {
                Some((os, oe)) if s <= oe => Some((os, oe.max(e))),
                Some(run) => {
                    add(run);
                    Some((s, e))
                }
                None => Some((s, e)),
            };
        }
        if let Some(run) = open {
            add(run);
        }
        inter += both;
        union += members + inside - both;
        seen += members;
    }
    if union == 0 {
        0.0
    } else {
        inter as f32 / union as f32
    }
}

/// How often (in rows) [`iou`] checks whether a candidate can still win.
const PRUNE_ROWS: usize = 4;

/// [`iou`] by testing every pixel of `win` with `Region::contains` (the
/// definition; the path for regions without finite bounds).
pub(super) fn iou_scan(
    regions: &[Region],
    labels: &[u32],
    c: &Component,
    w: usize,
    opts: &FitOptions,
    win: Window,
) -> f32 {
    let (mut inter, mut union) = (0u64, 0u64);
    for y in win.y0..win.y1 {
        let cy = (y as f32 + 0.5) * opts.scale_y;
        for x in win.x0..win.x1 {
            let a = is_member(labels, c, y * w + x);
            let cx = (x as f32 + 0.5) * opts.scale_x;
            let b = regions.iter().any(|r| r.contains(cx, cy));
            inter += u64::from(a && b);
            union += u64::from(a || b);
        }
    }
    if union == 0 {
        0.0
    } else {
        inter as f32 / union as f32
    }
}
