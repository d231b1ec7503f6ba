//! The int8 kernels, each twice under the same name: [`reference`](mod@reference) (naive
//! loops, obviously right, the specification) and [`fast`] (what
//! [`super::run`] uses: loops shaped so LLVM emits the Cortex-M7's DSP
//! instructions). Both are plain portable Rust; the tests require them to
//! agree exactly on every integer.
//!
//! Layout: activations are HWC (`N = 1`, channels innermost), conv weights
//! OHWI (`[out_c][k][k][in_c]`), as in TFLite and CMSIS-NN. Why not CHW: the
//! im2col patch of one output pixel is then `k` runs of `k * in_c`
//! contiguous bytes, so the inner product is one long contiguous `i16` dot
//! product — the loop LLVM turns into `SMLAD` (two 16-bit MACs per
//! instruction) — and each output channel's weights are contiguous too. The
//! network's input (luma) and output (one logit map) have one channel, where
//! HWC and CHW are the same bytes, so callers never see the difference.
//!
//! Arithmetic shared by both versions (it *is* the definition, not an
//! optimisation): accumulation in `i32` with wrapping adds — addition mod
//! 2^32 is associative, so any summation order gives the same bits, which
//! is what lets the fast kernel reorder — then [`finish`].

use super::EngineError;
use crate::quant::{ADD_LEFT_SHIFT, AddRequant, FusedRequant, Requant};

/// Requantise an accumulator, add the output zero point, clamp to the
/// activation range (`[-128, 127]`, or `[zero_point, 127]` with a fused ReLU).
#[inline]
pub fn finish(acc: i32, rq: Requant, out_zp: i8, act_min: i8, act_max: i8) -> i8 {
    rq.apply(acc)
        .saturating_add(out_zp as i32)
        .clamp(act_min as i32, act_max as i32) as i8
}

/// Lower clamp bound of an output: its zero point (real 0) with a fused ReLU.
pub fn act_min(out_zp: i8, relu: bool) -> i8 {
    if relu { out_zp } else { i8::MIN }
}

/// `Σ a[i] * b[i]` over the common length, wrapping like `SMLAD` does.
///
/// Deliberately the plainest loop: with `-C target-cpu=cortex-m7` LLVM's
/// ARMParallelDSP pass turns exactly this (one accumulator, adjacent `i16`
/// loads) into `ldr; ldr; smlad` — checked on the asm. Hand-unrolled pairs
/// and 2×2 register tiles were tried and came out as `smlabb`/`smlatt`
/// (one MAC each) because the pass gives up on them.
///
/// Only the tests call it now (the fast kernels use `crate::dsp`).
#[cfg(test)]
#[inline]
pub fn dot_i16(a: &[i16], b: &[i16]) -> i32 {
    let mut acc = 0i32;
    for (x, y) in a.iter().zip(b) {
        acc = acc.wrapping_add(*x as i32 * *y as i32);
    }
    acc
}

/// Scratch words per output channel in [`fast::conv2d_s8`]: the bias and
/// the requantiser ([`FusedRequant`] or [`Requant`]) as four words.
pub const CHANNEL_WORDS: usize = 5;

/// Shape of a 2-D convolution with "same" padding of `(k - 1) / 2` on the
/// top and left (and as much as needed at the bottom and right).
///
/// This is PyTorch's / burn's `padding = k / 2`, so a model trained in burn
/// runs unshifted. It equals TFLite's `SAME` except for `k = 3, stride = 2`
/// on an even side, where TFLite pads 0 before and 1 after: a TFLite model
/// with that layer would have to be padded explicitly before export.
/// Output side: `ceil(in / stride)` in every supported case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    /// Input channels.
    pub in_c: usize,
    /// Input height in pixels.
    pub in_h: usize,
    /// Input width in pixels.
    pub in_w: usize,
    /// Output channels (filters).
    pub out_c: usize,
    /// Kernel side: 1 or 3.
    pub k: usize,
    /// Stride in both directions: 1 or 2.
    pub stride: usize,
}

/// Sizes saturate instead of overflowing, so that no geometry a direct
/// caller invents can panic; the kernels reject any that does not fit.
impl ConvGeom {
    /// Zero-point padding before the first row and column: `(k - 1) / 2`.
    pub fn pad(&self) -> usize {
        self.k.saturating_sub(1) / 2
    }
    /// Output height: `ceil(in_h / stride)`.
    pub fn out_h(&self) -> usize {
        side_out(self.in_h, self.k, self.stride)
    }
    /// Output width: `ceil(in_w / stride)`.
    pub fn out_w(&self) -> usize {
        side_out(self.in_w, self.k, self.stride)
    }
    /// Inner-product length: `k * k * in_c`.
    pub fn patch_len(&self) -> usize {
        self.k.saturating_mul(self.k).saturating_mul(self.in_c)
    }
    /// Bytes of the HWC input: `in_c * in_h * in_w`.
    pub fn input_len(&self) -> usize {
        self.in_c
            .saturating_mul(self.in_h)
            .saturating_mul(self.in_w)
    }
    /// Bytes of the HWC output: `out_c * out_h * out_w`.
    pub fn output_len(&self) -> usize {
        self.out_c
            .saturating_mul(self.out_h())
            .saturating_mul(self.out_w())
    }
    /// Bytes of the OHWI weights: `out_c * k * k * in_c`.
    pub fn weight_len(&self) -> usize {
        self.out_c.saturating_mul(self.patch_len())
    }
    /// `i32` words of scratch [`fast::conv2d_s8`] needs, in `u64` so the
    /// planner sees an absurd size as too large, not as a wrapped small
    /// one: [`CHANNEL_WORDS`] per output channel (bias and requantiser,
    /// decoded once per op), the weights widened to `i16` pairs
    /// (`out_c · k` kernel rows of [`Self::row_words`]`(k)`), and `k` input
    /// rows widened the same way with their padding ([`Self::ring_words`]).
    pub fn scratch_words(&self) -> u64 {
        let (out_c, k) = (self.out_c as u64, self.k as u64);
        let weights = out_c.saturating_mul(k).saturating_mul(self.row_words(k));
        out_c
            .saturating_mul(CHANNEL_WORDS as u64)
            .saturating_add(weights)
            .saturating_add(k.saturating_mul(self.ring_words()))
    }

    /// Channels per pixel once widened: `in_c` rounded up to even, so a
    /// pixel is whole words of `i16` pairs.
    fn even_c(&self) -> u64 {
        (self.in_c as u64).saturating_add(self.in_c as u64 & 1)
    }

    /// Words of `pixels` widened pixels.
    fn row_words(&self, pixels: u64) -> u64 {
        pixels.saturating_mul(self.even_c()) / 2
    }

    /// Words of one widened input row with its left and right padding.
    fn ring_words(&self) -> u64 {
        let padded = (self.in_w as u64).saturating_add(2 * self.pad() as u64);
        self.row_words(padded)
    }

    /// Valid kernel size and stride, no empty side, and every size the
    /// kernels compute fits in `usize` (so their index arithmetic cannot
    /// overflow, whatever a direct caller passes).
    fn is_sane(&self) -> bool {
        let fits = || -> Option<()> {
            let m = |a: usize, b: usize| a.checked_mul(b);
            m(m(self.in_c, self.in_h)?, self.in_w)?;
            self.in_h.checked_add(2)?;
            self.in_w.checked_add(2)?;
            m(m(self.out_c, self.out_h())?, self.out_w())?;
            m(
                self.out_c.checked_add(1)?,
                m(m(self.k, self.k)?, self.in_c)?,
            )?;
            usize::try_from(self.scratch_words()).ok()?;
            Some(())
        };
        matches!(self.k, 1 | 3)
            && matches!(self.stride, 1 | 2)
            && self.in_c > 0
            && self.in_h > 0
            && self.in_w > 0
            && self.out_c > 0
            && fits().is_some()
    }
}

fn side_out(side: usize, k: usize, stride: usize) -> usize {
    let pad = k.saturating_sub(1) / 2;
    (side.saturating_add(2 * pad).saturating_sub(k) / stride.max(1)).saturating_add(1)
}

/// `c * h * w`, or `None` if it overflows (then no buffer can match it).
fn len3(c: usize, h: usize, w: usize) -> Option<usize> {
    c.checked_mul(h)?.checked_mul(w)
}

/// Per-output-channel parameters of a convolution, as stored in the blob:
/// bytes, so they can be borrowed from flash without alignment or unsafe.
#[derive(Clone, Copy, Debug)]
pub struct ConvParams<'p> {
    /// `i8` weights, OHWI, `out_c * k * k * in_c` bytes.
    pub weights: &'p [u8],
    /// `i32` little-endian per output channel (scale `in_scale * w_scale[c]`).
    pub bias: &'p [u8],
    /// `i32` little-endian Q31 multiplier per output channel.
    pub multiplier: &'p [u8],
    /// `i8` shift per output channel.
    pub shift: &'p [u8],
    /// Zero point of the input (also the padding value: real 0).
    pub in_zp: i8,
    /// Zero point of the output.
    pub out_zp: i8,
    /// Fused ReLU: clamp the output at its zero point.
    pub relu: bool,
}

impl ConvParams<'_> {
    /// Bias of channel `oc` (0 past the end; lengths are checked on entry).
    pub fn bias(&self, oc: usize) -> i32 {
        le_i32(self.bias, oc)
    }
    /// Requantiser of channel `oc`.
    pub fn requant(&self, oc: usize) -> Requant {
        Requant {
            multiplier: le_i32(self.multiplier, oc),
            shift: self.shift.get(oc).map_or(0, |&s| s as i8),
        }
    }

    fn fits(&self, g: &ConvGeom) -> bool {
        self.weights.len() == g.weight_len()
            && self.bias.len() == 4 * g.out_c
            && self.multiplier.len() == 4 * g.out_c
            && self.shift.len() == g.out_c
    }
}

/// Reads the `i`-th little-endian `i32` of `bytes` (0 past the end).
pub fn le_i32(bytes: &[u8], i: usize) -> i32 {
    match bytes.get(4 * i..4 * i + 4) {
        Some(&[a, b, c, d]) => i32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// One input of a concat: its zero point and how to bring it to the
/// output's grid (`None`: already on it, copy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConcatInput {
    /// Channels per pixel of this input.
    pub channels: usize,
    /// Zero point of this input's grid.
    pub zero_point: i8,
    /// `input.scale / output.scale`, or `None` to copy the bytes.
    pub requant: Option<Requant>,
}

/// Quantisation of an add: input and output zero points, requantisers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddParams {
    /// Zero point of input `a`.
    pub a_zp: i8,
    /// Zero point of input `b`.
    pub b_zp: i8,
    /// Zero point of the output.
    pub out_zp: i8,
    /// The inputs' and the sum's requantisers.
    pub requant: AddRequant,
    /// Fused ReLU: clamp the output at its zero point.
    pub relu: bool,
}

/// Value of one concat input element on the output grid.
#[inline]
fn concat_value(x: i8, inp: &ConcatInput, out_zp: i8) -> i8 {
    match inp.requant {
        None => x,
        Some(rq) => finish(
            x as i32 - inp.zero_point as i32,
            rq,
            out_zp,
            i8::MIN,
            i8::MAX,
        ),
    }
}

/// Input `x` of an add, shifted left and brought to the common scale.
#[inline]
fn add_scaled(x: i8, zp: i8, rq: Requant) -> i32 {
    rq.apply((x as i32 - zp as i32) << ADD_LEFT_SHIFT)
}

/// Sum of two scaled add inputs on the output grid.
#[inline]
fn add_finish(sa: i32, sb: i32, p: &AddParams) -> i8 {
    finish(
        sa.saturating_add(sb),
        p.requant.out,
        p.out_zp,
        act_min(p.out_zp, p.relu),
        i8::MAX,
    )
}

fn check(ok: bool) -> Result<(), EngineError> {
    if ok {
        Ok(())
    } else {
        Err(EngineError::BadGeometry)
    }
}

/// Naive kernels: one output element at a time, straight from the
/// definitions. The specification the fast ones are tested against.
pub mod reference {
    use super::*;

    /// 2-D convolution, HWC in and out, OHWI weights, padding with the input
    /// zero point (i.e. real 0).
    pub fn conv2d_s8(
        g: &ConvGeom,
        p: &ConvParams<'_>,
        input: &[i8],
        output: &mut [i8],
    ) -> Result<(), EngineError> {
        check(g.is_sane() && p.fits(g))?;
        check(input.len() == g.input_len() && output.len() == g.output_len())?;
        let (oh, ow, pad) = (g.out_h(), g.out_w(), g.pad());
        let lo = act_min(p.out_zp, p.relu);
        for oy in 0..oh {
            for ox in 0..ow {
                for oc in 0..g.out_c {
                    let mut acc = p.bias(oc);
                    for ky in 0..g.k {
                        for kx in 0..g.k {
                            let iy = (oy * g.stride + ky).checked_sub(pad);
                            let ix = (ox * g.stride + kx).checked_sub(pad);
                            for ic in 0..g.in_c {
                                let x = match (iy, ix) {
                                    (Some(iy), Some(ix)) if iy < g.in_h && ix < g.in_w => {
                                        input[(iy * g.in_w + ix) * g.in_c + ic]
                                    }
                                    _ => p.in_zp,
                                };
                                let w = p.weights[((oc * g.k + ky) * g.k + kx) * g.in_c + ic] as i8;
                                acc = acc.wrapping_add((x as i32 - p.in_zp as i32) * w as i32);
                            }
                        }
                    }
                    output[(oy * ow + ox) * g.out_c + oc] =
                        finish(acc, p.requant(oc), p.out_zp, lo, i8::MAX);
                }
            }
        }
        Ok(())
    }

    /// 2×2 max pooling, stride 2, no padding (an odd last row/column is dropped).
    pub fn max_pool_2x2_s8(
        c: usize,
        h: usize,
        w: usize,
        input: &[i8],
        output: &mut [i8],
    ) -> Result<(), EngineError> {
        let (oh, ow) = (h / 2, w / 2);
        check(len3(c, h, w) == Some(input.len()) && len3(c, oh, ow) == Some(output.len()))?;
        for y in 0..oh {
            for x in 0..ow {
                for ch in 0..c {
                    let at = |yy: usize, xx: usize| input[(yy * w + xx) * c + ch];
                    let m = at(2 * y, 2 * x)
                        .max(at(2 * y, 2 * x + 1))
                        .max(at(2 * y + 1, 2 * x))
                        .max(at(2 * y + 1, 2 * x + 1));
                    output[(y * ow + x) * c + ch] = m;
                }
            }
        }
        Ok(())
    }

    /// Nearest-neighbour 2× upsampling: `out[y][x] = in[y / 2][x / 2]`.
    pub fn upsample_2x_s8(
        c: usize,
        h: usize,
        w: usize,
        input: &[i8],
        output: &mut [i8],
    ) -> Result<(), EngineError> {
        check(len3(c, h, w) == Some(input.len()))?;
        check(input.len().checked_mul(4) == Some(output.len()))?;
        let (oh, ow) = (2 * h, 2 * w);
        for y in 0..oh {
            for x in 0..ow {
                for ch in 0..c {
                    output[(y * ow + x) * c + ch] = input[((y / 2) * w + x / 2) * c + ch];
                }
            }
        }
        Ok(())
    }

    /// Channel concat `[a, b]` of two `h × w` tensors, each brought to the
    /// output grid.
    pub fn concat_s8(
        pixels: usize,
        a: &ConcatInput,
        b: &ConcatInput,
        out_zp: i8,
        in_a: &[i8],
        in_b: &[i8],
        output: &mut [i8],
    ) -> Result<(), EngineError> {
        let c = a
            .channels
            .checked_add(b.channels)
            .ok_or(EngineError::BadGeometry)?;
        check(pixels.checked_mul(a.channels) == Some(in_a.len()))?;
        check(pixels.checked_mul(b.channels) == Some(in_b.len()))?;
        check(pixels.checked_mul(c) == Some(output.len()))?;
        for px in 0..pixels {
            for ch in 0..a.channels {
                output[px * c + ch] = concat_value(in_a[px * a.channels + ch], a, out_zp);
            }
            for ch in 0..b.channels {
                output[px * c + a.channels + ch] =
                    concat_value(in_b[px * b.channels + ch], b, out_zp);
            }
        }
        Ok(())
    }

    /// Element-wise add of two same-shape tensors (TFLite's int8 add).
    pub fn add_s8(
        p: &AddParams,
        in_a: &[i8],
        in_b: &[i8],
        output: &mut [i8],
    ) -> Result<(), EngineError> {
        check(in_a.len() == output.len() && in_b.len() == output.len())?;
        for i in 0..output.len() {
            let sa = add_scaled(in_a[i], p.a_zp, p.requant.a);
            let sb = add_scaled(in_b[i], p.b_zp, p.requant.b);
            output[i] = add_finish(sa, sb, p);
        }
        Ok(())
    }
}

/// The kernels [`super::run`] uses. Same results as [`reference`](mod@reference), bit for
/// bit; shaped for the Cortex-M7 (and fine anywhere else).
pub mod fast {
    use super::*;
    use crate::dsp::{dot1x2, dot2x2_tiles, pack, requant_relu_run, smlad};

    /// 2-D convolution, shaped for `SMLAD` (two 16-bit MACs per
    /// instruction, [`smlad`]) and few instructions per MAC:
    ///
    /// - the `k` input rows an output row needs are widened to `i16` pairs
    ///   (zero point subtracted, an odd `in_c` padded with a zero channel)
    ///   into a window laid out column by column, `[x][ky][c]`, with zero
    ///   padding columns: the receptive field of an output pixel is then
    ///   one contiguous run of words, and padding costs nothing. Moving
    ///   down a row shifts the window by one row's block (a `memmove`) and
    ///   widens only the new row;
    /// - the weights are widened once per op in the same order,
    ///   `[oc][kx][ky][c]`;
    /// - outputs come in register tiles of two pixels × two channels: per
    ///   word of the receptive field, four loads feed four `SMLAD`s (eight
    ///   MACs);
    /// - the requantisation is [`FusedRequant`] where the op allows it.
    ///
    /// `scratch` must hold [`ConvGeom::scratch_words`] words.
    pub fn conv2d_s8(
        g: &ConvGeom,
        p: &ConvParams<'_>,
        input: &[i8],
        output: &mut [i8],
        scratch: &mut [i32],
    ) -> Result<(), EngineError> {
        check(g.is_sane() && p.fits(g))?;
        check(input.len() == g.input_len() && output.len() == g.output_len())?;
        let words = g.scratch_words() as usize; // fits: is_sane checked it
        let scratch = scratch
            .get_mut(..words)
            .ok_or(EngineError::ScratchTooSmall)?;
        let (out_c, k, in_c) = (g.out_c, g.k, g.in_c);
        let even_c = g.even_c() as usize;
        // Words per widened pixel, per column of the window, per field.
        let pw = even_c / 2;
        let col = k * pw;
        let field = k * col;
        let (chans, rest) = scratch.split_at_mut(CHANNEL_WORDS * out_c);
        let (weights, window) = rest.split_at_mut(out_c * field);
        let weights: &mut [u32] = bytemuck::cast_slice_mut(weights);
        let window: &mut [u32] = bytemuck::cast_slice_mut(window);

        let fused = (0..out_c).all(|oc| FusedRequant::new(p.requant(oc)).is_some());
        for (oc, ch) in chans.chunks_exact_mut(CHANNEL_WORDS).enumerate() {
            ch[0] = p.bias(oc);
            let rq = p.requant(oc);
            match FusedRequant::new(rq).filter(|_| fused) {
                Some(f) => ch[1..].copy_from_slice(&f.to_words()),
                None => ch[1..].copy_from_slice(&[rq.multiplier, rq.shift as i32, 0, 0]),
            }
        }
        // Weights [oc][ky][kx][ic] → [oc][kx][ky] blocks of `pw` words, the
        // two channels of a pair interleaved word by word (one load of two
        // words feeds a tile), a last odd channel alone.
        let w8: &[i8] = bytemuck::cast_slice(p.weights);
        for (oc, src) in w8.chunks_exact(k * k * in_c).enumerate() {
            let (base, lanes, lane) = if oc + 1 == out_c && out_c % 2 == 1 {
                (oc * field, 1, 0)
            } else {
                ((oc & !1) * field, 2, oc & 1)
            };
            for (ky, src_row) in src.chunks_exact(k * in_c).enumerate() {
                for (kx, px) in src_row.chunks_exact(in_c).enumerate() {
                    let at = base + (kx * k + ky) * pw * lanes + lane;
                    let dst = &mut weights[at..at + (pw - 1) * lanes + 1];
                    if in_c % 2 == 0 {
                        // Whole pairs: no odd channel to pad, and an
                        // indexed loop (the `step_by` iterator cost about
                        // ten instructions per weight on the cart).
                        for (i, p) in px.chunks_exact(2).enumerate() {
                            dst[i * lanes] = pack(p[0] as i16, p[1] as i16);
                        }
                    } else {
                        widen(px, 0, in_c, dst.iter_mut().step_by(lanes));
                    }
                }
            }
        }
        window.fill(0);

        let lo = act_min(p.out_zp, p.relu);
        let out = Output {
            zp: p.out_zp as i32,
            lo: lo as i32,
        };
        // The lower clamp at or above the zero point (a fused ReLU):
        // FusedRequant::apply_relu suffices.
        let relu = lo >= p.out_zp;
        let (oh, ow, pad, stride) = (g.out_h(), g.out_w(), g.pad(), g.stride);
        // The window holds input rows `top..top + k` (in padded
        // coordinates: row r is input row r - pad), once filled.
        let mut top: Option<usize> = None;
        for oy in 0..oh {
            let want = oy * stride;
            let fresh = match top {
                Some(t) if want - t < k => {
                    // Shift the kept rows up by `want - t` blocks; the
                    // words moved in at each column's end are rewritten below.
                    let by = (want - t) * pw;
                    crate::dsp::copy_down(window, by);
                    k - (want - t)
                }
                _ => 0,
            };
            top = Some(want);
            for ky in fresh..k {
                let iy = (want + ky).wrapping_sub(pad);
                // Pixel x's slot: `pw` words from (pad + x) * col + ky * pw.
                let dst = &mut window[pad * col + ky * pw..];
                if iy < g.in_h {
                    let src = &input[iy * g.in_w * in_c..][..g.in_w * in_c];
                    widen_row(src, p.in_zp, in_c, pw, col, dst);
                } else {
                    // Padding rows: x - zero point = 0.
                    for c in dst.chunks_mut(col).take(g.in_w) {
                        c[..pw].fill(0);
                    }
                }
            }
            // The shift also moved the next column's rows (or stale words,
            // at the end) into the padding columns' new rows: zero them.
            if fresh > 0 {
                let columns = window.len() / col;
                for x in (0..pad).chain((pad + g.in_w).min(columns)..columns) {
                    window[x * col..(x + 1) * col][fresh * pw..].fill(0);
                }
            }

            let out_row = &mut output[oy * ow * out_c..][..ow * out_c];
            let run = match (fused, relu) {
                (true, true) => row::<FUSED_RELU>,
                (true, false) => row::<FUSED>,
                (false, _) => row::<GENERIC>,
            };
            run(
                window,
                stride * col,
                ow,
                weights,
                chans,
                field,
                &out,
                out_row,
            );
        }
        Ok(())
    }

    /// Requantisation variants, monomorphised so that the per-output code
    /// has no branches: [`FusedRequant::apply_relu`], [`FusedRequant::apply`],
    /// or [`Requant::apply`] through [`finish`].
    const FUSED_RELU: u8 = 0;
    const FUSED: u8 = 1;
    const GENERIC: u8 = 2;

    /// Pixels per pass of [`row`]: its accumulators live on the stack
    /// (`2 * RUN` words), not in the op's scratch.
    const RUN: usize = 32;

    /// One row of outputs, in two passes per pair of output channels (then
    /// a last odd one) and run of up to [`RUN`] pixels: the dot products
    /// into accumulators ([`dots_pair`], [`dots_single`]), then the
    /// requantisation of each channel's run ([`finish_run`]). Pixel `ox`'s
    /// receptive field is `field` words of `window` from `ox * step`.
    ///
    /// Why two passes: with the requantisation of four outputs in the
    /// tile loop, LLVM ran out of registers and spent about 140
    /// instructions per 2 × 2 tile around the 16-instruction MAC loop
    /// (spills, reloads, bounds checks); apart, each loop keeps its state
    /// in registers.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn row<const MODE: u8>(
        window: &[u32],
        step: usize,
        ow: usize,
        weights: &[u32],
        chans: &[i32],
        field: usize,
        out: &Output,
        out_row: &mut [i8],
    ) {
        let out_c = chans.len() / CHANNEL_WORDS;
        let ch = |oc: usize| &chans[oc * CHANNEL_WORDS..][..CHANNEL_WORDS];
        let [mut acc0, mut acc1] = [[0i32; RUN]; 2];
        let mut oc = 0;
        while oc < out_c {
            let lanes = if oc + 2 <= out_c { 2 } else { 1 };
            let w = &weights[oc * field..][..lanes * field];
            let rq = [ch(oc), ch(oc + lanes - 1)];
            let mut x0 = 0;
            while x0 < ow {
                let n = (ow - x0).min(RUN);
                let win = &window[x0 * step..];
                let dst = &mut out_row[x0 * out_c + oc..];
                let (a0, a1) = (&mut acc0[..n], &mut acc1[..n]);
                if lanes == 2 {
                    dots_pair(win, step, field, w, [rq[0][0], rq[1][0]], a0, a1);
                    finish_run::<MODE>(a0, rq[0], *out, dst, out_c);
                    finish_run::<MODE>(a1, rq[1], *out, &mut dst[1..], out_c);
                } else {
                    dots_single(win, step, field, w, rq[0][0], a0);
                    finish_run::<MODE>(a0, rq[0], *out, dst, out_c);
                }
                x0 += n;
            }
            oc += lanes;
        }
    }

    /// How accumulators become outputs in one op.
    #[derive(Clone, Copy)]
    struct Output {
        zp: i32,
        lo: i32,
    }

    impl Output {
        /// The output for accumulator `acc` (bias included) of a channel
        /// with requantiser `rq` (see [`Rq`]).
        #[inline(always)]
        fn finish<const MODE: u8>(self, acc: i32, rq: &Rq) -> i8 {
            let r = match MODE {
                FUSED_RELU => rq.fused.apply_relu(acc),
                FUSED => rq.fused.apply(acc),
                _ => return finish(acc, rq.generic, self.zp as i8, self.lo as i8, i8::MAX),
            };
            // = clamp(r + zp, lo, 127) (lo >= -128): one SSAT and a max.
            // |r| <= 2^30, so r + zp cannot overflow (finish's saturating
            // add never saturates here).
            (r + self.zp).clamp(-128, 127).max(self.lo) as i8
        }
    }

    /// A channel's requantiser, decoded from its words (the bias, word 0,
    /// is the accumulators' start).
    #[derive(Clone, Copy)]
    struct Rq {
        fused: FusedRequant,
        generic: Requant,
    }

    impl Rq {
        #[inline(always)]
        fn new(ch: &[i32]) -> Self {
            Self {
                fused: FusedRequant::from_words([ch[1], ch[2], ch[3], ch[4]]),
                generic: Requant {
                    multiplier: ch[1],
                    shift: ch[2] as i8,
                },
            }
        }
    }

    /// The accumulators (bias included) of `acc0.len()` pixels of two
    /// channels (weights `w` interleaved word by word): channel 0's into
    /// `acc0`, channel 1's into `acc1`. Two pixels at a time
    /// ([`dot2x2_tiles`]), then a last odd one.
    #[inline(never)]
    fn dots_pair(
        window: &[u32],
        step: usize,
        field: usize,
        w: &[u32],
        bias: [i32; 2],
        acc0: &mut [i32],
        acc1: &mut [i32],
    ) {
        let w = &w[..2 * field];
        let n = acc0.len().min(acc1.len());
        let even = n & !1;
        dot2x2_tiles(
            window,
            step,
            field,
            w,
            bias,
            &mut acc0[..even],
            &mut acc1[..even],
        );
        if even < n {
            let x0 = &window[even * step..][..field];
            let (mut a, mut b) = (bias[0], bias[1]);
            for (&p, w) in x0.iter().zip(w.chunks_exact(2)) {
                a = smlad(p, w[0], a);
                b = smlad(p, w[1], b);
            }
            acc0[even] = a;
            acc1[even] = b;
        }
    }

    /// The accumulators (bias included) of `acc.len()` pixels of one channel
    /// (weights `w`) into `acc`, two pixels at a time ([`dot1x2`]).
    #[inline(never)]
    fn dots_single(
        window: &[u32],
        step: usize,
        field: usize,
        w: &[u32],
        bias: i32,
        acc: &mut [i32],
    ) {
        let w = &w[..field];
        let n = acc.len();
        let mut i = 0;
        while i + 2 <= n {
            let x0 = &window[i * step..][..field];
            let x1 = &window[(i + 1) * step..][..field];
            let [a, c] = dot1x2(x0, x1, w, [bias, bias]);
            acc[i] = a;
            acc[i + 1] = c;
            i += 2;
        }
        if i < n {
            let x0 = &window[i * step..][..field];
            acc[i] = x0.iter().zip(w).fold(bias, |a, (&p, &w)| smlad(p, w, a));
        }
    }

    /// Requantises one channel's run of accumulators into `dst[i * out_c]`.
    #[inline(never)]
    fn finish_run<const MODE: u8>(
        acc: &[i32],
        ch: &[i32],
        out: Output,
        dst: &mut [i8],
        out_c: usize,
    ) {
        if MODE == FUSED_RELU {
            // lo == zp here (see conv2d_s8's `relu`).
            let rq = [ch[1], ch[2], ch[3], ch[4]];
            requant_relu_run(acc, rq, out.zp, dst, out_c);
            return;
        }
        let rq = Rq::new(ch);
        for (d, &a) in dst.chunks_mut(out_c).zip(acc) {
            d[0] = out.finish::<MODE>(a, &rq);
        }
    }

    /// Widens one input row `src` (`in_c` bytes per pixel) into the
    /// window: pixel `x` into the `pw` words from `dst[x * col]` (see
    /// [`widen`]), with the common channel counts unrolled.
    #[inline(always)]
    fn widen_row(src: &[i8], zp: i8, in_c: usize, pw: usize, col: usize, dst: &mut [u32]) {
        let z = zp as i16;
        let v = |b: i8| b as i16 - z;
        if in_c == 1 {
            for (d, &s) in dst.chunks_mut(col).zip(src) {
                d[0] = pack(v(s), 0);
            }
        } else if in_c.is_multiple_of(2) {
            match pw {
                1 => widen_pixels::<1>(src, z, col, dst),
                2 => widen_pixels::<2>(src, z, col, dst),
                4 => widen_pixels::<4>(src, z, col, dst),
                8 => widen_pixels::<8>(src, z, col, dst),
                _ => {
                    for (d, px) in dst.chunks_mut(col).zip(src.chunks_exact(in_c)) {
                        for (d, p) in d[..pw].iter_mut().zip(px.chunks_exact(2)) {
                            *d = pack(v(p[0]), v(p[1]));
                        }
                    }
                }
            }
        } else {
            for (d, px) in dst.chunks_mut(col).zip(src.chunks_exact(in_c)) {
                widen(px, zp, in_c, d[..pw].iter_mut());
            }
        }
    }

    /// [`widen_row`] for `in_c = 2 * N`: a constant trip count, so the
    /// per-pixel loop unrolls (LLVM's generic loop spent about 16
    /// instructions per word).
    #[inline(always)]
    fn widen_pixels<const N: usize>(src: &[i8], z: i16, col: usize, dst: &mut [u32]) {
        for (d, px) in dst.chunks_mut(col).zip(src.chunks_exact(2 * N)) {
            for (d, p) in d[..N].iter_mut().zip(px.chunks_exact(2)) {
                *d = pack(p[0] as i16 - z, p[1] as i16 - z);
            }
        }
    }

    /// Widens one pixel `src` (`in_c` bytes) into the words `dst` yields
    /// (`in_c` rounded up to even, halved) as `i16` pairs of `x - zp`; an
    /// odd `in_c` gets a zero channel.
    #[inline(always)]
    fn widen<'d>(src: &[i8], zp: i8, in_c: usize, dst: impl Iterator<Item = &'d mut u32>) {
        let zp = zp as i16;
        let v = |b: i8| b as i16 - zp;
        for (i, d) in dst.enumerate() {
            let lo = v(src[2 * i]);
            let hi = if 2 * i + 1 < in_c {
                v(src[2 * i + 1])
            } else {
                0
            };
            *d = pack(lo, hi);
        }
    }

    /// 2×2 max pooling, stride 2: two input rows at a time, channels zipped.
    pub fn max_pool_2x2_s8(
        c: usize,
        h: usize,
        w: usize,
        input: &[i8],
        output: &mut [i8],
    ) -> Result<(), EngineError> {
        let (oh, ow) = (h / 2, w / 2);
        check(len3(c, h, w) == Some(input.len()) && len3(c, oh, ow) == Some(output.len()))?;
        if c == 0 || ow == 0 {
            return Ok(());
        }
        let in_row = w * c;
        for (y, out_row) in output.chunks_exact_mut(ow * c).enumerate() {
            let r0 = &input[2 * y * in_row..][..in_row];
            let r1 = &input[(2 * y + 1) * in_row..][..in_row];
            for (x, o) in out_row.chunks_exact_mut(c).enumerate() {
                let (a, b) = r0[2 * x * c..][..2 * c].split_at(c);
                let (d, e) = r1[2 * x * c..][..2 * c].split_at(c);
                for ((((o, a), b), d), e) in o.iter_mut().zip(a).zip(b).zip(d).zip(e) {
                    *o = (*a).max(*b).max((*d).max(*e));
                }
            }
        }
        Ok(())
    }

    /// Nearest 2× upsampling: each input pixel copied twice into an output
    /// row, then the row copied to the next one.
    pub fn upsample_2x_s8(
        c: usize,
        h: usize,
        w: usize,
        input: &[i8],
        output: &mut [i8],
    ) -> Result<(), EngineError> {
        check(len3(c, h, w) == Some(input.len()))?;
        check(input.len().checked_mul(4) == Some(output.len()))?;
        if c == 0 || w == 0 {
            return Ok(());
        }
        let out_row = 2 * w * c;
        for (in_row, pair) in input
            .chunks_exact(w * c)
            .zip(output.chunks_exact_mut(2 * out_row))
        {
            let (first, second) = pair.split_at_mut(out_row);
            for (px, o) in in_row.chunks_exact(c).zip(first.chunks_exact_mut(2 * c)) {
                o[..c].copy_from_slice(px);
                o[c..].copy_from_slice(px);
            }
            second.copy_from_slice(first);
        }
        Ok(())
    }

    /// Channel concat: an input already on the output grid is copied, one
    /// that is not goes through a 256-entry table built with the very same
    /// requantisation (256 requantisations per op instead of one per element).
    pub fn concat_s8(
        pixels: usize,
        a: &ConcatInput,
        b: &ConcatInput,
        out_zp: i8,
        in_a: &[i8],
        in_b: &[i8],
        output: &mut [i8],
    ) -> Result<(), EngineError> {
        let c = a
            .channels
            .checked_add(b.channels)
            .ok_or(EngineError::BadGeometry)?;
        check(pixels.checked_mul(a.channels) == Some(in_a.len()))?;
        check(pixels.checked_mul(b.channels) == Some(in_b.len()))?;
        check(pixels.checked_mul(c) == Some(output.len()))?;
        if a.channels == 0 || b.channels == 0 {
            // chunks_exact(0) would panic; a model never gets here.
            return reference::concat_s8(pixels, a, b, out_zp, in_a, in_b, output);
        }
        let lut_a = table(a, out_zp);
        let lut_b = table(b, out_zp);
        let pieces = output.chunks_exact_mut(c).zip(
            in_a.chunks_exact(a.channels)
                .zip(in_b.chunks_exact(b.channels)),
        );
        for (o, (pa, pb)) in pieces {
            let (oa, ob) = o.split_at_mut(a.channels);
            put(oa, pa, lut_a.as_ref());
            put(ob, pb, lut_b.as_ref());
        }
        Ok(())
    }

    fn table(inp: &ConcatInput, out_zp: i8) -> Option<[i8; 256]> {
        inp.requant?;
        let mut lut = [0i8; 256];
        for (i, v) in lut.iter_mut().enumerate() {
            *v = concat_value((i as i32 - 128) as i8, inp, out_zp);
        }
        Some(lut)
    }

    fn put(out: &mut [i8], src: &[i8], lut: Option<&[i8; 256]>) {
        match lut {
            None => out.copy_from_slice(src),
            Some(lut) => {
                for (o, &s) in out.iter_mut().zip(src) {
                    *o = lut[(s as i32 + 128) as usize];
                }
            }
        }
    }

    /// TFLite int8 add with each input's shift-and-scale taken from a
    /// 256-entry table (it depends on that input alone), leaving one
    /// requantisation per element instead of three — [`FusedRequant`]
    /// where the output's requantiser has one.
    pub fn add_s8(
        p: &AddParams,
        in_a: &[i8],
        in_b: &[i8],
        output: &mut [i8],
    ) -> Result<(), EngineError> {
        check(in_a.len() == output.len() && in_b.len() == output.len())?;
        // Indexed by the input's byte as `u8` (one `LDR` with a scaled
        // register offset; `+ 128` cost an add per lookup).
        let mut lut_a = [0i32; 256];
        let mut lut_b = [0i32; 256];
        for (i, (la, lb)) in lut_a.iter_mut().zip(lut_b.iter_mut()).enumerate() {
            let x = i as u8 as i8;
            *la = add_scaled(x, p.a_zp, p.requant.a);
            *lb = add_scaled(x, p.b_zp, p.requant.b);
        }
        let pairs = output.iter_mut().zip(in_a.iter().zip(in_b));
        let sum = |a: i8, b: i8| lut_a[a as u8 as usize].saturating_add(lut_b[b as u8 as usize]);
        let Some(f) = FusedRequant::new(p.requant.out) else {
            for (o, (&a, &b)) in pairs {
                *o = add_finish(lut_a[a as u8 as usize], lut_b[b as u8 as usize], p);
            }
            return Ok(());
        };
        let (zp, lo) = (p.out_zp as i32, act_min(p.out_zp, p.relu) as i32);
        if lo >= zp {
            // A fused ReLU (lo == zp): negative results clamp to zp anyway,
            // and clamp(r + zp, -128, 127).max(zp) = clamp(max(r, 0) + zp).
            for (o, (&a, &b)) in pairs {
                *o = (f.apply_relu(sum(a, b)).max(0) + zp).clamp(-128, 127) as i8;
            }
        } else {
            for (o, (&a, &b)) in pairs {
                *o = (f.apply(sum(a, b)) + zp).clamp(-128, 127).max(lo) as i8;
            }
        }
        Ok(())
    }
}
