//! The HQ (human-drawn) label format, written by the simulated annotator
//! (`sonomask annotate --oracle`) and by the drawing UI (`sonomask annotate`)
//! alike, so training cannot tell them apart:
//!
//! ```text
//! HQDIR/<clip-id>.png    keep mask, 8-bit, 255 = keep (the geometry rasterised)
//! HQDIR/<clip-id>.json   HqLabel: the drawn geometry, annotator, seconds, time
//! ```
//!
//! The mask is always rasterised here from the geometry with the shared
//! [`Regions::rasterize`], so the PNG and the JSON cannot disagree.

use std::path::{Path, PathBuf};

use image::GrayImage;
use serde::{Deserialize, Serialize};
use sonomask_core::Regions;

use sonomask_data::dataset::{self, ClipEntry, DatasetError, validate_clip_id};

/// One human-drawn (HQ) label: `HQDIR/<clip>.json` beside `HQDIR/<clip>.png`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HqLabel {
    pub clip: String,
    pub regions: Regions,
    pub annotator: String,
    pub seconds: f64,
    pub time: String,
}

/// `HQDIR/<clip>.json`.
pub fn json_path(out: &Path, clip: &str) -> PathBuf {
    out.join(format!("{clip}.json"))
}

/// `HQDIR/<clip>.png`.
pub fn mask_path(out: &Path, clip: &str) -> PathBuf {
    out.join(format!("{clip}.png"))
}

/// Rasterises `label.regions` at the clip's size and writes the mask, then
/// the JSON (each atomically; the JSON last, so a label whose JSON exists is
/// complete). Returns the mask.
pub fn write(out: &Path, entry: &ClipEntry, label: &HqLabel) -> Result<GrayImage, DatasetError> {
    validate_clip_id(&label.clip)?;
    let (w, h) = (
        u16::try_from(entry.width).unwrap_or(u16::MAX),
        u16::try_from(entry.height).unwrap_or(u16::MAX),
    );
    let mut mask = GrayImage::new(u32::from(w), u32::from(h));
    label.regions.rasterize(w, h, &mut mask);
    dataset::write_png(&mask_path(out, &label.clip), &mask)?;
    dataset::write_json(&json_path(out, &label.clip), label)?;
    Ok(mask)
}

/// Reads `HQDIR/<clip>.json` if it exists.
pub fn read(out: &Path, clip: &str) -> Result<Option<HqLabel>, DatasetError> {
    validate_clip_id(clip)?;
    let path = json_path(out, clip);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(DatasetError::Io { path, source }),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| DatasetError::BadManifest {
            path,
            message: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonomask_core::{Rect, Region};

    #[test]
    fn write_then_read_and_mask_matches_geometry() {
        let dir = tempfile::tempdir().unwrap();
        let entry = ClipEntry {
            id: "c1".into(),
            width: 40,
            height: 30,
            frames: 1,
            color: false,
            ground_truth: false,
        };
        let label = HqLabel {
            clip: "c1".into(),
            regions: Regions::one(Region::Rect(Rect::new(10.0, 5.0, 20.0, 15.0))),
            annotator: "t".into(),
            seconds: 3.5,
            time: "2026-01-01T00:00:00.000Z".into(),
        };
        let mask = write(dir.path(), &entry, &label).unwrap();
        assert_eq!(mask.iter().filter(|&&v| v == 255).count(), 100);
        assert_eq!(read(dir.path(), "c1").unwrap(), Some(label));
        assert_eq!(read(dir.path(), "c2").unwrap(), None);
        assert!(read(dir.path(), "../c1").is_err());
        let png = dataset::read_mask(&mask_path(dir.path(), "c1"), 40, 30).unwrap();
        assert_eq!(png, mask);
    }
}
