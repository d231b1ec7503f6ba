//! Running a trained network: a probability map per clip, then keep masks
//! through the shared geometry fit.
//!
//! Per clip: up to [`MAX_FRAMES`] evenly spaced frames are area-averaged to
//! the network input, their sigmoid maps averaged (moving speckle averages
//! out, the sector does not), scaled to a 0..=255 map, fitted with
//! [`sonomask_core::fit::fit_regions_from_map`] (threshold 128 ⇔ p ≥ 0.5)
//! and rasterised at full resolution. If the fit fails the mask is all
//! black: fail closed, a mask that keeps nothing cannot leak.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use image::GrayImage;
use rayon::prelude::*;
use serde::Serialize;
use sonomask_core::fit::{FitError, FitOptions};

use super::TrainError;
use super::checkpoint::{self, CheckpointMeta};
use super::data;
use super::model::SectorNet;
use crate::dataset::{self, ClipEntry, Dataset, DatasetError};

/// Frames per clip whose probabilities are averaged.
pub const MAX_FRAMES: usize = 8;

/// A loaded network ready for inference.
pub struct Predictor {
    model: SectorNet,
    device: Device,
    meta: CheckpointMeta,
    keep_level: u8,
}

/// The default keep level of the 0..=255 map: p ≥ 0.5.
pub const DEFAULT_KEEP_LEVEL: u8 = 128;

impl Predictor {
    /// Loads checkpoint `ckpt` on `device` (a plain, non-autodiff device).
    pub fn load(ckpt: &Path, device: Device) -> Result<Self, TrainError> {
        let (model, meta) = checkpoint::load(ckpt, &device)?;
        Ok(Self {
            model: model.valid(),
            device,
            meta,
            keep_level: DEFAULT_KEEP_LEVEL,
        })
    }

    /// Wraps an in-memory network.
    pub fn new(model: SectorNet, device: Device, meta: CheckpointMeta) -> Self {
        Self {
            model: model.valid(),
            device,
            meta,
            keep_level: DEFAULT_KEEP_LEVEL,
        }
    }

    /// Keeps map pixels with probability ≥ `p` (in (0, 1]) for the fit
    /// instead of 0.5; choose it on a validation set, never the test set.
    pub fn with_keep_probability(mut self, p: f64) -> Result<Self, TrainError> {
        if !(p > 0.0 && p <= 1.0) {
            return Err(TrainError::Config(format!(
                "keep probability must be in (0, 1], got {p}"
            )));
        }
        self.keep_level = (p * 255.0).round().clamp(1.0, 255.0) as u8;
        Ok(self)
    }

    pub fn meta(&self) -> &CheckpointMeta {
        &self.meta
    }

    /// Network input size (w, h).
    pub fn input_size(&self) -> (usize, usize) {
        (
            self.meta.config.model.input_w,
            self.meta.config.model.input_h,
        )
    }

    /// The mean sigmoid probability over `inputs` (each `h × w`, from
    /// [`data::frame_to_input`]), `h × w` row-major.
    pub fn probability(&self, inputs: &[Vec<f32>]) -> Vec<f32> {
        let (w, h) = self.input_size();
        let n = inputs.len();
        if n == 0 {
            return vec![0.0; w * h];
        }
        let flat: Vec<f32> = inputs.iter().flatten().copied().collect();
        let x = Tensor::<4>::from_data(TensorData::new(flat, [n, 1, h, w]), &self.device);
        sigmoid(self.model.forward(x))
            .mean_dim(0)
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("a float tensor converts to f32")
    }
}

/// A 0..=255 map of probabilities (255 ⇔ p = 1), rounded.
pub fn probability_to_u8(prob: &[f32]) -> Vec<u8> {
    prob.iter()
        .map(|&p| (p.clamp(0.0, 1.0) * 255.0).round() as u8)
        .collect()
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
    let (fw, fh) = (
        u16::try_from(full_w).map_err(|_| FitError::BadParameter)?,
        u16::try_from(full_h).map_err(|_| FitError::BadParameter)?,
    );
    crate::weak::fit_mask(
        map,
        map_w,
        map_h,
        &FitOptions {
            threshold: keep_level,
            ..FitOptions::upscaled(map_w, map_h, fw, fh)
        },
    )
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
    data::spread_frames(entry.frames, MAX_FRAMES)
        .into_iter()
        .map(|i| {
            Ok(data::frame_to_input(
                &data::load_frame_luma(data, entry, i)?,
                w,
                h,
            ))
        })
        .collect()
}

/// Predicts one clip: its keep mask at full resolution, the coarse
/// probability map (0..=255) and the outcome.
pub fn predict_clip(
    predictor: &Predictor,
    entry: &ClipEntry,
    inputs: &[Vec<f32>],
) -> (GrayImage, GrayImage, ClipPrediction) {
    let (w, h) = predictor.input_size();
    let prob = predictor.probability(inputs);
    let map = probability_to_u8(&prob);
    let keep = map.iter().filter(|&&v| v >= 128).count() as f64 / map.len().max(1) as f64;
    let (mask, fit_error) =
        match mask_from_map(&map, w, h, entry.width, entry.height, predictor.keep_level) {
            Ok(m) => (m, None),
            Err(e) => (
                GrayImage::new(entry.width, entry.height),
                Some(e.to_string()),
            ),
        };
    let coarse = GrayImage::from_raw(w as u32, h as u32, map).expect("a w × h map");
    (
        mask,
        coarse,
        ClipPrediction {
            clip: entry.id.clone(),
            frames: inputs.len(),
            coarse_keep: keep,
            fit_error,
        },
    )
}

/// What `predict_dataset` did.
#[derive(Clone, Debug, Serialize)]
pub struct PredictSummary {
    pub model: PathBuf,
    pub data: PathBuf,
    pub clips: Vec<ClipPrediction>,
    pub failed_fits: usize,
}

/// Predicts every clip of `data` and writes `out/<clip-id>.png` (each
/// atomically) plus `out/predict.json`. Frames are read in parallel, the
/// network runs on the calling thread. `on_clip` is called per clip.
pub fn predict_dataset(
    predictor: &Predictor,
    model_path: &Path,
    data: &Dataset,
    out: &Path,
    on_clip: &(dyn Fn(&ClipPrediction) + Sync),
) -> Result<PredictSummary, TrainError> {
    predict_dataset_with_maps(predictor, model_path, data, out, None, on_clip)
}

/// [`predict_dataset`], also writing each clip's coarse probability map
/// (the fit's input, 255 ⇔ p = 1) as `maps/<clip-id>.png` when `maps` is
/// given: what to look at when a mask is wrong.
pub fn predict_dataset_with_maps(
    predictor: &Predictor,
    model_path: &Path,
    data: &Dataset,
    out: &Path,
    maps: Option<&Path>,
    on_clip: &(dyn Fn(&ClipPrediction) + Sync),
) -> Result<PredictSummary, TrainError> {
    if let Some(dir) = maps {
        std::fs::create_dir_all(dir).map_err(|source| DatasetError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let (w, h) = predictor.input_size();
    std::fs::create_dir_all(out).map_err(|source| DatasetError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let mut clips = Vec::with_capacity(data.clips().len());
    // Bounded memory: a chunk of clips' coarse inputs at a time.
    for chunk in data.clips().chunks(16) {
        let inputs = chunk
            .par_iter()
            .map(|c| clip_inputs(data, c, w, h))
            .collect::<Result<Vec<_>, _>>()?;
        for (entry, inp) in chunk.iter().zip(&inputs) {
            let (mask, coarse, outcome) = predict_clip(predictor, entry, inp);
            dataset::write_png(&out.join(format!("{}.png", entry.id)), &mask)?;
            if let Some(dir) = maps {
                dataset::write_png(&dir.join(format!("{}.png", entry.id)), &coarse)?;
            }
            on_clip(&outcome);
            clips.push(outcome);
        }
    }
    let summary = PredictSummary {
        model: model_path.to_path_buf(),
        data: data.root().to_path_buf(),
        failed_fits: clips.iter().filter(|c| c.fit_error.is_some()).count(),
        clips,
    };
    dataset::write_json(&out.join("predict.json"), &summary)?;
    Ok(summary)
}
