//! Weak labelers: cheap, automatic sector masks that seed the training data
//! (the paper's step 1). Both write one keep mask per clip.
//!
//! - [`threshold`]: the paper's simple algorithm — an intensity threshold on
//!   one image, the largest connected component, holes filled.
//! - [`temporal`]: the "complicated" algorithm — the scan region changes from
//!   frame to frame while burned-in overlays do not, so per-pixel variation
//!   over the clip finds the sector; morphology cleans it and the shared
//!   geometry fit turns it into fans/rectangles.

pub mod temporal;
pub mod threshold;

use std::path::Path;

use image::GrayImage;
use rayon::prelude::*;

use crate::dataset::{self, Dataset, DatasetError};

/// Which weak labeler to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    Threshold,
    Temporal,
}

impl Method {
    pub const ALL: [Method; 2] = [Method::Threshold, Method::Temporal];

    pub fn name(self) -> &'static str {
        match self {
            Method::Threshold => "threshold",
            Method::Temporal => "temporal",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "threshold" => Ok(Method::Threshold),
            "temporal" => Ok(Method::Temporal),
            _ => Err(format!("unknown method {s:?} (threshold, temporal)")),
        }
    }
}

/// Fits scan regions to a coarse map with the shared geometry fit (the code
/// the firmware runs) and rasterises them at `opts.full_w × opts.full_h`
/// (255 = keep). The one place the host turns a map into a keep mask.
pub fn fit_mask(
    map: &[u8],
    map_w: usize,
    map_h: usize,
    opts: &sonomask_core::fit::FitOptions,
) -> Result<GrayImage, sonomask_core::fit::FitError> {
    use sonomask_core::fit::FitError;
    let regions = fit_regions(map, map_w, map_h, opts)?;
    let mut out = GrayImage::new(u32::from(opts.full_w), u32::from(opts.full_h));
    if !regions.rasterize(opts.full_w, opts.full_h, &mut out) {
        return Err(FitError::BadMapSize);
    }
    Ok(out)
}

/// The regions [`fit_mask`] rasterises: the shared geometry fit with
/// scratch allocated here.
pub fn fit_regions(
    map: &[u8],
    map_w: usize,
    map_h: usize,
    opts: &sonomask_core::fit::FitOptions,
) -> Result<sonomask_core::Regions, sonomask_core::fit::FitError> {
    use sonomask_core::fit::{self, FitScratch};
    let need = fit::scratch_len(map_w, map_h);
    let mut labels = vec![0u32; need.labels];
    let mut points = vec![(0f32, 0f32); need.points];
    let mut scratch = FitScratch {
        labels: &mut labels,
        points: &mut points,
    };
    fit::fit_regions_from_map(map, map_w, map_h, opts, &mut scratch)
}

/// Fans/rectangles fitted to a full-resolution keep mask (a weak label or a
/// model's prediction): the geometry the drawing UI starts from, since a
/// person drags handles of shapes, not pixels.
pub fn regions_from_mask(
    mask: &GrayImage,
) -> Result<sonomask_core::Regions, sonomask_core::fit::FitError> {
    use sonomask_core::fit::{FitError, FitOptions};
    let (w, h) = mask.dimensions();
    let (w16, h16) = (
        u16::try_from(w).map_err(|_| FitError::BadParameter)?,
        u16::try_from(h).map_err(|_| FitError::BadParameter)?,
    );
    fit_regions(
        mask.as_raw(),
        w as usize,
        h as usize,
        &FitOptions::full_res(w16, h16),
    )
}

/// Labels one clip given its luma frames; the result is a 255/0 keep mask.
pub fn label_clip(method: Method, frames: &[GrayImage]) -> GrayImage {
    match method {
        Method::Threshold => threshold::label(frames, &threshold::Params::default()),
        Method::Temporal => temporal::label(frames, &temporal::Params::default()),
    }
}

/// Runs a labeler over every clip of `data` and writes `out/<clip-id>.png`.
/// All masks are computed before the first is written, so a clip that cannot
/// be read leaves `out` untouched; each file is written atomically.
/// `on_clip` is called after each clip is labeled (progress).
pub fn label_dataset(
    method: Method,
    data: &Dataset,
    out: &Path,
    on_clip: &(dyn Fn() + Sync),
) -> Result<usize, DatasetError> {
    let masks = data
        .clips()
        .par_iter()
        .map(|c| {
            let frames = data.load_luma(&c.id)?;
            let mask = label_clip(method, &frames);
            on_clip();
            Ok((c.id.as_str(), mask))
        })
        .collect::<Result<Vec<_>, DatasetError>>()?;
    std::fs::create_dir_all(out).map_err(|source| DatasetError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    for (id, mask) in &masks {
        dataset::write_png(&out.join(format!("{id}.png")), mask)?;
    }
    Ok(masks.len())
}
