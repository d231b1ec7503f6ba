use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use sonomask::dataset::Dataset;
use sonomask::synth::SynthConfig;
use sonomask::weak::{self, Method};
use sonomask::{evaluate, progress, synth_io};

/// Run the main job on built-in defaults: synthesise, label, evaluate.
///
/// Synthesises a small echo dataset, runs both weak labelers, scores them
/// against the ground truth, prints a summary and writes a contact sheet.
/// Run from the repository root with no arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Working folder for the demo's dataset, masks and pictures (replaced).
    #[arg(long, default_value = "demo-out")]
    out: PathBuf,
    /// Number of synthetic clips.
    #[arg(long, default_value_t = 20)]
    clips: usize,
    /// Frames per clip.
    #[arg(long, default_value_t = 12)]
    frames: usize,
    /// Seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let t0 = std::time::Instant::now();
    let data_dir = args.out.join("data");
    super::synth::prepare_out(&data_dir, true)?;
    let cfg = SynthConfig {
        seed: args.seed,
        clips: args.clips,
        frames: args.frames,
        ..SynthConfig::default()
    };
    println!(
        "sonomask demo: {} synthetic clips × {} frames, seed {}",
        cfg.clips, cfg.frames, cfg.seed
    );
    let pb = progress::bar(cfg.clips as u64, "synth");
    let frames = synth_io::write_dataset(&cfg, &data_dir, &|| pb.inc(1))?;
    pb.finish_and_clear();
    println!("  synthesised {frames} frames -> {}", data_dir.display());
    let sheet = args.out.join("contact-sheet.png");
    super::synth::write_preview(&cfg, &sheet)?;
    println!("  contact sheet -> {}", sheet.display());

    let data = Dataset::open(&data_dir)?;
    let mut rows = Vec::new();
    for method in Method::ALL {
        let masks = args.out.join(format!("masks-{method}"));
        let pb = progress::bar(data.clips().len() as u64, method.name());
        let t = std::time::Instant::now();
        weak::label_dataset(method, &data, &masks, &|| pb.inc(1))
            .with_context(|| format!("{method} labeler"))?;
        pb.finish_and_clear();
        let secs = t.elapsed().as_secs_f64();
        let s = evaluate::evaluate(&data, &masks)?;
        rows.push((method, s, frames as f64 / secs.max(1e-9)));
    }
    println!();
    println!(
        "  {:<10} {:>8} {:>7} {:>7} {:>8} {:>8} {:>9} {:>9}",
        "labeler", "accuracy", "dice", "iou", "phi_leak", "sig_loss", "bound_px", "frames/s"
    );
    for (m, s, fps) in &rows {
        println!(
            "  {:<10} {:>8.4} {:>7.4} {:>7.4} {:>8.4} {:>8.4} {:>9.2} {:>9.0}",
            m.name(),
            s.pixel_accuracy,
            s.dice,
            s.iou,
            s.phi_leak,
            s.signal_loss,
            s.boundary_px,
            fps
        );
    }
    println!();
    println!(
        "done in {:.1} s; outputs in {}",
        t0.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
