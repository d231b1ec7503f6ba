use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use sonomask::dataset::Dataset;
use sonomask::progress;
use sonomask::train::inference::{self, Predictor};
use sonomask::train::{self, DeviceChoice};

/// Predict keep masks with a trained network.
///
/// Per clip: the sigmoid probability maps of up to 8 evenly spaced frames are
/// averaged, scaled to 0..255, fitted with fans/rectangles by the shared
/// geometry fit (p ≥ 0.5 inside) and rasterised at full resolution. Writes
/// MASKDIR/<clip-id>.png (255 = keep, atomically) and MASKDIR/predict.json,
/// so `sonomask eval --masks MASKDIR` scores them. A clip whose fit fails gets
/// an all-black mask (fail closed) and a warning on stderr.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Checkpoint from `sonomask train` (CKPT.json must be beside it).
    #[arg(long)]
    model: PathBuf,
    /// Dataset folder.
    #[arg(long)]
    data: PathBuf,
    /// Output folder for the masks (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Keep map pixels with at least this probability (fit input); tune it
    /// on a validation set, not on the test set.
    #[arg(long, default_value_t = 0.5)]
    keep_probability: f64,
    /// Also write each clip's coarse probability map (the fit's input) as
    /// MAPS/<clip-id>.png.
    #[arg(long)]
    maps: Option<PathBuf>,
    /// Backend: flex (CPU), cuda or tch (need the Cargo feature of that name).
    #[arg(long, default_value = "flex")]
    device: DeviceChoice,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let device = train::device(args.device)?;
    let predictor =
        Predictor::load(&args.model, device)?.with_keep_probability(args.keep_probability)?;
    let data = Dataset::open(&args.data)?;
    let t0 = std::time::Instant::now();
    let pb = progress::bar(data.clips().len() as u64, "predict");
    let summary = inference::predict_dataset_with_maps(&predictor, &args.model, &data, &args.out, args.maps.as_deref(), &|c| {
        pb.inc(1);
        if let Some(e) = &c.fit_error {
            pb.suspend(|| {
                eprintln!(
                    "warning: clip {}: no scan region could be fitted ({e}); wrote an all-black mask (fail closed)",
                    c.clip
                )
            });
        }
    })
    .with_context(|| format!("predicting {}", args.data.display()))?;
    pb.finish_and_clear();
    eprintln!(
        "predicted {} clips in {:.1} s ({} all-black after a failed fit) -> {}",
        summary.clips.len(),
        t0.elapsed().as_secs_f64(),
        summary.failed_fits,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
