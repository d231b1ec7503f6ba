//! Labelling: the map's connected components and the window each is fitted
//! in.
//!
//! Every fit starts here: [`components`] validates the inputs, labels the
//! map ([`crate::morph::label_components`]) and picks the largest
//! components; [`is_member`] is the definition of membership that the
//! boundary sampling, the reference IoU scan and the split all test.

use super::{FitError, FitOptions, FitScratch, scratch_len};
use crate::geometry::Rect;
use crate::morph::{self, BACKGROUND};

/// A connected component: root pixel, area, inclusive bounding box and the
/// window it is fitted in.
#[derive(Clone, Copy, Debug)]
pub(super) struct Component {
    pub(super) root: usize,
    pub(super) area: usize,
    pub(super) x0: usize,
    pub(super) y0: usize,
    pub(super) x1: usize,
    pub(super) y1: usize,
    pub(super) win: Window,
    /// A row whose top (bottom) samples are dropped: the row next to a cut
    /// between two regions stacked one above the other, where the
    /// boundary is an artefact of the cut, not an edge of the region.
    pub(super) skip_top: Option<usize>,
    pub(super) skip_bottom: Option<usize>,
}

/// The part of the map a component is fitted in, in map pixels (`x0..x1`,
/// `y0..y1`): the whole frame, or one side of a cut
/// ([`split`](super::split)). Its edges act as the frame's: samples on them
/// are border samples, and a fan that reaches past them is clipped to them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Window {
    pub(super) x0: usize,
    pub(super) y0: usize,
    pub(super) x1: usize,
    pub(super) y1: usize,
}

impl Window {
    fn full(w: usize, h: usize) -> Self {
        Self {
            x0: 0,
            y0: 0,
            x1: w,
            y1: h,
        }
    }

    /// The window in full-resolution coordinates; the frame's own edges are
    /// exact.
    pub(super) fn rect(&self, w: usize, h: usize, opts: &FitOptions) -> Rect {
        let at = |v: usize, end: usize, scale: f32, full: u16| {
            if v == end {
                f32::from(full)
            } else {
                v as f32 * scale
            }
        };
        Rect::new(
            at(self.x0, w, opts.scale_x, opts.full_w),
            at(self.y0, h, opts.scale_y, opts.full_h),
            at(self.x1, w, opts.scale_x, opts.full_w),
            at(self.y1, h, opts.scale_y, opts.full_h),
        )
    }
}

/// Validates everything, labels the map and returns the `N` largest
/// components over the minimum area (ties: first in raster order).
pub(super) fn components<const N: usize>(
    map: &[u8],
    w: usize,
    h: usize,
    opts: &FitOptions,
    scratch: &mut FitScratch<'_>,
) -> Result<heapless::Vec<Component, N>, FitError> {
    let n = morph::check_map(map.len(), w, h)?;
    let need = scratch_len(w, h);
    if scratch.labels.len() < need.labels || scratch.points.len() < need.points {
        return Err(FitError::ScratchTooSmall);
    }
    if !opts.is_valid() {
        return Err(FitError::BadParameter);
    }
    let labels = &mut scratch.labels[..n];
    morph::label_components(map, w, h, opts.threshold, labels)?;
    let min_area = libm::ceilf(opts.min_area_frac * n as f32).max(1.0) as usize;
    let mut best: heapless::Vec<Component, N> = heapless::Vec::new();
    for root in 0..n {
        let area = morph::component_area(labels, root);
        if area < min_area {
            continue;
        }
        let c = Component {
            root,
            area,
            x0: w,
            y0: h,
            x1: 0,
            y1: 0,
            win: Window::full(w, h),
            skip_top: None,
            skip_bottom: None,
        };
        // Insertion into a short list sorted by area, largest first.
        let pos = best
            .iter()
            .position(|b| b.area < area)
            .unwrap_or(best.len());
        if pos < N {
            if best.is_full() {
                best.pop();
            }
            let _ = best.insert(pos, c);
        }
    }
    for i in 0..n {
        if labels[i] == BACKGROUND {
            continue;
        }
        let root = morph::component_of(labels, i);
        if let Some(c) = best.iter_mut().find(|c| Some(c.root) == root) {
            let (x, y) = (i % w, i / w);
            c.x0 = c.x0.min(x);
            c.x1 = c.x1.max(x);
            c.y0 = c.y0.min(y);
            c.y1 = c.y1.max(y);
        }
    }
    if best.is_empty() {
        return Err(FitError::EmptyMap);
    }
    Ok(best)
}

/// Whether pixel `i` belongs to component `c`.
pub(super) fn is_member(labels: &[u32], c: &Component, i: usize) -> bool {
    i == c.root || labels[i] == c.root as u32
}
