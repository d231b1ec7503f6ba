use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use sonomask_data::dataset::Dataset;
use sonomask_data::progress;
use sonomask_deploy::maps::CoarseMaps;
use sonomask_human::journal::{self, Verdict};
use sonomask_human::oracle::{self, AnnotateParams};
use sonomask_human::web::{self, Common, Token, annotate};
use sonomask_train::inference::Predictor;
use sonomask_train::{self as train, DeviceChoice};

/// Draw the sector of a few clips by hand: the small, expensive HQ set.
///
/// Interactive (default): starts a local web server and prints its URL (with
/// a random session token) on stdout. Each clip shows its max projection
/// with a starting shape: the saved drawing, else the network's prediction
/// (--model), else the fitted masks of --proposals folders, else the
/// temporal weak labeler's fit. Drag the handles of the fan (apex or flat
/// top, both edges, outer/inner arc) or rectangle (corners); Enter saves the
/// geometry and its rasterised mask and goes on; f flags a clip that cannot
/// be drawn; ←/→ move between clips; ? shows every key. The journal gets a
/// `draw` line per saved drawing with its seconds (and `flag` lines).
/// Restarting resumes at the first clip with neither a drawing nor a flag.
///
/// With --oracle a simulated annotator draws the clips from their true
/// geometry instead, moving every handle (apex, edges, arcs, flat top,
/// rectangle sides) by Gaussian hand noise of --edge-noise-px, and books
/// --seconds-per-mask (0.75×–1.25×) per drawing.
///
/// Output per clip (both modes): HQDIR/<clip-id>.png (255 = keep) and
/// HQDIR/<clip-id>.json (the drawn geometry, annotator, seconds).
/// Clips: a seeded sample of --clips (the same sample in both modes for
/// the same --seed); interactive without --clips: every clip in order.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Dataset folder (with ground truth for --oracle).
    #[arg(long)]
    data: PathBuf,
    /// Use the simulated annotator instead of the drawing UI.
    #[arg(long)]
    oracle: bool,
    /// Number of clips to draw (--oracle default: 20).
    #[arg(long)]
    clips: Option<usize>,
    /// Output folder for the HQ labels.
    #[arg(long)]
    out: PathBuf,
    /// Journal to append drawings and flags to (interactive; required there).
    #[arg(long)]
    journal: Option<PathBuf>,
    /// Mask folders whose masks are fitted into starting shapes, in order
    /// (weak labels or predictions; interactive).
    #[arg(long, num_args = 1..)]
    proposals: Vec<PathBuf>,
    /// A checkpoint from `sonomask train` whose prediction is the first
    /// starting shape (interactive).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Backend for --model.
    #[arg(long, default_value = "flex")]
    device: DeviceChoice,
    /// Who is drawing (the journal's `reviewer` and the label's `annotator`;
    /// default: $USER).
    #[arg(long)]
    annotator: Option<String>,
    /// Address to listen on (interactive); port 0 picks a free one.
    #[arg(long, default_value = web::DEFAULT_BIND)]
    bind: SocketAddr,
    /// Standard deviation of hand placement (px, --oracle).
    #[arg(long, default_value_t = 1.5)]
    edge_noise_px: f64,
    /// Seconds per drawing (--oracle).
    #[arg(long, default_value_t = 30.0)]
    seconds_per_mask: f64,
    /// Seed of the clip sample (and of the --oracle hand noise).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A check journal (`sonomask check`/`review`): draw the clips whose
    /// label was rejected first — where the cheap labels fail, a drawing
    /// teaches the most — then others.
    #[arg(long, value_name = "JOURNAL")]
    prefer_rejected: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.oracle {
        return run_oracle(args);
    }
    let Some(journal) = args.journal.clone() else {
        bail!(
            "the drawing UI needs --journal FILE.jsonl (or pass --oracle for the simulated annotator)"
        );
    };
    let data = Dataset::open(&args.data)?;
    let clips: Vec<String> = match args.clips {
        None => data.clips().iter().map(|c| c.id.clone()).collect(),
        Some(k) if k == 0 || k > data.clips().len() => bail!(
            "--clips must be within 1..={} (the dataset's clip count)",
            data.clips().len()
        ),
        Some(k) => oracle::sample_clips(
            &data,
            k,
            args.seed,
            &rejected_clips(args.prefer_rejected.as_deref(), &data)?,
        )
        .into_iter()
        .map(|c| c.id.clone())
        .collect(),
    };
    for dir in &args.proposals {
        if !dir.is_dir() {
            bail!("--proposals {}: not a folder", dir.display());
        }
    }
    let model = match &args.model {
        None => None,
        Some(path) => Some(Box::new(
            Predictor::load(path, train::device(args.device)?)
                .with_context(|| format!("loading --model {}", path.display()))?,
        ) as Box<dyn CoarseMaps + Send>),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let labels_name = super::check::labels_name(&args.out, None)?;
    let token = Token::random().context("no random source for the session token")?;
    let cfg = annotate::AnnotateConfig {
        out: args.out.clone(),
        labels_name,
        journal: journal.clone(),
        annotator: super::review::person(args.annotator),
        clips,
        proposal_dirs: args.proposals.clone(),
        model,
    };
    let state = annotate::AnnotateState::new(Common::new(token.clone(), data), cfg)
        .map_err(|e| anyhow::anyhow!("{}", e.message))
        .with_context(|| format!("opening journal {}", journal.display()))?;
    let bound = web::bind(args.bind, annotate::router(state), &token)?;
    eprintln!(
        "drawing HQ labels into {}, journal {}",
        args.out.display(),
        journal.display()
    );
    super::review::announce("annotate", bound.url(), args.bind);
    bound.serve()?;
    Ok(ExitCode::SUCCESS)
}

fn run_oracle(args: Args) -> anyhow::Result<ExitCode> {
    let data = Dataset::open(&args.data)?;
    let params = AnnotateParams {
        clips: args.clips.unwrap_or(20),
        edge_noise_px: args.edge_noise_px,
        seconds_per_mask: args.seconds_per_mask,
        seed: args.seed,
        prefer: rejected_clips(args.prefer_rejected.as_deref(), &data)?,
    };
    let pb = progress::bar(params.clips as u64, "annotate");
    let s = oracle::annotate(&data, &args.out, &params, &|| pb.inc(1))?;
    pb.finish_and_clear();
    eprintln!(
        "drew {} clips (mean Dice vs truth {:.4}), {:.0} s of simulated human time -> {}",
        s.drawn,
        s.mean_dice,
        s.human_seconds,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Clips whose standing decision in the check journal `path` is `reject`
/// (empty without a journal).
fn rejected_clips(
    path: Option<&std::path::Path>,
    data: &Dataset,
) -> anyhow::Result<std::collections::BTreeSet<String>> {
    let Some(path) = path else {
        return Ok(Default::default());
    };
    let decisions = journal::read(path)?;
    journal::check_clips(path, &decisions, |c| data.clip(c).is_ok())?;
    Ok(journal::standing_where(&decisions, |_| true)
        .into_iter()
        .filter(|(_, v)| *v == Verdict::Reject)
        .map(|(c, _)| c)
        .collect())
}
