//! From a network's coarse probability maps to keep masks: the shared
//! geometry fit, rasterisation and the `predict` outputs, for any network
//! that makes maps ([`CoarseMaps`]).
//!
//! Per clip: up to [`MAX_FRAMES`] evenly spaced frames are area-averaged to
//! the network input, their sigmoid maps averaged (moving speckle averages
//! out, the sector does not), scaled to a 0..=255 map, fitted with
//! [`sonomask_core::fit::fit_regions_from_map`] (threshold 128 ⇔ p ≥ 0.5)
//! and rasterised at full resolution. If the fit fails the mask is all
//! black: fail closed, a mask that keeps nothing cannot leak.
//!
//! The map comes from a [`CoarseMaps`]: the float network (burn, in
//! `sonomask-train`), or the int8 engine ([`crate::blob_inference`]); the
//! rest is shared.

use std::path::{Path, PathBuf};

use image::GrayImage;
use serde::Serialize;
use sonomask_core::fit::{FitError, FitOptions};
use sonomask_data::dataset::{self, ClipEntry, Dataset, DatasetError};
use sonomask_data::frames;
use sonomask_data::weak::temporal::MotionMap;

use crate::DeployError;

/// Frames per clip whose probabilities are averaged.
pub const MAX_FRAMES: usize = 8;

/// The default keep level of the 0..=255 map: p ≥ 0.5.
pub const DEFAULT_KEEP_LEVEL: u8 = 128;

/// The map level for keep probability `p` in (0, 1]: map pixels at or above
/// it feed the fit. Choose `p` on a validation set, never the test set.
pub fn keep_level(p: f64) -> Result<u8, DeployError> {
    if !(p > 0.0 && p <= 1.0) {
        return Err(DeployError::Config(format!(
            "keep probability must be in (0, 1], got {p}"
        )));
    }
    Ok((p * 255.0).round().clamp(1.0, 255.0) as u8)
}

/// A 0..=255 map of probabilities (255 ⇔ p = 1), rounded.
pub fn probability_to_u8(prob: &[f32]) -> Vec<u8> {
    prob.iter()
        .map(|&p| (p.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect()
}

/// The fit options that turn a `map_w × map_h` 0..=255 probability map
/// covering the whole frame into regions of a `full_w × full_h` frame.
pub fn map_fit_options(
    map_w: usize,
    map_h: usize,
    full_w: u32,
    full_h: u32,
    keep_level: u8,
) -> Result<FitOptions, FitError> {
    let (fw, fh) = (
        u16::try_from(full_w).map_err(|_| FitError::BadParameter)?,
        u16::try_from(full_h).map_err(|_| FitError::BadParameter)?,
    );
    Ok(FitOptions {
        threshold: keep_level,
        ..FitOptions::upscaled(map_w, map_h, fw, fh)
    })
}

/// The scan regions the shared fit finds in a coarse map (see
/// [`map_fit_options`]); [`mask_from_map`] rasterises exactly these.
pub fn regions_from_map(
    map: &[u8],
    map_w: usize,
    map_h: usize,
    full_w: u32,
    full_h: u32,
    keep_level: u8,
) -> Result<sonomask_core::Regions, FitError> {
    let opts = map_fit_options(map_w, map_h, full_w, full_h, keep_level)?;
    sonomask_data::weak::fit_regions(map, map_w, map_h, &opts)
}

/// Fits regions to a `map_w × map_h` 0..=255 probability map covering the
/// whole frame and rasterises them at `full_w × full_h` (255 = keep).
pub fn mask_from_map(
    map: &[u8],
    map_w: usize,
    map_h: usize,
    full_w: u32,
    full_h: u32,
    keep_level: u8,
) -> Result<GrayImage, FitError> {
    let opts = map_fit_options(map_w, map_h, full_w, full_h, keep_level)?;
    sonomask_data::weak::fit_mask(map, map_w, map_h, &opts)
}

/// Fuses a clip's motion evidence into its network map: each map pixel
/// becomes the larger of the network's probability and the fraction of the
/// motion cells under it that move (both 0..=255, over the same frame).
///
/// Why: the network reads brightness from a thumbnail, so a dark chamber,
/// globe or near field touching the sector's border leaves a bite in its
/// map, and the fit follows the bite. Speckle in those dark parts still
/// decorrelates from frame to frame while burned-in text and bars stay
/// still, so in a clip the motion map says where the scan is regardless of
/// brightness. Taking the maximum only ever adds scan evidence; moving
/// overlays thinner than a few cells (an ECG sweep, clock digits) were
/// already removed by the motion map's morphology, and the shared fit still
/// decides the shape.
pub fn fuse_motion(
    map: &mut [u8],
    map_w: usize,
    map_h: usize,
    (full_w, full_h): (u32, u32),
    motion: &MotionMap,
) {
    if map_w == 0
        || map_h == 0
        || map.len() != map_w * map_h
        || motion.cell == 0
        || motion.map.len() != motion.w * motion.h
    {
        return;
    }
    let (fw, fh, cell) = (full_w as usize, full_h as usize, motion.cell as usize);
    // The motion cells under map pixel i of n along a side of `full` pixels.
    let span = |i: usize, n: usize, full: usize, cells: usize| {
        let a = i * full / n / cell;
        let b = (((i + 1) * full).div_ceil(n)).div_ceil(cell).max(a + 1);
        a.min(cells)..b.min(cells)
    };
    for my in 0..map_h {
        let ys = span(my, map_h, fh, motion.h);
        for mx in 0..map_w {
            let xs = span(mx, map_w, fw, motion.w);
            let (mut sum, mut n) = (0u32, 0u32);
            for cy in ys.clone() {
                for cx in xs.clone() {
                    sum += u32::from(motion.map[cy * motion.w + cx]);
                    n += 1;
                }
            }
            if let Some(avg) = sum.checked_div(n) {
                let m = &mut map[my * map_w + mx];
                *m = (*m).max(avg as u8);
            }
        }
    }
}

/// Luma at or above which a flat area is a UI panel, not the black
/// background every scanner draws around its image.
pub const PANEL_MIN_LUMA: u8 = 24;

/// A map cell leaves the map when at least this fraction of its pixels is
/// flat panel ([`drop_flat_panels`]).
pub const PANEL_CELL_FRAC: f32 = 0.9;

/// Clears the map cells that cover a flat UI panel in `frame`; returns how
/// many it cleared.
///
/// Why: in a desktop viewer or an app screenshot the scan is a small fan
/// or strip inside a large grey panel, and the network, which sees a
/// thumbnail, sometimes takes the whole panel for the scan (a rectangle
/// over the window, most of it PHI-free grey but some of it text). A scan
/// is never flat: speckle, even dark or quantised, varies between
/// neighbouring pixels, while a panel repeats one grey level. A pixel is
/// flat panel when it is at least [`PANEL_MIN_LUMA`] (black background is
/// left to the network and the fit) and its right and lower neighbours
/// differ from it by at most 1 (JPEG's ringing stays inside that on a
/// plain area); a cell needs [`PANEL_CELL_FRAC`] of such pixels, so text
/// on a panel, a colour box's blocks or a sector's border cell keep their
/// map value and only the panel's open area goes, and only when that area
/// is a good part of what the map keeps at `keep_level`
/// ([`PANEL_MIN_SHARE`]).
pub fn drop_flat_panels(
    map: &mut [u8],
    map_w: usize,
    map_h: usize,
    frame: &GrayImage,
    keep_level: u8,
) -> usize {
    let (fw, fh) = (frame.width() as usize, frame.height() as usize);
    if map_w == 0 || map_h == 0 || map.len() != map_w * map_h || fw < 2 || fh < 2 {
        return 0;
    }
    let px = frame.as_raw();
    let mut flat = vec![0u32; map_w * map_h];
    let mut total = vec![0u32; map_w * map_h];
    for y in 0..fh {
        let cy = y * map_h / fh;
        let row = &px[y * fw..(y + 1) * fw];
        let below = (y + 1 < fh).then(|| &px[(y + 1) * fw..(y + 2) * fw]);
        for x in 0..fw {
            let cell = cy * map_w + x * map_w / fw;
            total[cell] += 1;
            let v = row[x];
            let near = |o: u8| v.abs_diff(o) <= 1;
            if v >= PANEL_MIN_LUMA
                && row.get(x + 1).is_none_or(|&r| near(r))
                && below.is_none_or(|b| near(b[x]))
            {
                flat[cell] += 1;
            }
        }
    }
    let panel = |i: usize| total[i] > 0 && flat[i] as f32 >= PANEL_CELL_FRAC * total[i] as f32;
    let kept = map.iter().filter(|&&m| m >= keep_level).count();
    let kept_panel = (0..map.len())
        .filter(|&i| panel(i) && map[i] >= keep_level)
        .count();
    if kept == 0 || (kept_panel as f32) < PANEL_MIN_SHARE * kept as f32 {
        return 0;
    }
    let mut cleared = 0;
    for (i, m) in map.iter_mut().enumerate() {
        if panel(i) && *m > 0 {
            *m = 0;
            cleared += 1;
        }
    }
    cleared
}

/// [`drop_flat_panels`] acts only when the panel is at least this share of
/// the map's kept cells: the network took a window for the scan. A map
/// that overlaps a panel by a few cells around a linear image is left to
/// the rectangle snap, which moves the sides in off the panel; clearing
/// those cells would leave a ragged border that the fit no longer reads as
/// one rectangle.
pub const PANEL_MIN_SHARE: f32 = 0.25;

/// What the host reads from a clip's own frames into its network map
/// before the fit, as `sonomask mask` and `predict --mask-priors` both do:
/// with `motion`, the clip's motion map ([`fuse_motion`]; clips of three or
/// more frames), then with `panels`, the flat grey panels of its first
/// frame taken out ([`drop_flat_panels`]). `frames` are luma at `full`
/// size; `map` is `map_w × map_h`.
pub fn add_image_evidence(
    map: &mut [u8],
    (map_w, map_h): (usize, usize),
    full: (u32, u32),
    frames: &[GrayImage],
    (motion, panels): (bool, bool),
    keep_level: u8,
) {
    let params = sonomask_data::weak::temporal::Params::default();
    if motion && let Some(m) = sonomask_data::weak::temporal::motion_map(frames, &params) {
        fuse_motion(map, map_w, map_h, full, &m);
    }
    if panels && let Some(first) = frames.first() {
        drop_flat_panels(map, map_w, map_h, first, keep_level);
    }
}

/// The outcome for one clip.
#[derive(Clone, Debug, Serialize)]
pub struct ClipPrediction {
    pub clip: String,
    /// Frames averaged.
    pub frames: usize,
    /// Fraction of the coarse map with p ≥ 0.5.
    pub coarse_keep: f64,
    /// Why the fit failed (the mask is then all black).
    pub fit_error: Option<String>,
}

/// Loads up to [`MAX_FRAMES`] frames of a clip as network inputs.
pub fn clip_inputs(
    data: &Dataset,
    entry: &ClipEntry,
    w: usize,
    h: usize,
) -> Result<Vec<Vec<f32>>, DatasetError> {
    frames::spread_frames(entry.frames, MAX_FRAMES)
        .into_iter()
        .map(|i| {
            Ok(frames::frame_to_input(
                &frames::load_frame_luma(data, entry, i)?,
                w,
                h,
            ))
        })
        .collect()
}

/// A network that turns clips into coarse probability maps: the float
/// network (burn, `sonomask-train`'s `Predictor`) or the int8 engine running
/// a blob ([`crate::blob_inference::EnginePredictor`]). Everything after the map —
/// fit, rasterisation, files — is the same code for both.
pub trait CoarseMaps: Sync {
    /// Size `(w, h)` of the maps.
    fn map_size(&self) -> (usize, usize);

    /// For each clip of `clips`, its `w × h` 0..=255 probability map
    /// (128 ⇔ p = 0.5) averaged over up to [`MAX_FRAMES`] evenly spaced
    /// frames, and the number of frames averaged.
    fn clip_maps(
        &self,
        data: &Dataset,
        clips: &[ClipEntry],
    ) -> Result<Vec<(Vec<u8>, usize)>, DeployError>;
}

/// One clip's keep mask at full resolution from its coarse map (fit at
/// `keep_level`), and the outcome.
pub fn mask_for_map(
    entry: &ClipEntry,
    map: &[u8],
    (w, h): (usize, usize),
    frames: usize,
    keep_level: u8,
) -> (GrayImage, ClipPrediction) {
    let keep = map.iter().filter(|&&v| v >= 128).count() as f64 / map.len().max(1) as f64;
    let (mask, fit_error) = match mask_from_map(map, w, h, entry.width, entry.height, keep_level) {
        Ok(m) => (m, None),
        Err(e) => (
            GrayImage::new(entry.width, entry.height),
            Some(e.to_string()),
        ),
    };
    (
        mask,
        ClipPrediction {
            clip: entry.id.clone(),
            frames,
            coarse_keep: keep,
            fit_error,
        },
    )
}

/// How `predict_dataset` turns maps into masks and what else it writes.
#[derive(Clone, Debug)]
pub struct PredictOptions {
    /// Map level (see [`keep_level`]) at or above which pixels feed the fit.
    pub keep_level: u8,
    /// Also write each clip's coarse probability map (the fit's input,
    /// 255 ⇔ p = 1) as `maps/<clip-id>.png`: what to look at when a mask is
    /// wrong.
    pub maps: Option<PathBuf>,
    /// What `sonomask mask` adds to the network on the host: each clip's
    /// motion map fused into its map before the fit ([`fuse_motion`], clips
    /// of three or more frames), flat grey panels taken out of it
    /// ([`drop_flat_panels`]) and a single fitted rectangle or fan snapped
    /// to the image's own edges ([`crate::edge_snap`],
    /// [`crate::fan_snap`]). Off here by default:
    /// experiments score the network and the fit.
    pub mask_priors: bool,
}

impl Default for PredictOptions {
    fn default() -> Self {
        Self {
            keep_level: DEFAULT_KEEP_LEVEL,
            maps: None,
            mask_priors: false,
        }
    }
}

/// [`PredictOptions::mask_priors`] for a clip of a dataset (reads every
/// frame): the motion map fused into `map`, then the fit, the rectangle snap and
/// the keep mask, as `sonomask mask` decides a clip.
fn mask_with_priors(
    data: &Dataset,
    entry: &ClipEntry,
    map: &mut [u8],
    (w, h): (usize, usize),
    frames_averaged: usize,
    keep_level: u8,
) -> Result<(GrayImage, ClipPrediction), DatasetError> {
    let frames = (0..entry.frames)
        .map(|i| frames::load_frame_luma(data, entry, i))
        .collect::<Result<Vec<_>, _>>()?;
    add_image_evidence(
        map,
        (w, h),
        (entry.width, entry.height),
        &frames,
        (true, true),
        keep_level,
    );
    let (mask, outcome) = mask_for_map(entry, map, (w, h), frames_averaged, keep_level);
    if outcome.fit_error.is_some() {
        return Ok((mask, outcome));
    }
    let snapped = regions_from_map(map, w, h, entry.width, entry.height, keep_level)
        .ok()
        .zip(frames.first())
        .and_then(|(r, first)| crate::edge_snap::refine(&r, first));
    let Some(regions) = snapped else {
        return Ok((mask, outcome));
    };
    let mut out = GrayImage::new(entry.width, entry.height);
    let fits = u16::try_from(entry.width)
        .ok()
        .zip(u16::try_from(entry.height).ok())
        .is_some_and(|(fw, fh)| regions.rasterize(fw, fh, &mut out));
    Ok((if fits { out } else { mask }, outcome))
}

/// What `predict_dataset` did.
#[derive(Clone, Debug, Serialize)]
pub struct PredictSummary {
    pub model: PathBuf,
    pub data: PathBuf,
    /// `float` (a burn checkpoint) or `int8` (a blob on the shared engine).
    pub engine: String,
    pub clips: Vec<ClipPrediction>,
    pub failed_fits: usize,
}

/// Predicts every clip of `data` with `net` and writes `out/<clip-id>.png`
/// (each atomically) plus `out/predict.json`. `on_clip` is called per clip.
pub fn predict_dataset(
    net: &dyn CoarseMaps,
    engine: &str,
    model_path: &Path,
    data: &Dataset,
    out: &Path,
    options: &PredictOptions,
    on_clip: &(dyn Fn(&ClipPrediction) + Sync),
) -> Result<PredictSummary, DeployError> {
    for dir in std::iter::once(out).chain(options.maps.as_deref()) {
        std::fs::create_dir_all(dir).map_err(|source| DatasetError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let (w, h) = net.map_size();
    let mut clips = Vec::with_capacity(data.clips().len());
    // Bounded memory: a chunk of clips at a time.
    for chunk in data.clips().chunks(16) {
        let mut maps = net.clip_maps(data, chunk)?;
        for (entry, (map, frames)) in chunk.iter().zip(&mut maps) {
            let (mask, outcome) = if options.mask_priors {
                mask_with_priors(data, entry, map, (w, h), *frames, options.keep_level)?
            } else {
                mask_for_map(entry, map, (w, h), *frames, options.keep_level)
            };
            dataset::write_png(&out.join(format!("{}.png", entry.id)), &mask)?;
            if let Some(dir) = &options.maps {
                let coarse =
                    GrayImage::from_raw(w as u32, h as u32, map.clone()).ok_or_else(|| {
                        DeployError::Config(format!("a map of {} bytes is not {w}×{h}", map.len()))
                    })?;
                dataset::write_png(&dir.join(format!("{}.png", entry.id)), &coarse)?;
            }
            on_clip(&outcome);
            clips.push(outcome);
        }
    }
    let summary = PredictSummary {
        model: model_path.to_path_buf(),
        data: data.root().to_path_buf(),
        engine: engine.to_string(),
        failed_fits: clips.iter().filter(|c| c.fit_error.is_some()).count(),
        clips,
    };
    dataset::write_json(&out.join("predict.json"), &summary)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn motion(w: usize, h: usize, cell: u32, f: impl Fn(usize, usize) -> u8) -> MotionMap {
        MotionMap {
            map: (0..w * h).map(|i| f(i % w, i / w)).collect(),
            w,
            h,
            cell,
        }
    }

    #[test]
    fn flat_grey_panels_leave_the_map_and_scan_text_and_black_stay() {
        // 8×8 map over 160×128 (20×16 px cells): a grey panel (64) with
        // speckle in cells 2..6 × 2..6, a text line in cell row 7, a black
        // band in cell column 0; the network kept everything.
        let (mw, mh) = (8, 8);
        let mut next = crate::edge_snap::tests::speckle(3, 90);
        let frame = GrayImage::from_fn(160, 128, |x, y| {
            let (cx, cy) = (x / 20, y / 16);
            let v = if cx == 0 {
                0
            } else if (2..6).contains(&cx) && (2..6).contains(&cy) {
                (60 + next()).clamp(0, 255)
            } else if cy == 7 && (4..12).contains(&(y % 16)) && x % 4 < 2 {
                200
            } else {
                64
            };
            image::Luma([v as u8])
        });
        let mut map = vec![255u8; mw * mh];
        let cleared = drop_flat_panels(&mut map, mw, mh, &frame, DEFAULT_KEEP_LEVEL);
        for cy in 0..mh {
            for cx in 0..mw {
                let panel = cx > 0 && cy != 7 && !((2..6).contains(&cx) && (2..6).contains(&cy));
                let want = if panel { 0 } else { 255 };
                assert_eq!(map[cy * mw + cx], want, "cell ({cx}, {cy})");
            }
        }
        assert_eq!(cleared, 7 * 7 - 16);
        // A map over the scan that spills onto the panel by a few cells is
        // left to the snaps: 4 panel cells against 16 of scan.
        let mut spill = vec![0u8; mw * mh];
        for cy in 2..6 {
            for cx in 2..7 {
                spill[cy * mw + cx] = 255;
            }
        }
        let before = spill.clone();
        assert_eq!(
            drop_flat_panels(&mut spill, mw, mh, &frame, DEFAULT_KEEP_LEVEL),
            0
        );
        assert_eq!(spill, before);
        // Degenerate inputs change nothing.
        let mut short = vec![255u8; 3];
        assert_eq!(
            drop_flat_panels(&mut short, mw, mh, &frame, DEFAULT_KEEP_LEVEL),
            0
        );
        assert_eq!(
            drop_flat_panels(&mut map, 0, mh, &frame, DEFAULT_KEEP_LEVEL),
            0
        );
    }

    /// A 40×30 frame, a 4×3 network map (10 px per map pixel) and a motion
    /// map of 4 px cells (10×8, the last row cut by the frame).
    #[test]
    fn fusion_adds_motion_and_never_lowers_the_network_map() {
        let mut map = vec![0u8; 12];
        map[3] = 200; // top right: the network is sure already
        map[7] = 10;
        // Cells left of x = 20 px move (cells 0..5).
        let m = motion(10, 8, 4, |cx, _| if cx < 5 { 255 } else { 0 });
        fuse_motion(&mut map, 4, 3, (40, 30), &m);
        for y in 0..3 {
            // Map column 0 covers cells 0..3, all moving.
            assert_eq!(map[y * 4], 255, "row {y}");
        }
        // Column 1 (10..20 px) covers cells 2..5: all moving.
        assert_eq!(map[1], 255);
        // Column 2 (20..30 px) covers cells 5..8: none moving.
        assert_eq!(map[2], 0);
        assert_eq!(map[3], 200);
        assert_eq!(map[7], 10);
    }

    #[test]
    fn fusion_averages_partly_moving_pixels() {
        let mut map = vec![0u8; 1];
        // One map pixel over a 2×2-cell frame, one cell of four moving.
        let m = motion(2, 2, 4, |cx, cy| if (cx, cy) == (0, 0) { 255 } else { 0 });
        fuse_motion(&mut map, 1, 1, (8, 8), &m);
        assert_eq!(map, [63]);
    }

    #[test]
    fn fusion_ignores_inconsistent_sizes() {
        let m = motion(10, 8, 4, |_, _| 255);
        for (w, h, len) in [(4, 3, 11), (0, 3, 0), (4, 0, 0)] {
            let mut map = vec![7u8; len];
            fuse_motion(&mut map, w, h, (40, 30), &m);
            assert!(map.iter().all(|&v| v == 7));
        }
        let mut bad = motion(10, 8, 4, |_, _| 255);
        bad.map.pop();
        let mut map = vec![7u8; 12];
        fuse_motion(&mut map, 4, 3, (40, 30), &bad);
        assert!(map.iter().all(|&v| v == 7));
        let mut zero_cell = m.clone();
        zero_cell.cell = 0;
        fuse_motion(&mut map, 4, 3, (40, 30), &zero_cell);
        assert!(map.iter().all(|&v| v == 7));
    }
}
