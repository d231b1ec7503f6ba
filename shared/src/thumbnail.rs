//! Frame → network input: the first stage of the cart's pipeline
//! (ARCHITECTURE.md, "area-average to the net's input"), shared so that the
//! host's int8 evaluation feeds the engine exactly the bytes the firmware
//! does, and so that the trainer's float input is the same average before
//! rounding (for RGB clips the trainer's loaders take luma per pixel first,
//! which moves its float input by less than one luma step).
//!
//! ```text
//! frame (gray8 or rgb888, any W×H, any stride)
//!   ─► exact area sums to out_w × out_h ([`area_sums`]); for RGB the
//!      Rec. 601 luma of each cell's exact mean colour
//!   ─► rounded to 8 bits once ([`area_average_u8`])
//!   ─► int8 through the model's input table ([`frame_to_input`])
//! ```
//!
//! # Exact area averaging
//!
//! Every output cell is the mean of the frame area it covers, partly
//! covered pixels weighted by the covered fraction. Measured in units of
//! `1/(w·out_w)` of the width (and likewise for the height), source column
//! `sx` spans `[sx·out_w, (sx+1)·out_w)` and output column `ox` spans
//! `[ox·w, (ox+1)·w)`: every overlap is an integer and each cell's weights
//! sum to `w` (resp. `h`).
//!
//! A grey cell's sum is `S = Σ p·kx·ky` over its pixels `p`, at most
//! `255·w·h < 2^40`, with denominator `D = w·h`. An RGB cell is the Rec. 601
//! luma of its exact mean colour: `S = Σ (299 R + 587 G + 114 B)·kx·ky`
//! (`= 299 ΣR + 587 ΣG + 114 ΣB`, each channel's exact weighted sum), at
//! most `255 000·w·h < 2^50`, with `D = 1000·w·h`. Either way the mean is
//! `S / D` ([`LUMA_WEIGHTS`]). The trainer divides in floating point (its
//! float input), the cart rounds half up in integers, once
//! (`⌊(2S + D) / (2D)⌋`, `Rounding`); nothing depends on summation
//! order, thread count or platform. (Luma is not rounded per pixel: that
//! would cost the cart a multiply-and-divide per pixel and add a second
//! rounding; the mean colour's luma is the same value up to that rounding.)
//!
//! # How the sums are computed
//!
//! Separably and without allocation, over the bytes of each row (an RGB
//! row is `3·w` byte columns, R, G, B interleaved): first each byte
//! column's weighted sum over an output row's band of source rows
//! (`C[b] = Σ byte·ky`, at most `255·h < 2^24`), then, for RGB, each
//! source column's luma numerator `299 C[3x] + 587 C[3x+1] + 114 C[3x+2]`
//! (three multiplies per column and band, not per pixel; at most
//! `255 000·h`, so frames taller than 16 842 rows take the direct path),
//! then each cell's weighted sum of the columns (`Σ C·kx`). Only the first
//! and last row (column) of a band carries a partial weight; every row in
//! between has the full weight `out_h` (`out_w`), so the inner rows are
//! plain sums — four bytes per 32-bit load, in 16-bit lanes — multiplied
//! once, together with the two partial rows. Column sums live in a stack
//! buffer of [`CHUNK`] byte columns; a frame wider than that is done in
//! runs of whole cells (boundary columns summed in both runs). The integers
//! are the same as the definition's, whatever the order, so the result is
//! exact; the direct per-cell sum (`area_sums_direct`) stays as the
//! fallback for cells wider than a chunk and as the tests' reference. On
//! the Cortex-M7 a 640×480 frame to 80×64 costs about 1.46 M instructions
//! grey (4.7 per pixel) and 3.41 M RGB (3.7 per byte), everything included
//! (QEMU count, `sonomask hil --target qemu`): per band and 16 byte
//! columns, 15 per inner row and about 127 for the flush with the partial
//! rows; then about 11 per RGB column for the luma and some 130 per cell.

use crate::dsp::sum_rows16;
use crate::engine::Model;
use crate::mask::{FrameLayout, PixelFormat};

/// Rec. 601 luma of one RGB pixel, rounded half up, in integers:
/// `(299 R + 587 G + 114 B + 500) / 1000`. The host's labelers and viewers
/// use it on single pixels; the network input does not round per pixel
/// (see the module documentation).
#[inline]
pub fn luma_601(r: u8, g: u8, b: u8) -> u8 {
    // At most 255 * 1000 + 500 = 255_500, so the quotient fits a u8.
    ((luma_numerator(r, g, b) + 500) / 1000) as u8
}

/// The Rec. 601 weights of R, G and B, in thousandths: an RGB cell's sum is
/// `Σ (299 R + 587 G + 114 B)·kx·ky` over a denominator 1000 times the
/// grey one.
pub const LUMA_WEIGHTS: [u32; 3] = [299, 587, 114];

/// `299 R + 587 G + 114 B` (at most 255 000).
#[inline]
fn luma_numerator(r: u8, g: u8, b: u8) -> u32 {
    let [kr, kg, kb] = LUMA_WEIGHTS;
    kr * r as u32 + kg * g as u32 + kb * b as u32
}

/// Why a frame could not be turned into a network input (the cart then
/// fails closed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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
/// pixel with weight `k_first = n_in` and `k_last = 0`), every pixel in
/// between with the full weight `n_out`. Weights sum to `n_in`.
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
/// denominator of every cell's mean: `w·h` for grey, `1000·w·h` for RGB.
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
        PixelFormat::Rgb888 => 1000 * area,
    })
}

/// Weighted sum of one row segment: `Σ value(x) · kx` over `taps`, the
/// value being the grey byte or the RGB pixel's luma numerator.
#[inline]
fn row_sum(row: &[u8], format: PixelFormat, taps: impl Iterator<Item = (usize, u64)>) -> u64 {
    match format {
        PixelFormat::Gray8 => taps.map(|(sx, k)| row[sx] as u64 * k).sum(),
        PixelFormat::Rgb888 => taps
            .map(|(sx, k)| {
                let p = &row[3 * sx..3 * sx + 3];
                luma_numerator(p[0], p[1], p[2]) as u64 * k
            })
            .sum(),
    }
}

/// Byte columns whose band sums one pass keeps ([`area_sums`] holds them in
/// a stack buffer of this many `u32`, 6 KiB): 1536 grey or 512 RGB source
/// columns. A cell wider than this takes the direct path.
pub const CHUNK: usize = 1536;

/// Cells whose horizontal spans one run keeps (a stack buffer of this many
/// 8-byte spans, 2 KiB); a run ends at this many cells or at [`CHUNK`]
/// byte columns, whichever comes first.
const RUN_CELLS: usize = 256;

/// Rows of plain sums a 16-bit lane holds without overflow (`257·255 <
/// 2^16`; 256 keeps the batches round).
const LANE_ROWS: usize = 256;

/// Tallest RGB frame whose per-column luma numerators (`255 000·h`) fit a
/// `u32`; taller ones take the direct path.
const RGB_MAX_ROWS: usize = (u32::MAX / 255_000) as usize;

/// A horizontal [`Span`] in 8 bytes, for the per-run table (every field is
/// at most `u16::MAX`: `check` bounds both sides, the source index and the
/// weights).
#[derive(Clone, Copy, Default)]
struct CellSpan {
    first: u16,
    last: u16,
    k_first: u16,
    k_last: u16,
}

/// The exact area sums of `frame` over `out_w × out_h` cells (grey values,
/// or RGB luma numerators; see the module documentation): calls
/// `sink(index, sum)` once for every cell (row-major index, in no
/// particular order) and returns the common denominator (mean =
/// `sum / denominator`).
pub fn area_sums(
    frame: &[u8],
    layout: FrameLayout,
    out_w: usize,
    out_h: usize,
    mut sink: impl FnMut(usize, u64),
) -> Result<u64, ThumbnailError> {
    let denom = check(frame, layout, out_w, out_h)?;
    let (w, h) = (layout.width as usize, layout.height as usize);
    let rgb = layout.format == PixelFormat::Rgb888;
    let bpp = layout.format.bytes_per_pixel();
    // The widest cell spans ⌈w / out_w⌉ + 1 source columns at most.
    if (w.div_ceil(out_w) + 1) * bpp > CHUNK || (rgb && h > RGB_MAX_ROWS) {
        return area_sums_direct(frame, layout, out_w, out_h, sink);
    }
    let mut cols = [0u32; CHUNK];
    let mut spans = [CellSpan::default(); RUN_CELLS];
    let mut ox = 0;
    while ox < out_w {
        // As many whole cells as fit in one chunk of byte columns and the
        // span table (one at least), their spans kept for every band.
        let c0 = Span::of(ox, w, out_w).first;
        let mut n = 0;
        while ox + n < out_w && n < RUN_CELLS {
            let s = Span::of(ox + n, w, out_w);
            if n > 0 && (s.last + 1 - c0) * bpp > CHUNK {
                break;
            }
            // Source indices are below w ≤ u16::MAX; a weight is at most
            // max(out_w, w) ≤ u16::MAX (`check`).
            spans[n] = CellSpan {
                first: (s.first - c0) as u16,
                last: (s.last - c0) as u16,
                k_first: s.k_first as u16,
                k_last: s.k_last as u16,
            };
            n += 1;
        }
        let spans = &spans[..n];
        let px = usize::from(spans[n - 1].last) + 1;
        let cols = &mut cols[..px * bpp];
        for oy in 0..out_h {
            let band = Span::of(oy, h, out_h);
            band_sums(frame, layout.stride, band, out_h as u32, c0 * bpp, cols);
            if rgb {
                luma_columns(cols);
            }
            cell_sums(&cols[..px], spans, out_w as u64, |o, s| {
                sink(oy * out_w + ox + o, s)
            });
        }
        ox += n;
    }
    Ok(denom)
}

/// RGB byte-column sums to per-pixel-column luma numerators, in place:
/// `cols[x] = 299 cols[3x] + 587 cols[3x+1] + 114 cols[3x+2]` for the first
/// third of `cols` (which the caller keeps below `2^32 / 255 000` rows).
#[inline(never)]
fn luma_columns(cols: &mut [u32]) {
    // Opaque, so the loop keeps the weights in registers instead of
    // rebuilding them for every column.
    let [kr, kg, kb] = core::hint::black_box(LUMA_WEIGHTS);
    for x in 0..cols.len() / 3 {
        let p = &cols[3 * x..3 * x + 3];
        cols[x] = kr * p[0] + kg * p[1] + kb * p[2];
    }
}

/// Each cell's weighted sum of the column sums `cols` (the run's first
/// column at 0), `full` being the weight of a cell's inner columns:
/// `sink(cell, Σ C·kx)`.
#[inline]
fn cell_sums(cols: &[u32], spans: &[CellSpan], full: u64, mut sink: impl FnMut(usize, u64)) {
    for (o, s) in spans.iter().enumerate() {
        let (first, last) = (usize::from(s.first), usize::from(s.last));
        let at = |x: usize| u64::from(cols[x]);
        let mut sum = at(first) * u64::from(s.k_first);
        if last > first {
            let inner: u64 = cols[first + 1..last].iter().map(|&c| u64::from(c)).sum();
            sum += inner * full + at(last) * u64::from(s.k_last);
        }
        sink(o, sum);
    }
}

/// The weighted sums over the rows of `band` of the byte columns
/// `b0..b0 + cols.len()`: `cols[i] = Σ_rows byte(row, b0 + i) · k_row`,
/// inner rows weighing `full`. At most `255 · h < 2^24` each.
fn band_sums(frame: &[u8], stride: usize, band: Span, full: u32, b0: usize, cols: &mut [u32]) {
    let row = |y: usize| &frame[y * stride + b0..];
    // Inner rows, the first batch of them with the two partial rows (the
    // last one weighing 0 when the band is a single row).
    let inner = band.last.saturating_sub(band.first + 1);
    let n = inner.min(LANE_ROWS);
    let edges = Edges {
        first: row(band.first),
        last: row(band.last),
        k_first: band.k_first,
        k_last: band.k_last,
    };
    let start = (band.first + 1).min(band.last);
    band_bytes(row(start), stride, n, full, edges, cols);
    // Bands taller than LANE_ROWS + 2 rows: the rest of the inner rows.
    let mut y = start + n;
    while y < band.last {
        let m = (band.last - y).min(LANE_ROWS);
        add_inner(row(y), stride, m, full, cols);
        y += m;
    }
}

/// Adds `full ·` (the plain sum over `n ≤ 256` rows starting at `rows`) to
/// `cols`: the rest of a band taller than [`LANE_ROWS`] + 2 rows.
fn add_inner(rows: &[u8], stride: usize, n: usize, full: u32, cols: &mut [u32]) {
    for (i, c) in cols.iter_mut().enumerate() {
        let s: u32 = (0..n).map(|r| u32::from(rows[r * stride + i])).sum();
        *c += s * full;
    }
}

/// The two partially weighted rows of a band (from the run's first byte
/// column).
#[derive(Clone, Copy)]
struct Edges<'a> {
    first: &'a [u8],
    last: &'a [u8],
    k_first: u32,
    k_last: u32,
}

/// `cols[i] = full · Σ_{r < n} rows[r·stride + i] + k_first · first[i] +
/// k_last · last[i]` for `n ≤ 256`. Sixteen columns at a time: the plain
/// sums in 16-bit lanes ([`sum_rows16`]: even and odd bytes apart, four
/// bytes per 32-bit load, in registers down the rows), then multiplied
/// once together with the partial rows and stored.
fn band_bytes(rows: &[u8], stride: usize, n: usize, full: u32, e: Edges<'_>, cols: &mut [u32]) {
    let (kf, kl) = (e.k_first, e.k_last);
    let mut x = 0;
    let mut blocks = cols.chunks_exact_mut(16);
    for out in &mut blocks {
        let acc = sum_rows16(&rows[x..], stride, n, [0; 8]);
        let (f, l) = (&e.first[x..][..16], &e.last[x..][..16]);
        for (j, o) in out.chunks_exact_mut(4).enumerate() {
            let (ev, od) = (acc[2 * j], acc[2 * j + 1]);
            let lanes = [ev & 0xFFFF, od & 0xFFFF, ev >> 16, od >> 16];
            let (f, l) = (&f[4 * j..][..4], &l[4 * j..][..4]);
            for i in 0..4 {
                o[i] = lanes[i] * full + u32::from(f[i]) * kf + u32::from(l[i]) * kl;
            }
        }
        x += 16;
    }
    for (i, o) in blocks.into_remainder().iter_mut().enumerate() {
        let b = x + i;
        let mut s = 0u32;
        for r in 0..n {
            s += u32::from(rows[r * stride + b]);
        }
        *o = s * full + u32::from(e.first[b]) * kf + u32::from(e.last[b]) * kl;
    }
}

/// The same sums straight from the definition, cell by cell: every cell
/// reads its source pixels with their weights. Slow (about 40 instructions
/// per pixel on the cart) but needs no buffer: the path for cells wider
/// than [`CHUNK`] and RGB frames taller than 16 842 rows, and the reference
/// the tests hold [`area_sums`] to.
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

/// `⌊(2·sum + denom) / (2·denom)⌋`, the mean rounded half up, for sums of
/// at most `255·denom` and denominators below `2^51`, without a 64-bit
/// division: an estimate from one 32-bit division, then corrected.
///
/// With `n = 2·sum + denom`, `d = 2·denom` and `s` the shift that leaves
/// `d` 16 significant bits, the estimate `q̂ = ⌊⌊n / 2^s⌋ / (⌊d / 2^s⌋ + 1)⌋`
/// (`+ 1` only when `s > 0`; exact otherwise) never exceeds `⌊n / d⌋` (smaller numerator, larger denominator); the
/// loop then adds one while `(q̂ + 1)·d ≤ n`, so the result is exactly
/// `⌊n / d⌋` whatever the estimate's error (at most 2 here: the relative
/// error of the divisor is below `2^-15` and `q ≤ 255`). `⌊n / 2^s⌋` is at
/// most `256 · 2^16`, so the division is a 32-bit one.
#[derive(Clone, Copy, Debug)]
struct Rounding {
    denom: u64,
    d: u64,
    shift: u32,
    d_est: u32,
}

impl Rounding {
    /// For a denominator from [`check`] (non-zero, below `2^51`).
    fn new(denom: u64) -> Self {
        let d = 2 * denom.max(1);
        let shift = (64 - d.leading_zeros()).saturating_sub(16);
        Self {
            denom,
            d,
            shift,
            // At most 2^16; exact when nothing was shifted out.
            d_est: (d >> shift) as u32 + u32::from(shift > 0),
        }
    }

    /// The mean `sum / denom` rounded half up, for `sum ≤ 255·denom` (every
    /// sum of [`area_sums`]).
    #[inline]
    fn mean_u8(&self, sum: u64) -> u8 {
        debug_assert!(sum <= 255 * self.denom);
        let n = 2 * sum + self.denom;
        // n < 2^8·d + d, so n >> shift < 2^8·2^16 + 2^16: a u32.
        let mut q = ((n >> self.shift) as u32 / self.d_est) as u64;
        while (q + 1) * self.d <= n {
            q += 1;
        }
        q.min(255) as u8
    }
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
    let round = Rounding::new(check(frame, layout, out_w, out_h)?);
    area_sums(frame, layout, out_w, out_h, |i, s| {
        out[i] = round.mean_u8(s)
    })?;
    Ok(())
}

/// A frame as `model`'s int8 input: area-averaged luma at the model's input
/// size, rounded to 8 bits, then `real = luma / 255` quantised with the
/// model's input grid (its load-time table, [`Model::quantize_luma`]).
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
    let round = Rounding::new(check(frame, layout, out_w, out_h)?);
    area_sums(frame, layout, out_w, out_h, |i, s| {
        out[i] = model.quantize_luma(round.mean_u8(s))
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

    /// The definition by brute force over a supersampled grid: each source
    /// pixel split into `out_w × out_h` subpixels, each cell is then
    /// `w × h` whole subpixels, each adding its pixel's value (grey byte,
    /// or `299 R + 587 G + 114 B`). Exact integers, like the sums.
    fn brute_sums(frame: &[u8], layout: FrameLayout, out_w: usize, out_h: usize) -> Vec<u64> {
        let (w, h) = (layout.width as usize, layout.height as usize);
        let value = |x: usize, y: usize| -> u64 {
            let at = y * layout.stride;
            match layout.format {
                PixelFormat::Gray8 => frame[at + x] as u64,
                PixelFormat::Rgb888 => {
                    let p = &frame[at + 3 * x..at + 3 * x + 3];
                    (299 * p[0] as u32 + 587 * p[1] as u32 + 114 * p[2] as u32) as u64
                }
            }
        };
        let mut out = vec![0u64; out_w * out_h];
        for oy in 0..out_h {
            for ox in 0..out_w {
                let mut s = 0u64;
                for uy in oy * h..(oy + 1) * h {
                    for ux in ox * w..(ox + 1) * w {
                        s += value(ux / out_w, uy / out_h);
                    }
                }
                out[oy * out_w + ox] = s;
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
    fn rgb_is_the_luma_of_the_mean_colour_rounded_once() {
        // (3, 0, 0) and black: the mean colour (1.5, 0, 0) has luma 0.4485
        // → 0 (per-pixel rounded luma would give 1 and 0, mean 0.5 → 1).
        let layout = FrameLayout::packed(2, 1, PixelFormat::Rgb888);
        let src = [3u8, 0, 0, 0, 0, 0];
        let mut sums = [0u64; 1];
        let d = area_sums(&src, layout, 1, 1, |i, s| sums[i] = s).unwrap();
        assert_eq!((sums[0], d), (897, 2000));
        let mut out = [9u8; 1];
        area_average_u8(&src, layout, 1, 1, &mut out).unwrap();
        assert_eq!(out, [0]);
        // A constant colour averages to its own rounded luma.
        let mut rng = Rng::new(3);
        for _ in 0..50 {
            let c = rng.bytes(3);
            let frame: Vec<u8> = c.iter().copied().cycle().take(3 * 37 * 29).collect();
            let mut out = vec![0u8; 5 * 4];
            let layout = FrameLayout::packed(37, 29, PixelFormat::Rgb888);
            area_average_u8(&frame, layout, 5, 4, &mut out).unwrap();
            assert!(
                out.iter().all(|&v| v == luma_601(c[0], c[1], c[2])),
                "{c:?}"
            );
        }
        assert_eq!(luma_601(255, 255, 255), 255);
        assert_eq!(luma_601(0, 0, 0), 0);
        assert_eq!(luma_601(255, 0, 0), 76); // 76.245
    }

    /// Exact sums and the rounded mean against the brute force, for both
    /// formats, random sides, ratios (down and up) and row padding.
    fn check_against_brute(rng: &mut Rng, w: usize, h: usize, ow: usize, oh: usize, pad: usize) {
        for format in [PixelFormat::Gray8, PixelFormat::Rgb888] {
            let stride = w * format.bytes_per_pixel() + pad;
            let layout = FrameLayout {
                width: w as u16,
                height: h as u16,
                stride,
                format,
            };
            let frame = rng.bytes(stride * h);
            let want = brute_sums(&frame, layout, ow, oh);
            let mut got = vec![u64::MAX; ow * oh];
            let d = area_sums(&frame, layout, ow, oh, |i, s| got[i] = s).unwrap();
            let scale = if format == PixelFormat::Rgb888 {
                1000
            } else {
                1
            };
            assert_eq!(d, scale * (w * h) as u64);
            assert!(got == want, "{w}x{h}+{pad}->{ow}x{oh} {format:?}");
            let mut q = vec![0u8; ow * oh];
            area_average_u8(&frame, layout, ow, oh, &mut q).unwrap();
            for (&qv, &s) in q.iter().zip(&want) {
                // Half up: the one integer in (mean − 1/2, mean + 1/2].
                // q = ⌊(2S + D) / 2D⌋ ⇔ 2qD ≤ 2S + D < (2q + 2)D.
                let (two_s, dd) = (2 * s as u128, d as u128);
                let qv = qv as u128;
                assert!(2 * qv * dd <= two_s + dd && two_s + dd < (2 * qv + 2) * dd);
            }
        }
    }

    #[test]
    fn matches_brute_force_for_odd_ratios() {
        let mut rng = Rng::new(11);
        for (w, h, ow, oh, pad) in [
            (17, 13, 5, 4, 0),
            (40, 30, 8, 7, 3),
            (13, 11, 13, 11, 0),
            (6, 5, 10, 8, 1), // upsampling works too
            (64, 48, 80, 64, 0),
            (33, 19, 16, 3, 5),
        ] {
            check_against_brute(&mut rng, w, h, ow, oh, pad);
        }
        // Random sides, ratios and strides.
        for _ in 0..40 {
            let (w, h) = (rng.usize(1, 70), rng.usize(1, 70));
            let (ow, oh) = (rng.usize(1, 24), rng.usize(1, 24));
            let pad = rng.usize(0, 5);
            check_against_brute(&mut rng, w, h, ow, oh, pad);
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
        // odd ones, upsampling, bands over 258 rows (lane batches), rows
        // wider than a chunk or with more cells than a run (several runs
        // of cells), cells wider than a chunk (the direct fallback), RGB
        // frames too tall for u32 luma columns (direct), padded strides.
        let cases = [
            (640, 480, 80, 64, 0),
            (800, 600, 80, 64, 3),
            (1024, 768, 80, 64, 0),
            (37, 29, 8, 8, 1),
            (17, 13, 5, 4, 0),
            (6, 5, 10, 8, 2),
            (33, 600, 3, 2, 0),
            (21, 1100, 2, 2, 1),
            (1500, 9, 7, 3, 5),
            (2000, 5, 90, 2, 1),
            (1300, 4, 2, 1, 0),
            (700, 7, 700, 7, 0),
            (19, 1, 19, 1, 0),
            (2, RGB_MAX_ROWS + 1, 1, 3, 0),
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
                let top = if format == PixelFormat::Rgb888 {
                    255_000
                } else {
                    255
                };
                assert!(fast.iter().all(|&s| s == top * (w * h) as u64));
                let mut out = vec![0u8; ow * oh];
                area_average_u8(&white, layout, ow, oh, &mut out).unwrap();
                assert!(out.iter().all(|&v| v == 255));
            }
        }
        // A constant frame stays constant at 640×480 → 80×64 (8 × 7.5).
        let flat = vec![77u8; 640 * 480];
        let mut out = vec![0u8; 80 * 64];
        area_average_u8(&flat, gray(640, 480), 80, 64, &mut out).unwrap();
        assert!(out.iter().all(|&v| v == 77));
    }

    #[test]
    fn rounding_is_the_exact_half_up_quotient() {
        let mut rng = Rng::new(31);
        // Denominators of every size the sums give (1 to 1000·65535²),
        // sums from 0 to 255·denominator, halves included.
        let mut denoms: Vec<u64> = vec![1, 2, 3, 6, 1000, 65_535, 65_536, 307_200, 307_200_000];
        denoms.push(1000 * 65_535 * 65_535);
        for _ in 0..200 {
            let bits = rng.usize(1, 52) as u32;
            denoms.push((rng.next_u64() >> (64 - bits)).max(1));
        }
        for d in denoms {
            let r = Rounding::new(d);
            let mut sums = vec![
                0,
                255 * d,
                d / 2,
                d.div_ceil(2),
                255 * d - 1,
                127 * d + d / 2,
            ];
            for _ in 0..50 {
                sums.push(rng.next_u64() % (255 * d + 1));
            }
            for s in sums {
                let want = ((2 * s as u128 + d as u128) / (2 * d as u128)) as u8;
                assert_eq!(r.mean_u8(s), want, "{s} / {d}");
            }
        }
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
