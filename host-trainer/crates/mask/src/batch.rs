//! A whole `sonomask mask` run over many files: the model loaded once
//! (magic, CRC, signature), the inputs collected, every file masked in
//! parallel, then the review queue (with each rejected proposal beside it)
//! and `mask-report.json`, each written atomically.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;
use sonomask_data::dataset::{self, DatasetError};
use sonomask_data::ingest::{self, IngestError};
use sonomask_data::progress;

use crate::deid::UidMap;
use crate::review_queue::{self, ReviewQueue};
use crate::{FileReport, MaskOptions, Masker, keep_mask, process_file};
use sonomask_deploy::DeployError;
use sonomask_deploy::blob_inference::{self, EnginePredictor};
use sonomask_deploy::maps;
use sonomask_deploy::model_file::{self, ModelFileError};

/// Why a mask run could not start or finish (a single file's failure is a
/// [`Skipped`] entry instead).
#[derive(Debug, thiserror::Error)]
pub enum MaskRunError {
    #[error("{0}: not an int8 model blob (no SNMK magic); `sonomask quantize` makes one")]
    NotABlob(PathBuf),
    #[error("reading {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    ModelFile(#[from] ModelFileError),
    #[error(transparent)]
    Deploy(#[from] DeployError),
}

/// The model and how to trust it.
#[derive(Clone, Copy, Debug)]
pub struct ModelSource<'a> {
    /// The int8 blob (`.snmk`).
    pub path: &'a Path,
    /// Public key a signed blob must verify with.
    pub pubkey: Option<&'a Path>,
    /// Refuse the blob unless it is signed and verifies with `pubkey`.
    pub require_signature: bool,
}

/// A file that could not be masked (nothing was written for it).
#[derive(Clone, Debug, Serialize)]
pub struct Skipped {
    pub input: PathBuf,
    pub error: String,
}

/// `OUTDIR/mask-report.json`.
#[derive(Serialize)]
struct RunReport<'a> {
    model: &'a Path,
    deid_header: bool,
    files: Vec<&'a FileReport>,
    skipped: &'a [Skipped],
    masked: usize,
    failed_closed: usize,
    seconds: f64,
}

/// What a run did.
pub struct Outcome {
    /// Input files found.
    pub files: usize,
    /// One per masked file (failed-closed ones included), in input order.
    pub reports: Vec<FileReport>,
    pub skipped: Vec<Skipped>,
    /// The failed-closed clips and the commands that open them for review.
    pub queue: ReviewQueue,
    pub seconds: f64,
}

impl Outcome {
    pub fn failed_closed(&self) -> usize {
        self.reports.iter().filter(|r| r.failed_closed()).count()
    }

    /// Every input was skipped: nothing at all was masked.
    pub fn nothing_masked(&self) -> bool {
        self.reports.is_empty() && !self.skipped.is_empty()
    }
}

/// Masks every file of `inputs` (files, or folders searched recursively)
/// into `out` with the blob of `model`, keeping map pixels with at least
/// `keep_probability`.
pub fn mask_files(
    model: ModelSource<'_>,
    inputs: &[PathBuf],
    out: &Path,
    opts: MaskOptions,
    keep_probability: f64,
) -> Result<Outcome, MaskRunError> {
    let t0 = std::time::Instant::now();
    let model_path = model.path;
    if !blob_inference::is_blob_file(model_path)? {
        return Err(MaskRunError::NotABlob(model_path.to_path_buf()));
    }
    let keep_level = maps::keep_level(keep_probability)?;
    let bytes = std::fs::read(model_path).map_err(|source| MaskRunError::Io {
        path: model_path.to_path_buf(),
        source,
    })?;
    let key = model_file::read_verifying_key_if_given(model.pubkey)?;
    let blob = blob_inference::load_blob(
        model_path,
        &bytes,
        model_file::signature_policy(key.as_ref(), model.require_signature),
    )?;
    let masker = Masker {
        engine: EnginePredictor::new(model_path, &blob)?,
        keep_level,
        motion_prior: !opts.no_motion_prior,
        edge_snap: !opts.no_edge_snap,
    };

    let mut files = Vec::new();
    for i in inputs {
        ingest::collect(i, true, &mut files)?;
    }
    std::fs::create_dir_all(out).map_err(|source| DatasetError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let ids = review_queue::ingest_ids(&files);
    let uids = UidMap::default();
    let pb = progress::bar(files.len() as u64, "mask");
    let results: Vec<_> = files
        .par_iter()
        .zip(&ids)
        .map(|(f, id)| {
            let r = process_file(&masker, f, id, out, opts, &uids);
            pb.inc(1);
            r
        })
        .collect();
    pb.finish_and_clear();

    let mut reports = Vec::new();
    let mut skipped = Vec::new();
    for (f, r) in files.iter().zip(results) {
        match r {
            Ok(rep) => reports.push(rep),
            Err(e) => skipped.push(Skipped {
                input: f.clone(),
                error: e.to_string(),
            }),
        }
    }

    // The review queue, with the rejected proposals beside it.
    let failed: Vec<&FileReport> = reports.iter().filter(|r| r.failed_closed()).collect();
    let queue = review_queue::build(
        model_path,
        out,
        &failed
            .iter()
            .map(|r| {
                (
                    r.input.clone(),
                    r.output.clone(),
                    r.reason.clone().unwrap_or_default(),
                )
            })
            .collect::<Vec<_>>(),
    );
    if !queue.items.is_empty() {
        let dir = out.join("review");
        std::fs::create_dir_all(&dir).map_err(|source| DatasetError::Io {
            path: dir.clone(),
            source,
        })?;
        for (item, r) in queue.items.iter().zip(&failed) {
            let proposal = keep_mask(r.proposal.as_ref(), r.width, r.height);
            dataset::write_png(&item.proposal, &proposal)?;
        }
    }
    dataset::write_json(&out.join("review-queue.json"), &queue)?;

    let seconds = t0.elapsed().as_secs_f64();
    let report = RunReport {
        model: model_path,
        deid_header: opts.deid_header,
        files: reports.iter().collect(),
        masked: reports.len() - failed.len(),
        failed_closed: failed.len(),
        skipped: &skipped,
        seconds,
    };
    dataset::write_json(&out.join("mask-report.json"), &report)?;
    Ok(Outcome {
        files: files.len(),
        reports,
        skipped,
        queue,
        seconds,
    })
}
