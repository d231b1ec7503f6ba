//! Frame → luma → area-averaged thumbnail: the network's input grid, in
//! 8-bit luma (the engine's [`crate::Model::quantize_input_u8`] turns it
//! into the int8 input tensor).
//!
//! Written for the firmware's frame path; the host's HIL reference calls
//! the very same function, so the thumbnails match bit for bit.
//!
//! # Exact area averaging
//!
//! Every thumbnail pixel is the mean of the frame area it covers, partly
//! covered source pixels weighted by the covered fraction, exactly as the
//! trainer's `area_average` (`host-trainer/src/train/data.rs`) defines it:
//! measuring both axes in units of `1 / (w · out_w)` (and `1 / (h · out_h)`)
//! makes every overlap an integer, so the weighted sum is exact in `u64`.
//! The one rounding is the final division, to the nearest integer (half
//! up) — the trainer keeps that mean as a float; here it becomes the 8-bit
//! luma the network's input table is indexed by.
//!
//! RGB is converted with Rec. 601 weights, rounded, per pixel, before
//! averaging: `(299 R + 587 G + 114 B + 500) / 1000`, as the host's
//! `dataset::rgb_to_luma` does, so an RGB frame and its luma image give the
//! same thumbnail.
//!
//! No allocation, no scratch, no panics: each thumbnail pixel sums its own
//! source rectangle (source rows and columns on a cell border are read
//! twice, about 1.3× the frame for 640×480 → 80×64).

use crate::mask::{FrameLayout, PixelFormat};

/// Why a thumbnail could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreprocessError {
    /// The buffer does not hold the frame's layout (see [`FrameLayout::check`]).
    BadFrame,
    /// The thumbnail is empty or larger than the frame on a side (every
    /// thumbnail pixel must cover at least one source pixel).
    BadSize,
    /// `out.len()` is not `out_w * out_h`.
    OutputLength,
}

impl core::fmt::Display for PreprocessError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            PreprocessError::BadFrame => "frame buffer does not match its layout",
            PreprocessError::BadSize => "thumbnail size is zero or larger than the frame",
            PreprocessError::OutputLength => "thumbnail buffer length is not out_w * out_h",
        })
    }
}

impl core::error::Error for PreprocessError {}

/// Rec. 601 luma of one RGB pixel, rounded (the host's `rgb_to_luma`).
#[inline]
pub fn rgb_to_luma(r: u8, g: u8, b: u8) -> u8 {
    ((299 * r as u32 + 587 * g as u32 + 114 * b as u32 + 500) / 1000) as u8
}

/// The source pixels `first..=last` that output cell `o` of `n_out` overlaps
/// when `n_in` source pixels are averaged, with the cell's span
/// `[lo, hi)` in units of `1 / (n_in · n_out)`.
#[inline]
fn cell(o: usize, n_in: usize, n_out: usize) -> (usize, usize, usize, usize) {
    let (lo, hi) = (o * n_in, (o + 1) * n_in);
    (lo / n_out, (hi - 1) / n_out, lo, hi)
}

/// Overlap of source pixel `s` (span `[s · n_out, (s + 1) · n_out)`) with
/// the cell span `[lo, hi)`.
#[inline]
fn overlap(s: usize, n_out: usize, lo: usize, hi: usize) -> u32 {
    (((s + 1) * n_out).min(hi) - (s * n_out).max(lo)) as u32
}

/// Weighted luma sum of source columns `x0..=x1` of one row, weights from
/// [`overlap`]; interior columns all weigh `n_out`, only the two ends are
/// partial, so the loop is a plain sum.
#[inline]
fn row_sum(
    row: &[u8],
    format: PixelFormat,
    (x0, x1, lo, hi): (usize, usize, usize, usize),
    n_out: usize,
) -> u32 {
    let luma = |x: usize| -> u32 {
        match format {
            PixelFormat::Gray8 => row[x] as u32,
            PixelFormat::Rgb888 => rgb_to_luma(row[3 * x], row[3 * x + 1], row[3 * x + 2]) as u32,
        }
    };
    let first = overlap(x0, n_out, lo, hi) * luma(x0);
    if x1 == x0 {
        return first;
    }
    let last = overlap(x1, n_out, lo, hi) * luma(x1);
    let mid: u32 = match format {
        PixelFormat::Gray8 => row[x0 + 1..x1].iter().map(|&v| v as u32).sum(),
        PixelFormat::Rgb888 => row[3 * (x0 + 1)..3 * x1]
            .chunks_exact(3)
            .map(|p| rgb_to_luma(p[0], p[1], p[2]) as u32)
            .sum(),
    };
    first + last + mid * n_out as u32
}

/// Area-averages the frame's luma to `out_w × out_h` (row-major into
/// `out`); see the module documentation for the exact definition.
pub fn luma_thumbnail(
    frame: &[u8],
    layout: FrameLayout,
    out: &mut [u8],
    out_w: usize,
    out_h: usize,
) -> Result<(), PreprocessError> {
    layout
        .check(frame.len())
        .map_err(|_| PreprocessError::BadFrame)?;
    let (w, h) = (layout.width as usize, layout.height as usize);
    if out_w == 0 || out_h == 0 || out_w > w || out_h > h {
        return Err(PreprocessError::BadSize);
    }
    if out.len() != out_w * out_h {
        return Err(PreprocessError::OutputLength);
    }
    let denom = w as u64 * h as u64;
    for oy in 0..out_h {
        let (y0, y1, ylo, yhi) = cell(oy, h, out_h);
        for ox in 0..out_w {
            let xs = cell(ox, w, out_w);
            let mut sum = 0u64;
            for sy in y0..=y1 {
                let start = sy * layout.stride;
                let row = &frame[start..start + layout.row_bytes()];
                let ky = overlap(sy, out_h, ylo, yhi) as u64;
                sum += ky * row_sum(row, layout.format, xs, out_w) as u64;
            }
            out[oy * out_w + ox] = ((sum + denom / 2) / denom) as u8;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec;
    use std::vec::Vec;

    use super::*;
    use crate::testutil::Rng;

    /// The definition, written the other way round: every source pixel
    /// spreads its luma over the cells it overlaps, with the overlap of
    /// its own span and the cell's, summed in `u64`; then rounded.
    fn reference(luma: &[u8], w: usize, h: usize, ow: usize, oh: usize) -> Vec<u8> {
        let mut acc = vec![0u64; ow * oh];
        let ov = |s: usize, n_in: usize, n_out: usize, o: usize| -> u64 {
            let (a0, a1) = (s * n_out, (s + 1) * n_out);
            let (b0, b1) = (o * n_in, (o + 1) * n_in);
            a1.min(b1).saturating_sub(a0.max(b0)) as u64
        };
        for y in 0..h {
            for x in 0..w {
                for oy in 0..oh {
                    let ky = ov(y, h, oh, oy);
                    if ky == 0 {
                        continue;
                    }
                    for ox in 0..ow {
                        acc[oy * ow + ox] += ky * ov(x, w, ow, ox) * luma[y * w + x] as u64;
                    }
                }
            }
        }
        let d = (w * h) as u64;
        acc.iter().map(|&s| ((2 * s + d) / (2 * d)) as u8).collect()
    }

    #[test]
    fn matches_the_definition_on_gray_rgb_and_strides() {
        let mut rng = Rng::new(5);
        for &(w, h, ow, oh) in &[
            (40usize, 30usize, 8usize, 6usize),
            (37, 29, 10, 8),
            (81, 65, 80, 64),
            (80, 64, 80, 64),
            (13, 7, 1, 1),
            (160, 120, 80, 64),
        ] {
            let rgb = rng.bytes(w * h * 3);
            let luma: Vec<u8> = rgb
                .chunks_exact(3)
                .map(|p| rgb_to_luma(p[0], p[1], p[2]))
                .collect();
            let want = reference(&luma, w, h, ow, oh);
            let mut got = vec![0u8; ow * oh];
            let gray = FrameLayout::packed(w as u16, h as u16, PixelFormat::Gray8);
            luma_thumbnail(&luma, gray, &mut got, ow, oh).unwrap();
            assert_eq!(got, want, "gray {w}x{h} -> {ow}x{oh}");
            let layout = FrameLayout::packed(w as u16, h as u16, PixelFormat::Rgb888);
            luma_thumbnail(&rgb, layout, &mut got, ow, oh).unwrap();
            assert_eq!(got, want, "rgb {w}x{h} -> {ow}x{oh}");
            // The same frame with 5 bytes of padding per row.
            let stride = 3 * w + 5;
            let mut padded = vec![0xAAu8; stride * h];
            for y in 0..h {
                padded[y * stride..y * stride + 3 * w]
                    .copy_from_slice(&rgb[y * 3 * w..(y + 1) * 3 * w]);
            }
            let layout = FrameLayout { stride, ..layout };
            luma_thumbnail(&padded, layout, &mut got, ow, oh).unwrap();
            assert_eq!(got, want, "padded rgb {w}x{h}");
        }
    }

    #[test]
    fn full_size_frames_keep_constants_and_the_mean() {
        let (w, h) = (640usize, 480usize);
        let flat = vec![77u8; w * h];
        let mut out = vec![0u8; 80 * 64];
        let gray = FrameLayout::packed(640, 480, PixelFormat::Gray8);
        luma_thumbnail(&flat, gray, &mut out, 80, 64).unwrap();
        assert!(out.iter().all(|&v| v == 77));
        // 640 x 480 -> 80 x 64: 8 x 7.5 pixels per cell, half rows shared.
        let ramp: Vec<u8> = (0..w * h).map(|i| ((i * 7) % 251) as u8).collect();
        luma_thumbnail(&ramp, gray, &mut out, 80, 64).unwrap();
        assert_eq!(out, reference(&ramp, w, h, 80, 64));
    }

    #[test]
    fn bad_inputs_are_errors() {
        let gray = FrameLayout::packed(8, 8, PixelFormat::Gray8);
        let frame = [0u8; 64];
        let mut out = [0u8; 4];
        assert_eq!(
            luma_thumbnail(&frame[..63], gray, &mut out, 2, 2),
            Err(PreprocessError::BadFrame)
        );
        assert_eq!(
            luma_thumbnail(&frame, gray, &mut out, 0, 2),
            Err(PreprocessError::BadSize)
        );
        assert_eq!(
            luma_thumbnail(&frame, gray, &mut [0u8; 81], 9, 9),
            Err(PreprocessError::BadSize)
        );
        assert_eq!(
            luma_thumbnail(&frame, gray, &mut out[..3], 2, 2),
            Err(PreprocessError::OutputLength)
        );
    }
}
