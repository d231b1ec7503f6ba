//! Seeded checks that the DSP routines (`dsp`: `SMLAD`, `UXTAB16`, `LDM`/
//! `STM` and `VSQRT` through inline assembly on Armv7E-M) compute exactly
//! what their plain definitions (`dsp::portable`) do, that the
//! `FusedRequant` words the requantising asm reads mean what
//! [`Requant::apply`] means, and that the fast convolution built on them
//! equals the reference kernel.
//!
//! Why a module rather than unit tests alone: the unit tests run on the
//! host, where the asm is not even compiled. The same checks run on the
//! Cortex-M7 (QEMU's mps2-an500) from the firmware's `sonomask-selftest`
//! image, so each `asm!` block is held to its definition on the CPU that
//! runs it, case by case, instead of only end to end through the HIL rig's
//! frame comparison. No allocation, no `std`: everything lives in stack
//! arrays.
//!
//! Every check is generic over the routine it tests so that the unit tests
//! can hand it a deliberately broken one and see it fail.

use core::fmt;

use crate::dsp::{self, portable};
use crate::engine::EngineError;
use crate::engine::kernels::{self, ConvGeom, ConvParams};
use crate::quant::{FusedRequant, MIN_SHIFT, Requant};

/// Where a routine and its definition first disagreed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The case, counted from 0 in the check's seeded order.
    pub case: u32,
    /// Which value differed.
    pub what: &'static str,
    /// Element of that value.
    pub index: usize,
    /// What the routine under test gave.
    pub got: i64,
    /// What the definition gives.
    pub want: i64,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "case {}: {}[{}] = {}, expected {}",
            self.case, self.what, self.index, self.got, self.want
        )
    }
}

/// One named check: runs its cases and returns how many, or the first
/// mismatch.
pub struct Check {
    /// The routine checked.
    pub name: &'static str,
    run: fn() -> Result<u32, Mismatch>,
}

impl Check {
    /// Runs every case (deterministic: the seeds are fixed).
    pub fn run(&self) -> Result<u32, Mismatch> {
        (self.run)()
    }
}

/// Every check, each on the routine this target builds (the asm on
/// Armv7E-M, the portable twin elsewhere).
pub const CHECKS: &[Check] = &[
    Check {
        name: "smlad",
        run: || check_smlad(dsp::smlad),
    },
    Check {
        name: "dot2x2",
        run: || check_dot2x2(dsp::dot2x2),
    },
    Check {
        name: "dot1x2",
        run: || check_dot1x2(dsp::dot1x2),
    },
    Check {
        name: "dot2x2_tiles",
        run: || check_dot2x2_tiles(dsp::dot2x2_tiles),
    },
    Check {
        name: "requant_relu_run",
        run: || check_requant_relu_run(dsp::requant_relu_run),
    },
    Check {
        name: "fused_requant_words",
        run: || check_fused_requant_words(dsp::requant_relu_run),
    },
    Check {
        name: "add_bytes",
        run: || check_add_bytes(dsp::add_bytes02, dsp::add_bytes13),
    },
    Check {
        name: "sum_rows16",
        run: || check_sum_rows16(dsp::sum_rows16),
    },
    Check {
        name: "copy_down",
        run: || check_copy_down(dsp::copy_down),
    },
    Check {
        name: "zero_bytes",
        run: || check_zero_bytes(dsp::zero_bytes),
    },
    Check {
        name: "sqrtf",
        run: || check_sqrtf(dsp::sqrtf),
    },
    Check {
        name: "conv2d_s8 fast vs reference",
        run: || check_conv2d(kernels::fast::conv2d_s8),
    },
];

/// Words that stress `SMLAD`'s halves: zeros, signed extremes, mixed signs.
const EXTREME_WORDS: [u32; 10] = [
    0,
    0xFFFF_FFFF,
    0x8000_8000,
    0x7FFF_7FFF,
    0x8000_7FFF,
    0x7FFF_8000,
    0x0001_0001,
    0xFFFF_0001,
    0x0000_8000,
    0x8000_0000,
];

/// Accumulators at and next to the wrap-around points.
const EXTREME_I32: [i32; 9] = [
    0,
    1,
    -1,
    i32::MIN,
    i32::MAX,
    i32::MIN + 1,
    i32::MAX - 1,
    1 << 30,
    -(1 << 30),
];

/// SplitMix64: seedable, the same on every target.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }

    /// True once in `n` draws.
    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// A word, an extreme one in four draws.
    fn word(&mut self) -> u32 {
        if self.one_in(4) {
            EXTREME_WORDS[self.below(EXTREME_WORDS.len())]
        } else {
            self.next() as u32
        }
    }

    /// An `i32`, an extreme one in four draws.
    fn i32(&mut self) -> i32 {
        if self.one_in(4) {
            EXTREME_I32[self.below(EXTREME_I32.len())]
        } else {
            self.next() as i32
        }
    }

    fn fill_words(&mut self, out: &mut [u32]) {
        out.iter_mut().for_each(|w| *w = self.word());
    }
}

/// The first element where `got` and `want` differ (or their lengths).
fn same<T: Copy + Into<i64>>(
    case: u32,
    what: &'static str,
    got: &[T],
    want: &[T],
) -> Result<(), Mismatch> {
    let at = |index, got, want| Mismatch {
        case,
        what,
        index,
        got,
        want,
    };
    if got.len() != want.len() {
        return Err(at(usize::MAX, got.len() as i64, want.len() as i64));
    }
    match got
        .iter()
        .zip(want)
        .position(|(g, w)| (*g).into() != (*w).into())
    {
        Some(i) => Err(at(i, got[i].into(), want[i].into())),
        None => Ok(()),
    }
}

/// `SMLAD` on every pair of extreme words and accumulators, then random
/// ones.
pub(crate) fn check_smlad(f: impl Fn(u32, u32, i32) -> i32) -> Result<u32, Mismatch> {
    let mut case = 0;
    for &a in &EXTREME_WORDS {
        for &b in &EXTREME_WORDS {
            for &acc in &EXTREME_I32 {
                same(
                    case,
                    "smlad",
                    &[f(a, b, acc)],
                    &[portable::smlad(a, b, acc)],
                )?;
                case += 1;
            }
        }
    }
    let mut rng = Rng(1);
    for _ in 0..4096 {
        let (a, b, acc) = (rng.word(), rng.word(), rng.i32());
        same(
            case,
            "smlad",
            &[f(a, b, acc)],
            &[portable::smlad(a, b, acc)],
        )?;
        case += 1;
    }
    Ok(case)
}

/// Runs of 0..40 words (odd and even), slices starting at any word (so
/// `LDRD` sees both 8- and 4-byte alignment), inputs longer than the run.
pub(crate) fn check_dot2x2(
    f: impl Fn(&[u32], &[u32], &[u32], [i32; 4]) -> [i32; 4],
) -> Result<u32, Mismatch> {
    let mut rng = Rng(2);
    let (mut x0, mut x1, mut w) = ([0u32; 48], [0u32; 48], [0u32; 96]);
    for case in 0..2000 {
        rng.fill_words(&mut x0);
        rng.fill_words(&mut x1);
        rng.fill_words(&mut w);
        let n = rng.below(40);
        let x0 = &x0[rng.below(4)..][..n + rng.below(3)];
        let x1 = &x1[rng.below(4)..][..n + rng.below(3)];
        let w = &w[rng.below(4)..][..2 * n + rng.below(3)];
        let acc = [rng.i32(), rng.i32(), rng.i32(), rng.i32()];
        let want = portable::dot2x2(x0, x1, w, acc);
        same(case, "dot2x2", &f(x0, x1, w, acc), &want)?;
    }
    Ok(2000)
}

/// As [`check_dot2x2`], one weight run.
pub(crate) fn check_dot1x2(
    f: impl Fn(&[u32], &[u32], &[u32], [i32; 2]) -> [i32; 2],
) -> Result<u32, Mismatch> {
    let mut rng = Rng(3);
    let (mut x0, mut x1, mut w) = ([0u32; 48], [0u32; 48], [0u32; 48]);
    for case in 0..2000 {
        rng.fill_words(&mut x0);
        rng.fill_words(&mut x1);
        rng.fill_words(&mut w);
        let n = rng.below(40);
        let x0 = &x0[rng.below(4)..][..n + rng.below(3)];
        let x1 = &x1[rng.below(4)..][..n + rng.below(3)];
        let w = &w[rng.below(4)..][..n + rng.below(3)];
        let acc = [rng.i32(), rng.i32()];
        let want = portable::dot1x2(x0, x1, w, acc);
        same(case, "dot1x2", &f(x0, x1, w, acc), &want)?;
    }
    Ok(2000)
}

/// Signature of [`dsp::dot2x2_tiles`].
type TilesFn = fn(&[u32], usize, usize, &[u32], [i32; 2], &mut [i32], &mut [i32]);

/// Fields of 0..=12 words (the asm takes the even ones of at least 2),
/// steps 1..=14, 0..=5 tiles with odd output lengths, inputs exactly long
/// enough or one word short (nothing may be written then); every output
/// word past the tiles must keep its sentinel.
pub(crate) fn check_dot2x2_tiles(f: TilesFn) -> Result<u32, Mismatch> {
    let mut rng = Rng(4);
    let (mut x, mut w) = ([0u32; 160], [0u32; 32]);
    for case in 0..3000 {
        rng.fill_words(&mut x);
        rng.fill_words(&mut w);
        let field = rng.below(13);
        let step = 1 + rng.below(14);
        let tiles = rng.below(6);
        let (len0, len1) = (2 * tiles + rng.below(2), 2 * tiles + rng.below(2));
        let need = (2 * tiles).saturating_sub(1) * step + field;
        let x_len = if need > 0 && rng.one_in(8) {
            need - 1
        } else {
            need + rng.below(3)
        };
        let w_len = if field > 0 && rng.one_in(8) {
            2 * field - 1
        } else {
            2 * field
        };
        let x = &x[rng.below(4)..][..x_len];
        let w = &w[rng.below(4)..][..w_len];
        let bias = [rng.i32(), rng.i32()];
        let sentinel = rng.next() as i32;
        let (mut got0, mut got1) = ([sentinel; 12], [sentinel; 12]);
        let (mut want0, mut want1) = ([sentinel; 12], [sentinel; 12]);
        f(
            x,
            step,
            field,
            w,
            bias,
            &mut got0[..len0],
            &mut got1[..len1],
        );
        portable::dot2x2_tiles(
            x,
            step,
            field,
            w,
            bias,
            &mut want0[..len0],
            &mut want1[..len1],
        );
        same(case, "dot2x2_tiles out0", &got0, &want0)?;
        same(case, "dot2x2_tiles out1", &got1, &want1)?;
    }
    Ok(3000)
}

/// A random requantiser the fused form exists for (right shifts only, any
/// multiplier but `i32::MIN`), with extremes.
fn fused_requant(rng: &mut Rng) -> (Requant, FusedRequant) {
    loop {
        let multiplier = match rng.below(6) {
            0 => [0, 1, i32::MAX, 1 << 30][rng.below(4)],
            1 => rng.next() as i32,
            _ => (1 << 30) + rng.below(1 << 30) as i32,
        };
        let shift = if rng.one_in(4) {
            [MIN_SHIFT, -1][rng.below(2)]
        } else {
            -(1 + rng.below(20) as i8)
        };
        let rq = Requant { multiplier, shift };
        if let Some(f) = FusedRequant::new(rq) {
            return (rq, f);
        }
    }
}

/// Signature of [`dsp::requant_relu_run`].
type RequantFn = fn(&[i32], [i32; 4], i32, &mut [i8], usize);

/// Runs of 0..=40 outputs at strides 0..=4, destinations at any byte
/// offset, exactly long enough or one byte short (nothing may be written
/// then); every byte the run does not own must keep its sentinel.
pub(crate) fn check_requant_relu_run(f: RequantFn) -> Result<u32, Mismatch> {
    let mut rng = Rng(5);
    let mut acc = [0i32; 40];
    for case in 0..3000 {
        acc.iter_mut().for_each(|a| *a = rng.i32());
        let n = rng.below(41);
        let stride = if rng.one_in(20) { 0 } else { 1 + rng.below(4) };
        let (_, fused) = fused_requant(&mut rng);
        let zp = i32::from(rng.next() as i8);
        let need = n.saturating_sub(1) * stride + usize::from(n > 0);
        let len = if need > 0 && rng.one_in(8) {
            need - 1
        } else {
            need + rng.below(3)
        };
        let at = rng.below(4);
        let sentinel = rng.next() as i8;
        let (mut got, mut want) = ([sentinel; 176], [sentinel; 176]);
        f(
            &acc[..n],
            fused.to_words(),
            zp,
            &mut got[at..at + len],
            stride,
        );
        portable::requant_relu_run(
            &acc[..n],
            fused.to_words(),
            zp,
            &mut want[at..at + len],
            stride,
        );
        same(case, "requant_relu_run", &got, &want)?;
    }
    Ok(3000)
}

/// The layout the requantising asm relies on: [`FusedRequant::to_words`]
/// read back by [`FusedRequant::from_words`] is the same requantiser, and
/// the run routine fed those words gives the kernels' specification for a
/// fused ReLU, `clamp(Requant::apply(acc) + zp, zp, 127)`.
pub(crate) fn check_fused_requant_words(f: RequantFn) -> Result<u32, Mismatch> {
    let mut rng = Rng(6);
    let mut acc = [0i32; 16];
    for case in 0..3000 {
        let (rq, fused) = fused_requant(&mut rng);
        let words = fused.to_words();
        if FusedRequant::from_words(words) != fused {
            return Err(Mismatch {
                case,
                what: "from_words(to_words(f)) != f, multiplier",
                index: 0,
                got: i64::from(FusedRequant::from_words(words).to_words()[0]),
                want: i64::from(words[0]),
            });
        }
        acc.iter_mut().for_each(|a| *a = rng.i32());
        let zp = rng.next() as i8;
        let mut got = [0i8; 16];
        f(&acc, words, i32::from(zp), &mut got, 1);
        let want: [i8; 16] = core::array::from_fn(|i| kernels::finish(acc[i], rq, zp, zp, i8::MAX));
        same(case, "requant_relu_run vs Requant::apply", &got, &want)?;
        let applied: [i32; 16] = core::array::from_fn(|i| fused.apply(acc[i]));
        let spec: [i32; 16] = core::array::from_fn(|i| rq.apply(acc[i]));
        same(
            case,
            "FusedRequant::apply vs Requant::apply",
            &applied,
            &spec,
        )?;
    }
    Ok(3000)
}

/// `UXTAB16` with and without `ROR #8`, lanes kept below 2^16 as the
/// callers keep them.
pub(crate) fn check_add_bytes(
    f02: impl Fn(u32, u32) -> u32,
    f13: impl Fn(u32, u32) -> u32,
) -> Result<u32, Mismatch> {
    let mut rng = Rng(7);
    for case in 0..4096 {
        let lane = |r: &mut Rng| r.below(0xFF01) as u32;
        let acc = lane(&mut rng) | lane(&mut rng) << 16;
        let w = rng.word();
        same(
            case,
            "add_bytes02",
            &[f02(acc, w)],
            &[portable::add_bytes02(acc, w)],
        )?;
        same(
            case,
            "add_bytes13",
            &[f13(acc, w)],
            &[portable::add_bytes13(acc, w)],
        )?;
    }
    Ok(4096)
}

/// 0..=20 rows (and 257, a full lane) at strides 16..=40 from any byte
/// offset (`LDR` of unaligned words), starting sums up to the lane limit.
pub(crate) fn check_sum_rows16(
    f: impl Fn(&[u8], usize, usize, [u32; 8]) -> [u32; 8],
) -> Result<u32, Mismatch> {
    let mut rng = Rng(8);
    let mut rows = [0u8; 256 * 16 + 16 + 4];
    for case in 0..1000 {
        rows.iter_mut().for_each(|b| *b = rng.next() as u8);
        let (n, stride) = if rng.one_in(16) {
            (257, 16)
        } else {
            (rng.below(21), 16 + rng.below(25))
        };
        let at = rng.below(4);
        let len = n.saturating_sub(1) * stride + 16;
        let rows = &rows[at..at + len];
        let room = 0xFFFF - 255 * n;
        let lane = |r: &mut Rng| r.below(room + 1) as u32;
        let acc: [u32; 8] = core::array::from_fn(|_| lane(&mut rng) | lane(&mut rng) << 16);
        let want = portable::sum_rows16(rows, stride, n, acc);
        same(case, "sum_rows16", &f(rows, stride, n, acc), &want)?;
    }
    Ok(1000)
}

/// Every shift `0..=len` of slices of 0..=70 words at any word offset;
/// the words around the slice must not move.
pub(crate) fn check_copy_down(f: impl Fn(&mut [u32], usize)) -> Result<u32, Mismatch> {
    let mut rng = Rng(9);
    let mut case = 0;
    for len in 0..=70 {
        for by in 0..=len {
            let mut got = [0u32; 80];
            rng.fill_words(&mut got);
            let mut want = got;
            let at = rng.below(4);
            f(&mut got[at..at + len], by);
            portable::copy_down(&mut want[at..at + len], by);
            same(case, "copy_down", &got, &want)?;
            case += 1;
        }
    }
    Ok(case)
}

/// Slices of 0..=200 bytes from offsets 0..=9 (unaligned heads and
/// tails); the bytes around the slice must keep their values.
pub(crate) fn check_zero_bytes(f: impl Fn(&mut [u8])) -> Result<u32, Mismatch> {
    let mut rng = Rng(10);
    let mut case = 0;
    for at in 0..10 {
        for len in 0..=200 {
            let mut got = [0u8; 216];
            got.iter_mut().for_each(|b| *b = 1 | rng.next() as u8);
            let mut want = got;
            f(&mut got[at..at + len]);
            portable::zero_bytes(&mut want[at..at + len]);
            same(case, "zero_bytes", &got, &want)?;
            case += 1;
        }
    }
    Ok(case)
}

/// Special values, then random bit patterns (subnormals, infinities and
/// NaNs included): the same bits, or NaN for both.
pub(crate) fn check_sqrtf(f: impl Fn(f32) -> f32) -> Result<u32, Mismatch> {
    let special = [
        0.0,
        -0.0,
        1.0,
        2.0,
        4.0,
        -1.0,
        f32::MIN_POSITIVE,
        f32::MAX,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::from_bits(1),
        f32::from_bits(0x007F_FFFF),
    ];
    let mut rng = Rng(11);
    let mut case = 0;
    let mut one = |x: f32| {
        let (got, want) = (f(x), portable::sqrtf(x));
        let bits = |v: f32| if v.is_nan() { u32::MAX } else { v.to_bits() };
        let r = same(case, "sqrtf", &[bits(got)], &[bits(want)]);
        case += 1;
        r
    };
    for x in special {
        one(x)?;
    }
    for _ in 0..20_000 {
        one(f32::from_bits(rng.next() as u32))?;
    }
    Ok(case)
}

/// Signature of the conv kernels.
type ConvFn =
    fn(&ConvGeom, &ConvParams<'_>, &[i8], &mut [i8], &mut [i32]) -> Result<(), EngineError>;

/// Random convolutions (1..=6 channels in and out, 1 or 3 wide, stride 1
/// or 2, rows up to 40 pixels so a row spans several accumulator runs),
/// with requantisers the fused form takes (and, one case in three, some it
/// does not), a fused ReLU or not: `fast` must equal the reference on
/// every output. The scratch starts as garbage.
pub(crate) fn check_conv2d(fast: ConvFn) -> Result<u32, Mismatch> {
    let mut rng = Rng(12);
    let mut input = [0i8; 6 * 6 * 40];
    let mut weights = [0u8; 6 * 9 * 6];
    let (mut bias, mut mult, mut shift) = ([0u8; 24], [0u8; 24], [0u8; 6]);
    for case in 0..300 {
        let g = ConvGeom {
            in_c: 1 + rng.below(6),
            in_h: 1 + rng.below(6),
            in_w: 1 + rng.below(40),
            out_c: 1 + rng.below(6),
            k: if rng.one_in(2) { 3 } else { 1 },
            stride: 1 + rng.below(2),
        };
        let generic = rng.one_in(3);
        for oc in 0..g.out_c {
            let b = rng.below(40_001) as i32 - 20_000;
            let rq = if generic && rng.one_in(2) {
                Requant {
                    multiplier: (1 << 30) + rng.below(1 << 30) as i32,
                    shift: rng.below(3) as i8,
                }
            } else {
                Requant {
                    multiplier: (1 << 30) + rng.below(1 << 30) as i32,
                    shift: -(6 + rng.below(12) as i8),
                }
            };
            bias[4 * oc..][..4].copy_from_slice(&b.to_le_bytes());
            mult[4 * oc..][..4].copy_from_slice(&rq.multiplier.to_le_bytes());
            shift[oc] = rq.shift as u8;
        }
        let input = &mut input[..g.input_len()];
        input.iter_mut().for_each(|x| *x = rng.next() as i8);
        let weights = &mut weights[..g.weight_len()];
        weights.iter_mut().for_each(|w| *w = rng.next() as u8);
        let p = ConvParams {
            weights,
            bias: &bias[..4 * g.out_c],
            multiplier: &mult[..4 * g.out_c],
            shift: &shift[..g.out_c],
            in_zp: rng.next() as i8,
            out_zp: rng.next() as i8,
            relu: rng.one_in(2),
        };
        let mut scratch = [0x5a5a_5a5a_i32; 1024];
        let scratch = &mut scratch[..g.scratch_words() as usize];
        let (mut got, mut want) = ([0i8; 6 * 6 * 40], [0i8; 6 * 6 * 40]);
        let n = g.output_len();
        let r = fast(&g, &p, input, &mut got[..n], scratch);
        let r_ref = kernels::reference::conv2d_s8(&g, &p, input, &mut want[..n]);
        if r.is_err() || r_ref.is_err() {
            return Err(Mismatch {
                case,
                what: "conv2d_s8 refused a valid geometry (fast, reference)",
                index: 0,
                got: i64::from(r.is_err()),
                want: i64::from(r_ref.is_err()),
            });
        }
        same(case, "conv2d_s8 output", &got[..n], &want[..n])?;
    }
    Ok(300)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every check passes on the routines this target builds.
    #[test]
    fn every_check_passes() {
        for c in CHECKS {
            match c.run() {
                Ok(n) => assert!(n > 0, "{}: no cases", c.name),
                Err(m) => panic!("{}: {m}", c.name),
            }
        }
    }

    /// A check must catch a routine that is wrong only on an edge its
    /// cases are meant to reach.
    fn catches<T>(what: &str, r: Result<T, Mismatch>) {
        assert!(r.is_err(), "{what}: a broken routine passed");
    }

    #[test]
    fn broken_routines_are_caught() {
        // SMLAD that saturates instead of wrapping.
        catches(
            "smlad saturating",
            check_smlad(|a, b, acc| {
                let lo = (a as i16 as i32) * (b as i16 as i32);
                let hi = ((a >> 16) as i16 as i32) * ((b >> 16) as i16 as i32);
                acc.saturating_add(lo).saturating_add(hi)
            }),
        );
        // Pairs only: an odd last word dropped.
        catches(
            "dot2x2 even words only",
            check_dot2x2(|x0, x1, w, acc| {
                let n = x0.len().min(x1.len()).min(w.len() / 2) & !1;
                portable::dot2x2(&x0[..n], &x1[..n], &w[..2 * n], acc)
            }),
        );
        catches(
            "dot1x2 lanes swapped",
            check_dot1x2(|x0, x1, w, acc| {
                let [a, c] = portable::dot1x2(x0, x1, w, acc);
                [c, a]
            }),
        );
        // Writes past the tiles when an output is odd.
        catches(
            "dot2x2_tiles overrun",
            check_dot2x2_tiles(|x, step, field, w, bias, o0, o1| {
                portable::dot2x2_tiles(x, step, field, w, bias, o0, o1);
                if o0.len() % 2 == 1 {
                    o0[o0.len() - 1] = 0;
                }
            }),
        );
        // Ignores the stride.
        catches(
            "requant_relu_run stride",
            check_requant_relu_run(|acc, rq, zp, dst, stride| {
                let stride = stride.min(1);
                portable::requant_relu_run(acc, rq, zp, dst, stride);
            }),
        );
        // Reads the rounding constant's words the other way round.
        catches(
            "fused words swapped",
            check_fused_requant_words(|acc, rq, zp, dst, stride| {
                portable::requant_relu_run(acc, [rq[0], rq[2], rq[1], rq[3]], zp, dst, stride);
            }),
        );
        catches(
            "add_bytes13 without the rotation",
            check_add_bytes(portable::add_bytes02, portable::add_bytes02),
        );
        // Wrong only for rows that do not start on a word.
        catches(
            "sum_rows16 wrong when unaligned",
            check_sum_rows16(|rows, stride, n, acc| {
                let mut sums = portable::sum_rows16(rows, stride, n, acc);
                if !(rows.as_ptr() as usize).is_multiple_of(4) {
                    sums[7] ^= 1 << 16;
                }
                sums
            }),
        );
        // Copies whole blocks of four words only.
        catches(
            "copy_down blocks only",
            check_copy_down(|w, by| {
                let n = (w.len() - by) & !3;
                w.copy_within(by..by + n, 0);
            }),
        );
        // Leaves an unaligned head alone.
        catches(
            "zero_bytes aligned part only",
            check_zero_bytes(|b| {
                let (_, mid, tail) = bytemuck::pod_align_to_mut::<u8, u32>(b);
                mid.fill(0);
                tail.fill(0);
            }),
        );
        catches(
            "sqrtf off by one ulp",
            check_sqrtf(|x| f32::from_bits(libm::sqrtf(x).to_bits() ^ 1)),
        );
        // Wrong on pixel 32 only (a row's second accumulator run).
        catches(
            "conv2d with the reference's output shifted",
            check_conv2d(|g, p, input, output, _| {
                kernels::reference::conv2d_s8(g, p, input, output)?;
                if output.len() > 32 * g.out_c {
                    output[32 * g.out_c] ^= 1;
                }
                Ok(())
            }),
        );
    }
}
