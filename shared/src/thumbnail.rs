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
//! # How the sums are computed
//!
//! Separably and without allocation, one output row at a time: first each
//! source column's weighted sum over the row band (`C[sx] = Σ luma·ky`, at
//! most `255·h < 2^24`), then each cell's weighted sum of those
//! (`Σ C·kx`). Only the first and last row (column) of a band carries a
//! partial weight; every row in between has the full weight `out_h`
//! (`out_w`), so the inner rows are plain sums — for grey frames four
//! pixels per 32-bit load, in 16-bit lanes — and multiplied once. Column
//! sums live in a stack buffer of [`CHUNK`] columns; a row band wider than
//! that is done in runs of whole cells (boundary columns summed in both
//! runs). The integers are the same as the definition's, whatever the
//! order, so the result is exact; the direct per-cell sum
//! ([`area_sums_direct`]) stays as the fallback for cells wider than a
//! chunk and as the tests' reference. On the Cortex-M7 this costs about
//! 1.5 instructions per grey pixel (the per-cell sum it replaced took
//! about 40).

use crate::dsp::{add_bytes02, add_bytes13};
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

/// Source columns whose band sums one pass keeps ([`area_sums`] holds them
/// in a stack buffer of this many `u32`, 2 KiB). A cell wider than this
/// (a downscale by more than 511 horizontally) takes the direct path.
pub const CHUNK: usize = 512;

/// Rows of plain sums a 16-bit lane holds without overflow (`256·255 <
/// 2^16`).
const LANE_ROWS: usize = 256;

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
    // The widest cell spans ⌈w / out_w⌉ + 1 source columns at most.
    if w.div_ceil(out_w) + 1 > CHUNK {
        return area_sums_direct(frame, layout, out_w, out_h, sink);
    }
    let mut cols = [0u32; CHUNK];
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
            let cols = &mut cols[..c1 - c0];
            band_sums(frame, layout, band, out_h as u32, c0, cols);
            for o in ox..end {
                let cell = Span::of(o, w, out_w);
                let at = |sx: usize| u64::from(cols[sx - c0]);
                let mut s = at(cell.first) * u64::from(cell.k_first);
                if cell.last > cell.first {
                    let inner: u64 = cols[cell.first + 1 - c0..cell.last - c0]
                        .iter()
                        .map(|&c| u64::from(c))
                        .sum();
                    s += inner * out_w as u64 + at(cell.last) * u64::from(cell.k_last);
                }
                sink(oy * out_w + o, s);
            }
            ox = end;
        }
    }
    Ok(denom)
}

/// The weighted luma sums over the rows of `band` of source columns
/// `c0..c0 + cols.len()`: `cols[i] = Σ_rows luma(row, c0 + i) · k_row`,
/// inner rows weighing `full`. At most `255 · h < 2^24` each.
fn band_sums(
    frame: &[u8],
    layout: FrameLayout,
    band: Span,
    full: u32,
    c0: usize,
    cols: &mut [u32],
) {
    let stride = layout.stride;
    let row = |y: usize| &frame[y * stride..];
    cols.fill(0);
    // Inner rows: plain sums, scaled once.
    let mut y = band.first + 1;
    while y < band.last {
        let n = (band.last - y).min(LANE_ROWS);
        match layout.format {
            PixelFormat::Gray8 => gray_inner(&frame[y * stride..], stride, n, c0, full, cols),
            PixelFormat::Rgb888 => rgb_inner(&frame[y * stride..], stride, n, c0, full, cols),
        }
        y += n;
    }
    // The first and last row with their partial weights.
    let weighted = [(band.first, band.k_first), (band.last, band.k_last)];
    let rows = if band.first == band.last {
        &weighted[..1]
    } else {
        &weighted[..]
    };
    for &(y, k) in rows {
        match layout.format {
            PixelFormat::Gray8 => {
                for (c, &p) in cols.iter_mut().zip(&row(y)[c0..]) {
                    *c += u32::from(p) * k;
                }
            }
            PixelFormat::Rgb888 => {
                for (c, p) in cols.iter_mut().zip(row(y)[3 * c0..].chunks_exact(3)) {
                    *c += u32::from(luma_601(p[0], p[1], p[2])) * k;
                }
            }
        }
    }
}

/// Adds `full ·` (the sum over `n ≤ 256` grey rows starting at `rows`) to
/// `cols`. Four columns per 32-bit load, summed in 16-bit lanes (even and
/// odd bytes apart), sixteen columns at a time so the lanes stay in
/// registers down the rows.
fn gray_inner(rows: &[u8], stride: usize, n: usize, c0: usize, full: u32, cols: &mut [u32]) {
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

/// Adds `full ·` (the luma sum over `n` RGB rows starting at `rows`) to
/// `cols`, two columns at a time down the rows. A function of its own with
/// its constants made opaque, so the loop keeps them in registers: inlined,
/// or with literal constants, LLVM rebuilds each (movw/movt) for every
/// pixel — about 13.5 instructions per pixel instead of 10.
#[inline(never)]
fn rgb_inner(rows: &[u8], stride: usize, n: usize, c0: usize, full: u32, cols: &mut [u32]) {
    // luma_601, same integers: `⌊s / 1000⌋ = ⌊s · M / 2^32⌋` with
    // M = ⌈2^32 / 1000⌉ for every s < 2^22 (s ≤ 255 500 here).
    let [kr, kg, kb, m] = core::hint::black_box([299u32, 587, 114, 4_294_968]);
    let luma = |p: &[u8]| {
        let s = kr * u32::from(p[0]) + kg * u32::from(p[1]) + kb * u32::from(p[2]) + 500;
        ((u64::from(s) * u64::from(m)) >> 32) as u32
    };
    let px = &rows[3 * c0..];
    let mut x = 0;
    let mut blocks = cols.chunks_exact_mut(2);
    for out in &mut blocks {
        let (mut a, mut b) = (0u32, 0u32);
        let mut at = 3 * x;
        for _ in 0..n {
            let p = &px[at..at + 6];
            a += luma(&p[..3]);
            b += luma(&p[3..]);
            at += stride;
        }
        out[0] += a * full;
        out[1] += b * full;
        x += 2;
    }
    for (i, o) in blocks.into_remainder().iter_mut().enumerate() {
        let mut s = 0u32;
        for r in 0..n {
            s += luma(&px[r * stride + 3 * (x + i)..]);
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
                assert!(fast.iter().all(|&s| s == 255 * (w * h) as u64));
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
