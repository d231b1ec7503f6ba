//! Training data: labelled clips → 80×64 (W×H) input/target pairs, the
//! validation split, augmentation and batching.
//!
//! # Exact area averaging
//!
//! Every coarse pixel is the mean of the full-resolution area it covers,
//! fractional pixels weighted by the fraction covered, computed by the
//! shared core ([`sonomask_core::thumbnail::area_sums`]): integer weights,
//! exact `u64` sums, one division at the end — so the result does not
//! depend on summation order, thread count or platform. The float input
//! here is `sum / (w·h) / 255`; the int8 input the cart (and
//! `sonomask predict` with a blob) feeds the engine is the same sum rounded
//! to 8 bits and quantised with the model's input grid
//! ([`sonomask_core::thumbnail::frame_to_input`]). For grey frames the two
//! differ by at most half a luma step before quantisation; for RGB frames
//! by at most one, since the float input averages the loaders' per-pixel
//! rounded luma and the int8 input takes the luma of each cell's mean
//! colour, rounded once.

use std::collections::BTreeSet;
use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use image::GrayImage;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sonomask_core::mask::{FrameLayout, PixelFormat};
use sonomask_core::thumbnail;

use crate::dataset::{self, ClipEntry, Dataset, DatasetError};

use super::TrainError;

/// Mean of `src` (`w × h`, row-major luma) over each of `out_w × out_h`
/// equal areas, exactly (see the module documentation). Values stay in the
/// source's units (0..=255).
///
/// # Panics
///
/// If `src` is not `w × h`, a side is 0 or above 65535 (dataset loading
/// refuses such frames), or the output is empty.
pub fn area_average(src: &[u8], w: usize, h: usize, out_w: usize, out_h: usize) -> Vec<f32> {
    assert_eq!(src.len(), w * h, "area_average: buffer is not w × h");
    let side = |v: usize| u16::try_from(v).expect("area_average: side above 65535");
    let layout = FrameLayout::packed(side(w), side(h), PixelFormat::Gray8);
    let mut sums = vec![0u64; out_w * out_h];
    let denom = thumbnail::area_sums(src, layout, out_w, out_h, |i, s| sums[i] = s)
        .expect("area_average: empty frame or output");
    // Exact sum / exact denominator, one rounding (as f64, then f32).
    sums.iter()
        .map(|&s| (s as f64 / denom as f64) as f32)
        .collect()
}

/// A frame as network input: area-averaged to `out_w × out_h`, scaled to `[0, 1]`.
pub fn frame_to_input(frame: &GrayImage, out_w: usize, out_h: usize) -> Vec<f32> {
    let (w, h) = frame.dimensions();
    area_average(frame.as_raw(), w as usize, h as usize, out_w, out_h)
        .into_iter()
        .map(|v| v / 255.0)
        .collect()
}

/// Loads frame `index` of a clip as luma (Rec. 601 for RGB clips, as
/// [`Dataset::load_luma`] does) without decoding the clip's other frames.
pub fn load_frame_luma(
    data: &Dataset,
    entry: &ClipEntry,
    index: usize,
) -> Result<GrayImage, DatasetError> {
    let path = data.frame_path(&entry.id, index);
    let img = dataset::read_image(&path)?;
    if (img.width(), img.height()) != (entry.width, entry.height) {
        return Err(DatasetError::WrongSize {
            path,
            got_w: img.width(),
            got_h: img.height(),
            want_w: entry.width,
            want_h: entry.height,
        });
    }
    Ok(if entry.color {
        dataset::rgb_to_luma(&img.into_rgb8())
    } else {
        img.into_luma8()
    })
}

/// Frame `index` of a clip as stored (RGB or grey bytes) with its layout,
/// for the shared thumbnail code ([`sonomask_core::thumbnail`]), which does
/// the luma conversion itself, exactly as the cart does on captured frames.
pub fn load_frame_raw(
    data: &Dataset,
    entry: &ClipEntry,
    index: usize,
) -> Result<(Vec<u8>, FrameLayout), DatasetError> {
    let path = data.frame_path(&entry.id, index);
    let img = dataset::read_image(&path)?;
    let size = (img.width(), img.height());
    let fits = |v: u32| u16::try_from(v).ok();
    let (Some(w), Some(h), true) = (
        fits(size.0),
        fits(size.1),
        size == (entry.width, entry.height),
    ) else {
        return Err(DatasetError::WrongSize {
            path,
            got_w: size.0,
            got_h: size.1,
            want_w: entry.width,
            want_h: entry.height,
        });
    };
    Ok(if entry.color {
        (
            img.into_rgb8().into_raw(),
            FrameLayout::packed(w, h, PixelFormat::Rgb888),
        )
    } else {
        (
            img.into_luma8().into_raw(),
            FrameLayout::packed(w, h, PixelFormat::Gray8),
        )
    })
}

/// Frame `index` of a clip as the 8-bit `out_w × out_h` thumbnail the int8
/// path feeds the engine ([`thumbnail::area_average_u8`] of the stored
/// bytes).
pub fn load_thumbnail_u8(
    data: &Dataset,
    entry: &ClipEntry,
    index: usize,
    out_w: usize,
    out_h: usize,
) -> Result<Vec<u8>, DatasetError> {
    let (bytes, layout) = load_frame_raw(data, entry, index)?;
    let mut out = vec![0u8; out_w * out_h];
    thumbnail::area_average_u8(&bytes, layout, out_w, out_h, &mut out).map_err(|e| {
        DatasetError::BadImage {
            path: data.frame_path(&entry.id, index),
            message: e.to_string(),
        }
    })?;
    Ok(out)
}

/// Up to `max` frame indices spread evenly over `0..frames` (first frame
/// always included).
pub fn spread_frames(frames: usize, max: usize) -> Vec<usize> {
    let n = frames.min(max.max(1));
    (0..n).map(|i| i * frames / n).collect()
}

/// One input/target pair at network resolution.
#[derive(Clone, Debug)]
pub struct Sample {
    /// Index into [`SegDataset::clips`].
    pub clip: usize,
    /// Luma in `[0, 1]`, `h × w` row-major.
    pub image: Vec<f32>,
    /// Soft sector target in `[0, 1]` (the label mask area-averaged).
    pub target: Vec<f32>,
}

/// Labelled frames at network resolution.
#[derive(Clone, Debug, Default)]
pub struct SegDataset {
    pub w: usize,
    pub h: usize,
    /// Clip ids, sorted.
    pub clips: Vec<String>,
    pub samples: Vec<Sample>,
}

impl SegDataset {
    /// The samples of the clips in `keep` (indices into `clips`).
    pub fn subset(&self, keep: &BTreeSet<usize>) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|s| keep.contains(&s.clip))
            .collect()
    }
}

/// The clips of `data` with a label `labels/<id>.png`, optionally only
/// those in `allowed` (a journal's accepted clips), sorted by id.
pub fn labelled_clips<'d>(
    data: &'d Dataset,
    labels: &Path,
    allowed: Option<&BTreeSet<String>>,
) -> Result<Vec<&'d ClipEntry>, TrainError> {
    if !labels.is_dir() {
        return Err(TrainError::NoLabels {
            labels: labels.to_path_buf(),
            why: "the folder does not exist".into(),
        });
    }
    let mut clips: Vec<&ClipEntry> = data
        .clips()
        .iter()
        .filter(|c| labels.join(format!("{}.png", c.id)).is_file())
        .filter(|c| allowed.is_none_or(|a| a.contains(&c.id)))
        .collect();
    if clips.is_empty() {
        let why = match allowed {
            Some(a) => format!(
                "no clip of {} has both a label here and an accepted decision in the journal ({} accepted)",
                data.root().display(),
                a.len()
            ),
            None => format!(
                "no <clip-id>.png for any of the {} clips of {}",
                data.clips().len(),
                data.root().display()
            ),
        };
        return Err(TrainError::NoLabels {
            labels: labels.to_path_buf(),
            why,
        });
    }
    clips.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(clips)
}

/// Loads up to `frames_per_clip` evenly spaced frames of each clip with
/// their label, area-averaged to `w × h`. Clips load in parallel; the order
/// of the result is fixed (clip id, frame index).
pub fn load(
    data: &Dataset,
    labels: &Path,
    clips: &[&ClipEntry],
    frames_per_clip: usize,
    w: usize,
    h: usize,
    on_clip: &(dyn Fn() + Sync),
) -> Result<SegDataset, TrainError> {
    let per_clip = clips
        .par_iter()
        .enumerate()
        .map(|(ci, c)| {
            let mask = dataset::read_label_mask(labels, c)?;
            let target: Vec<f32> = frame_to_input(&mask, w, h);
            let samples = spread_frames(c.frames, frames_per_clip)
                .into_iter()
                .map(|i| {
                    let frame = load_frame_luma(data, c, i)?;
                    Ok(Sample {
                        clip: ci,
                        image: frame_to_input(&frame, w, h),
                        target: target.clone(),
                    })
                })
                .collect::<Result<Vec<_>, DatasetError>>()?;
            on_clip();
            Ok(samples)
        })
        .collect::<Result<Vec<_>, DatasetError>>()?;
    Ok(SegDataset {
        w,
        h,
        clips: clips.iter().map(|c| c.id.clone()).collect(),
        samples: per_clip.into_iter().flatten().collect(),
    })
}

/// Splits `n` clips into (train, validation) index sets: a seeded shuffle,
/// `round(n · fraction)` clips for validation, at least one when `n ≥ 2` and
/// `fraction > 0`, never all of them.
pub fn split(n: usize, fraction: f64, seed: u64) -> (BTreeSet<usize>, BTreeSet<usize>) {
    let mut order: Vec<usize> = (0..n).collect();
    let mut rng = StdRng::seed_from_u64(seed ^ 0x05b1_1700);
    for i in (1..n).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    let mut n_val = (n as f64 * fraction.clamp(0.0, 1.0)).round() as usize;
    if fraction > 0.0 && n >= 2 {
        n_val = n_val.clamp(1, n - 1);
    } else {
        n_val = n_val.min(n.saturating_sub(1));
    }
    let val = order[..n_val].iter().copied().collect();
    let train = order[n_val..].iter().copied().collect();
    (train, val)
}

/// Seeded augmentation ranges. Applied on the coarse grid, to image and
/// target alike where geometric.
#[derive(burn::config::Config, Debug, PartialEq)]
pub struct AugmentConfig {
    /// Brightness gain range (×).
    #[config(default = "[0.6, 1.4]")]
    pub gain: [f32; 2],
    /// Multiplicative speckle: per-pixel factor `1 + σ·N(0,1)`, σ drawn from `[0, speckle]`.
    #[config(default = 0.25)]
    pub speckle: f32,
    /// Largest shift in coarse pixels, each axis.
    #[config(default = 3.0)]
    pub max_shift: f32,
    /// Zoom range about the centre.
    #[config(default = "[0.92, 1.08]")]
    pub scale: [f32; 2],
    /// Mirror left-right half of the time.
    #[config(default = true)]
    pub flip: bool,
}

/// One augmented copy of `s`, determined by `rng`.
pub fn augment(
    s: &Sample,
    w: usize,
    h: usize,
    cfg: &AugmentConfig,
    rng: &mut StdRng,
) -> (Vec<f32>, Vec<f32>) {
    let uniform = |rng: &mut StdRng, r: [f32; 2]| {
        if r[1] > r[0] {
            rng.random_range(r[0]..r[1])
        } else {
            r[0]
        }
    };
    let gain = uniform(rng, cfg.gain);
    let scale = uniform(rng, cfg.scale).max(1e-3);
    let m = cfg.max_shift.abs();
    let (dx, dy) = if m > 0.0 {
        (rng.random_range(-m..=m), rng.random_range(-m..=m))
    } else {
        (0.0, 0.0)
    };
    let flip = cfg.flip && rng.random_bool(0.5);
    let sigma = if cfg.speckle > 0.0 {
        rng.random_range(0.0..cfg.speckle)
    } else {
        0.0
    };
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let mut img = vec![0f32; w * h];
    let mut tgt = vec![0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let xo = if flip { w - 1 - x } else { x };
            // Output pixel centre → source position (inverse of zoom + shift).
            let sx = (xo as f32 + 0.5 - cx - dx) / scale + cx - 0.5;
            let sy = (y as f32 + 0.5 - cy - dy) / scale + cy - 0.5;
            img[y * w + x] = bilinear(&s.image, w, h, sx, sy);
            tgt[y * w + x] = bilinear(&s.target, w, h, sx, sy);
        }
    }
    let noise = Normal::new(0.0f32, 1.0).expect("unit normal");
    for v in &mut img {
        let n = if sigma > 0.0 {
            (1.0 + sigma * noise.sample(rng)).max(0.0)
        } else {
            1.0
        };
        *v = (*v * gain * n).clamp(0.0, 1.0);
    }
    (img, tgt)
}

/// Bilinear sample with zeros outside the grid (outside the frame is black
/// and not sector).
fn bilinear(v: &[f32], w: usize, h: usize, x: f32, y: f32) -> f32 {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let at = |xi: f32, yi: f32| {
        if xi < 0.0 || yi < 0.0 || xi >= w as f32 || yi >= h as f32 {
            0.0
        } else {
            v[yi as usize * w + xi as usize]
        }
    };
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1.0, y0) * fx;
    let bottom = at(x0, y0 + 1.0) * (1.0 - fx) + at(x0 + 1.0, y0 + 1.0) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// A seed for sample `i` of epoch `epoch`, so augmentation does not depend
/// on which thread makes which sample (SplitMix64 finaliser).
pub fn sample_seed(seed: u64, epoch: usize, i: usize) -> u64 {
    let mut z = seed
        ^ (epoch as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ (i as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A batch as tensors: images and targets, both `[n, 1, h, w]`.
pub struct Batch {
    pub images: Tensor<4>,
    pub targets: Tensor<4>,
}

/// Stacks samples into a batch on `device`; with `augment`, each sample `k`
/// is augmented with seed `seeds[k]`.
pub fn batch(
    samples: &[&Sample],
    w: usize,
    h: usize,
    augment_with: Option<(&AugmentConfig, &[u64])>,
    device: &Device,
) -> Batch {
    let pairs: Vec<(Vec<f32>, Vec<f32>)> = match augment_with {
        Some((cfg, seeds)) => samples
            .par_iter()
            .zip(seeds.par_iter())
            .map(|(s, &seed)| augment(s, w, h, cfg, &mut StdRng::seed_from_u64(seed)))
            .collect(),
        None => samples
            .iter()
            .map(|s| (s.image.clone(), s.target.clone()))
            .collect(),
    };
    let n = pairs.len();
    let mut img = Vec::with_capacity(n * w * h);
    let mut tgt = Vec::with_capacity(n * w * h);
    for (i, t) in pairs {
        img.extend(i);
        tgt.extend(t);
    }
    Batch {
        images: Tensor::from_data(TensorData::new(img, [n, 1, h, w]), device),
        targets: Tensor::from_data(TensorData::new(tgt, [n, 1, h, w]), device),
    }
}

/// Where the training images came from, for the checkpoint's JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DataSummary {
    pub train_clips: Vec<String>,
    pub val_clips: Vec<String>,
    pub train_images: usize,
    pub val_images: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_average_hand_computed() {
        // 3×2 → 2×1: output column 0 covers source columns 0 and half of 1,
        // column 1 the other half of 1 and column 2.
        let src = [0u8, 30, 60, 90, 120, 150];
        let out = area_average(&src, 3, 2, 2, 1);
        // (2·0 + 1·30 + 2·90 + 1·120) / 6 = 55; (1·30 + 2·60 + 1·120 + 2·150) / 6 = 95
        assert_eq!(out, vec![55.0, 95.0]);
        // Integer factors are plain block means.
        let src: Vec<u8> = (0..16).collect();
        let out = area_average(&src, 4, 4, 2, 2);
        assert_eq!(out, vec![2.5, 4.5, 10.5, 12.5]);
        // 640×480 → 80×64 (8 × 7.5): a constant stays constant, the mean is kept.
        let flat = vec![77u8; 640 * 480];
        assert!(
            area_average(&flat, 640, 480, 80, 64)
                .iter()
                .all(|&v| v == 77.0)
        );
        let ramp: Vec<u8> = (0..640 * 480).map(|i| ((i * 7) % 251) as u8).collect();
        let out = area_average(&ramp, 640, 480, 80, 64);
        let mean_in = ramp.iter().map(|&v| f64::from(v)).sum::<f64>() / ramp.len() as f64;
        let mean_out = out.iter().map(|&v| f64::from(v)).sum::<f64>() / out.len() as f64;
        assert!((mean_in - mean_out).abs() < 1e-3, "{mean_in} vs {mean_out}");
    }

    #[test]
    fn spread_and_split() {
        assert_eq!(spread_frames(16, 4), vec![0, 4, 8, 12]);
        assert_eq!(spread_frames(3, 8), vec![0, 1, 2]);
        assert_eq!(spread_frames(10, 3), vec![0, 3, 6]);
        let (t, v) = split(20, 0.1, 1);
        assert_eq!((t.len(), v.len()), (18, 2));
        assert!(t.is_disjoint(&v));
        assert_eq!(split(20, 0.1, 1), (t, v));
        assert_ne!(split(20, 0.1, 1).1, split(20, 0.1, 2).1);
        assert_eq!(split(1, 0.1, 1).1.len(), 0);
        assert_eq!(split(2, 0.1, 1).1.len(), 1);
    }

    #[test]
    fn augmentation_is_seeded_and_flip_moves_the_target_too() {
        let (w, h) = (8, 4);
        let s = Sample {
            clip: 0,
            image: (0..w * h).map(|i| (i % w) as f32 / w as f32).collect(),
            target: (0..w * h)
                .map(|i| if i % w < 3 { 1.0 } else { 0.0 })
                .collect(),
        };
        let cfg = AugmentConfig::new();
        let a = augment(&s, w, h, &cfg, &mut StdRng::seed_from_u64(5));
        let b = augment(&s, w, h, &cfg, &mut StdRng::seed_from_u64(5));
        assert_eq!(a, b);
        // Flip only: exact mirror of image and target.
        let only_flip = AugmentConfig::new()
            .with_gain([1.0, 1.0])
            .with_speckle(0.0)
            .with_max_shift(0.0)
            .with_scale([1.0, 1.0]);
        let mut flipped = None;
        for seed in 0..20 {
            let (img, tgt) = augment(&s, w, h, &only_flip, &mut StdRng::seed_from_u64(seed));
            if img != s.image {
                flipped = Some((img, tgt));
                break;
            }
            assert_eq!(tgt, s.target);
        }
        let (img, tgt) = flipped.expect("some seed flips");
        for y in 0..h {
            for x in 0..w {
                assert_eq!(img[y * w + x], s.image[y * w + (w - 1 - x)]);
                assert_eq!(tgt[y * w + x], s.target[y * w + (w - 1 - x)]);
            }
        }
    }
}
