//! Training and running the sector segmentation network with burn 0.22.
//!
//! - [`model`]: the network ([`model::ModelConfig`], [`model::SectorNet`]), its MAC and
//!   parameter counts.
//! - [`data`]: labelled clips → 80×64 input/target pairs (exact area
//!   averaging), validation split, augmentation, batches.
//! - [`training`]: the loop (BCE + soft Dice, Adam, early stopping) and its
//!   configuration.
//! - [`checkpoint`]: the checkpoint files (burnpack weights + JSON beside them).
//! - [`inference`]: probability maps for clips and keep masks through the
//!   shared geometry fit.
//! - [`blob_inference`]: the same for an int8 `.snmk` blob on the shared
//!   engine, fed by the shared thumbnail code (what the cart runs).
//!
//! The backend is picked in one place, [`device`]: burn 0.22 selects it by
//! [`Device`] at run time; Cargo features only decide what is compiled in.

pub mod blob_inference;
pub mod checkpoint;
pub mod data;
pub mod inference;
pub mod model;
pub mod training;

use std::path::PathBuf;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::dataset::DatasetError;
use crate::journal::JournalError;

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
}

#[cfg(test)]
mod tests;
