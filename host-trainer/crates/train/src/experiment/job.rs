//! One job: an arm run with one seed, scored on the fixed test set.
//!
//! The stages are the recipe's ([`crate::recipe`]), i.e. the library calls
//! behind `sonomask weak-label`, `check --oracle`, `annotate --oracle`,
//! `train`, `predict` and `eval`. The seed drives every random choice of the
//! arm: the reviewer's mistakes and timing, which clips the annotator draws
//! and how its hand shakes, the network's initial weights, validation split,
//! shuffling and augmentation. Arms share seeds on purpose: seed `s` gives
//! every arm the same reviewer, annotator and initial weights (common random
//! numbers), which is what makes the paired-by-seed test meaningful.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::config::{Arm, ArmKind, ExperimentConfig, Metric};
use super::{ExperimentError, io_err};
use crate::recipe::{self, TrainStep, Trained};
use sonomask_data::dataset::{self, Dataset};
use sonomask_data::evaluate::{self, Summary};
use sonomask_data::weak;
use sonomask_human::oracle::{self, AnnotateParams};

/// `format` of every result file.
pub const FORMAT: &str = "sonomask-experiment-result";
/// The result version this build reads and writes.
pub const VERSION: u32 = 1;

/// What one job measured; `RUNS/results/<arm>/<seed>.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct JobResult {
    pub format: String,
    pub version: u32,
    pub experiment: String,
    pub arm: String,
    #[serde(flatten)]
    pub kind: ArmKind,
    pub seed: u64,
    /// [`ExperimentConfig::fingerprint`] of the arm.
    pub fingerprint: String,
    /// [`super::data::fingerprint`] of the pool and test set.
    pub data_fingerprint: String,
    pub device: String,
    pub sonomask_version: String,
    /// Means over the test clips.
    pub metrics: Metrics,
    /// Means over the real test set's clips (`[data] real`), scored the
    /// same way; absent when the experiment has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real: Option<Metrics>,
    /// Wall-clock seconds of the whole job (labels, checks, training,
    /// prediction, scoring). The only field that differs between two runs
    /// of the same job.
    pub wall_s: f64,
    pub human: HumanEffort,
    /// Training runs, in order (pretrain, refine).
    pub training: Vec<TrainingRun>,
}

/// Test-set metrics of one job (see [`sonomask_data::evaluate::Summary`]).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Metrics {
    pub test_clips: usize,
    pub pixel_accuracy: f64,
    pub dice: f64,
    pub iou: f64,
    pub phi_leak: f64,
    pub signal_loss: f64,
    pub boundary_px: f64,
}

impl Metrics {
    fn from_summary(s: &Summary) -> Self {
        Self {
            test_clips: s.clips,
            pixel_accuracy: s.pixel_accuracy,
            dice: s.dice,
            iou: s.iou,
            phi_leak: s.phi_leak,
            signal_loss: s.signal_loss,
            boundary_px: s.boundary_px,
        }
    }

    pub fn get(&self, m: Metric) -> f64 {
        match m {
            Metric::PixelAccuracy => self.pixel_accuracy,
            Metric::Dice => self.dice,
            Metric::Iou => self.iou,
            Metric::PhiLeak => self.phi_leak,
            Metric::SignalLoss => self.signal_loss,
        }
    }
}

/// The simulated people's time, as booked in the check journal and the
/// drawn labels (each check and drawing draws its own duration around the
/// configured mean).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct HumanEffort {
    pub checks: usize,
    pub accepted: usize,
    pub check_seconds: f64,
    pub drawings: usize,
    pub draw_seconds: f64,
}

impl HumanEffort {
    pub fn seconds(&self) -> f64 {
        self.check_seconds + self.draw_seconds
    }
}

/// One training run of a job.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainingRun {
    pub stage: String,
    pub epochs: usize,
    pub best_epoch: usize,
    pub train_s: f64,
    pub images_per_s: f64,
    /// Taken from `RUNS/cache/pretrain` (another arm of the same seed
    /// trained it): `train_s` and `images_per_s` are that run's, and this
    /// job's `wall_s` does not include them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared: bool,
}

impl TrainingRun {
    fn new(stage: &str, t: &Trained) -> Self {
        Self {
            stage: stage.into(),
            epochs: t.epochs,
            best_epoch: t.best_epoch,
            train_s: t.train_s,
            images_per_s: t.images_per_s,
            shared: false,
        }
    }
}

/// Where job (arm, seed) keeps its result.
pub fn result_path(runs: &Path, arm: &str, seed: u64) -> PathBuf {
    runs.join("results").join(arm).join(format!("{seed}.json"))
}

/// Where job (arm, seed) works.
pub fn work_dir(runs: &Path, arm: &str, seed: u64) -> PathBuf {
    runs.join("work").join(arm).join(seed.to_string())
}

/// Reads a result file, checking its format.
pub fn read_result(path: &Path) -> Result<JobResult, ExperimentError> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    let r: JobResult = serde_json::from_str(&text).map_err(|e| ExperimentError::BadResult {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if r.format != FORMAT || r.version != VERSION {
        return Err(ExperimentError::BadResult {
            path: path.to_path_buf(),
            message: format!(
                "format {:?} version {}, this build reads {FORMAT:?} version {VERSION}",
                r.format, r.version
            ),
        });
    }
    Ok(r)
}

/// What a job needs besides its arm and seed.
pub struct JobContext<'a> {
    pub cfg: &'a ExperimentConfig,
    pub runs: &'a Path,
    pub pool: &'a Dataset,
    pub test: &'a Dataset,
    /// The real test set, when the experiment has one.
    pub real: Option<&'a Dataset>,
    pub data_fingerprint: &'a str,
}

/// What an arm scores: a weak labeler's masks or a trained network's.
enum Masker {
    Weak(weak::Method),
    Model(PathBuf),
}

impl Masker {
    /// Masks `set` into `masks` and scores them against its ground truth.
    fn score(
        &self,
        set: &Dataset,
        masks: &Path,
        device: crate::DeviceChoice,
    ) -> Result<Summary, ExperimentError> {
        Ok(match self {
            Masker::Weak(labeler) => {
                weak::label_dataset(*labeler, set, masks, &|| {})?;
                evaluate::evaluate(set, masks)?
            }
            Masker::Model(model) => recipe::score_model(model, set, masks, device)?,
        })
    }
}

/// Runs one job in a fresh work folder and returns its result (the caller
/// writes it). `on_stage` names each stage as it starts.
pub fn run_job(
    ctx: &JobContext<'_>,
    arm: &Arm,
    seed: u64,
    on_stage: &dyn Fn(&str),
) -> Result<JobResult, ExperimentError> {
    let t0 = Instant::now();
    let work = work_dir(ctx.runs, &arm.name, seed);
    if work.exists() {
        // A job interrupted earlier starts over: its result must not
        // depend on what the first attempt left (journal, checkpoints).
        std::fs::remove_dir_all(&work).map_err(io_err(&work))?;
    }
    std::fs::create_dir_all(&work).map_err(io_err(&work))?;
    let cfg = ctx.cfg;
    let device = cfg.device;
    let t = &cfg.training;
    let mut human = HumanEffort::default();
    let mut training = Vec::new();
    let masker = match arm.kind {
        ArmKind::Weak { labeler } => {
            on_stage("weak labels");
            Masker::Weak(labeler)
        }
        ArmKind::Trained {
            labeler,
            checked,
            refine,
        } => {
            let labels = super::data::ensure_labels(ctx.runs, ctx.pool, labeler)?;
            let journal = work.join("checks.jsonl");
            let mut prefer = Default::default();
            if checked {
                on_stage("simulated check");
                let c = recipe::simulated_check(
                    ctx.pool,
                    &labels,
                    labeler,
                    &cfg.oracle.check(seed),
                    &journal,
                )?;
                human.checks = c.checked;
                human.accepted = c.accepted;
                human.check_seconds = c.human_seconds;
                prefer = c.rejected;
            }
            let pre = work.join("pretrain.bpk");
            let pre_cfg = t.config(t.pretrain_epochs, seed);
            let key = pretrain_key(ctx, labeler, checked, seed, &pre_cfg);
            let run = match shared_pretrain(ctx.runs, &key, &pre)? {
                Some(run) => {
                    on_stage("pretraining (shared)");
                    run
                }
                None => {
                    on_stage("pretraining");
                    let p = recipe::train(
                        ctx.pool,
                        TrainStep {
                            labels: &labels,
                            decisions: checked.then_some(journal.as_path()),
                            init: None,
                            out: &pre,
                            config: &pre_cfg,
                        },
                        device,
                    )?;
                    let run = TrainingRun::new("pretrain", &p);
                    share_pretrain(ctx.runs, &key, &pre, &run)?;
                    run
                }
            };
            training.push(run);
            let model = if refine {
                let hq = draw(ctx, seed, prefer, &work, &mut human, on_stage)?;
                on_stage("refining");
                let out = work.join("refine.bpk");
                let refine_cfg = t.config(t.refine_epochs, seed);
                let r = recipe::train(
                    ctx.pool,
                    TrainStep {
                        labels: &hq,
                        decisions: None,
                        init: Some(&pre),
                        out: &out,
                        config: &refine_cfg,
                    },
                    device,
                )?;
                training.push(TrainingRun::new("refine", &r));
                out
            } else {
                pre
            };
            Masker::Model(model)
        }
        ArmKind::HqOnly => {
            let hq = draw(ctx, seed, Default::default(), &work, &mut human, on_stage)?;
            on_stage("training on the drawn set");
            let out = work.join("hq-only.bpk");
            let hq_cfg = t.config(t.hq_epochs, seed);
            let r = recipe::train(
                ctx.pool,
                TrainStep {
                    labels: &hq,
                    decisions: None,
                    init: None,
                    out: &out,
                    config: &hq_cfg,
                },
                device,
            )?;
            training.push(TrainingRun::new("hq-only", &r));
            Masker::Model(out)
        }
    };
    on_stage("scoring");
    let summary = masker.score(ctx.test, &work.join("test-masks"), device)?;
    let real = match ctx.real {
        Some(set) => {
            on_stage("scoring the real set");
            let s = masker.score(set, &work.join("real-masks"), device)?;
            Some(Metrics::from_summary(&s))
        }
        None => None,
    };
    Ok(JobResult {
        format: FORMAT.into(),
        version: VERSION,
        experiment: cfg.name.clone(),
        arm: arm.name.clone(),
        kind: arm.kind.clone(),
        seed,
        fingerprint: cfg.fingerprint(arm),
        data_fingerprint: ctx.data_fingerprint.to_string(),
        device: device.name().into(),
        sonomask_version: env!("CARGO_PKG_VERSION").into(),
        metrics: Metrics::from_summary(&summary),
        real,
        wall_s: t0.elapsed().as_secs_f64(),
        human,
        training,
    })
}

/// The cache key of a pretraining: everything its checkpoint depends on
/// (labels and reviewer come from the labeler, `checked` and the seed; the
/// pool from the data fingerprint). Arms that differ only after pretraining
/// (`checked-threshold` and `checked-threshold+refine`) share it, which
/// saves a third of the paper table's training: the flex backend is
/// deterministic, so the shared checkpoint is the one each would train.
fn pretrain_key(
    ctx: &JobContext<'_>,
    labeler: weak::Method,
    checked: bool,
    seed: u64,
    config: &crate::training::TrainingConfig,
) -> String {
    let spec = serde_json::json!({
        "labeler": labeler.name(),
        "checked": checked,
        "seed": seed,
        "oracle": ctx.cfg.oracle,
        "config": serde_json::to_value(config).unwrap_or_default(),
        "device": ctx.cfg.device,
        "data": ctx.data_fingerprint,
        "sonomask": env!("CARGO_PKG_VERSION"),
    });
    format!(
        "{}-{seed}-{:016x}",
        labeler.name(),
        crate::checkpoint::fnv1a64(spec.to_string().as_bytes())
    )
}

fn cache_dir(runs: &Path, key: &str) -> PathBuf {
    runs.join("cache").join("pretrain").join(key)
}

/// Copies a shared pretraining into `out` (checkpoint and metadata) and
/// returns its training record, or `None` when there is none yet.
fn shared_pretrain(
    runs: &Path,
    key: &str,
    out: &Path,
) -> Result<Option<TrainingRun>, ExperimentError> {
    let dir = cache_dir(runs, key);
    let run_path = dir.join("run.json");
    if !run_path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&run_path).map_err(io_err(&run_path))?;
    let mut run: TrainingRun =
        serde_json::from_str(&text).map_err(|e| ExperimentError::BadResult {
            path: run_path.clone(),
            message: e.to_string(),
        })?;
    for (from, to) in [
        (dir.join("pretrain.bpk"), out.to_path_buf()),
        (
            crate::checkpoint::meta_path(&dir.join("pretrain.bpk")),
            crate::checkpoint::meta_path(out),
        ),
    ] {
        std::fs::copy(&from, &to).map_err(io_err(&from))?;
    }
    // The weights are checked against their metadata's hash when loaded.
    crate::checkpoint::load_meta(out).map_err(crate::recipe::RecipeError::from)?;
    run.shared = true;
    Ok(Some(run))
}

/// Publishes a finished pretraining under its key (atomically: a whole
/// folder renamed into place, so a reader never sees half of one).
fn share_pretrain(
    runs: &Path,
    key: &str,
    ckpt: &Path,
    run: &TrainingRun,
) -> Result<(), ExperimentError> {
    super::data::ensure_dir(&cache_dir(runs, key), |tmp| {
        let to = tmp.join("pretrain.bpk");
        std::fs::copy(ckpt, &to).map_err(io_err(ckpt))?;
        let meta = crate::checkpoint::meta_path(ckpt);
        std::fs::copy(&meta, crate::checkpoint::meta_path(&to)).map_err(io_err(&meta))?;
        Ok(dataset::write_json(&tmp.join("run.json"), run)?)
    })
}

/// The simulated annotator draws the configured number of pool clips
/// (`prefer`: the rejected ones first) into `WORK/hq`.
fn draw(
    ctx: &JobContext<'_>,
    seed: u64,
    prefer: std::collections::BTreeSet<String>,
    work: &Path,
    human: &mut HumanEffort,
    on_stage: &dyn Fn(&str),
) -> Result<PathBuf, ExperimentError> {
    on_stage("simulated drawing");
    let hq = work.join("hq");
    let drawn = oracle::annotate(
        ctx.pool,
        &hq,
        &AnnotateParams {
            prefer,
            ..ctx.cfg.oracle.annotate(seed)
        },
        &|| {},
    )?;
    human.drawings = drawn.drawn;
    human.draw_seconds = drawn.human_seconds;
    Ok(hq)
}

/// Writes a result atomically (temporary file + rename).
pub fn write_result(path: &Path, r: &JobResult) -> Result<(), ExperimentError> {
    Ok(dataset::write_json(path, r)?)
}
