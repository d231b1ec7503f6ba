//! In-sector brightness statistics: how dark is the inside of the scan sector?
//!
//! A network trained on synthetic clips learns whatever separates "inside"
//! from "outside" there. When every synthetic sector is bright speckle it
//! learns "bright = inside" and cuts dark anatomy (heart chambers, bladder,
//! shadows, low gain) out of real sectors. This tool measures the two numbers
//! that expose that, so the generator can be matched to real frames by
//! measurement instead of by eye:
//!
//! * per clip, the fraction of in-sector pixels with luma < 20, and
//! * per clip, the median in-sector luma,
//!
//! pooled over up to `--max-frames` frames spread over the clip, then their
//! median and 10th / 90th percentiles across clips.
//!
//! ```text
//! # a sonomask dataset with ground truth (clips/<id>/sector.png)
//! cargo run -p sonomask-data --example sector_stats -- --data /tmp/pool
//! # real frames in <root>/<clip>/frames/*.png with masks in <truth>/<clip>.png
//! cargo run -p sonomask-data --example sector_stats -- \
//!     --frames-root /tmp/rd/clips --truth /tmp/realdev-truth
//! # generate in memory (no PNG round trip; same pixels as `sonomask synth`)
//! cargo run -p sonomask-data --example sector_stats -- --synth 200 --seed 7 \
//!     --sheet /tmp/synth-sheet.png   # plus the first 24 clips' first frames
//! ```
//!
//! Luma is Rec. 601 ([`sonomask_data::dataset::rgb_to_luma`]), as every
//! labeler sees it. Overlay pixels inside the sector are counted: real truth
//! masks include them too.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use image::GrayImage;
use sonomask_data::dataset::{self, Dataset};
use sonomask_data::frames::spread_frames;
use sonomask_data::synth::{self, SynthConfig};

/// Luma below which a pixel counts as "dark" (anechoic / black).
const DARK: u8 = 20;

/// One clip's statistics.
struct ClipStats {
    id: String,
    frac_dark: f64,
    median: u8,
    pixels: u64,
}

/// Histogram of in-sector luma over the given frames.
fn clip_stats(id: &str, sector: &GrayImage, frames: &[GrayImage]) -> Result<ClipStats, String> {
    let mut hist = [0u64; 256];
    for (k, f) in frames.iter().enumerate() {
        if f.dimensions() != sector.dimensions() {
            return Err(format!(
                "{id}: frame {k} is {:?}, sector mask is {:?}",
                f.dimensions(),
                sector.dimensions()
            ));
        }
        for (&m, &y) in sector.as_raw().iter().zip(f.as_raw()) {
            if m != 0 {
                hist[usize::from(y)] += 1;
            }
        }
    }
    let pixels: u64 = hist.iter().sum();
    if pixels == 0 {
        return Err(format!("{id}: empty sector mask or no frames"));
    }
    let dark: u64 = hist[..usize::from(DARK)].iter().sum();
    let mut acc = 0u64;
    let mut median = 255u8;
    for (v, &c) in hist.iter().enumerate() {
        acc += c;
        if 2 * acc >= pixels {
            median = v as u8;
            break;
        }
    }
    Ok(ClipStats {
        id: id.to_string(),
        frac_dark: dark as f64 / pixels as f64,
        median,
        pixels,
    })
}

/// Linear-interpolated percentile (`q` in 0..=1) of unsorted values.
fn percentile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

fn pick<T: Clone>(all: &[T], max: usize) -> Vec<T> {
    spread_frames(all.len(), max)
        .into_iter()
        .map(|i| all[i].clone())
        .collect()
}

fn from_dataset(dir: &Path, max_frames: usize) -> Result<Vec<ClipStats>, String> {
    let ds = Dataset::open(dir).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for entry in ds.clips() {
        let sector = ds.load_sector(&entry.id).map_err(|e| e.to_string())?;
        let luma = ds.load_luma(&entry.id).map_err(|e| e.to_string())?;
        out.push(clip_stats(&entry.id, &sector, &pick(&luma, max_frames))?);
    }
    Ok(out)
}

/// `<truth>/<clip>.png` masks, frames in `<root>/<clip>/frames/*.png`.
fn from_folders(root: &Path, truth: &Path, max_frames: usize) -> Result<Vec<ClipStats>, String> {
    let list = |dir: &Path| -> Result<Vec<PathBuf>, String> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("png")))
            .collect();
        v.sort();
        Ok(v)
    };
    let mut out = Vec::new();
    for mask_path in list(truth)? {
        let Some(id) = mask_path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let frame_paths = list(&root.join(id).join("frames"))?;
        if frame_paths.is_empty() {
            return Err(format!("{id}: no frames under {}", root.display()));
        }
        let mask = dataset::read_image(&mask_path)
            .map_err(|e| e.to_string())?
            .to_luma8();
        let mut frames = Vec::new();
        for p in pick(&frame_paths, max_frames) {
            let img = dataset::read_image(&p).map_err(|e| e.to_string())?;
            frames.push(dataset::rgb_to_luma(&img.to_rgb8()));
        }
        out.push(clip_stats(id, &mask, &frames)?);
    }
    Ok(out)
}

/// Generates `clips` clips in memory; with `sheet`, also writes a contact
/// sheet of the first frames of clips `sheet_clips` there.
fn from_synth(
    clips: usize,
    seed: u64,
    max_frames: usize,
    sheet: Option<&Path>,
    sheet_clips: std::ops::Range<usize>,
) -> Result<Vec<ClipStats>, String> {
    use rayon::prelude::*;
    let cfg = SynthConfig {
        seed,
        clips,
        ..SynthConfig::default()
    };
    let stats = (0..clips)
        .into_par_iter()
        .map(|i| {
            let clip = synth::generate_clip(&cfg, i);
            let luma: Vec<GrayImage> = clip.frames.iter().map(dataset::rgb_to_luma).collect();
            let mut s = clip_stats(&clip.meta.id, &clip.sector, &pick(&luma, max_frames))?;
            s.id = format!(
                "{} {} {}",
                clip.meta.id, clip.meta.layout, clip.meta.anatomy
            );
            Ok(s)
        })
        .collect::<Result<Vec<_>, String>>()?;
    if let Some(path) = sheet {
        let shown: Vec<_> = (sheet_clips.start..sheet_clips.end.min(clips))
            .into_par_iter()
            .map(|i| {
                synth::generate_clip(
                    &SynthConfig {
                        frames: 1,
                        ..cfg.clone()
                    },
                    i,
                )
            })
            .collect();
        let refs: Vec<&synth::SynthClip> = shown.iter().collect();
        synth::contact_sheet(&refs, 6, 220)
            .save(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(stats)
}

struct Args {
    data: Option<PathBuf>,
    frames_root: Option<PathBuf>,
    truth: Option<PathBuf>,
    synth: Option<usize>,
    seed: u64,
    max_frames: usize,
    quiet: bool,
    sheet: Option<PathBuf>,
    sheet_clips: usize,
    sheet_start: usize,
}

const USAGE: &str = "usage: sector_stats (--data DIR | --frames-root DIR --truth DIR | --synth N [--seed S]) [--max-frames K] [--quiet] [--sheet PNG [--sheet-start I] [--sheet-clips N]]";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        data: None,
        frames_root: None,
        truth: None,
        synth: None,
        seed: 7,
        max_frames: 8,
        quiet: false,
        sheet: None,
        sheet_clips: 24,
        sheet_start: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--data" => a.data = Some(val()?.into()),
            "--frames-root" => a.frames_root = Some(val()?.into()),
            "--truth" => a.truth = Some(val()?.into()),
            "--synth" => a.synth = Some(val()?.parse().map_err(|e| format!("--synth: {e}"))?),
            "--seed" => a.seed = val()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--max-frames" => {
                a.max_frames = val()?.parse().map_err(|e| format!("--max-frames: {e}"))?
            }
            "--quiet" => a.quiet = true,
            "--sheet" => a.sheet = Some(val()?.into()),
            "--sheet-start" => {
                a.sheet_start = val()?.parse().map_err(|e| format!("--sheet-start: {e}"))?
            }
            "--sheet-clips" => {
                a.sheet_clips = val()?.parse().map_err(|e| format!("--sheet-clips: {e}"))?
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let sources = usize::from(a.data.is_some())
        + usize::from(a.frames_root.is_some() || a.truth.is_some())
        + usize::from(a.synth.is_some());
    if sources != 1 || a.frames_root.is_some() != a.truth.is_some() {
        return Err(USAGE.into());
    }
    Ok(a)
}

fn run() -> Result<(), String> {
    let a = parse_args()?;
    let stats = match (&a.data, &a.frames_root, &a.truth, a.synth) {
        (Some(d), _, _, _) => from_dataset(d, a.max_frames)?,
        (_, Some(r), Some(t), _) => from_folders(r, t, a.max_frames)?,
        (_, _, _, Some(n)) => {
            let shown = a.sheet_start..a.sheet_start + a.sheet_clips;
            from_synth(n, a.seed, a.max_frames, a.sheet.as_deref(), shown)?
        }
        _ => return Err(USAGE.into()),
    };
    if stats.is_empty() {
        return Err("no clips".into());
    }
    if !a.quiet {
        println!(
            "{:<48} {:>9} {:>7} {:>12}",
            "clip", "luma<20", "median", "pixels"
        );
        for s in &stats {
            println!(
                "{:<48} {:>9.3} {:>7} {:>12}",
                s.id, s.frac_dark, s.median, s.pixels
            );
        }
    }
    let dark: Vec<f64> = stats.iter().map(|s| s.frac_dark).collect();
    let med: Vec<f64> = stats.iter().map(|s| f64::from(s.median)).collect();
    println!("clips: {}", stats.len());
    for (name, v) in [("fraction luma<20", &dark), ("median luma", &med)] {
        println!(
            "{name:<17}  median {:>7.3}  p10 {:>7.3}  p90 {:>7.3}",
            percentile(v, 0.5),
            percentile(v, 0.1),
            percentile(v, 0.9)
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sector_stats: {e}");
            ExitCode::FAILURE
        }
    }
}
