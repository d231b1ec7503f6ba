//! Iterative refinement (the paper's step 4, repeated): the current model
//! proposes masks for the pool's clips outside its training set, a reviewer
//! accepts or rejects each proposal, the accepted ones join the human-drawn
//! set, and the model is retrained from its own weights. Metrics per round.
//!
//! Everything a round makes lives in the work folder, so an interrupted loop
//! resumes where it stopped and a real reviewer can take the simulated one's
//! place: without the oracle, a round writes its proposals and waits for
//! decisions in the journal (`sonomask review` writes them), then a rerun
//! goes on.
//!
//! ```text
//! WORK/loop.jsonl                  decisions, append-only (all rounds)
//! WORK/round-<r>-proposals/        masks from round r-1's model + predict.json
//! WORK/round-<r>/labels/           HQ labels + accepted proposals so far
//! WORK/round-<r>/model.bpk(.json)  the retrained model
//! WORK/round-<r>/test/             its masks on the test set (with --test)
//! WORK/loop.json                   per-round report (rewritten atomically)
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::inference::Predictor;
use crate::recipe::{self, RecipeError};
use crate::training::{self, TrainRequest, TrainingConfig};
use crate::{self as trainer, DeviceChoice};
use sonomask_data::dataset::{self, Dataset, DatasetError};
use sonomask_deploy::maps as inference;
use sonomask_human::journal;
use sonomask_human::oracle::{self, CheckParams};

/// Errors of the refinement loop: those of the recipe's stages it chains,
/// plus bad settings ([`RecipeError::Invalid`]).
pub type LoopError = RecipeError;

/// What the loop runs on.
pub struct LoopConfig {
    /// The unlabelled pool the model proposes masks for.
    pub data: PathBuf,
    /// Human-drawn labels (`sonomask annotate`): always in the training set.
    pub hq: PathBuf,
    /// The model of round 0 (usually pretrained and refined on `hq`).
    pub init: PathBuf,
    pub work: PathBuf,
    pub rounds: usize,
    /// A dataset with ground truth to score each round's model on.
    pub test: Option<PathBuf>,
    /// The simulated reviewer; `None` waits for a person's decisions.
    pub oracle: Option<CheckParams>,
    pub training: TrainingConfig,
    pub device: DeviceChoice,
}

/// One round's figures.
#[derive(Clone, Debug, Serialize)]
pub struct RoundReport {
    pub round: usize,
    /// Clips the model proposed a mask for (outside the training set).
    pub proposed: usize,
    pub accepted: usize,
    /// Accepted proposals plus HQ labels trained on.
    pub train_clips: usize,
    /// Reviewer seconds booked this round.
    pub human_seconds: f64,
    pub model: PathBuf,
    pub test: Option<TestScore>,
    pub wall_s: f64,
}

/// Means over the test set.
#[derive(Clone, Debug, Serialize)]
pub struct TestScore {
    pub pixel_accuracy: f64,
    pub dice: f64,
    pub phi_leak: f64,
    pub signal_loss: f64,
}

/// How a [`run`] ended.
#[derive(Debug)]
pub enum Outcome {
    /// Every round ran.
    Done(Vec<RoundReport>),
    /// Round `round` needs a person's decisions on `proposals` first.
    Waiting {
        done: Vec<RoundReport>,
        round: usize,
        proposals: PathBuf,
        undecided: usize,
    },
}

/// Progress notes for the command line.
pub enum Event<'a> {
    Stage { round: usize, what: &'a str },
    Round(&'a RoundReport),
}

/// The work folder's journal.
pub fn journal_path(work: &Path) -> PathBuf {
    work.join("loop.jsonl")
}

fn proposals_dir(work: &Path, round: usize) -> PathBuf {
    work.join(format!("round-{round}-proposals"))
}

fn round_dir(work: &Path, round: usize) -> PathBuf {
    work.join(format!("round-{round}"))
}

/// The journal's label-set name for round `round`'s proposals: the folder
/// name, as `sonomask check` and `sonomask review` name a mask folder.
fn labels_name(round: usize) -> String {
    format!("round-{round}-proposals")
}

/// Runs (or resumes) the loop.
pub fn run(cfg: &LoopConfig, on_event: &mut dyn FnMut(Event<'_>)) -> Result<Outcome, LoopError> {
    if cfg.rounds == 0 {
        return Err(RecipeError::Invalid("--rounds must be at least 1".into()));
    }
    let data = Dataset::open(&cfg.data)?;
    let test = cfg.test.as_deref().map(Dataset::open).transpose()?;
    let hq = labelled(&data, &cfg.hq)?;
    if hq.is_empty() {
        return Err(RecipeError::Invalid(format!(
            "no human-drawn label in {} names a clip of {}",
            cfg.hq.display(),
            cfg.data.display()
        )));
    }
    std::fs::create_dir_all(&cfg.work).map_err(|source| DatasetError::Io {
        path: cfg.work.clone(),
        source,
    })?;
    let journal = journal_path(&cfg.work);
    let mut reports = Vec::new();
    let mut model = cfg.init.clone();
    // Clip → the proposals folder of its accepted label (latest round wins).
    let mut accepted: BTreeMap<String, PathBuf> = BTreeMap::new();
    for round in 1..=cfg.rounds {
        let t0 = Instant::now();
        let proposals = proposals_dir(&cfg.work, round);
        let out = round_dir(&cfg.work, round);
        let next = out.join("model.bpk");

        on_event(Event::Stage {
            round,
            what: "proposing masks",
        });
        if !proposals.join("predict.json").is_file() {
            let predictor = Predictor::load(&model, trainer::device(cfg.device)?)?;
            inference::predict_dataset(
                &predictor,
                "float",
                &model,
                &data,
                &proposals,
                &Default::default(),
                &|_| {},
            )?;
        }
        let candidate = |c: &str| !hq.contains_key(c) && !accepted.contains_key(c);
        let proposed = data.clips().iter().filter(|c| candidate(&c.id)).count();

        on_event(Event::Stage {
            round,
            what: "checking proposals",
        });
        let name = labels_name(round);
        let human_seconds = match &cfg.oracle {
            Some(params) => {
                oracle::check_where(
                    &data,
                    &candidate,
                    &proposals,
                    &name,
                    params,
                    &journal,
                    &|| {},
                )?
                .human_seconds
            }
            None => 0.0,
        };
        let decisions = journal::read(&journal)?;
        journal::check_clips(&journal, &decisions, |c| data.clip(c).is_ok())?;
        let standing = journal::standing(&decisions, &name);
        let undecided = data
            .clips()
            .iter()
            .filter(|c| candidate(&c.id) && !standing.contains_key(&c.id))
            .count();
        if undecided > 0 {
            return Ok(Outcome::Waiting {
                done: reports,
                round,
                proposals,
                undecided,
            });
        }
        let human_seconds = if cfg.oracle.is_some() {
            human_seconds
        } else {
            decisions
                .iter()
                .filter(|d| d.labels == name)
                .map(|d| d.seconds)
                .sum()
        };
        let fresh: Vec<String> = journal::accepted(&decisions, |l| l == name)
            .into_iter()
            .filter(|c| candidate(c))
            .collect();
        let accepted_now = fresh.len();
        for clip in fresh {
            accepted.insert(clip, proposals.clone());
        }

        let labels = out.join("labels");
        let train_clips = assemble_labels(&labels, &cfg.hq, &hq, &accepted)?;
        if !next.with_extension("bpk.json").is_file() {
            on_event(Event::Stage {
                round,
                what: "retraining",
            });
            training::train(
                TrainRequest {
                    data: &data,
                    labels: &labels,
                    extra: &[],
                    decisions: None,
                    init: Some(&model),
                    out: &next,
                    device: cfg.device,
                    config: cfg.training.clone(),
                },
                &mut |_| {},
            )?;
        }
        model = next;

        let test_score = match &test {
            Some(t) => {
                on_event(Event::Stage {
                    round,
                    what: "scoring on the test set",
                });
                let s = recipe::score_model(&model, t, &out.join("test"), cfg.device)?;
                Some(TestScore {
                    pixel_accuracy: s.pixel_accuracy,
                    dice: s.dice,
                    phi_leak: s.phi_leak,
                    signal_loss: s.signal_loss,
                })
            }
            None => None,
        };
        let report = RoundReport {
            round,
            proposed,
            accepted: accepted_now,
            train_clips,
            human_seconds,
            model: model.clone(),
            test: test_score,
            wall_s: t0.elapsed().as_secs_f64(),
        };
        on_event(Event::Round(&report));
        reports.push(report);
        dataset::write_json(&cfg.work.join("loop.json"), &reports)?;
    }
    Ok(Outcome::Done(reports))
}

/// Clip id → label path for the clips of `data` with a mask in `dir`.
fn labelled(data: &Dataset, dir: &Path) -> Result<BTreeMap<String, PathBuf>, LoopError> {
    Ok(data
        .clips()
        .iter()
        .map(|c| (c.id.clone(), dir.join(format!("{}.png", c.id))))
        .filter(|(_, p)| p.is_file())
        .collect())
}

/// Fills `labels` with the HQ masks and the accepted proposals (copies, so
/// the round's training set stays as it was); returns the clip count.
fn assemble_labels(
    labels: &Path,
    hq_dir: &Path,
    hq: &BTreeMap<String, PathBuf>,
    accepted: &BTreeMap<String, PathBuf>,
) -> Result<usize, LoopError> {
    std::fs::create_dir_all(labels).map_err(|source| DatasetError::Io {
        path: labels.to_path_buf(),
        source,
    })?;
    let from_hq = hq.keys().map(|c| (c, hq_dir));
    let from_proposals = accepted.iter().map(|(c, d)| (c, d.as_path()));
    let mut n = 0;
    for (clip, dir) in from_hq.chain(from_proposals) {
        let name = format!("{clip}.png");
        let bytes = std::fs::read(dir.join(&name)).map_err(|source| DatasetError::Io {
            path: dir.join(&name),
            source,
        })?;
        dataset::write_atomic(&labels.join(&name), &bytes)?;
        n += 1;
    }
    Ok(n)
}
