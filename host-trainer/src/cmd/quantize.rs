use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use sonomask_data::dataset::Dataset;
use sonomask_data::progress;
use sonomask_deploy::model_file;
use sonomask_train::quantize::{self, QuantizeConfig, QuantizeRequest, calibrate::RangeMethod};

/// Quantise a trained network to an int8 model blob (.snmk) for the cart.
///
/// BatchNorm is folded into the convolutions; the float network runs on
/// calibration frames (area-averaged exactly as the cart does) to find each
/// activation's range; weights get one symmetric int8 scale per output
/// channel, biases are int32, requantisation is a Q31 multiplier and a
/// shift (the TFLite / CMSIS-NN int8 scheme). The blob's header carries a
/// SHA-256 of the checkpoint, the settings and the calibration frames.
/// Writes FILE.snmk and FILE.snmk.json (ranges, grids, int8-vs-float
/// agreement on the calibration frames), each atomically.
///
/// Run the blob with `sonomask predict --model FILE.snmk`, check it with
/// `sonomask inspect FILE.snmk`.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Checkpoint from `sonomask train` (CKPT.json must be beside it).
    #[arg(long)]
    model: PathBuf,
    /// Dataset whose frames calibrate the activation ranges.
    #[arg(long)]
    calib: PathBuf,
    /// The blob to write (FILE.snmk; the report goes to FILE.snmk.json).
    #[arg(long)]
    out: PathBuf,
    /// Sign the blob with this secret key (from `sonomask keygen`).
    #[arg(long)]
    sign_key: Option<PathBuf>,
    /// Calibration frames, spread evenly over the clips.
    #[arg(long, default_value_t = quantize::DEFAULT_CALIB_FRAMES)]
    calib_frames: usize,
    /// Activation ranges: `minmax` (never clips) or `percentile:P`
    /// (clips the rarest (100-P)% at each end, e.g. percentile:99.99).
    #[arg(long, default_value_t = quantize::DEFAULT_METHOD)]
    ranges: RangeMethod,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let key = args
        .sign_key
        .as_deref()
        .map(model_file::read_signing_key)
        .transpose()?;
    let calib = Dataset::open(&args.calib)?;
    let config = QuantizeConfig {
        method: args.ranges,
        calib_frames: args.calib_frames,
    };
    let frames = quantize::calibration_frames(&calib, config.calib_frames).len();
    let t0 = std::time::Instant::now();
    let pb = progress::bar(quantize::progress_steps(&config, frames), "quantize");
    let report = quantize::quantize_checkpoint(
        QuantizeRequest {
            checkpoint: &args.model,
            calib: &calib,
            out: &args.out,
            key: key.as_ref(),
            config,
        },
        &|| pb.inc(1),
    )
    .with_context(|| format!("quantizing {}", args.model.display()))?;
    pb.finish_and_clear();
    let a = &report.calib_agreement;
    eprintln!(
        "{} ({} bytes, {}, arena {} bytes, {} MACs) from {} calibration frames ({}) in {:.1} s",
        args.out.display(),
        report.blob_bytes,
        if report.signed { "signed" } else { "unsigned" },
        report.arena_bytes,
        report.macs,
        frames,
        config.method,
        t0.elapsed().as_secs_f64()
    );
    eprintln!(
        "int8 vs float on the calibration frames: {:.4} of coarse decisions agree; \
         logit error mean {:+.4}, mean |.| {:.4} (mean |logit| {:.3}); \
         mean |probability error| {:.3}/255",
        a.decision_agreement,
        a.mean_logit_error,
        a.mean_abs_logit_error,
        a.mean_abs_logit,
        a.mean_abs_probability_error
    );
    println!("{}", args.out.display());
    Ok(ExitCode::SUCCESS)
}
