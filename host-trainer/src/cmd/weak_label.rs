use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use sonomask_data::dataset::{self, Dataset};
use sonomask_data::progress;
use sonomask_data::weak::{self, Method};

/// Label the sector of every clip with a cheap automatic algorithm.
///
/// Writes one keep mask per clip: MASKDIR/<clip-id>.png (8-bit, 255 = keep).
///
/// threshold: the paper's simple algorithm. Thresholds the clip's FIRST frame
/// (luma > 12), keeps the largest 8-connected component and fills its holes.
///
/// temporal: per-pixel variation over all frames of the clip (burned-in
/// overlays do not change, the scan region does), block-averaged to a 4×4 px
/// grid, thresholded, cleaned with morphology, then fitted with fans or
/// rectangles (RANSAC on edge points, the shared geometry fit) and rasterised.
/// Clips with fewer than three frames use an intensity map instead.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Labeling algorithm.
    #[arg(long, value_parser = ["threshold", "temporal"])]
    method: String,
    /// Dataset folder (from `sonomask synth` or `sonomask ingest`).
    #[arg(long)]
    data: PathBuf,
    /// Output folder for the masks (created if missing).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let method: Method = args.method.parse().map_err(anyhow::Error::msg)?;
    let data = Dataset::open(&args.data)?;
    let pb = progress::bar(data.clips().len() as u64, method.name());
    let t0 = std::time::Instant::now();
    let n = weak::label_dataset(method, &data, &args.out, &|| pb.inc(1))
        .with_context(|| format!("labeling {} with {method}", args.data.display()))?;
    pb.finish_and_clear();
    let frames: usize = data.clips().iter().map(|c| c.frames).sum();
    dataset::write_json(
        &args.out.join("weak-label.json"),
        &serde_json::json!({ "method": method, "data": args.data, "clips": n }),
    )?;
    let secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "{method}: labeled {n} clips ({frames} frames) in {secs:.1} s ({:.0} frames/s) -> {}",
        frames as f64 / secs.max(1e-9),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
