use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use sonomask::dataset::Dataset;
use sonomask::journal::{self, Verdict};
use sonomask::oracle::{self, AnnotateParams};
use sonomask::progress;

/// Draw the sector of a few clips by hand: the small, expensive HQ set.
///
/// With --oracle a simulated annotator draws K clips (a seeded sample) from
/// their true geometry, moving every handle (apex, edges, arcs, flat top,
/// rectangle sides) by Gaussian hand noise of --edge-noise-px, and books
/// --seconds-per-mask (0.75×–1.25×) per drawing. Output per clip:
/// HQDIR/<clip-id>.png (255 = keep) and HQDIR/<clip-id>.json (the drawn
/// geometry, annotator, seconds). The interactive drawing UI is its own issue.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Dataset folder with ground truth (synthetic).
    #[arg(long)]
    data: PathBuf,
    /// Use the simulated annotator (required until the drawing UI exists).
    #[arg(long)]
    oracle: bool,
    /// Number of clips to draw.
    #[arg(long, default_value_t = 20)]
    clips: usize,
    /// Output folder for the HQ labels.
    #[arg(long)]
    out: PathBuf,
    /// Standard deviation of hand placement (px).
    #[arg(long, default_value_t = 1.5)]
    edge_noise_px: f64,
    /// Seconds per drawing.
    #[arg(long, default_value_t = 30.0)]
    seconds_per_mask: f64,
    /// Seed of the clip sample and the hand noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A check journal (`sonomask check`/`review`): draw the clips whose
    /// label was rejected first — where the cheap labels fail, a drawing
    /// teaches the most — then others.
    #[arg(long, value_name = "JOURNAL")]
    prefer_rejected: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !args.oracle {
        bail!("interactive drawing is not built yet; pass --oracle for the simulated annotator");
    }
    let data = Dataset::open(&args.data)?;
    let params = AnnotateParams {
        clips: args.clips,
        edge_noise_px: args.edge_noise_px,
        seconds_per_mask: args.seconds_per_mask,
        seed: args.seed,
        prefer: match &args.prefer_rejected {
            Some(path) => {
                let decisions = journal::read(path)?;
                journal::check_clips(path, &decisions, |c| data.clip(c).is_ok())?;
                journal::standing_where(&decisions, |_| true)
                    .into_iter()
                    .filter(|(_, v)| *v == Verdict::Reject)
                    .map(|(c, _)| c)
                    .collect()
            }
            None => Default::default(),
        },
    };
    let pb = progress::bar(args.clips as u64, "annotate");
    let s = oracle::annotate(&data, &args.out, &params, &|| pb.inc(1))?;
    pb.finish_and_clear();
    eprintln!(
        "drew {} clips (mean Dice vs truth {:.4}), {:.0} s of human time -> {}",
        s.drawn,
        s.mean_dice,
        s.human_seconds,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
