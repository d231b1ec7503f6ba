//! Throughput of `sonomask mask` on real cines, stage by stage, in frames/s:
//! decode (open, codec, palette/colour conversion), mask (int8 model on
//! every frame, fit, checks, masking every frame of the stored samples)
//! and encode (the output DICOM in memory; no disk). Each stage runs
//! `--reps` times on the same clip; the best time is reported (the least
//! disturbed by other work on the machine).
//!
//! ```sh
//! cargo run --release -p sonomask-mask --example mask_throughput
//! cargo run --release -p sonomask-mask --example mask_throughput -- \
//!     --model models/default.snmk --reps 5 --json out.json a.dcm b.dcm
//! ```
//! `--json PATH` also writes the rows as JSON (`scripts/bench.sh` keeps
//! them in `docs/benchmarks.json`).
//! Without files it measures the 27-frame and 30-frame cines of
//! `../shared/realdata`. Threads: rayon's default (all cores); set
//! `RAYON_NUM_THREADS=1` for one core.

use std::path::PathBuf;
use std::time::Instant;

use sonomask_core::blob::SignaturePolicy;
use sonomask_deploy::blob_inference::{self, EnginePredictor};
use sonomask_deploy::maps::DEFAULT_KEEP_LEVEL;
use sonomask_mask::{Masker, apply, dicom_out, source};

fn main() -> anyhow::Result<()> {
    let mut model = PathBuf::from("models/default.snmk");
    let mut reps = 5usize;
    let mut files = Vec::new();
    let mut json: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--model" => model = args.next().map(PathBuf::from).unwrap_or(model),
            "--reps" => reps = args.next().and_then(|v| v.parse().ok()).unwrap_or(reps),
            "--json" => json = args.next().map(PathBuf::from),
            _ => files.push(PathBuf::from(a)),
        }
    }
    if files.is_empty() {
        let dir = PathBuf::from("../shared/realdata");
        files = vec![
            dir.join("deid-philips-linear-grey-cine.dcm"),
            dir.join("pydicom-sonosite-phased-ybr-cine.dcm"),
        ];
    }
    let bytes = std::fs::read(&model)?;
    let blob = blob_inference::load_blob(&model, &bytes, SignaturePolicy::Optional)?;
    let masker = Masker {
        engine: EnginePredictor::new(&model, &blob)?,
        keep_level: DEFAULT_KEEP_LEVEL,
        motion_prior: true,
        edge_snap: true,
    };
    println!(
        "{:<40} {:>6} {:>9} {:>14} {:>14} {:>14}",
        "file", "frames", "size", "decode fr/s", "mask fr/s", "encode fr/s"
    );
    let mut rows = Vec::new();
    for f in &files {
        let mut best = [f64::INFINITY; 3];
        let mut frames = 0usize;
        let mut size = (0, 0);
        for _ in 0..reps.max(1) {
            let t = Instant::now();
            let src = source::read(f)?;
            best[0] = best[0].min(t.elapsed().as_secs_f64());
            frames = src.frames.len();
            size = src.size();
            let Some(dicom) = src.dicom else {
                anyhow::bail!("{}: not a DICOM file", f.display());
            };
            let t = Instant::now();
            let decision = masker.decide(&src.frames, &dicom.us_regions)?;
            let masked = apply::mask_native(&dicom.native, decision.regions.as_ref());
            best[1] = best[1].min(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let out = dicom_out::build(dicom, masked, None)?;
            best[2] = best[2].min(t.elapsed().as_secs_f64());
            std::hint::black_box(out.bytes.len());
        }
        let fps = |s: f64| frames as f64 / s;
        let name = f
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        rows.push(serde_json::json!({
            "file": name,
            "frames": frames,
            "width": size.0,
            "height": size.1,
            "decode_frames_per_s": fps(best[0]),
            "mask_frames_per_s": fps(best[1]),
            "encode_frames_per_s": fps(best[2]),
        }));
        println!(
            "{:<40} {:>6} {:>9} {:>14.0} {:>14.0} {:>14.0}",
            name,
            frames,
            format!("{}x{}", size.0, size.1),
            fps(best[0]),
            fps(best[1]),
            fps(best[2]),
        );
    }
    if let Some(path) = json {
        std::fs::write(&path, serde_json::to_string_pretty(&rows)?)?;
    }
    Ok(())
}
