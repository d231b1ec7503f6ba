//! Training data: labelled clips → 80×64 (W×H) input/target pairs, the
//! validation split, augmentation and batching.
//!
//! Inputs are exact area averages of the frames
//! ([`sonomask_data::frames`], shared with the int8 path and the web UI).

use std::collections::BTreeSet;
use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sonomask_data::dataset::{self, ClipEntry, Dataset, DatasetError};
use sonomask_data::frames::{frame_to_input, load_frame_luma, spread_frames};

use crate::TrainError;

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

/// How many samples a clip gives: up to `frames_per_clip` evenly spaced
/// frames, or (`Fill`) exactly `frames_per_clip`, its frames repeated when
/// it has fewer — so a single real still weighs as much in an epoch as a
/// synthetic clip (augmentation draws differ per sample, so the repeats
/// are not identical images).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PerClip {
    UpTo,
    Fill,
}

/// Loads `frames_per_clip` frames of each clip (see [`PerClip`]) with
/// their label, area-averaged to `w × h`. Clips load in parallel; the order
/// of the result is fixed (clip id, frame index).
#[allow(clippy::too_many_arguments)]
pub fn load(
    data: &Dataset,
    labels: &Path,
    clips: &[&ClipEntry],
    frames_per_clip: usize,
    per_clip: PerClip,
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
            let spread = spread_frames(c.frames, frames_per_clip);
            let picks: Vec<usize> = match per_clip {
                PerClip::UpTo => spread,
                PerClip::Fill => spread
                    .iter()
                    .copied()
                    .cycle()
                    .take(frames_per_clip)
                    .collect(),
            };
            let samples = picks
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

impl SegDataset {
    /// Appends `other`'s clips (ids prefixed with `prefix`) and samples.
    pub fn append(&mut self, other: SegDataset, prefix: &str) {
        let base = self.clips.len();
        self.clips
            .extend(other.clips.into_iter().map(|c| format!("{prefix}{c}")));
        self.samples
            .extend(other.samples.into_iter().map(|s| Sample {
                clip: base + s.clip,
                ..s
            }));
    }
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
    fn split_is_seeded_and_disjoint() {
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
