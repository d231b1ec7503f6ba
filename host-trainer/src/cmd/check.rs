use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use sonomask_data::dataset::Dataset;
use sonomask_data::progress;
use sonomask_human::oracle::{self, CheckParams};

/// Accept or reject each clip's weak label: the fast human check.
///
/// With --oracle a simulated reviewer decides from the ground truth: accept
/// when the label's Dice ≥ --accept-dice, with a chance of --error-rate of
/// deciding the other way, booking --seconds-per-check (0.5×–1.5×) per clip.
/// (The interactive reviewer is `sonomask review`, the web UI.)
///
/// Journal: append-only JSONL, one fsynced decision per line:
///   {"clip":"clip0003","labels":"threshold","decision":"accept",
///    "reviewer":"oracle","seconds":2.1,"time":"2026-11-26T13:30:00.123Z","dice":0.97}
/// decision is accept | reject | flag | undo; labels names the label set
/// (the MASKDIR folder name unless --labels-name). Clips that already have a
/// standing decision for the label set are skipped, so reruns resume.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Dataset folder with ground truth.
    #[arg(long)]
    data: PathBuf,
    /// Folder of labels to check (MASKDIR/<clip-id>.png).
    #[arg(long)]
    labels: PathBuf,
    /// Use the simulated reviewer (required; people use `sonomask review`).
    #[arg(long)]
    oracle: bool,
    /// Name of the label set in the journal (default: the MASKDIR folder name).
    #[arg(long)]
    labels_name: Option<String>,
    /// Dice at or above which a label deserves acceptance.
    #[arg(long, default_value_t = 0.95)]
    accept_dice: f64,
    /// Probability of a wrong decision.
    #[arg(long, default_value_t = 0.05)]
    error_rate: f64,
    /// Mean seconds per check.
    #[arg(long, default_value_t = 2.0)]
    seconds_per_check: f64,
    /// Seed of the reviewer's mistakes and timings.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Journal file to append to (created if missing).
    #[arg(long)]
    journal: PathBuf,
}

/// The label set's name: explicit, or the folder's last component.
pub fn labels_name(dir: &std::path::Path, explicit: Option<String>) -> anyhow::Result<String> {
    match explicit {
        Some(n) => Ok(n),
        None => dir
            .canonicalize()
            .with_context(|| format!("{}", dir.display()))?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .context("cannot name the label set; pass --labels-name"),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !args.oracle {
        bail!(
            "the interactive check is the review web UI (`sonomask review`); pass --oracle for the simulated reviewer"
        );
    }
    let data = Dataset::open(&args.data)?;
    let name = labels_name(&args.labels, args.labels_name)?;
    let params = CheckParams {
        accept_dice: args.accept_dice,
        error_rate: args.error_rate,
        seconds_per_check: args.seconds_per_check,
        seed: args.seed,
        ..CheckParams::default()
    };
    let pb = progress::bar(data.clips().len() as u64, "check");
    let s = oracle::check(&data, &args.labels, &name, &params, &args.journal, &|| {
        pb.inc(1)
    })?;
    pb.finish_and_clear();
    eprintln!(
        "{name}: checked {} clips ({} already decided): {} accepted, {} rejected, {} reviewer mistakes, {:.0} s of simulated human time -> {}",
        s.checked,
        s.already_decided,
        s.accepted,
        s.rejected,
        s.mistakes,
        s.human_seconds,
        args.journal.display()
    );
    Ok(ExitCode::SUCCESS)
}
