//! Writing a synthetic dataset to disk: clips are generated in parallel (each
//! depends only on the seed and its index), each written atomically, and the
//! manifest last.

use std::path::Path;

use rayon::prelude::*;

use crate::dataset::{self, ClipData, DatasetError, FramesRef, Manifest};
use crate::synth::{self, SynthClip, SynthConfig};

/// Generates `cfg.clips` clips into `out` and writes the manifest. Returns the
/// number of frames written. `on_clip` is called after each clip.
pub fn write_dataset(
    cfg: &SynthConfig,
    out: &Path,
    on_clip: &(dyn Fn() + Sync),
) -> Result<usize, DatasetError> {
    let entries = (0..cfg.clips)
        .into_par_iter()
        .map(|i| {
            let clip = synth::generate_clip(cfg, i);
            let entry = write_clip(out, &clip)?;
            on_clip();
            Ok(entry)
        })
        .collect::<Result<Vec<_>, DatasetError>>()?;
    let frames = entries.iter().map(|e| e.frames).sum();
    let manifest = Manifest {
        format: dataset::FORMAT.into(),
        version: dataset::VERSION,
        created_by: "sonomask synth".into(),
        config: config_json(cfg),
        clips: entries,
    };
    dataset::write_manifest(out, &manifest)?;
    Ok(frames)
}

/// The configuration as recorded in the manifest (enough to regenerate).
pub fn config_json(cfg: &SynthConfig) -> serde_json::Value {
    serde_json::json!({
        "seed": cfg.seed,
        "clips": cfg.clips,
        "frames": cfg.frames,
        "size": cfg.size.map(|(w, h)| format!("{w}x{h}")),
        "layouts": cfg.layouts,
        "generator_version": env!("CARGO_PKG_VERSION"),
    })
}

/// Writes one generated clip (grey clips as 8-bit PNG, colour as RGB).
pub fn write_clip(out: &Path, clip: &SynthClip) -> Result<dataset::ClipEntry, DatasetError> {
    let meta = serde_json::to_value(&clip.meta).map_err(|e| DatasetError::BadManifest {
        path: out.join("clips").join(&clip.meta.id),
        message: e.to_string(),
    })?;
    let gray: Vec<image::GrayImage>;
    let frames = if clip.meta.color {
        FramesRef::Rgb(&clip.frames)
    } else {
        gray = clip
            .frames
            .iter()
            .map(|f| image::DynamicImage::ImageRgb8(f.clone()).into_luma8())
            .collect();
        FramesRef::Gray(&gray)
    };
    dataset::write_clip(
        out,
        &ClipData {
            id: &clip.meta.id,
            frames,
            sector: Some(&clip.sector),
            overlay: Some(&clip.overlay),
            meta,
        },
    )
}
