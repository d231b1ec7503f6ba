use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use sonomask_human::oracle::CheckParams;
use sonomask_train::DeviceChoice;
use sonomask_train::refine_loop::{self, Event, LoopConfig, Outcome, RoundReport};
use sonomask_train::training::TrainingConfig;

/// Iterative refinement: propose, check, grow the training set, retrain.
///
/// Each round: the current model (round 0: --init) predicts masks for the
/// pool's clips outside its training set; the reviewer accepts or rejects
/// each proposal (--oracle: the simulated reviewer of `sonomask check`;
/// otherwise a person with `sonomask review`); accepted proposals join the
/// human-drawn labels of --hq; the model is retrained from its own weights.
/// With --test, each round's model is scored on that dataset.
///
/// Everything lands in --work (see WORK/loop.json for the per-round report);
/// a rerun resumes. Without --oracle the loop stops at a round whose
/// proposals are undecided, prints the review command, and goes on when run
/// again after the review.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Pool of clips to propose masks for (ground truth needed with --oracle).
    #[arg(long)]
    data: PathBuf,
    /// Human-drawn labels (from `sonomask annotate`), always trained on.
    #[arg(long)]
    hq: PathBuf,
    /// Checkpoint to start from (e.g. pretrained, then refined on --hq).
    #[arg(long)]
    init: PathBuf,
    /// Work folder (created; reused to resume).
    #[arg(long)]
    work: PathBuf,
    /// Number of rounds.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Dataset with ground truth to score every round's model on.
    #[arg(long)]
    test: Option<PathBuf>,
    /// Use the simulated reviewer.
    #[arg(long)]
    oracle: bool,
    /// Simulated reviewer: Dice at or above which a proposal deserves acceptance.
    #[arg(long, default_value_t = 0.95)]
    accept_dice: f64,
    /// Simulated reviewer: probability of a wrong decision.
    #[arg(long, default_value_t = 0.05)]
    error_rate: f64,
    /// Maximum epochs per retraining (early stopping may end sooner).
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Seed of training and of the simulated reviewer.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Backend: flex (CPU), cuda or tch (need the Cargo feature of that name).
    #[arg(long, default_value = "flex")]
    device: DeviceChoice,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let cfg = LoopConfig {
        data: args.data.clone(),
        hq: args.hq,
        init: args.init,
        work: args.work.clone(),
        rounds: args.rounds,
        test: args.test,
        oracle: args.oracle.then(|| CheckParams {
            accept_dice: args.accept_dice,
            error_rate: args.error_rate,
            seed: args.seed,
            ..CheckParams::default()
        }),
        training: TrainingConfig::new()
            .with_num_epochs(args.epochs)
            .with_seed(args.seed),
        device: args.device,
    };
    let outcome = refine_loop::run(&cfg, &mut |e| match e {
        Event::Stage { round, what } => eprintln!("round {round}: {what}"),
        Event::Round(r) => eprintln!("{}", row(r)),
    })
    .with_context(|| format!("refinement loop in {}", args.work.display()))?;
    match outcome {
        Outcome::Done(reports) => {
            println!("{}", header());
            for r in &reports {
                println!("{}", row(r));
            }
            println!("report -> {}", args.work.join("loop.json").display());
        }
        Outcome::Waiting {
            round,
            proposals,
            undecided,
            ..
        } => {
            println!(
                "round {round}: {undecided} proposals await review. Review them, then run this command again:\n  sonomask review --data {} --labels {} --journal {}",
                args.data.display(),
                proposals.display(),
                refine_loop::journal_path(&args.work).display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn header() -> String {
    format!(
        "{:>5} {:>8} {:>8} {:>6} {:>9} {:>8} {:>7} {:>8} {:>8} {:>7}",
        "round",
        "proposed",
        "accepted",
        "train",
        "human_s",
        "accuracy",
        "dice",
        "phi_leak",
        "sig_loss",
        "wall_s"
    )
}

fn row(r: &RoundReport) -> String {
    let t = |f: fn(&refine_loop::TestScore) -> f64| {
        r.test
            .as_ref()
            .map_or("-".to_string(), |s| format!("{:.4}", f(s)))
    };
    format!(
        "{:>5} {:>8} {:>8} {:>6} {:>9.0} {:>8} {:>7} {:>8} {:>8} {:>7.1}",
        r.round,
        r.proposed,
        r.accepted,
        r.train_clips,
        r.human_seconds,
        t(|s| s.pixel_accuracy),
        t(|s| s.dice),
        t(|s| s.phi_leak),
        t(|s| s.signal_loss),
        r.wall_s
    )
}
