//! Running the float network (burn): a probability map per clip. Everything
//! after the map (fit, rasterisation, files) is `sonomask_deploy::maps`,
//! shared with the int8 engine.
//!
//! Per clip: up to [`sonomask_deploy::maps::MAX_FRAMES`] evenly spaced frames are area-averaged to
//! the network input, their sigmoid maps averaged (moving speckle averages
//! out, the sector does not), scaled to a 0..=255 map, fitted with
//! [`sonomask_core::fit::fit_regions_from_map`] (threshold 128 ⇔ p ≥ 0.5)
//! and rasterised at full resolution. If the fit fails the mask is all
//! black: fail closed, a mask that keeps nothing cannot leak.
//!
//! The map comes from a [`CoarseMaps`]: the float [`Predictor`] here, or the
//! int8 engine (`sonomask_deploy::blob_inference`); the rest is shared.

use std::path::Path;

use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;
use sonomask_data::dataset::{ClipEntry, Dataset};
use sonomask_deploy::DeployError;
use sonomask_deploy::maps::{CoarseMaps, clip_inputs, probability_to_u8};

use crate::TrainError;
use crate::checkpoint::{self, CheckpointMeta};
use crate::model::SectorNet;

/// A loaded network ready for inference.
pub struct Predictor {
    model: SectorNet,
    device: Device,
    meta: CheckpointMeta,
}

impl Predictor {
    /// Loads checkpoint `ckpt` on `device` (a plain, non-autodiff device).
    pub fn load(ckpt: &Path, device: Device) -> Result<Self, TrainError> {
        let (model, meta) = checkpoint::load(ckpt, &device)?;
        Ok(Self {
            model: model.valid(),
            device,
            meta,
        })
    }

    /// Wraps an in-memory network.
    pub fn new(model: SectorNet, device: Device, meta: CheckpointMeta) -> Self {
        Self {
            model: model.valid(),
            device,
            meta,
        }
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

impl CoarseMaps for Predictor {
    fn map_size(&self) -> (usize, usize) {
        self.input_size()
    }

    /// Frames are read in parallel, the network runs on the calling thread.
    fn clip_maps(
        &self,
        data: &Dataset,
        clips: &[ClipEntry],
    ) -> Result<Vec<(Vec<u8>, usize)>, DeployError> {
        let (w, h) = self.input_size();
        let inputs = clips
            .par_iter()
            .map(|c| clip_inputs(data, c, w, h))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(inputs
            .iter()
            .map(|inp| (probability_to_u8(&self.probability(inp)), inp.len()))
            .collect())
    }
}
