//! sonomask training, the paper's method end to end: the burn network,
//! training on weak and drawn labels, the recipe and its refinement loop,
//! int8 quantisation into the `.snmk` blob, and repeated-run experiments
//! with their statistics. burn lives only here.
//!
//! - [`model`]: the network ([`model::ModelConfig`], [`model::SectorNet`]), its MAC and
//!   parameter counts.
//! - [`data`]: labelled clips → 80×64 input/target pairs (exact area
//!   averaging, `sonomask_data::frames`), validation split, augmentation, batches.
//! - [`training`]: the loop (BCE + soft Dice, Adam, early stopping) and its
//!   configuration.
//! - [`checkpoint`]: the checkpoint files (burnpack weights + JSON beside them).
//! - [`inference`]: the float network's probability maps (a
//!   `sonomask_deploy::maps::CoarseMaps`, like the int8 engine).
//! - [`recipe`] and [`refine_loop`]: weak labels → checks → pretrain → refine
//!   on drawn masks → iterate.
//! - [`quantize`]: BatchNorm folding, calibration, int8 graph, the blob.
//! - [`experiment`] and [`stats`]: arms × seeds, t-tests, the report.
//!
//! The backend is picked in one place, [`device`]: burn 0.22 selects it by
//! [`Device`] at run time; Cargo features only decide what is compiled in.

pub mod checkpoint;
pub mod data;
pub mod experiment;
pub mod inference;
pub mod model;
pub mod quantize;
pub mod recipe;
pub mod refine_loop;
pub mod stats;
pub mod training;

use std::path::PathBuf;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use sonomask_data::dataset::DatasetError;
use sonomask_human::journal::JournalError;

/// Which burn backend runs the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceChoice {
    /// burn's pure-Rust CPU backend (always compiled in).
    Flex,
    /// CUDA GPU 0 (feature `cuda`).
    Cuda,
    /// LibTorch CPU (feature `tch`; burn marks it deprecated).
    Tch,
}

impl DeviceChoice {
    pub fn name(self) -> &'static str {
        match self {
            DeviceChoice::Flex => "flex",
            DeviceChoice::Cuda => "cuda",
            DeviceChoice::Tch => "tch",
        }
    }
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "flex" => Ok(DeviceChoice::Flex),
            "cuda" => Ok(DeviceChoice::Cuda),
            "tch" => Ok(DeviceChoice::Tch),
            _ => Err(format!("unknown device {s:?} (flex, cuda, tch)")),
        }
    }
}

/// The plain (non-autodiff) device for `choice`; training wraps it with
/// `.autodiff()`. The only place a backend is chosen.
pub fn device(choice: DeviceChoice) -> Result<Device, TrainError> {
    match choice {
        DeviceChoice::Flex => Ok(Device::flex()),
        #[cfg(feature = "cuda")]
        DeviceChoice::Cuda => Ok(Device::cuda(0)),
        #[cfg(feature = "tch")]
        #[allow(deprecated)] // burn-tch is deprecated upstream; kept for LibTorch users
        DeviceChoice::Tch => Ok(Device::libtorch()),
        #[allow(unreachable_patterns)]
        other => Err(TrainError::BackendNotCompiled {
            device: other.name(),
        }),
    }
}

/// Errors of training and inference; each names what it is about.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("{labels}: no labels to train on: {why}")]
    NoLabels { labels: PathBuf, why: String },
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("{path}: cannot use this checkpoint: {message}")]
    Checkpoint { path: PathBuf, message: String },
    #[error(
        "--device {device}: this build has no {device} backend; rebuild with `cargo build -p sonomask --features {device}`"
    )]
    BackendNotCompiled { device: &'static str },
    #[error("invalid training configuration: {0}")]
    Config(String),
    #[error("int8 engine: {0}")]
    Engine(#[from] sonomask_core::engine::EngineError),
    #[error(transparent)]
    Deploy(#[from] sonomask_deploy::DeployError),
}

#[cfg(test)]
mod tests;

#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
