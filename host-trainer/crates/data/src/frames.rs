//! Clip frames as the network sees them, without burn: exact area averaging
//! to the network's input size, luma or raw frames from a dataset, the
//! int8 path's thumbnails, and the evenly spread frames a clip is judged by.
//!
//! # Exact area averaging
//!
//! Every coarse pixel is the mean of the full-resolution area it covers,
//! fractional pixels weighted by the fraction covered, computed by the
//! shared core ([`sonomask_core::thumbnail::area_sums`]): integer weights,
//! exact `u64` sums, one division at the end — so the result does not
//! depend on summation order, thread count or platform. The float input
//! here is `sum / (w·h) / 255`; the int8 input the cart (and
//! `sonomask predict` with a blob) feeds the engine is the same sum rounded
//! to 8 bits and quantised with the model's input grid
//! ([`sonomask_core::thumbnail::frame_to_input`]). For grey frames the two
//! differ by at most half a luma step before quantisation; for RGB frames
//! by at most one, since the float input averages the loaders' per-pixel
//! rounded luma and the int8 input takes the luma of each cell's mean
//! colour, rounded once.

use image::GrayImage;
use sonomask_core::mask::{FrameLayout, PixelFormat};
use sonomask_core::thumbnail;

use crate::dataset::{self, ClipEntry, Dataset, DatasetError};

/// Mean of `src` (`w × h`, row-major luma) over each of `out_w × out_h`
/// equal areas, exactly (see the module documentation). Values stay in the
/// source's units (0..=255).
///
/// # Panics
///
/// If `src` is not `w × h`, a side is 0 or above 65535 (dataset loading
/// refuses such frames), or the output is empty.
pub fn area_average(src: &[u8], w: usize, h: usize, out_w: usize, out_h: usize) -> Vec<f32> {
    assert_eq!(src.len(), w * h, "area_average: buffer is not w × h");
    let side = |v: usize| u16::try_from(v).expect("area_average: side above 65535");
    let layout = FrameLayout::packed(side(w), side(h), PixelFormat::Gray8);
    let mut sums = vec![0u64; out_w * out_h];
    let denom = thumbnail::area_sums(src, layout, out_w, out_h, |i, s| sums[i] = s)
        .expect("area_average: empty frame or output");
    // Exact sum / exact denominator, one rounding (as f64, then f32).
    sums.iter()
        .map(|&s| (s as f64 / denom as f64) as f32)
        .collect()
}

/// A frame as network input: area-averaged to `out_w × out_h`, scaled to `[0, 1]`.
pub fn frame_to_input(frame: &GrayImage, out_w: usize, out_h: usize) -> Vec<f32> {
    let (w, h) = frame.dimensions();
    area_average(frame.as_raw(), w as usize, h as usize, out_w, out_h)
        .into_iter()
        .map(|v| v / 255.0)
        .collect()
}

/// Loads frame `index` of a clip as luma (Rec. 601 for RGB clips, as
/// [`Dataset::load_luma`] does) without decoding the clip's other frames.
pub fn load_frame_luma(
    data: &Dataset,
    entry: &ClipEntry,
    index: usize,
) -> Result<GrayImage, DatasetError> {
    let path = data.frame_path(&entry.id, index);
    let img = dataset::read_image(&path)?;
    if (img.width(), img.height()) != (entry.width, entry.height) {
        return Err(DatasetError::WrongSize {
            path,
            got_w: img.width(),
            got_h: img.height(),
            want_w: entry.width,
            want_h: entry.height,
        });
    }
    Ok(if entry.color {
        dataset::rgb_to_luma(&img.into_rgb8())
    } else {
        img.into_luma8()
    })
}

/// Frame `index` of a clip as stored (RGB or grey bytes) with its layout,
/// for the shared thumbnail code ([`sonomask_core::thumbnail`]), which does
/// the luma conversion itself, exactly as the cart does on captured frames.
pub fn load_frame_raw(
    data: &Dataset,
    entry: &ClipEntry,
    index: usize,
) -> Result<(Vec<u8>, FrameLayout), DatasetError> {
    let path = data.frame_path(&entry.id, index);
    let img = dataset::read_image(&path)?;
    let size = (img.width(), img.height());
    let fits = |v: u32| u16::try_from(v).ok();
    let (Some(w), Some(h), true) = (
        fits(size.0),
        fits(size.1),
        size == (entry.width, entry.height),
    ) else {
        return Err(DatasetError::WrongSize {
            path,
            got_w: size.0,
            got_h: size.1,
            want_w: entry.width,
            want_h: entry.height,
        });
    };
    Ok(if entry.color {
        (
            img.into_rgb8().into_raw(),
            FrameLayout::packed(w, h, PixelFormat::Rgb888),
        )
    } else {
        (
            img.into_luma8().into_raw(),
            FrameLayout::packed(w, h, PixelFormat::Gray8),
        )
    })
}

/// Frame `index` of a clip as the 8-bit `out_w × out_h` thumbnail the int8
/// path feeds the engine ([`thumbnail::area_average_u8`] of the stored
/// bytes).
pub fn load_thumbnail_u8(
    data: &Dataset,
    entry: &ClipEntry,
    index: usize,
    out_w: usize,
    out_h: usize,
) -> Result<Vec<u8>, DatasetError> {
    let (bytes, layout) = load_frame_raw(data, entry, index)?;
    let mut out = vec![0u8; out_w * out_h];
    thumbnail::area_average_u8(&bytes, layout, out_w, out_h, &mut out).map_err(|e| {
        DatasetError::BadImage {
            path: data.frame_path(&entry.id, index),
            message: e.to_string(),
        }
    })?;
    Ok(out)
}

/// Up to `max` frame indices spread evenly over `0..frames` (first frame
/// always included).
pub fn spread_frames(frames: usize, max: usize) -> Vec<usize> {
    let n = frames.min(max.max(1));
    (0..n).map(|i| i * frames / n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_average_hand_computed() {
        // 3×2 → 2×1: output column 0 covers source columns 0 and half of 1,
        // column 1 the other half of 1 and column 2.
        let src = [0u8, 30, 60, 90, 120, 150];
        let out = area_average(&src, 3, 2, 2, 1);
        // (2·0 + 1·30 + 2·90 + 1·120) / 6 = 55; (1·30 + 2·60 + 1·120 + 2·150) / 6 = 95
        assert_eq!(out, vec![55.0, 95.0]);
        // Integer factors are plain block means.
        let src: Vec<u8> = (0..16).collect();
        let out = area_average(&src, 4, 4, 2, 2);
        assert_eq!(out, vec![2.5, 4.5, 10.5, 12.5]);
        // 640×480 → 80×64 (8 × 7.5): a constant stays constant, the mean is kept.
        let flat = vec![77u8; 640 * 480];
        assert!(
            area_average(&flat, 640, 480, 80, 64)
                .iter()
                .all(|&v| v == 77.0)
        );
        let ramp: Vec<u8> = (0..640 * 480).map(|i| ((i * 7) % 251) as u8).collect();
        let out = area_average(&ramp, 640, 480, 80, 64);
        let mean_in = ramp.iter().map(|&v| f64::from(v)).sum::<f64>() / ramp.len() as f64;
        let mean_out = out.iter().map(|&v| f64::from(v)).sum::<f64>() / out.len() as f64;
        assert!((mean_in - mean_out).abs() < 1e-3, "{mean_in} vs {mean_out}");
    }

    #[test]
    fn spread_frames_even_first_included() {
        assert_eq!(spread_frames(16, 4), vec![0, 4, 8, 12]);
        assert_eq!(spread_frames(3, 8), vec![0, 1, 2]);
        assert_eq!(spread_frames(10, 3), vec![0, 3, 6]);
    }
}
