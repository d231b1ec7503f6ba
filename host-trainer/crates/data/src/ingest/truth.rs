//! Ground truth for ingested real clips, from human-drawn sector geometry.
//!
//! A real file has no `sector.png`: a person has to say where the scan is.
//! The geometry is stored as the HQ label JSON that `sonomask annotate`
//! writes (`<clip-id>.json` with a `regions` field; other fields are
//! ignored), so a drawing made in the review UI and one measured on
//! intensity profiles are read the same way. From it, [`ClipTruth::new`]
//! makes what `sonomask eval` scores against:
//!
//! * `sector` — the regions rasterised with the shared
//!   [`Regions::rasterize`] (255 = scan), exactly as a keep mask would be;
//! * `overlay` — every pixel *outside* the sector that is not near black in
//!   some frame (luma ≥ [`CONTENT_LUMA`]): burned-in text, rulers, logos,
//!   colour bars, ECG traces. On a real frame any of it may be identifying,
//!   so the PHI-leak metric counts all of it.

use std::path::{Path, PathBuf};

use image::GrayImage;
use serde::Deserialize;
use sonomask_core::Regions;

use crate::dataset::{Frames, validate_clip_id};

/// Luma at or above which a pixel outside the sector counts as burned-in
/// content (the `overlay` ground truth). Real backgrounds are 0–10; the
/// faintest UI text seen on the real development set is about 40.
pub const CONTENT_LUMA: u8 = 24;

/// Why a clip's truth could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TruthError {
    #[error("{path}: cannot read")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a sector label (a JSON object with `regions`): {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: the regions are not a valid scan geometry")]
    Invalid { path: PathBuf },
    #[error("{path}: frame of {width}x{height} is larger than a label can describe")]
    TooLarge {
        path: PathBuf,
        width: u32,
        height: u32,
    },
}

/// The part of an HQ label ingest needs.
#[derive(Deserialize)]
struct Label {
    regions: Regions,
}

/// `dir/<clip>.json`'s regions, if that file exists.
pub fn read_regions(dir: &Path, clip: &str) -> Result<Option<(PathBuf, Regions)>, TruthError> {
    let path = dir.join(format!("{clip}.json"));
    if validate_clip_id(clip).is_err() {
        return Ok(None);
    }
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(TruthError::Io { path, source }),
    };
    let label: Label = serde_json::from_str(&text).map_err(|e| TruthError::Parse {
        path: path.clone(),
        message: e.to_string(),
    })?;
    if !label.regions.is_valid() {
        return Err(TruthError::Invalid { path });
    }
    Ok(Some((path, label.regions)))
}

/// A clip's ground truth: the sector mask and the burned-in content outside it.
pub struct ClipTruth {
    pub sector: GrayImage,
    pub overlay: GrayImage,
}

impl ClipTruth {
    /// Rasterises `regions` at the frames' size and marks the content
    /// outside it (see the [module documentation](self)). `path` names the
    /// label in errors.
    pub fn new(path: &Path, regions: &Regions, frames: &Frames) -> Result<Self, TruthError> {
        let luma = frames.to_luma();
        let (width, height) = luma.first().map_or((0, 0), |f| f.dimensions());
        let too_large = || TruthError::TooLarge {
            path: path.to_path_buf(),
            width,
            height,
        };
        let w = u16::try_from(width).map_err(|_| too_large())?;
        let h = u16::try_from(height).map_err(|_| too_large())?;
        let mut sector = GrayImage::new(width, height);
        regions.rasterize(w, h, &mut sector);
        let mut overlay = GrayImage::new(width, height);
        for frame in &luma {
            for ((o, &s), &v) in overlay.iter_mut().zip(sector.iter()).zip(frame.iter()) {
                if s == 0 && v >= CONTENT_LUMA {
                    *o = 255;
                }
            }
        }
        Ok(Self { sector, overlay })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonomask_core::{Rect, Region};

    #[test]
    fn sector_is_the_geometry_and_overlay_the_bright_pixels_outside_it() {
        let mut f = GrayImage::new(20, 10);
        f.put_pixel(1, 1, image::Luma([200])); // text outside
        f.put_pixel(2, 1, image::Luma([CONTENT_LUMA - 1])); // background noise
        f.put_pixel(10, 5, image::Luma([0])); // dark anatomy inside
        let regions = Regions::one(Region::Rect(Rect::new(5.0, 2.0, 15.0, 9.0)));
        let t = ClipTruth::new(Path::new("x.json"), &regions, &Frames::Gray(vec![f])).unwrap();
        assert_eq!(t.sector.iter().filter(|&&v| v == 255).count(), 70);
        assert_eq!(t.sector.get_pixel(10, 5).0, [255]);
        assert_eq!(t.overlay.iter().filter(|&&v| v == 255).count(), 1);
        assert_eq!(t.overlay.get_pixel(1, 1).0, [255]);
    }

    #[test]
    fn labels_are_read_by_clip_id_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_regions(dir.path(), "a").unwrap().is_none());
        assert!(read_regions(dir.path(), "../a").unwrap().is_none());
        std::fs::write(
            dir.path().join("a.json"),
            r#"{"clip":"a","regions":{"regions":[{"kind":"rect","x0":1,"y0":1,"x1":5,"y1":4}]},"annotator":"x"}"#,
        )
        .unwrap();
        let (_, r) = read_regions(dir.path(), "a").unwrap().unwrap();
        assert_eq!(r.len(), 1);
        std::fs::write(dir.path().join("b.json"), r#"{"regions":{"regions":[]}}"#).unwrap();
        assert!(matches!(
            read_regions(dir.path(), "b"),
            Err(TruthError::Invalid { .. })
        ));
        std::fs::write(dir.path().join("c.json"), "not json").unwrap();
        assert!(matches!(
            read_regions(dir.path(), "c"),
            Err(TruthError::Parse { .. })
        ));
    }
}
