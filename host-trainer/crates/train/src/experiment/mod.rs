//! Repeated-run experiments (the paper's second contribution): every arm of
//! a configuration runs once per seed, each (arm, seed) pair an independent
//! job with its own result file, and `report` compares the arms'
//! distributions with t-tests.
//!
//! ```text
//! RUNS/experiment.json              the resolved configuration (what `report` reads)
//! RUNS/data/pool, RUNS/data/test    the fixed datasets, generated once per config
//! RUNS/data/real                    the real test set ([data] real), ingested once
//! RUNS/data/labels/<labeler>        weak labels of the pool, shared by all jobs
//! RUNS/results/<arm>/<seed>.json    one result per finished job
//! RUNS/cache/pretrain/<key>.bpk     pretrained checkpoints arms share (see [`job`])
//! RUNS/work/<arm>/<seed>/           a job's scratch (labels, journal, checkpoints);
//!                                   removed once its result is written
//! ```
//!
//! Jobs are sorted by (arm, seed) and dealt round-robin to `--shard i/n`, so
//! any number of machines sharing (or later merging) `RUNS/results` cover
//! every job exactly once. A job whose result exists is skipped, so a run
//! resumes after an interruption; a job restarts from scratch, so a result
//! never depends on a half-finished earlier attempt.
//!
//! - [`config`]: the TOML file, validated into an [`config::ExperimentConfig`].
//! - [`shard`]: the job list and its slicing.
//! - [`data`]: the fixed datasets and shared labels, built once even when
//!   several processes start together.
//! - [`job`]: one (arm, seed): the recipe's stages, scored on the test set.
//! - [`run`]: the scheduler (resume, shard, parallel jobs).
//! - [`report`]: statistics, `report.md`, `results.csv`; [`plot`]: the figures.

pub mod config;
pub mod data;
pub mod job;
pub mod plot;
pub mod report;
pub mod run;
pub mod shard;

use std::path::PathBuf;

use crate::recipe::RecipeError;
use sonomask_data::dataset::DatasetError;
use sonomask_data::evaluate::EvalError;
use sonomask_data::ingest::IngestError;
use sonomask_human::oracle::OracleError;

/// Errors of experiment runs and reports; each names what it is about.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Recipe(#[from] RecipeError),
    #[error(transparent)]
    Eval(#[from] EvalError),
    #[error(transparent)]
    Oracle(#[from] OracleError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// Results or data in RUNS that another configuration made.
    #[error("{path}: {message}")]
    Conflict { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    BadResult { path: PathBuf, message: String },
    #[error("{0}")]
    NoResults(String),
    #[error("plot {path}: {message}")]
    Plot { path: PathBuf, message: String },
    #[error("{} job(s) failed:\n  {}", .0.len(), .0.join("\n  "))]
    JobsFailed(Vec<String>),
    #[error("{0}")]
    Invalid(String),
}

pub(crate) fn io_err(
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> ExperimentError + '_ {
    move |source| ExperimentError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An error and its sources, `: `-separated (thiserror's `Display` shows only
/// the outermost message; the sources say which file and why).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.ends_with(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}
