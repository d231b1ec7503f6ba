//! The "complicated" weak labeler: the scan region changes from frame to
//! frame (speckle decorrelates, tissue moves) while burned-in text, bars and
//! markers do not. This is sonocrop's idea; the robust shape fit afterwards
//! follows vitalab's Echo-Toolkit (RANSAC on edge points).
//!
//! 1. Per-pixel mean absolute difference between consecutive frames,
//!    block-averaged to a coarse map (`downsample`×`downsample` pixels):
//!    thin moving overlays (ECG sweep, clock digits) average away, tissue
//!    does not.
//! 2. Frozen image areas (the reference pane of a dual screen, a frozen
//!    M-mode strip) do not move but still carry speckle: cells of the first
//!    frame that are bright *and* textured, closed, then opened with a
//!    5×5-cell element so text and thin markers vanish, join the moving
//!    cells when their component is comparable to the live image (≥ 30 % of
//!    its area, ≥ half its height, ≥ `min_static_frac` of the frame).
//! 3. Morphological close/open on the coarse map.
//! 4. Fit fans/rectangles with the shared geometry fit (the same code the
//!    trainer's post-processing and the firmware run) and rasterise them at
//!    full resolution. The fit extrapolates the sector's straight edges and
//!    arc over parts that never vary (a black far field, a probe in air).
//!
//! A clip with fewer than three frames has no motion; bright cells stand in
//! for moving ones then, keeping the largest bright component and those
//! comparable to it (a threshold labeler with a shape fit).

use image::GrayImage;
use sonomask_core::fit::FitOptions;
use sonomask_core::morph;

/// Tuning of the temporal labeler.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    /// Coarse map cell size in full-resolution pixels.
    pub downsample: u32,
    /// Mean absolute frame difference (luma levels) above which a cell moves.
    pub motion_threshold: f32,
    /// Cells with a mean luma at or below this are not image.
    pub intensity_threshold: u8,
    /// Mean absolute deviation (luma levels) above which a cell is textured.
    pub texture_threshold: f32,
    /// Frozen (non-moving, textured) components smaller than this fraction
    /// of the frame are overlays, not image panes.
    pub min_static_frac: f32,
    /// Moving components smaller than this fraction of the frame are ignored.
    pub min_area_frac: f32,
    /// Seed of the RANSAC fit.
    pub seed: u64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            downsample: 4,
            motion_threshold: 1.0,
            intensity_threshold: 12,
            texture_threshold: 3.0,
            min_static_frac: 0.04,
            min_area_frac: 0.02,
            seed: 0x5eed,
        }
    }
}

/// Per-cell statistics on the coarse grid.
struct CellMaps {
    w: usize,
    h: usize,
    /// Mean absolute consecutive-frame difference (0 for < 3 frames).
    motion: Vec<f32>,
    /// Mean luma of the first frame.
    mean: Vec<f32>,
    /// Mean absolute deviation of the first frame's luma from the cell mean.
    texture: Vec<f32>,
}

fn cell_maps(frames: &[GrayImage], ds: usize) -> CellMaps {
    let (w, h) = frames[0].dimensions();
    let (w, h) = (w as usize, h as usize);
    let (mw, mh) = (w.div_ceil(ds), h.div_ceil(ds));
    let n = mw * mh;
    let mut motion = vec![0f32; n];
    let mut mean = vec![0f32; n];
    let mut count = vec![0u32; n];
    let first = frames[0].as_raw();
    let moving = frames.len() >= 3;
    for y in 0..h {
        let row = (y / ds) * mw;
        for x in 0..w {
            let i = y * w + x;
            let c = row + x / ds;
            if moving {
                let acc: u32 = frames
                    .windows(2)
                    .map(|p| u32::from(p[1].as_raw()[i].abs_diff(p[0].as_raw()[i])))
                    .sum();
                motion[c] += acc as f32 / (frames.len() - 1) as f32;
            }
            mean[c] += f32::from(first[i]);
            count[c] += 1;
        }
    }
    for c in 0..n {
        let k = count[c].max(1) as f32;
        motion[c] /= k;
        mean[c] /= k;
    }
    let mut texture = vec![0f32; n];
    for y in 0..h {
        let row = (y / ds) * mw;
        for x in 0..w {
            let c = row + x / ds;
            texture[c] += (f32::from(first[y * w + x]) - mean[c]).abs();
        }
    }
    for c in 0..n {
        texture[c] /= count[c].max(1) as f32;
    }
    CellMaps {
        w: mw,
        h: mh,
        motion,
        mean,
        texture,
    }
}

/// Size of the largest component of a map: (area in cells, bounding-box height).
fn largest_extent(map: &[u8], w: usize, h: usize, labels: &mut [u32]) -> Option<(usize, usize)> {
    morph::label_components(map, w, h, 128, labels).ok()?;
    let root = (0..map.len())
        .filter_map(|c| morph::component_of(labels, c))
        .max_by_key(|&r| morph::component_area(labels, r))?;
    let rows = (0..map.len())
        .filter(|&c| morph::component_of(labels, c) == Some(root))
        .map(|c| c / w);
    let (lo, hi) = rows.fold((usize::MAX, 0), |(lo, hi), y| (lo.min(y), hi.max(y)));
    Some((morph::component_area(labels, root), hi + 1 - lo))
}

/// Bright, textured, non-moving cells in components comparable to the live
/// image: frozen panes. Header panels, toolbars and text blocks are also
/// bright, textured and static, but they are short or small next to the live
/// pane; a frozen pane is about as large and as tall as the live one. Without
/// a live region there is nothing to compare with, and nothing is added.
fn static_image_cells(cells: &CellMaps, moving: &[u8], params: &Params) -> Option<Vec<u8>> {
    let (mw, mh) = (cells.w, cells.h);
    let mut labels = vec![0u32; moving.len()];
    let mut live = moving.to_vec();
    let mut s8 = vec![0u8; live.len()];
    morph::close(&mut live, mw, mh, 1, &mut s8).ok()?;
    morph::open(&mut live, mw, mh, 1, &mut s8).ok()?;
    let Some((live_area, live_height)) = largest_extent(&live, mw, mh, &mut labels) else {
        return Some(vec![0; moving.len()]);
    };
    let mut grown = moving.to_vec();
    morph::dilate(&mut grown, mw, mh, 1, &mut s8).ok()?;
    let mut map: Vec<u8> = (0..mw * mh)
        .map(|c| {
            let frozen = cells.mean[c] > f32::from(params.intensity_threshold)
                && cells.texture[c] > params.texture_threshold
                && grown[c] == 0;
            if frozen { 255 } else { 0 }
        })
        .collect();
    morph::close(&mut map, mw, mh, 1, &mut s8).ok()?;
    morph::open(&mut map, mw, mh, 2, &mut s8).ok()?;
    let min_area = ((params.min_static_frac * (mw * mh) as f32) as usize).max(live_area * 3 / 10);
    keep_comparable(&mut map, mw, mh, min_area, live_height, &mut labels)?;
    Some(map)
}

/// Clears every component with fewer than `min_area` cells or a bounding box
/// less than half of `ref_height` tall.
fn keep_comparable(
    map: &mut [u8],
    w: usize,
    h: usize,
    min_area: usize,
    ref_height: usize,
    labels: &mut [u32],
) -> Option<()> {
    morph::label_components(map, w, h, 128, labels).ok()?;
    let mut top = vec![usize::MAX; map.len()];
    let mut bottom = vec![0usize; map.len()];
    for c in 0..map.len() {
        if let Some(r) = morph::component_of(labels, c) {
            top[r] = top[r].min(c / w);
            bottom[r] = bottom[r].max(c / w);
        }
    }
    for (c, v) in map.iter_mut().enumerate() {
        let keep = morph::component_of(labels, c).is_some_and(|r| {
            morph::component_area(labels, r) >= min_area
                && 2 * (bottom[r] + 1 - top[r]) >= ref_height
        });
        if !keep {
            *v = 0;
        }
    }
    Some(())
}

/// Labels one clip; the result is a 255/0 keep mask at full resolution. If
/// nothing plausible can be fitted the mask is all black (fail closed: a weak
/// label that keeps nothing is rejected in review, one that keeps PHI leaks).
pub fn label(frames: &[GrayImage], params: &Params) -> GrayImage {
    let Some(first) = frames.first() else {
        return GrayImage::new(0, 0);
    };
    let (w, h) = first.dimensions();
    let mut out = GrayImage::new(w, h);
    if let Some(r) = regions(frames, params)
        && !r.rasterize(w as u16, h as u16, &mut out)
    {
        out.fill(0);
    }
    out
}

/// The fitted scan regions behind [`label`]'s mask (what the drawing UI
/// offers as a proposal); `None` when nothing plausible can be fitted.
pub fn regions(frames: &[GrayImage], params: &Params) -> Option<sonomask_core::Regions> {
    let first = frames.first()?;
    let (w, h) = first.dimensions();
    let ds = params.downsample.max(1) as usize;
    let cells = cell_maps(frames, ds);
    let (mw, mh) = (cells.w, cells.h);
    let moving: Vec<u8> = if frames.len() >= 3 {
        cells
            .motion
            .iter()
            .map(|&a| if a > params.motion_threshold { 255 } else { 0 })
            .collect()
    } else {
        // No motion to measure: the image is what is bright.
        cells
            .mean
            .iter()
            .map(|&m| {
                if m > f32::from(params.intensity_threshold) {
                    255
                } else {
                    0
                }
            })
            .collect()
    };
    let mut map = if frames.len() >= 3 {
        let frozen = static_image_cells(&cells, &moving, params)?;
        moving.iter().zip(&frozen).map(|(&a, &b)| a | b).collect()
    } else {
        moving
    };
    let mut scratch = vec![0u8; map.len()];
    let cleaned = morph::close(&mut map, mw, mh, 1, &mut scratch)
        .and_then(|()| morph::open(&mut map, mw, mh, 1, &mut scratch));
    cleaned.ok()?;
    if frames.len() < 3 {
        // Bright header bars and text columns are as bright as the image:
        // keep only what is comparable to the largest bright component.
        let mut labels = vec![0u32; map.len()];
        let (area, height) = largest_extent(&map, mw, mh, &mut labels)?;
        keep_comparable(&mut map, mw, mh, area * 3 / 10, height, &mut labels)?;
    }
    let ds = ds as f32;
    let opts = FitOptions {
        threshold: 128,
        scale_x: ds,
        scale_y: ds,
        full_w: w as u16,
        full_h: h as u16,
        min_area_frac: params.min_area_frac,
        seed: params.seed,
    };
    super::fit_regions(&map, mw, mh, &opts).ok()
}
