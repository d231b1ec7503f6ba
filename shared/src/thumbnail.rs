//! Frame → network input: the first stage of the cart's pipeline
//! (ARCHITECTURE.md, "area-average to the net's input"), shared so that the
//! host's int8 evaluation feeds the engine exactly the bytes the firmware
//! does, and so that the trainer's float input is the same average before
//! rounding.
//!
//! ```text
//! frame (gray8 or rgb888, any W×H, any stride)
//!   ─► exact area sums over out_w × out_h cells ([`area_sums`]); for RGB,
//!      of the Rec. 601 weighted sum 299 R + 587 G + 114 B
//!   ─► the cell's mean luma, rounded once to 8 bits ([`area_average_u8`])
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
//! to `w` (resp. `h`), and the cell's sum `S = Σ v·kx·ky` is exact in `u64`.
//! For grey frames `v` is the pixel and the denominator `D = w·h`
//! (`S ≤ 255·D < 2^40`); for RGB frames `v = 299 R + 587 G + 114 B` and
//! `D = 1000·w·h` (`S ≤ 255·D < 2^50`), i.e. the Rec. 601 luma of the
//! cell's mean colour, rounded once at the end rather than per pixel. The
//! mean is `S / D`. The trainer divides in floating point (its float
//! input), the cart rounds half up in integers (`⌊(2S + D) / (2D)⌋`);
//! nothing depends on summation order, thread count or platform.
//!
//! # How the sums are computed
//!
//! Separably and without allocation, one output row at a time: first each
//! source column's weighted sum over the row band (`C[sx] = Σ luma·ky`, at
//! most `255·h < 2^24`), then each cell's weighted sum of those
//! (`Σ C·kx`). Only the first and last row (column) of a band carries a
//! partial weight; every row in between has the full weight `out_h`
//! (`out_w`), so the inner rows are plain sums — four bytes per 32-bit
//! load, in 16-bit lanes — and multiplied once. An RGB row is summed the
//! same way as a row of `3·w` bytes (one column sum per channel), and the
//! luma weights are applied once per source column, not per pixel. Column
//! sums live in a stack buffer of [`CHUNK`] columns (three per pixel for
//! RGB); a row band wider than that is done in runs of whole cells
//! (boundary columns summed in both runs). The integers are the same as
//! the definition's, whatever the order, so the result is exact; the direct
//! per-cell sum ([`area_sums_direct`]) stays as the fallback for cells
//! wider than a chunk and as the tests' reference. On the Cortex-M7 this
//! costs about 1.5 instructions per grey byte (the per-cell sum it replaced
//! took about 40 per pixel).

use crate::dsp::{add_bytes02, add_bytes13};
use crate::engine::Model;
use crate::mask::{FrameLayout, PixelFormat};

/// Rec. 601 luma of one RGB pixel, rounded half up, in integers:
/// `(299 R + 587 G + 114 B + 500) / 1000`: the host's RGB loaders' grey.
/// The thumbnail takes the luma of each cell's mean colour instead (the
/// same weights, [`LUMA_WEIGHTS`], rounded once per cell).
#[inline]
pub fn luma_601(r: u8, g: u8, b: u8) -> u8 {
    let [kr, kg, kb] = LUMA_WEIGHTS;
    // At most 255 * 1000 + 500 = 255_500, so the quotient fits a u8.
    ((kr * r as u32 + kg * g as u32 + kb * b as u32 + 500) / LUMA_SCALE as u32) as u8
}

/// Rec. 601 luma weights of R, G and B, in thousandths.
pub const LUMA_WEIGHTS: [u32; 3] = [299, 587, 114];
/// Their sum: the RGB thumbnail's sums are in these units of luma.
const LUMA_SCALE: u64 = 1000;

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

/// The source pixels output cell `o` covers along one axis of `n_in`
/// source pixels averaged to `n_out` cells: `first..=last`, the first with
/// weight `k_first`, the last with `k_last` (when `first == last`, that one
/// pixel with weight `k_first = n_in`), every pixel in between with the
/// full weight `n_out`. Weights sum to `n_in`; all are positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    first: usize,
    last: usize,
    k_first: u32,
    k_last: u32,
}

impl Span {
    /// Requires `o < n_out`, `n_in, n_out > 0` and products that fit
    /// (`check` guarantees both sides are at most `u16::MAX`).
    fn of(o: usize, n_in: usize, n_out: usize) -> Self {
        let (lo, hi) = (o * n_in, (o + 1) * n_in);
        let first = lo / n_out;
        let last = ((hi - 1) / n_out).min(n_in - 1);
        if first == last {
            return Self {
                first,
                last,
                k_first: n_in as u32,
                k_last: 0,
            };
        }
        Self {
            first,
            last,
            k_first: ((first + 1) * n_out - lo) as u32,
            k_last: (hi - last * n_out) as u32,
        }
    }
}

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
/// denominator of every cell's mean (`w·h`, times 1000 for RGB).
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
    let area = layout.width as u64 * layout.height as u64;
    Ok(match layout.format {
        PixelFormat::Gray8 => area,
        PixelFormat::Rgb888 => LUMA_SCALE * area,
    })
}

/// `v = 299 R + 587 G + 114 B` of one RGB pixel (luma in thousandths).
#[inline]
fn luma_thousandths(p: &[u8]) -> u64 {
    let [kr, kg, kb] = LUMA_WEIGHTS;
    u64::from(kr * u32::from(p[0]) + kg * u32::from(p[1]) + kb * u32::from(p[2]))
}

/// Weighted sum of one row segment: `Σ v(x) · kx` over `taps`.
#[inline]
fn row_sum(row: &[u8], format: PixelFormat, taps: impl Iterator<Item = (usize, u64)>) -> u64 {
    match format {
        PixelFormat::Gray8 => taps.map(|(sx, k)| row[sx] as u64 * k).sum(),
        PixelFormat::Rgb888 => taps
            .map(|(sx, k)| luma_thousandths(&row[3 * sx..3 * sx + 3]) * k)
            .sum(),
    }
}

/// Source columns whose band sums one pass keeps ([`area_sums`] holds them
/// in a stack buffer of three `u32` per column, 6 KiB: one per channel of
/// RGB). A cell wider than this (a downscale by more than 511
/// horizontally) takes the direct path.
pub const CHUNK: usize = 512;

/// Rows of plain sums a 16-bit lane holds without overflow (`256·255 <
/// 2^16`).
const LANE_ROWS: usize = 256;

/// The exact area sums of `frame`'s luma over `out_w × out_h` cells: calls
/// `sink(index, sum)` for every cell in row-major order and returns the
/// common denominator (mean = `sum / denominator`; see the module
/// documentation for RGB).
pub fn area_sums(
    frame: &[u8],
    layout: FrameLayout,
    out_w: usize,
    out_h: usize,
    mut sink: impl FnMut(usize, u64),
) -> Result<u64, ThumbnailError> {
    let denom = check(frame, layout, out_w, out_h)?;
    let (w, h) = (layout.width as usize, layout.height as usize);
    // The widest cell spans ⌈w / out_w⌉ + 1 source columns at most.
    if w.div_ceil(out_w) + 1 > CHUNK {
        return area_sums_direct(frame, layout, out_w, out_h, sink);
    }
    let bpp = layout.format.bytes_per_pixel();
    let mut cols = [0u32; 3 * CHUNK];
    for oy in 0..out_h {
        let band = Span::of(oy, h, out_h);
        let mut ox = 0;
        while ox < out_w {
            // As many whole cells as fit in one chunk of columns (one at least).
            let c0 = Span::of(ox, w, out_w).first;
            let mut end = ox + 1;
            while end < out_w && Span::of(end, w, out_w).last - c0 < CHUNK {
                end += 1;
            }
            let c1 = Span::of(end - 1, w, out_w).last + 1;
            let cols = &mut cols[..bpp * (c1 - c0)];
            band_sums(frame, layout, band, out_h as u32, c0, cols);
            // A run of columns' value: its sum, or for RGB the luma-weighted
            // sum of its three channel sums.
            let value = |run: &[u32]| -> u64 {
                match layout.format {
                    PixelFormat::Gray8 => run.iter().map(|&c| u64::from(c)).sum(),
                    PixelFormat::Rgb888 => {
                        let [kr, kg, kb] = LUMA_WEIGHTS.map(u64::from);
                        let (mut r, mut g, mut b) = (0u64, 0u64, 0u64);
                        for px in run.chunks_exact(3) {
                            r += u64::from(px[0]);
                            g += u64::from(px[1]);
                            b += u64::from(px[2]);
                        }
                        kr * r + kg * g + kb * b
                    }
                }
            };
            let at = |sx: usize| value(&cols[bpp * (sx - c0)..][..bpp]);
            for o in ox..end {
                let cell = Span::of(o, w, out_w);
                let mut s = at(cell.first) * u64::from(cell.k_first);
                if cell.last > cell.first {
                    let inner = value(&cols[bpp * (cell.first + 1 - c0)..bpp * (cell.last - c0)]);
                    s += inner * out_w as u64 + at(cell.last) * u64::from(cell.k_last);
                }
                sink(oy * out_w + o, s);
            }
            ox = end;
        }
    }
    Ok(denom)
}

/// The weighted sums over the rows of `band` of the bytes of source
/// columns from `c0` (`cols.len()` bytes: one per grey pixel, three per RGB
/// pixel): `cols[i] = Σ_rows byte(row, i) · k_row`, inner rows weighing
/// `full`. At most `255 · h < 2^24` each.
fn band_sums(
    frame: &[u8],
    layout: FrameLayout,
    band: Span,
    full: u32,
    c0: usize,
    cols: &mut [u32],
) {
    let stride = layout.stride;
    let b0 = c0 * layout.format.bytes_per_pixel();
    cols.fill(0);
    // Rows of full weight (the inner ones, and the first or last when the
    // band starts or ends on a row boundary): plain sums, scaled once.
    // The others one by one with their weight.
    let (mut lo, mut hi) = (band.first + 1, band.last);
    let mut partial: heapless::Vec<(usize, u32), 2> = heapless::Vec::new();
    if band.first == band.last {
        let _ = partial.push((band.first, band.k_first));
    } else {
        if band.k_first == full {
            lo = band.first;
        } else {
            let _ = partial.push((band.first, band.k_first));
        }
        if band.k_last == full {
            hi = band.last + 1;
        } else {
            let _ = partial.push((band.last, band.k_last));
        }
    }
    let mut y = lo;
    while y < hi {
        let n = (hi - y).min(LANE_ROWS);
        byte_inner(&frame[y * stride..], stride, n, b0, full, cols);
        y += n;
    }
    for (y, k) in partial {
        byte_inner(&frame[y * stride..], stride, 1, b0, k, cols);
    }
}

/// Adds `full ·` (the sum over `n ≤ 256` rows starting at `rows`, bytes
/// from `c0`) to `cols`, one per byte. Four bytes per 32-bit load, summed
/// in 16-bit lanes (even and odd bytes apart), sixteen at a time so the
/// lanes stay in registers down the rows.
fn byte_inner(rows: &[u8], stride: usize, n: usize, c0: usize, full: u32, cols: &mut [u32]) {
    let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let mut x = 0;
    let mut blocks = cols.chunks_exact_mut(16);
    for out in &mut blocks {
        let mut acc = [0u32; 8];
        for r in 0..n {
            let px = &rows[r * stride + c0 + x..][..16];
            for (j, q) in px.chunks_exact(4).enumerate() {
                let v = word(q);
                acc[2 * j] = add_bytes02(acc[2 * j], v);
                acc[2 * j + 1] = add_bytes13(acc[2 * j + 1], v);
            }
        }
        for (j, o) in out.chunks_exact_mut(4).enumerate() {
            let (e, d) = (acc[2 * j], acc[2 * j + 1]);
            o[0] += (e & 0xFFFF) * full;
            o[1] += (d & 0xFFFF) * full;
            o[2] += (e >> 16) * full;
            o[3] += (d >> 16) * full;
        }
        x += 16;
    }
    for (i, o) in blocks.into_remainder().iter_mut().enumerate() {
        let mut s = 0u32;
        for r in 0..n {
            s += u32::from(rows[r * stride + c0 + x + i]);
        }
        *o += s * full;
    }
}

/// The same sums straight from the definition, cell by cell: every cell
/// reads its source pixels with their weights. Slow (about 40 instructions
/// per pixel on the cart) but needs no buffer: the path for cells wider
/// than [`CHUNK`], and the reference the tests hold [`area_sums`] to.
fn area_sums_direct(
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
    // sum ≤ 255·denom, so the result is at most 255. In 32 bits when it
    // fits (grey frames up to about 2800 × 2800): the cart has a 32-bit
    // divide instruction, a 64-bit division is a library call.
    let (num, den) = (2 * sum + denom, 2 * denom);
    let q = match (u32::try_from(num), u32::try_from(den)) {
        (Ok(n), Ok(d)) => u64::from(n / d),
        _ => num / den,
    };
    q.min(255) as u8
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

    fn rgb_layout(w: u16, h: u16) -> FrameLayout {
        FrameLayout::packed(w, h, PixelFormat::Rgb888)
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

    /// Every cell's sum, by the separable path and the direct one.
    fn both(frame: &[u8], layout: FrameLayout, ow: usize, oh: usize) -> (Vec<u64>, Vec<u64>) {
        let (mut fast, mut direct) = (vec![0u64; ow * oh], vec![0u64; ow * oh]);
        let d1 = area_sums(frame, layout, ow, oh, |i, s| fast[i] = s).unwrap();
        let d2 = area_sums_direct(frame, layout, ow, oh, |i, s| direct[i] = s).unwrap();
        assert_eq!(d1, d2);
        (fast, direct)
    }

    #[test]
    fn separable_sums_equal_the_direct_ones() {
        let mut rng = Rng::new(23);
        // (w, h, out_w, out_h, extra stride bytes): the cart's ratios,
        // odd ones, upsampling, bands over 256 rows (lane batches), rows
        // wider than a chunk (several runs of cells) and cells wider than
        // a chunk (the direct fallback), padded strides.
        let cases = [
            (640, 480, 80, 64, 0),
            (800, 600, 80, 64, 3),
            (1024, 768, 80, 64, 0),
            (37, 29, 8, 8, 1),
            (17, 13, 5, 4, 0),
            (6, 5, 10, 8, 2),
            (33, 600, 3, 2, 0),
            (1500, 9, 7, 3, 5),
            (1300, 4, 2, 1, 0),
            (700, 7, 700, 7, 0),
            (19, 1, 19, 1, 0),
        ];
        for (w, h, ow, oh, pad) in cases {
            for format in [PixelFormat::Gray8, PixelFormat::Rgb888] {
                let stride = w * format.bytes_per_pixel() + pad;
                let layout = FrameLayout {
                    width: w as u16,
                    height: h as u16,
                    stride,
                    format,
                };
                let frame = rng.bytes(stride * h);
                let (fast, direct) = both(&frame, layout, ow, oh);
                assert!(fast == direct, "{w}x{h}->{ow}x{oh} {format:?}");
                // Saturated frames: the largest sums fit.
                let white = vec![255u8; stride * h];
                let (fast, direct) = both(&white, layout, ow, oh);
                assert_eq!(fast, direct);
                let scale = if format == PixelFormat::Rgb888 {
                    1000
                } else {
                    1
                };
                assert!(fast.iter().all(|&s| s == 255 * scale * (w * h) as u64));
            }
        }
    }

    #[test]
    fn rgb_stride_and_constant_frames() {
        // RGB with padding bytes at the end of every row: same as the
        // frame packed.
        let (w, h) = (23u16, 9u16);
        let mut rng = Rng::new(5);
        let stride = 3 * w as usize + 7;
        let rgb = rng.bytes(stride * h as usize);
        let packed: Vec<u8> = (0..h as usize)
            .flat_map(|y| rgb[y * stride..y * stride + 3 * w as usize].to_vec())
            .collect();
        let layout = FrameLayout {
            width: w,
            height: h,
            stride,
            format: PixelFormat::Rgb888,
        };
        let (mut a, mut b) = (vec![0u8; 20], vec![0u8; 20]);
        area_average_u8(&rgb, layout, 5, 4, &mut a).unwrap();
        area_average_u8(&packed, rgb_layout(w, h), 5, 4, &mut b).unwrap();
        assert_eq!(a, b);
        // Grey pixels in RGB: the grey frame's thumbnail (the weights sum
        // to 1000); a constant colour: its rounded luma.
        let grey = rng.bytes(w as usize * h as usize);
        let as_rgb: Vec<u8> = grey.iter().flat_map(|&v| [v, v, v]).collect();
        area_average_u8(&grey, gray(w, h), 5, 4, &mut a).unwrap();
        area_average_u8(&as_rgb, rgb_layout(w, h), 5, 4, &mut b).unwrap();
        assert_eq!(a, b);
        for colour in [[255u8, 0, 0], [10, 200, 30], [1, 2, 3], [255, 255, 255]] {
            let flat: Vec<u8> = (0..640 * 480).flat_map(|_| colour).collect();
            let mut out = vec![0u8; 80 * 64];
            area_average_u8(&flat, rgb_layout(640, 480), 80, 64, &mut out).unwrap();
            let want = luma_601(colour[0], colour[1], colour[2]);
            assert!(out.iter().all(|&v| v == want), "{colour:?}");
        }
        // The luma of the mean colour, rounded once: two pixels (0,0,0)
        // and (3,0,0) average to R = 1.5, luma 0.4485 → 0; per-pixel luma
        // rounding would give (0 + 1) / 2 → 1 (half up).
        let pair = [0u8, 0, 0, 3, 0, 0];
        let mut one = [0u8; 1];
        area_average_u8(&pair, rgb_layout(2, 1), 1, 1, &mut one).unwrap();
        assert_eq!(one, [0]);
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
