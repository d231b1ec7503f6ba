use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use sonomask_data::dataset::Dataset;
use sonomask_data::progress;
use sonomask_deploy::blob_inference::{self, EnginePredictor};
use sonomask_deploy::maps::{self as inference, CoarseMaps, PredictOptions};
use sonomask_deploy::model_file;
use sonomask_train::inference::Predictor;
use sonomask_train::{self as train, DeviceChoice};

/// Predict keep masks with a trained network or an int8 model blob.
///
/// Per clip: the probability maps of up to 8 evenly spaced frames are
/// averaged, scaled to 0..255, fitted with fans/rectangles by the shared
/// geometry fit (p ≥ --keep-probability inside) and rasterised at full resolution. Writes
/// MASKDIR/<clip-id>.png (255 = keep, atomically) and MASKDIR/predict.json,
/// so `sonomask eval --masks MASKDIR` scores them. A clip whose fit fails gets
/// an all-black mask (fail closed) and a warning on stderr.
///
/// --model is either a burn checkpoint (float, on --device) or a .snmk blob
/// from `sonomask quantize`, recognised by its magic bytes whatever its name.
/// A blob runs on the shared int8 engine fed by the shared thumbnail code,
/// exactly what the cart runs, so `eval` scores the quantised model as
/// deployed.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Checkpoint from `sonomask train` (CKPT.json beside it) or a .snmk blob.
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
    /// Decide each clip as `sonomask mask` does on the host: its
    /// frame-to-frame motion joins the map before the fit (clips of three or
    /// more frames), map cells over a flat grey UI panel leave it, and a
    /// single fitted rectangle or fan is snapped to the image's own edges.
    /// Off by default: `predict` scores the network and
    /// the fit.
    #[arg(long)]
    mask_priors: bool,
    /// Backend for a checkpoint: flex (CPU), cuda or tch (need the Cargo
    /// feature of that name). A blob always runs on the int8 engine.
    #[arg(long, default_value = "flex")]
    device: DeviceChoice,
    /// Public key (KEY.pub) a signed blob must verify with.
    #[arg(long)]
    pubkey: Option<PathBuf>,
    /// Refuse a blob unless it is signed and verifies with --pubkey.
    #[arg(long, requires = "pubkey")]
    require_signature: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let data = Dataset::open(&args.data)?;
    let options = PredictOptions {
        keep_level: inference::keep_level(args.keep_probability)?,
        maps: args.maps.clone(),
        mask_priors: args.mask_priors,
    };
    if blob_inference::is_blob_file(&args.model)? {
        let bytes = std::fs::read(&args.model)
            .with_context(|| format!("reading {}", args.model.display()))?;
        let key = model_file::read_verifying_key_if_given(args.pubkey.as_deref())?;
        let policy = model_file::signature_policy(key.as_ref(), args.require_signature);
        let model = blob_inference::load_blob(&args.model, &bytes, policy)?;
        let net = EnginePredictor::new(&args.model, &model)?;
        predict(&net, "int8", &args, &options, &data)
    } else {
        if args.pubkey.is_some() {
            anyhow::bail!(
                "{}: --pubkey applies to model blobs; this is not one (no SNMK magic)",
                args.model.display()
            );
        }
        let device = train::device(args.device)?;
        let net = Predictor::load(&args.model, device)?;
        predict(&net, "float", &args, &options, &data)
    }
}

fn predict(
    net: &dyn CoarseMaps,
    engine: &str,
    args: &Args,
    options: &PredictOptions,
    data: &Dataset,
) -> anyhow::Result<ExitCode> {
    let t0 = std::time::Instant::now();
    let pb = progress::bar(data.clips().len() as u64, "predict");
    let summary =
        inference::predict_dataset(net, engine, &args.model, data, &args.out, options, &|c| {
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
        "predicted {} clips ({engine}) in {:.1} s ({} all-black after a failed fit) -> {}",
        summary.clips.len(),
        t0.elapsed().as_secs_f64(),
        summary.failed_fits,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
