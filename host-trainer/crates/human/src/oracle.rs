//! Simulated humans, for unattended runs and experiments: a reviewer who
//! accepts or rejects weak labels (`sonomask check --oracle`) and an
//! annotator who draws the sector with realistic hand noise
//! (`sonomask annotate --oracle`). Both see the ground truth, make mistakes
//! at a configured rate, and book the time a person would have spent, so an
//! experiment can weigh accuracy against human effort.
//!
//! Every random choice is seeded per clip (`seed` mixed with the clip id), so
//! results do not depend on order or on which clips were already decided.

use std::path::Path;

use rand::{Rng, SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, Normal};
use serde::Serialize;
use sonomask_core::metrics::Confusion;
use sonomask_core::{Fan, Rect, Region, Regions};

use crate::hq;
use crate::journal::{self, Decision, JournalError, Verdict};
use sonomask_data::dataset::{self, Dataset, DatasetError};

/// Errors of the simulated reviewer and annotator.
#[derive(Debug, thiserror::Error)]
pub enum OracleError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("clip {clip}: {message}")]
    Clip { clip: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// A per-clip random generator: the same seed and clip always draw the same.
fn clip_rng(seed: u64, clip: &str, purpose: u64) -> StdRng {
    // FNV-1a over the id, mixed with the seed and purpose.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in clip.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    StdRng::seed_from_u64(h ^ seed.rotate_left(17) ^ purpose.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// How the simulated reviewer behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckParams {
    /// A label with at least this Dice against the truth deserves acceptance.
    pub accept_dice: f64,
    /// Probability that the reviewer decides the other way (human error).
    pub error_rate: f64,
    /// Mean seconds one check takes (each check draws 0.5×–1.5× of it).
    pub seconds_per_check: f64,
    pub seed: u64,
    pub reviewer: String,
}

impl Default for CheckParams {
    fn default() -> Self {
        Self {
            accept_dice: 0.95,
            error_rate: 0.05,
            seconds_per_check: 2.0,
            seed: 0,
            reviewer: "oracle".into(),
        }
    }
}

impl CheckParams {
    fn validate(&self) -> Result<(), OracleError> {
        if !(0.0..=1.0).contains(&self.accept_dice) || !(0.0..=1.0).contains(&self.error_rate) {
            return Err(OracleError::Invalid(
                "--accept-dice and --error-rate must be within [0, 1]".into(),
            ));
        }
        if !(self.seconds_per_check.is_finite() && self.seconds_per_check >= 0.0) {
            return Err(OracleError::Invalid(
                "--seconds-per-check must be ≥ 0".into(),
            ));
        }
        Ok(())
    }
}

/// What a check run did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CheckSummary {
    pub checked: usize,
    /// Clips that already had a standing decision for this label set.
    pub already_decided: usize,
    pub accepted: usize,
    pub rejected: usize,
    /// Decisions that disagree with what the truth deserved.
    pub mistakes: usize,
    pub human_seconds: f64,
}

/// Checks every clip's label in `labels_dir` against the truth and appends
/// one decision per clip to the journal; clips already decided for this
/// label set (`labels_name`) are skipped, so an interrupted run resumes.
pub fn check(
    data: &Dataset,
    labels_dir: &Path,
    labels_name: &str,
    params: &CheckParams,
    journal_path: &Path,
    on_clip: &dyn Fn(),
) -> Result<CheckSummary, OracleError> {
    check_where(
        data,
        &|_| true,
        labels_dir,
        labels_name,
        params,
        journal_path,
        on_clip,
    )
}

/// [`check`] for the clips `include` selects (the refinement loop checks
/// proposals for clips outside its training set only).
pub fn check_where(
    data: &Dataset,
    include: &dyn Fn(&str) -> bool,
    labels_dir: &Path,
    labels_name: &str,
    params: &CheckParams,
    journal_path: &Path,
    on_clip: &dyn Fn(),
) -> Result<CheckSummary, OracleError> {
    params.validate()?;
    let past = journal::read(journal_path)?;
    journal::check_clips(journal_path, &past, |c| data.clip(c).is_ok())?;
    let standing = journal::standing(&past, labels_name);
    // Read every label before writing anything: a missing or bad mask stops
    // the run before the journal changes.
    let mut todo = Vec::new();
    let mut summary = CheckSummary::default();
    for c in data.clips().iter().filter(|c| include(&c.id)) {
        if standing.contains_key(&c.id) {
            summary.already_decided += 1;
            continue;
        }
        let label = dataset::read_label_mask(labels_dir, c)?;
        let truth = data.load_sector(&c.id)?;
        let dice = Confusion::compute(label.as_raw(), truth.as_raw())
            .map_err(|e| OracleError::Clip {
                clip: c.id.clone(),
                message: e.to_string(),
            })?
            .dice();
        todo.push((c.id.clone(), dice));
    }
    let mut writer = journal::Writer::open(journal_path)?;
    for (clip, dice) in todo {
        let mut rng = clip_rng(params.seed, &clip, 1);
        let deserved = dice >= params.accept_dice;
        let mistake = rng.random::<f64>() < params.error_rate;
        let accept = deserved != mistake;
        let seconds = params.seconds_per_check * (0.5 + rng.random::<f64>());
        writer.append(&Decision {
            clip,
            labels: labels_name.to_string(),
            decision: if accept {
                Verdict::Accept
            } else {
                Verdict::Reject
            },
            reviewer: params.reviewer.clone(),
            seconds,
            time: journal::now_rfc3339(),
            dice: Some(dice),
            request: None,
        })?;
        summary.checked += 1;
        summary.mistakes += usize::from(mistake);
        if accept {
            summary.accepted += 1;
        } else {
            summary.rejected += 1;
        }
        summary.human_seconds += seconds;
        on_clip();
    }
    Ok(summary)
}

/// How the simulated annotator draws.
#[derive(Clone, Debug, PartialEq)]
pub struct AnnotateParams {
    /// Number of clips to draw.
    pub clips: usize,
    /// Standard deviation (px) of where a drawn edge, apex or arc lands.
    pub edge_noise_px: f64,
    /// Seconds one drawing takes.
    pub seconds_per_mask: f64,
    pub seed: u64,
    /// Clips to draw before any other (e.g. those whose weak label the
    /// reviewer rejected: exactly where the cheap labels fail, so where a
    /// drawing teaches the most). The seeded sample is taken within them
    /// first, then among the rest.
    pub prefer: std::collections::BTreeSet<String>,
}

impl Default for AnnotateParams {
    fn default() -> Self {
        Self {
            clips: 20,
            edge_noise_px: 1.5,
            seconds_per_mask: 30.0,
            seed: 0,
            prefer: Default::default(),
        }
    }
}

pub use crate::hq::HqLabel;

/// What an annotate run did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AnnotateSummary {
    pub drawn: usize,
    pub human_seconds: f64,
    /// Mean Dice of the drawn masks against the truth.
    pub mean_dice: f64,
}

/// Moves a region's handles by hand-like noise of `sigma` px: the apex, the
/// ends of both edges (an angle error of sigma over the fan's length), the
/// arcs and the flat top; a rectangle's four sides.
pub fn jitter_region(r: &Region, sigma: f64, rng: &mut StdRng) -> Region {
    let Ok(n) = Normal::new(0.0, sigma.max(0.0)) else {
        return *r;
    };
    let mut d = || n.sample(rng) as f32;
    match *r {
        Region::Fan(f) => {
            let len = f.r_outer.max(1.0);
            Region::Fan(Fan {
                apex_x: f.apex_x + d(),
                apex_y: f.apex_y + d(),
                angle_left: f.angle_left + d() / len,
                angle_right: f.angle_right + d() / len,
                r_inner: if f.r_inner > 0.0 {
                    (f.r_inner + d()).max(0.0)
                } else {
                    0.0
                },
                r_outer: f.r_outer + d(),
                flat_top: f.flat_top.map(|t| t + d()),
                clip: f.clip,
            })
        }
        Region::Rect(q) => Region::Rect(Rect::new(q.x0 + d(), q.y0 + d(), q.x1 + d(), q.y1 + d())),
    }
}

/// A seeded sample of `k` clips of `data`, in sample order: clips sorted by
/// a per-clip random key, so the sample of a larger `k` extends the smaller
/// one; clips in `prefer` come first. The simulated and the interactive
/// annotator draw the same clips for the same seed.
pub fn sample_clips<'d>(
    data: &'d Dataset,
    k: usize,
    seed: u64,
    prefer: &std::collections::BTreeSet<String>,
) -> Vec<&'d dataset::ClipEntry> {
    let mut order: Vec<_> = data
        .clips()
        .iter()
        .map(|c| {
            let key = clip_rng(seed, &c.id, 2).random::<u64>();
            ((!prefer.contains(&c.id), key), c)
        })
        .collect();
    order.sort_by_key(|(key, c)| (*key, c.id.clone()));
    order.into_iter().take(k).map(|(_, c)| c).collect()
}

/// Draws `params.clips` clips (a seeded sample of the dataset) from their
/// true geometry with hand noise, writing `out/<clip>.png` (255 = keep) and
/// `out/<clip>.json` ([`HqLabel`]).
pub fn annotate(
    data: &Dataset,
    out: &Path,
    params: &AnnotateParams,
    on_clip: &dyn Fn(),
) -> Result<AnnotateSummary, OracleError> {
    if params.clips == 0 || params.clips > data.clips().len() {
        return Err(OracleError::Invalid(format!(
            "--clips must be within 1..={} (the dataset's clip count)",
            data.clips().len()
        )));
    }
    if !(params.edge_noise_px.is_finite() && params.edge_noise_px >= 0.0) {
        return Err(OracleError::Invalid("--edge-noise-px must be ≥ 0".into()));
    }
    let chosen = sample_clips(data, params.clips, params.seed, &params.prefer);
    // Truth for all of them first: no partial output when one lacks it.
    let mut truths = Vec::new();
    for c in &chosen {
        let meta = data.load_meta(&c.id)?;
        let regions: Regions = meta
            .get("regions")
            .cloned()
            .ok_or_else(|| OracleError::Clip {
                clip: c.id.clone(),
                message: "meta.json has no ground-truth regions (the oracle draws from known sectors: synthetic clips, or real ones ingested with --truth)".into(),
            })
            .and_then(|v| {
                serde_json::from_value(v).map_err(|e| OracleError::Clip {
                    clip: c.id.clone(),
                    message: format!("bad regions in meta.json: {e}"),
                })
            })?;
        truths.push((*c, regions, data.load_sector(&c.id)?));
    }
    std::fs::create_dir_all(out).map_err(|source| DatasetError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let mut summary = AnnotateSummary::default();
    for (c, truth_regions, truth) in truths {
        let mut rng = clip_rng(params.seed, &c.id, 3);
        let mut drawn = Regions::new();
        for r in truth_regions.iter() {
            let _ = drawn.push(jitter_region(r, params.edge_noise_px, &mut rng));
        }
        let seconds = params.seconds_per_mask * (0.75 + 0.5 * rng.random::<f64>());
        let mask = hq::write(
            out,
            c,
            &HqLabel {
                clip: c.id.clone(),
                regions: drawn,
                annotator: "oracle".into(),
                seconds,
                time: journal::now_rfc3339(),
            },
        )?;
        let dice = Confusion::compute(mask.as_raw(), truth.as_raw())
            .map(|m| m.dice())
            .unwrap_or(0.0);
        summary.drawn += 1;
        summary.human_seconds += seconds;
        summary.mean_dice += dice;
        on_clip();
    }
    summary.mean_dice /= summary.drawn.max(1) as f64;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_is_seeded_and_small() {
        let fan = Region::Fan(Fan {
            apex_x: 320.0,
            apex_y: 30.0,
            angle_left: -0.7,
            angle_right: 0.7,
            r_inner: 0.0,
            r_outer: 400.0,
            flat_top: Some(40.0),
            clip: None,
        });
        let a = jitter_region(&fan, 1.5, &mut clip_rng(1, "c", 3));
        let b = jitter_region(&fan, 1.5, &mut clip_rng(1, "c", 3));
        let c = jitter_region(&fan, 1.5, &mut clip_rng(2, "c", 3));
        assert_eq!(a, b);
        assert_ne!(a, c);
        let Region::Fan(f) = a else { panic!() };
        assert!((f.apex_x - 320.0).abs() < 8.0 && (f.r_outer - 400.0).abs() < 8.0);
        assert_eq!(jitter_region(&fan, 0.0, &mut clip_rng(1, "c", 3)), fan);
    }
}
