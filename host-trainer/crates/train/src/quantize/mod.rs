//! `sonomask quantize`: a float checkpoint → an int8 `.snmk` blob the cart
//! runs.
//!
//! ```text
//! checkpoint ─► BN folded into the convs      (float_graph, engine op order, HWC/OHWI)
//!   ─► calibration frames ─► shared thumbnail (the int8 path's 8-bit input)
//!   ─► float forward, every tensor ─► ranges  (calibrate: min/max or percentile)
//!   ─► int8 graph                              (int8_graph: per-channel weights, i32 bias, Q31)
//!   ─► blob (shared encoder, optional ed25519) + FILE.snmk.json report
//! ```
//!
//! The provenance hash in the blob header is SHA-256 over the checkpoint's
//! weights and metadata files, the quantiser's settings and every
//! calibration frame file (clip id, frame index, bytes), in order: two
//! blobs with the same hash came from the same inputs.

pub mod calibrate;
pub mod float_graph;
pub mod int8_graph;

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use ed25519_dalek::SigningKey;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sonomask_core::blob::{self, EncodeError, ModelDesc};
use sonomask_core::engine::{self, GraphError};

use crate::model::ModelConfig;
use crate::{TrainError, checkpoint};
use calibrate::{RangeMethod, TensorRange};
use float_graph::{FloatGraph, FloatOp};
use int8_graph::{INPUT_QUANT, QuantGraph, QuantOp};
use sonomask_data::dataset::{self, Dataset, DatasetError};
use sonomask_data::frames;

/// The range method `sonomask quantize` uses unless told otherwise: min/max.
///
/// Measured on the synthetic benchmark (float checkpoint trained with the
/// training defaults, 256 calibration frames of a 200-clip pool, 40 test
/// clips), int8 pixel accuracy minus float pixel accuracy, in points:
/// min/max −0.16, percentile 99.99 −0.20, 99.9 −0.21 (before the logit
/// clamp, [`OUTPUT_LOGIT_LIMIT`]: min/max −0.17, 99.999 −0.19, 99.99 −0.22;
/// min/max on 800 frames −0.18). Percentiles fit the calibration frames a
/// little better (fewer logit errors there) but do worse on held-out clips:
/// the ReLU activations here have no lone outliers to clip, so clipping
/// only saturates real, rare, large responses — which are the confident
/// ones. Nearly all of the remaining gap is one clip whose fan fit jumps
/// between two solutions on a handful of changed coarse pixels.
pub const DEFAULT_METHOD: RangeMethod = RangeMethod::MinMax;
/// The logits' grid covers at most `±OUTPUT_LOGIT_LIMIT`.
///
/// The logits are only ever used through the blob's probability table,
/// `round(255 · sigmoid(logit))`, which is already 255 for every logit
/// above `ln(254.5 / 0.5) ≈ 6.23` and 0 below `−6.24`. Covering more than
/// that spends int8 steps on values that all map to the same byte: the
/// trained net's logits span about −17..23, which would make one step
/// 0.156; clipped to ±6.5 a step is 0.051, three times finer where the
/// p = 0.5 boundary is decided, and not one probability byte changes.
pub const OUTPUT_LOGIT_LIMIT: f32 = 6.5;
/// Calibration frames unless told otherwise.
pub const DEFAULT_CALIB_FRAMES: usize = 256;
/// `format` of the `FILE.snmk.json` report.
pub const REPORT_FORMAT: &str = "sonomask-quantize";

/// Errors of quantisation; each names what it is about.
#[derive(Debug, thiserror::Error)]
pub enum QuantizeError {
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error("the quantised graph is invalid: {0}")]
    Graph(GraphError),
    #[error("cannot encode the model blob: {0}")]
    Encode(EncodeError),
    #[error("int8 engine: {0}")]
    Engine(engine::EngineError),
    #[error("--calib-frames must be at least 1")]
    NoFrames,
}

/// Settings of one quantisation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct QuantizeConfig {
    pub method: RangeMethod,
    /// Calibration frames to use (spread over the clips, see
    /// [`calibration_frames`]).
    pub calib_frames: usize,
}

impl Default for QuantizeConfig {
    fn default() -> Self {
        Self {
            method: DEFAULT_METHOD,
            calib_frames: DEFAULT_CALIB_FRAMES,
        }
    }
}

/// `(clip index, frame index)` of `n` calibration frames: with `n` ≥ the
/// clip count, every clip gives `n / clips` evenly spaced frames (the first
/// `n % clips` clips one more); otherwise `n` evenly spaced clips give their
/// first frame. Clips in manifest order.
pub fn calibration_frames(data: &Dataset, n: usize) -> Vec<(usize, usize)> {
    let clips = data.clips();
    let c = clips.len();
    if n < c {
        return (0..n).map(|i| (i * c / n, 0)).collect();
    }
    clips
        .iter()
        .enumerate()
        .flat_map(|(ci, e)| {
            let k = n / c + usize::from(ci < n % c);
            frames::spread_frames(e.frames, k)
                .into_iter()
                .map(move |f| (ci, f))
        })
        .collect()
}

/// The architecture name written into the blob (at most 32 bytes).
pub fn arch_name(cfg: &ModelConfig) -> String {
    let [a, b, c] = cfg.encoder;
    format!(
        "sectornet-{}x{}-{a}.{b}.{c}-{}",
        cfg.input_h, cfg.input_w, cfg.bottleneck
    )
}

/// A quantised network and how it got its grids.
#[derive(Clone, Debug)]
pub struct Quantized {
    pub float: FloatGraph,
    pub graph: QuantGraph,
    pub ranges: Vec<TensorRange>,
}

/// Calibrates `float` on 8-bit thumbnails (the int8 path's inputs, used as
/// `luma / 255`) and quantises it.
pub fn quantize_graph(
    float: FloatGraph,
    thumbnails: &[Vec<u8>],
    method: RangeMethod,
    on_pass: &(dyn Fn() + Sync),
) -> Quantized {
    let inputs: Vec<Vec<f32>> = thumbnails
        .iter()
        .map(|t| t.iter().map(|&v| f32::from(v) / 255.0).collect())
        .collect();
    let mut ranges = calibrate::ranges(&float, &inputs, method, on_pass);
    if let Some(logits) = ranges.last_mut() {
        logits.lo = logits.lo.max(-OUTPUT_LOGIT_LIMIT);
        logits.hi = logits.hi.min(OUTPUT_LOGIT_LIMIT);
    }
    let graph = QuantGraph::build(&float, &ranges, INPUT_QUANT);
    Quantized {
        float,
        graph,
        ranges,
    }
}

/// Encodes `graph` as a blob (signed with `key` if given) with the shared
/// encoder, which validates the graph and loads the result back.
pub fn encode_blob(
    graph: &QuantGraph,
    arch: &str,
    provenance: [u8; 32],
    key: Option<&SigningKey>,
) -> Result<Vec<u8>, QuantizeError> {
    let ops = graph.ops();
    let desc = ModelDesc {
        arch,
        input_shape: graph.input_shape,
        input_quant: graph.input_quant,
        provenance,
        arena_bytes: None,
        ops: &ops,
    };
    let len = blob::encoded_len(&desc, key.is_some()).map_err(QuantizeError::Encode)?;
    let mut buf = vec![0u8; len];
    let n = match key {
        Some(k) => blob::sign_into(&desc, k, &mut buf),
        None => blob::encode_into(&desc, &mut buf),
    }
    .map_err(QuantizeError::Encode)?;
    buf.truncate(n);
    Ok(buf)
}

/// How well the int8 model reproduces the float one on given inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Agreement {
    pub frames: usize,
    /// Fraction of coarse pixels where both say the same side of p = 0.5.
    pub decision_agreement: f64,
    /// Mean |int8 logit − float logit|, the float logit clamped to the
    /// output grid's range (beyond it both mean a saturated probability).
    pub mean_abs_logit_error: f64,
    /// The same, signed: a systematic shift (bias) would move the p = 0.5
    /// boundary, which the fit sees.
    pub mean_logit_error: f64,
    /// The (clamped) float logits' mean |logit|, for scale.
    pub mean_abs_logit: f64,
    /// Mean |int8 probability byte − float probability byte| (bytes are
    /// `round(255 · p)`; the int8 one from the blob's table).
    pub mean_abs_probability_error: f64,
}

/// Running sums of [`Agreement`] over some pixels.
#[derive(Clone, Copy, Default)]
struct Sums {
    pixels: usize,
    same: usize,
    abs: f64,
    signed: f64,
    mag: f64,
    prob: f64,
}

/// Runs the engine and the float graph on `thumbnails` and compares logits.
pub fn agreement(q: &Quantized, thumbnails: &[Vec<u8>]) -> Result<Agreement, QuantizeError> {
    use rayon::prelude::*;
    let model = q.graph.model().map_err(QuantizeError::Graph)?;
    let oq = model.output_quant();
    let (lo, hi) = (oq.dequantize(-128), oq.dequantize(127));
    let per = thumbnails
        .par_iter()
        .map(|t| {
            let mut input = vec![0i8; model.input_len()];
            model
                .quantize_input_u8(t, &mut input)
                .map_err(QuantizeError::Engine)?;
            let mut arena = vec![0u8; model.arena_bytes()];
            let mut out = vec![0i8; model.output_len()];
            engine::run(&model, &input, &mut arena, &mut out).map_err(QuantizeError::Engine)?;
            let mut prob = vec![0u8; out.len()];
            model
                .logits_to_probability_u8(&out, &mut prob)
                .map_err(QuantizeError::Engine)?;
            let x: Vec<f32> = t.iter().map(|&v| f32::from(v) / 255.0).collect();
            let f = q.float.logits(&x);
            let fp = sonomask_deploy::maps::probability_to_u8(
                &f.iter()
                    .map(|&l| 1.0 / (1.0 + (-l).exp()))
                    .collect::<Vec<_>>(),
            );
            let mut s = Sums {
                pixels: out.len(),
                ..Sums::default()
            };
            for (((&qi, &fl), &pq), &pf) in out.iter().zip(&f).zip(&prob).zip(&fp) {
                s.same += usize::from((qi >= oq.zero_point) == (fl >= 0.0));
                let fl = f64::from(fl.clamp(lo, hi));
                let e = f64::from(oq.dequantize(qi)) - fl;
                s.abs += e.abs();
                s.signed += e;
                s.mag += fl.abs();
                s.prob += f64::from(pq.abs_diff(pf));
            }
            Ok(s)
        })
        .collect::<Result<Vec<_>, QuantizeError>>()?;
    let n = per.iter().map(|s| s.pixels).sum::<usize>().max(1) as f64;
    let sum = |f: fn(&Sums) -> f64| per.iter().map(f).sum::<f64>() / n;
    Ok(Agreement {
        frames: thumbnails.len(),
        decision_agreement: sum(|s| s.same as f64),
        mean_abs_logit_error: sum(|s| s.abs),
        mean_logit_error: sum(|s| s.signed),
        mean_abs_logit: sum(|s| s.mag),
        mean_abs_probability_error: sum(|s| s.prob),
    })
}

/// One tensor in the report.
#[derive(Clone, Debug, Serialize)]
pub struct TensorReport {
    pub tensor: usize,
    /// What writes it (`input`, a layer name, `maxpool`, `upsample`, `add`).
    pub op: String,
    pub shape: String,
    #[serde(flatten)]
    pub range: TensorRange,
    pub scale: f32,
    pub zero_point: i8,
}

/// `FILE.snmk.json`: what made the blob.
#[derive(Clone, Debug, Serialize)]
pub struct QuantizeReport {
    pub format: String,
    pub version: u32,
    pub blob: PathBuf,
    pub blob_bytes: usize,
    pub signed: bool,
    pub arch: String,
    /// SHA-256 written into the blob header, hex.
    pub provenance: String,
    pub checkpoint: PathBuf,
    pub checkpoint_fnv1a64: String,
    pub calib: PathBuf,
    pub config: QuantizeConfig,
    /// `clip/frame` of every calibration frame, in order.
    pub calib_frames: Vec<String>,
    pub macs: u64,
    pub arena_bytes: usize,
    /// int8 against float on the calibration frames (in-sample).
    pub calib_agreement: Agreement,
    pub tensors: Vec<TensorReport>,
}

/// What to quantise and where to write it.
pub struct QuantizeRequest<'a> {
    pub checkpoint: &'a Path,
    pub calib: &'a Dataset,
    pub out: &'a Path,
    pub key: Option<&'a SigningKey>,
    pub config: QuantizeConfig,
}

/// Progress steps [`quantize_checkpoint`] reports for `frames` calibration
/// frames: one per frame loaded, per calibration pass and per check.
pub fn progress_steps(config: &QuantizeConfig, frames: usize) -> u64 {
    frames as u64 * (2 + calibrate::passes(config.method))
}

fn read(path: &Path) -> Result<Vec<u8>, DatasetError> {
    std::fs::read(path).map_err(|source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The checkpoint's metadata without its wall-clock figures (training
/// seconds, images/s and the epoch profile, overall and per epoch), re-serialised: the same
/// training run on a busier machine then gives the same provenance, so a
/// model remade with the same commands is the same blob, byte for byte.
/// Metadata that is not a JSON object is hashed as it is.
fn timeless_meta(bytes: &[u8]) -> Vec<u8> {
    const CLOCK: [&str; 5] = ["wall_s", "images_per_s", "seconds", "batch_s", "step_s"];
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return bytes.to_vec();
    };
    let Some(obj) = v.as_object_mut() else {
        return bytes.to_vec();
    };
    for k in CLOCK {
        obj.remove(k);
    }
    if let Some(epochs) = obj.get_mut("epochs").and_then(|e| e.as_array_mut()) {
        for e in epochs.iter_mut().filter_map(|e| e.as_object_mut()) {
            for k in CLOCK {
                e.remove(k);
            }
        }
    }
    serde_json::to_vec(&v).unwrap_or_else(|_| bytes.to_vec())
}

fn hash_part(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// The whole command: loads the checkpoint, calibrates, quantises, writes
/// `out` and `out.json` (each atomically, blob first). `on_step` ticks
/// [`progress_steps`] times.
pub fn quantize_checkpoint(
    req: QuantizeRequest<'_>,
    on_step: &(dyn Fn() + Sync),
) -> Result<QuantizeReport, QuantizeError> {
    use rayon::prelude::*;
    if req.config.calib_frames == 0 {
        return Err(QuantizeError::NoFrames);
    }
    let (net, meta) = checkpoint::load(req.checkpoint, &Device::flex())?;
    let mcfg = &meta.config.model;
    let (w, h) = (mcfg.input_w, mcfg.input_h);
    let float = FloatGraph::from_net(&net, h, w);

    let frames = calibration_frames(req.calib, req.config.calib_frames);
    let clips = req.calib.clips();
    let thumbs = frames
        .par_iter()
        .map(|&(c, f)| {
            let t = frames::load_thumbnail_u8(req.calib, &clips[c], f, w, h)?;
            on_step();
            Ok(t)
        })
        .collect::<Result<Vec<_>, DatasetError>>()?;

    let mut hasher = Sha256::new();
    hasher.update(b"sonomask-quantize/1\0");
    hash_part(&mut hasher, &read(req.checkpoint)?);
    let meta_path = checkpoint::meta_path(req.checkpoint);
    hash_part(&mut hasher, &timeless_meta(&read(&meta_path)?));
    hash_part(&mut hasher, req.config.method.to_string().as_bytes());
    hash_part(&mut hasher, &(frames.len() as u64).to_le_bytes());
    for &(c, f) in &frames {
        hash_part(&mut hasher, clips[c].id.as_bytes());
        hash_part(&mut hasher, &(f as u64).to_le_bytes());
        hash_part(&mut hasher, &read(&req.calib.frame_path(&clips[c].id, f))?);
    }
    let provenance: [u8; 32] = hasher.finalize().into();

    let q = quantize_graph(float, &thumbs, req.config.method, on_step);
    let calib_agreement = {
        let a = agreement(&q, &thumbs)?;
        (0..thumbs.len()).for_each(|_| on_step());
        a
    };
    let arch = arch_name(mcfg);
    let bytes = encode_blob(&q.graph, &arch, provenance, req.key)?;
    let model = q.graph.model().map_err(QuantizeError::Graph)?;

    let tensors = model
        .tensors()
        .iter()
        .enumerate()
        .map(|(t, info)| TensorReport {
            tensor: t,
            op: match t.checked_sub(1).map(|i| &q.float.ops[i]) {
                None => "input".into(),
                Some(FloatOp::Conv { name, .. }) => (*name).into(),
                Some(FloatOp::MaxPool { .. }) => "maxpool".into(),
                Some(FloatOp::Upsample { .. }) => "upsample".into(),
                Some(FloatOp::Add { .. }) => "add".into(),
            },
            shape: format!("{}×{}×{}", info.shape.c, info.shape.h, info.shape.w),
            range: q.ranges[t],
            scale: info.quant.scale,
            zero_point: info.quant.zero_point,
        })
        .collect();
    let report = QuantizeReport {
        format: REPORT_FORMAT.into(),
        version: 1,
        blob: req.out.to_path_buf(),
        blob_bytes: bytes.len(),
        signed: req.key.is_some(),
        arch,
        provenance: provenance.iter().map(|b| format!("{b:02x}")).collect(),
        checkpoint: req.checkpoint.to_path_buf(),
        checkpoint_fnv1a64: meta.weights_fnv1a64.clone(),
        calib: req.calib.root().to_path_buf(),
        config: req.config,
        calib_frames: frames
            .iter()
            .map(|&(c, f)| format!("{}/{f:03}", clips[c].id))
            .collect(),
        macs: q.float.macs(),
        arena_bytes: model.arena_bytes(),
        calib_agreement,
        tensors,
    };
    dataset::write_atomic(req.out, &bytes)?;
    dataset::write_json(&report_path(req.out), &report)?;
    Ok(report)
}

/// Where the report of blob `out` goes: `out.json`.
pub fn report_path(out: &Path) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

/// The quantised ops that are convolutions, for tests and tools.
pub fn convs(graph: &QuantGraph) -> impl Iterator<Item = &int8_graph::QuantConv> {
    graph.ops.iter().filter_map(|op| match op {
        QuantOp::Conv(c) => Some(c),
        _ => None,
    })
}

#[cfg(test)]
mod tests;
