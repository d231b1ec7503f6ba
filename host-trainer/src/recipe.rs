//! The paper's method as one call: weak labels → simulated check →
//! pretrain on the accepted labels → human-drawn set → refine → score.
//! `sonomask demo` runs it on fresh synthetic data; experiments run its
//! stages per arm and seed. Every stage is a library call the CLI also
//! exposes (`weak-label`, `check`, `annotate`, `train`, `predict`, `eval`),
//! so the recipe is exactly what a user would type.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::dataset::{Dataset, DatasetError};
use crate::evaluate::{self, EvalError, Summary};
use crate::journal::{self, JournalError, Verdict};
use crate::oracle::{self, AnnotateParams, CheckParams, OracleError};
use crate::train::inference::{self, Predictor};
use crate::train::training::{self, TrainRequest, TrainingConfig};
use crate::train::{self as trainer, DeviceChoice, TrainError};
use crate::weak::{self, Method};

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
        let checked = oracle::check(
            &pool,
            &weak_dir,
            self.weak.name(),
            &self.check,
            &journal,
            &|| {},
        )?;
        let decisions = journal::read(&journal)?;
        let rejected = journal::standing(&decisions, self.weak.name())
            .into_iter()
            .filter(|(_, v)| *v == Verdict::Reject)
            .map(|(c, _)| c)
            .collect();

        on_stage("simulated drawing");
        let hq = w.join("hq");
        let drawn = oracle::annotate(
            &pool,
            &hq,
            &AnnotateParams {
                prefer: rejected,
                ..self.annotate.clone()
            },
            &|| {},
        )?;

        on_stage("pretraining");
        let pre = w.join("pretrain.bpk");
        let pretrain = self.train_and_score(
            &pool,
            &test,
            &weak_dir,
            Some(&journal),
            None,
            &pre,
            &self.pretrain,
        )?;
        on_stage("refining");
        let refined = w.join("refine.bpk");
        let refine =
            self.train_and_score(&pool, &test, &hq, None, Some(&pre), &refined, &self.refine)?;
        Ok(RecipeReport {
            weak_on_test,
            checked: checked.checked + checked.already_decided,
            accepted: journal::accepted(&decisions, |l| l == self.weak.name()).len(),
            check_seconds: checked.human_seconds,
            drawn: drawn.drawn,
            draw_seconds: drawn.human_seconds,
            pretrain,
            refine,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn train_and_score(
        &self,
        pool: &Dataset,
        test: &Dataset,
        labels: &Path,
        decisions: Option<&Path>,
        init: Option<&Path>,
        out: &Path,
        config: &TrainingConfig,
    ) -> Result<Stage, RecipeError> {
        let t0 = Instant::now();
        let meta = training::train(
            TrainRequest {
                data: pool,
                labels,
                decisions,
                init,
                out,
                device: self.device,
                config: config.clone(),
            },
            &mut |_| {},
        )?;
        let train_s = t0.elapsed().as_secs_f64();
        let masks = out.with_extension("test-masks");
        let test_score = score_model(out, test, &masks, self.device)?;
        Ok(Stage {
            model: out.to_path_buf(),
            test: test_score,
            train_s,
            images_per_s: meta.images_per_s,
            epochs: meta.epochs.len(),
        })
    }
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
