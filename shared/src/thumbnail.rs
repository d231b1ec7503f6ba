//! Frame → network input: the first stage of the cart's pipeline
//! (ARCHITECTURE.md, "area-average to the net's input"), shared so that the
//! host's int8 evaluation feeds the engine exactly the bytes the firmware
//! does, and so that the trainer's float input is the same average before
//! rounding.
//!
//! ```text
//! frame (gray8 or rgb888, any W×H, any stride)
//!   ─► luma (Rec. 601, integer, rounded: [`luma_601`])
//!   ─► exact area average to out_w × out_h ([`area_sums`])
//!   ─► rounded to 8 bits ([`area_average_u8`])
//!   ─► int8 through the model's input table ([`frame_to_input`])
//! ```
//!
//! # Exact area averaging
//!
//! Every output cell is the mean of the frame area it covers, partly
//! covered pixels weighted by the covered fraction. Measured in units of
//! `1/(w·out_w)` of the width (and likewise for the height), source column
//! `sx` spans `[sx·out_w, (sx+1)·out_w)` and output column `ox` spans
//! `[ox·w, (ox+1)·w)`: every overlap is an integer, each cell's weights sum
//! to `w` (resp. `h`), and the cell's sum `S = Σ luma·kx·ky` is exact in
//! `u64` (`S ≤ 255·w·h < 2^40`). The mean is `S / (w·h)`. The trainer divides
//! in floating point (its float input), the cart rounds half up in integers
//! (`⌊(2S + w·h) / (2·w·h)⌋`); nothing depends on summation order, thread
//! count or platform.
//!
//! No allocation: each cell is summed directly from the frame. Every source
//! pixel is read once, pixels on a cell boundary twice.

use crate::engine::Model;
use crate::mask::{FrameLayout, PixelFormat};

/// Rec. 601 luma of one RGB pixel, rounded half up, in integers:
/// `(299 R + 587 G + 114 B + 500) / 1000`. The one definition the host's
/// RGB loaders and the cart use.
#[inline]
pub fn luma_601(r: u8, g: u8, b: u8) -> u8 {
    // At most 255 * 1000 + 500 = 255_500, so the quotient fits a u8.
    ((299 * r as u32 + 587 * g as u32 + 114 * b as u32 + 500) / 1000) as u8
}

/// Why a frame could not be turned into a network input (the cart then
/// fails closed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThumbnailError {
    /// The frame has a zero width or height.
    EmptyFrame,
    /// The buffer is shorter than `stride × height`, or the stride is
    /// shorter than a row.
    BadFrameSize,
    /// The output has a zero side, or its buffer is not `out_w × out_h`.
    BadOutputSize,
    /// The model's input is not a single (luma) channel.
    NotLumaInput,
}

impl core::fmt::Display for ThumbnailError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ThumbnailError::EmptyFrame => "frame has a zero width or height",
            ThumbnailError::BadFrameSize => "frame buffer does not match width, height and stride",
            ThumbnailError::BadOutputSize => {
                "output size is zero or its buffer has the wrong length"
            }
            ThumbnailError::NotLumaInput => "model input is not a single luma channel",
        })
    }
}

impl core::error::Error for ThumbnailError {}

/// Source indices and weights of output cell `o` along one axis of `n_in`
/// source pixels averaged to `n_out` cells (see the module documentation).
#[inline]
fn taps(o: usize, n_in: usize, n_out: usize) -> impl Iterator<Item = (usize, u64)> {
    let (lo, hi) = (o * n_in, (o + 1) * n_in);
    let first = lo / n_out;
    let last = ((hi - 1) / n_out).min(n_in - 1);
    (first..=last).filter_map(move |s| {
        let (slo, shi) = (s * n_out, (s + 1) * n_out);
        let k = shi.min(hi).saturating_sub(slo.max(lo));
        (k > 0).then_some((s, k as u64))
    })
}

/// Checks `frame` against `layout` and the output size; returns the
/// denominator `w·h` of every cell's mean.
fn check(
    frame: &[u8],
    layout: FrameLayout,
    out_w: usize,
    out_h: usize,
) -> Result<u64, ThumbnailError> {
    if layout.width == 0 || layout.height == 0 {
        return Err(ThumbnailError::EmptyFrame);
    }
    layout
        .check(frame.len())
        .map_err(|_| ThumbnailError::BadFrameSize)?;
    if out_w == 0 || out_h == 0 {
        return Err(ThumbnailError::BadOutputSize);
    }
    // Cell indices times frame sides stay far below usize::MAX for any
    // output that fits in memory next to a u16 × u16 frame; refuse absurd
    // outputs instead of reasoning about overflow.
    if out_w > u16::MAX as usize || out_h > u16::MAX as usize {
        return Err(ThumbnailError::BadOutputSize);
    }
    Ok(layout.width as u64 * layout.height as u64)
}

/// Luma-weighted sum of one row segment: `Σ luma(x) · kx` over `taps`.
#[inline]
fn row_sum(row: &[u8], format: PixelFormat, taps: impl Iterator<Item = (usize, u64)>) -> u64 {
    match format {
        PixelFormat::Gray8 => taps.map(|(sx, k)| row[sx] as u64 * k).sum(),
        PixelFormat::Rgb888 => taps
            .map(|(sx, k)| {
                let p = &row[3 * sx..3 * sx + 3];
                luma_601(p[0], p[1], p[2]) as u64 * k
            })
            .sum(),
    }
}

/// The exact area sums of `frame`'s luma over `out_w × out_h` cells: calls
/// `sink(index, sum)` for every cell in row-major order and returns the
/// common denominator `w·h` (mean = `sum / denominator`).
pub fn area_sums(
    frame: &[u8],
    layout: FrameLayout,
    out_w: usize,
    out_h: usize,
    mut sink: impl FnMut(usize, u64),
) -> Result<u64, ThumbnailError> {
    let denom = check(frame, layout, out_w, out_h)?;
    let (w, h) = (layout.width as usize, layout.height as usize);
    let row_bytes = w * layout.format.bytes_per_pixel();
    for oy in 0..out_h {
        for ox in 0..out_w {
            let mut s = 0u64;
            for (sy, ky) in taps(oy, h, out_h) {
                let start = sy * layout.stride;
                // In bounds: `check` guaranteed stride × height bytes.
                let row = &frame[start..start + row_bytes];
                s += row_sum(row, layout.format, taps(ox, w, out_w)) * ky;
            }
            sink(oy * out_w + ox, s);
        }
    }
    Ok(denom)
}

/// `⌊(2·sum + denom) / (2·denom)⌋`: the mean rounded half up.
#[inline]
fn rounded_mean(sum: u64, denom: u64) -> u8 {
    // sum ≤ 255·denom, so the result is at most 255.
    ((2 * sum + denom) / (2 * denom)).min(255) as u8
}

/// The area-averaged luma of `frame` at `out_w × out_h`, rounded to the
/// nearest integer (half up), into `out` (`out_w × out_h` bytes, row-major).
pub fn area_average_u8(
    frame: &[u8],
    layout: FrameLayout,
    out_w: usize,
    out_h: usize,
    out: &mut [u8],
) -> Result<(), ThumbnailError> {
    if out.len() != out_w.saturating_mul(out_h) {
        return Err(ThumbnailError::BadOutputSize);
    }
    let denom = check(frame, layout, out_w, out_h)?;
    area_sums(frame, layout, out_w, out_h, |i, s| {
        out[i] = rounded_mean(s, denom)
    })?;
    Ok(())
}

/// A frame as `model`'s int8 input: luma, area-averaged to the model's
/// input size, rounded to 8 bits, then `real = luma / 255` quantised with
/// the model's input grid (its load-time table, [`Model::quantize_luma`]).
/// `out` must hold [`Model::input_len`] bytes.
pub fn frame_to_input(
    model: &Model<'_>,
    frame: &[u8],
    layout: FrameLayout,
    out: &mut [i8],
) -> Result<(), ThumbnailError> {
    let shape = model.input_shape();
    if shape.c != 1 {
        return Err(ThumbnailError::NotLumaInput);
    }
    let (out_w, out_h) = (shape.w as usize, shape.h as usize);
    if out.len() != out_w * out_h {
        return Err(ThumbnailError::BadOutputSize);
    }
    let denom = check(frame, layout, out_w, out_h)?;
    area_sums(frame, layout, out_w, out_h, |i, s| {
        out[i] = model.quantize_luma(rounded_mean(s, denom))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec;
    use std::vec::Vec;

    use super::*;
    use crate::testutil::{Rng, small_unet};

    fn gray(w: u16, h: u16) -> FrameLayout {
        FrameLayout::packed(w, h, PixelFormat::Gray8)
    }

    /// The same average by brute force in f64 over a supersampled grid:
    /// each source pixel split into `out_w × out_h` subpixels, each cell
    /// is then `w × h` whole subpixels.
    fn brute_mean(src: &[u8], w: usize, h: usize, out_w: usize, out_h: usize) -> Vec<f64> {
        let mut out = vec![0f64; out_w * out_h];
        for oy in 0..out_h {
            for ox in 0..out_w {
                let mut s = 0f64;
                for uy in oy * h..(oy + 1) * h {
                    for ux in ox * w..(ox + 1) * w {
                        s += src[(uy / out_h) * w + ux / out_w] as f64;
                    }
                }
                out[oy * out_w + ox] = s / (w * h) as f64;
            }
        }
        out
    }

    #[test]
    fn hand_computed_means() {
        // 3×2 → 2×1: cell 0 covers columns 0 and half of 1, cell 1 the
        // other half of 1 and column 2.
        let src = [0u8, 30, 60, 90, 120, 150];
        let mut sums = [0u64; 2];
        let d = area_sums(&src, gray(3, 2), 2, 1, |i, s| sums[i] = s).unwrap();
        assert_eq!(d, 6);
        // (2·0 + 1·30 + 2·90 + 1·120) = 330 → 55; (30 + 120 + 120 + 300) = 570 → 95
        assert_eq!(sums, [330, 570]);
        let mut out = [0u8; 2];
        area_average_u8(&src, gray(3, 2), 2, 1, &mut out).unwrap();
        assert_eq!(out, [55, 95]);
        // Half up: mean 2.5 → 3.
        let mut one = [0u8; 1];
        area_average_u8(&[2, 3], gray(2, 1), 1, 1, &mut one).unwrap();
        assert_eq!(one, [3]);
    }

    #[test]
    fn matches_brute_force_for_odd_ratios() {
        let mut rng = Rng::new(11);
        for (w, h, ow, oh) in [
            (17, 13, 5, 4),
            (40, 30, 8, 7),
            (13, 11, 13, 11),
            (6, 5, 10, 8), // upsampling works too
            (64, 48, 80, 64),
        ] {
            let src = rng.bytes(w * h);
            let want = brute_mean(&src, w, h, ow, oh);
            let mut got = vec![0f64; ow * oh];
            let d = area_sums(&src, gray(w as u16, h as u16), ow, oh, |i, s| {
                got[i] = s as f64
            })
            .unwrap();
            for (g, wv) in got.iter().zip(&want) {
                assert!((g / d as f64 - wv).abs() < 1e-9, "{w}x{h}->{ow}x{oh}");
            }
            let mut q = vec![0u8; ow * oh];
            area_average_u8(&src, gray(w as u16, h as u16), ow, oh, &mut q).unwrap();
            for (qv, wv) in q.iter().zip(&want) {
                assert!((*qv as f64 - wv).abs() <= 0.5 + 1e-9);
            }
        }
    }

    #[test]
    fn rgb_stride_and_constant_frames() {
        // RGB with padding bytes at the end of every row: same as the luma
        // frame packed.
        let (w, h) = (23u16, 9u16);
        let mut rng = Rng::new(5);
        let stride = 3 * w as usize + 7;
        let rgb = rng.bytes(stride * h as usize);
        let luma: Vec<u8> = (0..h as usize)
            .flat_map(|y| {
                let row = &rgb[y * stride..y * stride + 3 * w as usize];
                row.chunks_exact(3)
                    .map(|p| luma_601(p[0], p[1], p[2]))
                    .collect::<Vec<_>>()
            })
            .collect();
        let layout = FrameLayout {
            width: w,
            height: h,
            stride,
            format: PixelFormat::Rgb888,
        };
        let (mut a, mut b) = (vec![0u8; 20], vec![0u8; 20]);
        area_average_u8(&rgb, layout, 5, 4, &mut a).unwrap();
        area_average_u8(&luma, gray(w, h), 5, 4, &mut b).unwrap();
        assert_eq!(a, b);
        // A constant frame stays constant at 640×480 → 80×64 (8 × 7.5).
        let flat = vec![77u8; 640 * 480];
        let mut out = vec![0u8; 80 * 64];
        area_average_u8(&flat, gray(640, 480), 80, 64, &mut out).unwrap();
        assert!(out.iter().all(|&v| v == 77));
        assert_eq!(luma_601(255, 255, 255), 255);
        assert_eq!(luma_601(0, 0, 0), 0);
        assert_eq!(luma_601(255, 0, 0), 76); // 76.245
    }

    #[test]
    fn bad_sizes_are_typed_errors() {
        let f = [0u8; 12];
        let mut out = [0u8; 4];
        let e = |r: Result<(), ThumbnailError>| r.unwrap_err();
        assert_eq!(
            e(area_average_u8(&f, gray(0, 3), 2, 2, &mut out)),
            ThumbnailError::EmptyFrame
        );
        assert_eq!(
            e(area_average_u8(&f, gray(4, 4), 2, 2, &mut out)),
            ThumbnailError::BadFrameSize
        );
        let short = FrameLayout {
            width: 4,
            height: 3,
            stride: 3,
            format: PixelFormat::Gray8,
        };
        assert_eq!(
            e(area_average_u8(&f, short, 2, 2, &mut out)),
            ThumbnailError::BadFrameSize
        );
        assert_eq!(
            e(area_average_u8(&f, gray(4, 3), 0, 2, &mut out[..0])),
            ThumbnailError::BadOutputSize
        );
        assert_eq!(
            e(area_average_u8(&f, gray(4, 3), 3, 2, &mut out)),
            ThumbnailError::BadOutputSize
        );
        let rgb = FrameLayout::packed(4, 3, PixelFormat::Rgb888);
        assert_eq!(
            e(area_average_u8(&f, rgb, 2, 2, &mut out)),
            ThumbnailError::BadFrameSize
        );
        assert!(area_average_u8(&f, gray(4, 3), 2, 2, &mut out).is_ok());
    }

    #[test]
    fn frame_to_input_quantises_the_rounded_mean() {
        let graph = small_unet(3, 8, 8, [2, 2, 2]);
        let model = graph.model();
        let mut rng = Rng::new(9);
        let (w, h) = (37u16, 29u16);
        let frame = rng.bytes(w as usize * h as usize);
        let mut means = vec![0u8; 64];
        area_average_u8(&frame, gray(w, h), 8, 8, &mut means).unwrap();
        let mut want = vec![0i8; 64];
        model.quantize_input_u8(&means, &mut want).unwrap();
        let mut got = vec![0i8; 64];
        frame_to_input(&model, &frame, gray(w, h), &mut got).unwrap();
        assert_eq!(got, want);
        assert_eq!(
            frame_to_input(&model, &frame, gray(w, h), &mut got[..63]),
            Err(ThumbnailError::BadOutputSize)
        );
        assert_eq!(
            frame_to_input(&model, &frame[..10], gray(w, h), &mut got),
            Err(ThumbnailError::BadFrameSize)
        );
    }
}
