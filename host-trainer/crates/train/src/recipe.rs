//! The paper's method as one call: weak labels → simulated check →
//! pretrain on the accepted labels → human-drawn set → refine → score.
//! `sonomask demo` runs it on fresh synthetic data; experiments run its
//! stages per arm and seed. Every stage is a library call the CLI also
//! exposes (`weak-label`, `check`, `annotate`, `train`, `predict`, `eval`),
//! so the recipe is exactly what a user would type.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::inference::Predictor;
use crate::training::{self, TrainRequest, TrainingConfig};
use crate::{self as trainer, DeviceChoice, TrainError};
use sonomask_data::dataset::{Dataset, DatasetError};
use sonomask_data::evaluate::{self, EvalError, Summary};
use sonomask_data::weak::{self, Method};
use sonomask_deploy::maps as inference;
use sonomask_human::journal::{self, JournalError, Verdict};
use sonomask_human::oracle::{self, AnnotateParams, CheckParams, OracleError};

/// Errors of a recipe run.
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Oracle(#[from] OracleError),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Eval(#[from] EvalError),
    #[error(transparent)]
    Deploy(#[from] sonomask_deploy::DeployError),
    /// Settings that make no sense (e.g. zero rounds).
    #[error("{0}")]
    Invalid(String),
}

/// What the recipe runs on and how.
pub struct Recipe {
    /// Unlabelled pool (synthetic: the oracles need its ground truth).
    pub pool: PathBuf,
    /// Held-out test set with ground truth.
    pub test: PathBuf,
    /// Work folder for labels, journal, checkpoints and masks.
    pub work: PathBuf,
    pub weak: Method,
    pub check: CheckParams,
    /// The drawn set; clips the check rejected are drawn first.
    pub annotate: AnnotateParams,
    pub pretrain: TrainingConfig,
    pub refine: TrainingConfig,
    pub device: DeviceChoice,
}

/// A trained stage: where its checkpoint is and what it scored.
#[derive(Clone, Debug, Serialize)]
pub struct Stage {
    pub model: PathBuf,
    pub test: Summary,
    pub train_s: f64,
    pub images_per_s: f64,
    pub epochs: usize,
}

/// Everything the recipe measured.
#[derive(Clone, Debug, Serialize)]
pub struct RecipeReport {
    /// The weak labels of the test clips, scored directly.
    pub weak_on_test: Summary,
    pub checked: usize,
    pub accepted: usize,
    pub check_seconds: f64,
    pub drawn: usize,
    pub draw_seconds: f64,
    pub pretrain: Stage,
    pub refine: Stage,
}

/// What the recipe is doing, for progress output.
pub type OnStage<'a> = &'a mut dyn FnMut(&str);

impl Recipe {
    /// Runs every stage and scores both models on the test set.
    pub fn run(&self, on_stage: OnStage<'_>) -> Result<RecipeReport, RecipeError> {
        let pool = Dataset::open(&self.pool)?;
        let test = Dataset::open(&self.test)?;
        let w = &self.work;
        let weak_dir = w.join(self.weak.name());

        on_stage("weak labels");
        weak::label_dataset(self.weak, &pool, &weak_dir, &|| {})?;
        let weak_test = w.join(format!("test-{}", self.weak.name()));
        weak::label_dataset(self.weak, &test, &weak_test, &|| {})?;
        let weak_on_test = evaluate::evaluate(&test, &weak_test)?;

        on_stage("simulated check");
        let journal = w.join("checks.jsonl");
        let checked = simulated_check(&pool, &weak_dir, self.weak, &self.check, &journal)?;

        on_stage("simulated drawing");
        let hq = w.join("hq");
        let drawn = oracle::annotate(
            &pool,
            &hq,
            &AnnotateParams {
                prefer: checked.rejected.clone(),
                ..self.annotate.clone()
            },
            &|| {},
        )?;

        on_stage("pretraining");
        let pre = w.join("pretrain.bpk");
        let pretrain = train_and_score(
            &pool,
            &test,
            TrainStep {
                labels: &weak_dir,
                decisions: Some(&journal),
                init: None,
                out: &pre,
                config: &self.pretrain,
            },
            self.device,
        )?;
        on_stage("refining");
        let refined = w.join("refine.bpk");
        let refine = train_and_score(
            &pool,
            &test,
            TrainStep {
                labels: &hq,
                decisions: None,
                init: Some(&pre),
                out: &refined,
                config: &self.refine,
            },
            self.device,
        )?;
        Ok(RecipeReport {
            weak_on_test,
            checked: checked.checked,
            accepted: checked.accepted,
            check_seconds: checked.human_seconds,
            drawn: drawn.drawn,
            draw_seconds: drawn.human_seconds,
            pretrain,
            refine,
        })
    }
}

/// The reviewer's verdicts after a simulated check.
#[derive(Clone, Debug, Serialize)]
pub struct Checked {
    /// Clips with a standing decision (checked now or before).
    pub checked: usize,
    pub accepted: usize,
    /// Clips whose label the reviewer rejected: where drawing helps most.
    pub rejected: BTreeSet<String>,
    /// Review time booked in the journal for this label set.
    pub human_seconds: f64,
}

/// Lets the simulated reviewer check `method`'s labels in `labels` (a folder
/// named after the method, as `sonomask check` expects) and reads the
/// standing verdicts and booked time back from `journal`.
pub fn simulated_check(
    pool: &Dataset,
    labels: &Path,
    method: Method,
    params: &CheckParams,
    journal: &Path,
) -> Result<Checked, RecipeError> {
    oracle::check(pool, labels, method.name(), params, journal, &|| {})?;
    let decisions = journal::read(journal)?;
    let standing = journal::standing(&decisions, method.name());
    Ok(Checked {
        checked: standing.len(),
        accepted: standing.values().filter(|v| **v == Verdict::Accept).count(),
        rejected: standing
            .into_iter()
            .filter(|(_, v)| *v == Verdict::Reject)
            .map(|(c, _)| c)
            .collect(),
        human_seconds: decisions
            .iter()
            .filter(|d| d.labels == method.name())
            .map(|d| d.seconds)
            .sum(),
    })
}

/// One training run: what it learns from and where the checkpoint goes.
pub struct TrainStep<'a> {
    /// Keep masks, `<clip>.png`.
    pub labels: &'a Path,
    /// A journal: train only on the clips accepted there.
    pub decisions: Option<&'a Path>,
    /// Start from this checkpoint instead of fresh weights.
    pub init: Option<&'a Path>,
    pub out: &'a Path,
    pub config: &'a TrainingConfig,
}

/// A finished training run.
#[derive(Clone, Debug, Serialize)]
pub struct Trained {
    pub model: PathBuf,
    pub train_s: f64,
    pub images_per_s: f64,
    pub epochs: usize,
    pub best_epoch: usize,
}

/// Trains on `pool` as `step` says (`sonomask train`).
pub fn train(
    pool: &Dataset,
    step: TrainStep<'_>,
    device: DeviceChoice,
) -> Result<Trained, RecipeError> {
    let t0 = Instant::now();
    let meta = training::train(
        TrainRequest {
            data: pool,
            labels: step.labels,
            extra: &[],
            decisions: step.decisions,
            init: step.init,
            out: step.out,
            device,
            config: step.config.clone(),
        },
        &mut |_| {},
    )?;
    Ok(Trained {
        model: step.out.to_path_buf(),
        train_s: t0.elapsed().as_secs_f64(),
        images_per_s: meta.images_per_s,
        epochs: meta.epochs.len(),
        best_epoch: meta.best_epoch,
    })
}

/// [`train`], then [`score_model`] on `test` (masks beside the checkpoint).
pub fn train_and_score(
    pool: &Dataset,
    test: &Dataset,
    step: TrainStep<'_>,
    device: DeviceChoice,
) -> Result<Stage, RecipeError> {
    let out = step.out.to_path_buf();
    let trained = train(pool, step, device)?;
    let test_score = score_model(&out, test, &out.with_extension("test-masks"), device)?;
    Ok(Stage {
        model: trained.model,
        test: test_score,
        train_s: trained.train_s,
        images_per_s: trained.images_per_s,
        epochs: trained.epochs,
    })
}

/// Predicts `test` with the checkpoint `model` into `masks` and scores it.
pub fn score_model(
    model: &Path,
    test: &Dataset,
    masks: &Path,
    device: DeviceChoice,
) -> Result<Summary, RecipeError> {
    let predictor = Predictor::load(model, trainer::device(device)?)?;
    inference::predict_dataset(
        &predictor,
        "float",
        model,
        test,
        masks,
        &Default::default(),
        &|_| {},
    )?;
    Ok(evaluate::evaluate(test, masks)?)
}
