//! Checkpoint files.
//!
//! ```text
//! CKPT        the weights: burn's ModuleRecord in the burnpack format, f32
//! CKPT.json   what made them: training config, seed, MACs, params, data,
//!             per-epoch metrics, images/s, and the weights' length and
//!             FNV-1a 64 hash
//! ```
//!
//! Both are written to a temporary file and renamed, weights first. The hash
//! in the JSON catches a truncated or corrupt weights file (or a weights file
//! from another run) before burn parses it.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};
use serde::{Deserialize, Serialize};

use super::TrainError;
use super::data::DataSummary;
use super::model::{Cost, SectorNet};
use super::training::{EpochMetrics, TrainingConfig};
use sonomask_data::dataset;

/// `format` of every checkpoint JSON.
pub const FORMAT: &str = "sonomask-checkpoint";
/// The checkpoint version this build reads and writes.
pub const VERSION: u32 = 1;

/// `CKPT.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckpointMeta {
    pub format: String,
    pub version: u32,
    /// Everything that shaped the run (model, optimizer, augmentation,
    /// epochs, batch size, seed, learning rate, …).
    pub config: TrainingConfig,
    pub seed: u64,
    /// MACs, deployed parameters and int8 bytes of the architecture.
    pub cost: Cost,
    /// burn's parameter count (includes BatchNorm γ, β and running stats).
    pub burn_params: usize,
    /// Backend that trained it.
    pub device: String,
    pub data: PathBuf,
    pub labels: PathBuf,
    pub decisions: Option<PathBuf>,
    /// The checkpoint this run started from (`--init`).
    pub init: Option<PathBuf>,
    /// More labelled datasets trained alongside `data` (`--extra-data`);
    /// left out of the JSON when there are none, so older runs' metadata
    /// (and the provenance hash of their blobs) is unchanged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<ExtraMeta>,
    pub split: DataSummary,
    pub epochs: Vec<EpochMetrics>,
    /// The epoch whose weights were saved (best validation loss).
    pub best_epoch: usize,
    /// Whether training stopped before the configured number of epochs.
    pub stopped_early: bool,
    /// Training images per second over the whole run (augmentation,
    /// forward, backward and optimizer step; validation excluded).
    pub images_per_s: f64,
    pub wall_s: f64,
    /// Length of the weights file in bytes.
    pub weights_len: u64,
    /// FNV-1a 64 of the weights file, hex.
    pub weights_fnv1a64: String,
}

/// One extra labelled dataset of a run ([`CheckpointMeta::extra`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExtraMeta {
    pub data: PathBuf,
    pub labels: PathBuf,
    /// Labelled clips used from it.
    pub clips: usize,
}

/// Where the JSON of checkpoint `ckpt` lives: `CKPT.json`.
pub fn meta_path(ckpt: &Path) -> PathBuf {
    let mut s = ckpt.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

/// FNV-1a, 64 bit.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The weights of `model` as burnpack bytes (validation snapshot, so
/// BatchNorm's running statistics are synced first).
pub fn weights_bytes(model: &SectorNet) -> Result<Vec<u8>, String> {
    model
        .valid()
        .into_record()
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| e.to_string())
}

/// Writes `weights` to `ckpt` and `meta` (with the weights' length and hash
/// filled in) to `CKPT.json`, each atomically, weights first.
pub fn save(ckpt: &Path, weights: &[u8], meta: &mut CheckpointMeta) -> Result<(), TrainError> {
    meta.weights_len = weights.len() as u64;
    meta.weights_fnv1a64 = format!("{:016x}", fnv1a64(weights));
    dataset::write_atomic(ckpt, weights)?;
    dataset::write_json(&meta_path(ckpt), meta)?;
    Ok(())
}

fn bad(path: &Path, message: impl Into<String>) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads and checks `CKPT.json` (format, version).
pub fn load_meta(ckpt: &Path) -> Result<CheckpointMeta, TrainError> {
    let mpath = meta_path(ckpt);
    let text = std::fs::read_to_string(&mpath).map_err(|e| {
        bad(
            ckpt,
            format!("cannot read its metadata {}: {e}", mpath.display()),
        )
    })?;
    let meta: CheckpointMeta = serde_json::from_str(&text)
        .map_err(|e| bad(ckpt, format!("{}: invalid metadata: {e}", mpath.display())))?;
    if meta.format != FORMAT || meta.version != VERSION {
        return Err(bad(
            ckpt,
            format!(
                "format {:?} version {}, this build reads {FORMAT:?} version {VERSION}",
                meta.format, meta.version
            ),
        ));
    }
    meta.config
        .model
        .validate()
        .map_err(|e| bad(ckpt, e.to_string()))?;
    Ok(meta)
}

/// Loads checkpoint `ckpt` into a fresh network on `device`: metadata,
/// length and hash check, then burn's record with shape validation.
pub fn load(ckpt: &Path, device: &Device) -> Result<(SectorNet, CheckpointMeta), TrainError> {
    let meta = load_meta(ckpt)?;
    let bytes =
        std::fs::read(ckpt).map_err(|e| bad(ckpt, format!("cannot read the weights: {e}")))?;
    if bytes.len() as u64 != meta.weights_len {
        return Err(bad(
            ckpt,
            format!(
                "the weights file is {} bytes, its metadata says {}: truncated or replaced",
                bytes.len(),
                meta.weights_len
            ),
        ));
    }
    let hash = format!("{:016x}", fnv1a64(&bytes));
    if hash != meta.weights_fnv1a64 {
        return Err(bad(
            ckpt,
            format!(
                "the weights' hash {hash} does not match {} in its metadata: corrupt",
                meta.weights_fnv1a64
            ),
        ));
    }
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| bad(ckpt, format!("not a burn record: {e}")))?;
    let model = meta
        .config
        .model
        .init(device, 0)
        .try_load_record(record)
        .map_err(|e| bad(ckpt, format!("weights do not fit the architecture: {e}")))?;
    Ok((model, meta))
}
