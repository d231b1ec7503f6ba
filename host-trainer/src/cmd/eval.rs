use std::path::PathBuf;
use std::process::ExitCode;

use sonomask_data::dataset::Dataset;
use sonomask_data::evaluate::{self, Summary};

/// Score keep masks against a dataset's ground truth.
///
/// Reads MASKDIR/<clip-id>.png (255 = keep) for every clip.
/// Metrics (fractions in [0,1] unless noted): pixel accuracy, Dice and IoU of
/// the keep mask; PHI leak = fraction of overlay pixels outside the true
/// sector that survive masking; signal loss = fraction of true-sector pixels
/// blacked out; boundary = mean distance between mask and sector edges (px).
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Dataset folder with ground truth (e.g. from `sonomask synth`).
    #[arg(long)]
    data: PathBuf,
    /// Folder of keep masks, one `<clip-id>.png` per clip.
    #[arg(long)]
    masks: PathBuf,
    /// Print exactly one JSON object (means over clips, plus per-clip rows).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let data = Dataset::open(&args.data)?;
    let summary = evaluate::evaluate(&data, &args.masks)?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_table(&summary);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn print_table(s: &Summary) {
    println!(
        "{:<14} {:>8} {:>7} {:>7} {:>8} {:>8} {:>9}",
        "clip", "accuracy", "dice", "iou", "phi_leak", "sig_loss", "bound_px"
    );
    for c in &s.per_clip {
        println!(
            "{:<14} {:>8.4} {:>7.4} {:>7.4} {:>8.4} {:>8.4} {:>9.2}",
            c.clip, c.pixel_accuracy, c.dice, c.iou, c.phi_leak, c.signal_loss, c.boundary_px
        );
    }
    println!(
        "{:<14} {:>8.4} {:>7.4} {:>7.4} {:>8.4} {:>8.4} {:>9.2}",
        format!("mean ({})", s.clips),
        s.pixel_accuracy,
        s.dice,
        s.iou,
        s.phi_leak,
        s.signal_loss,
        s.boundary_px
    );
}
