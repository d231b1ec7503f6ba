use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use sonomask_data::synth::{self, Layout, SynthConfig};
use sonomask_data::synth_io;
use sonomask_data::{dataset, progress};

/// Generate synthetic echo clips with exact ground truth.
///
/// The clips look like real scanner output (fans, rectangles, dual screens,
/// M-mode strips, zoomed curved-probe views that fill their box, speckle,
/// moving chambers, Doppler, burned-in text, ECG, depth markers, bars,
/// toolbars). Per clip: sector.png (255 = scan region)
/// and overlay.png (255 = burned-in text, ECG, markers, bars, logos, calipers).
///
/// Layout of DIR: manifest.json, clips/<id>/frames/000.png…, sector.png,
/// overlay.png, meta.json (geometry, layout, seed). Same seed, same bytes.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Output dataset folder (must be empty or absent unless --force).
    #[arg(long)]
    out: PathBuf,
    /// Number of clips.
    #[arg(long, default_value_t = 20)]
    clips: usize,
    /// Frames per clip.
    #[arg(long, default_value_t = 16)]
    frames: usize,
    /// Seed; every random choice derives from it.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Frame size WxH for every clip (default: per clip, 640x480 to 1024x768).
    #[arg(long, value_parser = synth::parse_size)]
    size: Option<(u32, u32)>,
    /// Comma-separated layouts to draw from.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "cardiac,curvilinear,linear,dual,mmode"
    )]
    layouts: Vec<Layout>,
    /// Also write a contact sheet of the first frames to this PNG.
    #[arg(long)]
    preview: Option<PathBuf>,
    /// Replace the contents of a non-empty output folder.
    #[arg(long)]
    force: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.clips == 0 || args.frames == 0 {
        bail!("--clips and --frames must be at least 1");
    }
    if args.layouts.is_empty() {
        bail!("--layouts must name at least one layout");
    }
    dataset::prepare_out(&args.out, args.force)?;
    let cfg = SynthConfig {
        seed: args.seed,
        clips: args.clips,
        frames: args.frames,
        size: args.size,
        layouts: args.layouts,
    };
    let pb = progress::bar(cfg.clips as u64, "synth");
    let t0 = std::time::Instant::now();
    let frames = synth_io::write_dataset(&cfg, &args.out, &|| pb.inc(1))?;
    pb.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "wrote {} clips, {frames} frames in {secs:.1} s ({:.0} frames/s incl. PNG encoding) -> {}",
        cfg.clips,
        frames as f64 / secs.max(1e-9),
        args.out.display()
    );
    if let Some(preview) = &args.preview {
        write_preview(&cfg, preview)?;
        eprintln!("contact sheet -> {}", preview.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Regenerates up to 20 clips and writes their contact sheet.
pub fn write_preview(cfg: &SynthConfig, path: &std::path::Path) -> anyhow::Result<()> {
    let clips: Vec<_> = (0..cfg.clips.min(20))
        .map(|i| synth::generate_clip(cfg, i))
        .collect();
    let refs: Vec<_> = clips.iter().collect();
    let sheet = synth::contact_sheet(&refs, 5, 320);
    sonomask_data::dataset::write_png(path, &sheet)?;
    Ok(())
}
