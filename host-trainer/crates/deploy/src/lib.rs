//! sonomask deployment: a trained, quantised model at work on the host, with
//! the same int8 kernels the cart runs (`sonomask_core::engine`). No burn.
//!
//! - [`blob_inference`]: a `.snmk` blob on the shared engine as a source of
//!   coarse maps (shared thumbnail → engine → probability table);
//! - [`maps`]: coarse maps → regions and keep masks through the shared fit,
//!   and `predict`'s outputs, for any network ([`maps::CoarseMaps`]);
//! - [`model_file`]: reading, signing and inspecting model files.
//!
//! Masking real files with it (`sonomask mask`, de-identification) is the
//! `sonomask-mask` crate, so a change there rebuilds neither this crate nor
//! the trainer.

use std::path::PathBuf;

use sonomask_data::dataset::DatasetError;

pub mod blob_inference;
pub mod edge_snap;
pub mod fan_snap;
pub mod maps;
pub mod model_file;

/// Errors of running a model on the host; each names what it is about.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error("{path}: cannot use this model: {message}")]
    Model { path: PathBuf, message: String },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("int8 engine: {0}")]
    Engine(#[from] sonomask_core::engine::EngineError),
}
