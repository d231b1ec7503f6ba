//! Scoring keep masks against a dataset's ground truth with the shared
//! metrics (`sonomask_core::metrics`), the one definition every stage uses.

use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;
use sonomask_core::metrics;

use crate::dataset::{self, Dataset, DatasetError};

/// Metrics of one clip's keep mask.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ClipScore {
    pub clip: String,
    pub pixel_accuracy: f64,
    pub dice: f64,
    pub iou: f64,
    pub phi_leak: f64,
    pub signal_loss: f64,
    /// Symmetric mean distance between the mask's and the sector's boundary (px).
    pub boundary_px: f64,
}

/// Means over clips, plus the per-clip rows.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Summary {
    pub clips: usize,
    pub pixel_accuracy: f64,
    pub dice: f64,
    pub iou: f64,
    pub phi_leak: f64,
    pub signal_loss: f64,
    pub boundary_px: f64,
    pub per_clip: Vec<ClipScore>,
}

/// Errors scoring masks.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error("clip {clip}: {message}")]
    Metrics { clip: String, message: String },
}

/// Scores one predicted keep mask (255/0 bytes) against truth and overlay.
pub fn score_mask(
    clip: &str,
    pred: &[u8],
    truth: &[u8],
    overlay: &[u8],
    width: u32,
    height: u32,
) -> Result<ClipScore, EvalError> {
    let err = |e: &dyn std::fmt::Display| EvalError::Metrics {
        clip: clip.to_string(),
        message: e.to_string(),
    };
    let m = metrics::MaskMetrics::compute(pred, truth, overlay).map_err(|e| err(&e))?;
    let mut scratch = vec![0f32; metrics::boundary_scratch_len(width as usize, height as usize)];
    let boundary_px =
        metrics::mean_boundary_distance(pred, truth, width as usize, height as usize, &mut scratch)
            .map_err(|e| err(&e))?;
    // One mask empty and the other not: no finite boundary distance; count
    // it as the frame diagonal (the worst possible) so means stay finite.
    let boundary_px = if boundary_px.is_finite() {
        boundary_px
    } else {
        (f64::from(width).powi(2) + f64::from(height).powi(2)).sqrt()
    };
    Ok(ClipScore {
        clip: clip.to_string(),
        pixel_accuracy: m.pixel_accuracy,
        dice: m.dice,
        iou: m.iou,
        phi_leak: m.phi_leak,
        signal_loss: m.signal_loss,
        boundary_px,
    })
}

/// Scores every clip of `data` against `masks/<clip-id>.png`.
pub fn evaluate(data: &Dataset, masks: &Path) -> Result<Summary, EvalError> {
    let per_clip = data
        .clips()
        .par_iter()
        .map(|c| {
            let truth = data.load_sector(&c.id)?;
            let overlay = data.load_overlay(&c.id)?;
            let pred = dataset::read_label_mask(masks, c)?;
            score_mask(
                &c.id,
                pred.as_raw(),
                truth.as_raw(),
                overlay.as_raw(),
                c.width,
                c.height,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(summarise(per_clip))
}

/// Means over clips (an empty list gives zeros and `clips: 0`).
pub fn summarise(per_clip: Vec<ClipScore>) -> Summary {
    let n = per_clip.len().max(1) as f64;
    let mean = |f: fn(&ClipScore) -> f64| per_clip.iter().map(f).sum::<f64>() / n;
    Summary {
        clips: per_clip.len(),
        pixel_accuracy: mean(|c| c.pixel_accuracy),
        dice: mean(|c| c.dice),
        iou: mean(|c| c.iou),
        phi_leak: mean(|c| c.phi_leak),
        signal_loss: mean(|c| c.signal_loss),
        boundary_px: mean(|c| c.boundary_px),
        per_clip,
    }
}
