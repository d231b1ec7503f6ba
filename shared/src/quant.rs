//! Quantisation parameters and the one requantisation type every op uses.
//!
//! The scheme is the TFLite / CMSIS-NN int8 one (ARCHITECTURE.md, key
//! decision 2), so that a model quantised here can be checked against either
//! of them and so that the host quantiser can follow their published recipes:
//!
//! - activations: asymmetric per tensor, `real = scale * (q - zero_point)`,
//!   `q` in `[-128, 127]` ([`QuantParams`]);
//! - weights: symmetric per output channel, zero point 0;
//! - bias: `i32` with scale `in_scale * w_scale[c]`, zero point 0;
//! - requantisation: an `i32` accumulator times a Q31 multiplier and a power
//!   of two ([`Requant`]), rounded as [`Rounding::TfliteDoubleRound`] says
//!   (gemmlowp's doubling high multiply, then a divide by a power of two
//!   rounding half away from zero), exactly in 64-bit integers.
//!
//! Everything here that the kernels use is integer arithmetic, identical on
//! the host and on the Cortex-M7. Floats only appear where a *model* is made
//! ([`Requant::from_real`], [`AddRequant::new`]) or where the caller converts
//! at the model's edges ([`QuantParams::quantize`], and the lookup tables
//! behind [`Model::quantize_input_u8`] and
//! [`Model::logits_to_probability_u8`]). The integer helpers (gemmlowp's
//! pair, the fused requantiser, the tables) are crate-private.
//!
//! [`Model::quantize_input_u8`]: crate::engine::Model::quantize_input_u8
//! [`Model::logits_to_probability_u8`]: crate::engine::Model::logits_to_probability_u8

use serde::{Deserialize, Serialize};

/// Quantisation of one activation tensor: `real = scale * (q - zero_point)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantParams {
    /// Size of one step, finite and > 0.
    pub scale: f32,
    /// The int8 value that stands for real 0 (exactly representable, so
    /// zero padding and ReLU are exact).
    pub zero_point: i8,
}

impl QuantParams {
    /// A grid of step `scale` (real units per int8 step; must be finite
    /// and > 0 for a model to accept it) with real 0 at `zero_point`.
    pub const fn new(scale: f32, zero_point: i8) -> Self {
        Self { scale, zero_point }
    }

    /// Whether the scale is finite and positive (what a model must have).
    pub fn is_valid(self) -> bool {
        self.scale.is_finite() && self.scale > 0.0
    }

    /// `clamp(round_half_away(real / scale) + zero_point)`; NaN gives the
    /// zero point. Edge-of-model use only (input conversion, tests).
    pub fn quantize(self, real: f32) -> i8 {
        // `as i32` saturates and maps NaN to 0: no panic, no UB.
        let q = libm::roundf(real / self.scale) as i32;
        q.saturating_add(self.zero_point as i32).clamp(-128, 127) as i8
    }

    /// `scale * (q - zero_point)`.
    pub fn dequantize(self, q: i8) -> f32 {
        self.scale * (q as i32 - self.zero_point as i32) as f32
    }

    /// Same grid: bit-identical scale and the same zero point. Concat copies
    /// an input instead of requantising it exactly when this holds.
    pub fn same_grid(self, other: QuantParams) -> bool {
        self.scale.to_bits() == other.scale.to_bits() && self.zero_point == other.zero_point
    }
}

/// The rounding policy of [`Requant::apply`]; there is only one, and it is
/// named so that whoever compares this engine with another knows what to
/// expect (tract, for instance, rounds its multiplier from an `f32` scale,
/// ties to even, and so differs by 1 LSB on about 0.2% of outputs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// gemmlowp's pair, as in the TFLite reference kernels
    /// (`TFLITE_SINGLE_ROUNDING` off) and CMSIS-NN's default build
    /// (`CMSIS_NN_USE_SINGLE_ROUNDING` off), bit for bit:
    ///
    /// 1. `saturating_rounding_doubling_high_mul`: `x * m / 2^31` to the
    ///    nearest integer; ties go half away from zero for positive
    ///    products and towards zero for negative ones (gemmlowp's nudge is
    ///    `2^30` or `1 - 2^30` before a truncating division), i.e. ties
    ///    towards +∞. Exact ties need `x * m` to be an odd multiple of
    ///    `2^30`, so they are rare.
    /// 2. `rounding_divide_by_pot`: divide by `2^-shift` to the nearest
    ///    integer, ties half away from zero — the rounding that decides
    ///    nearly every result, hence "round half away from zero" in the
    ///    TFLite spec.
    ///
    /// Two roundings: the result is within 1 (not 0.5) of the exact
    /// `x * m * 2^(shift - 31)`; e.g. `0.25` can become `1` via `0.5`. The
    /// integer path is fully specified by these two functions, which is all
    /// that bit-exactness between the host and the cart needs.
    TfliteDoubleRound,
}

/// Smallest shift a [`Requant`] may carry (a multiplier of `2^-32` or less
/// rounds every `i32` to 0 or ±1; TFLite uses the same bound).
pub const MIN_SHIFT: i8 = -31;
/// Largest shift a [`Requant`] may carry (TFLite's bound).
pub const MAX_SHIFT: i8 = 30;

/// Requantisation by a Q31 multiplier and a power of two:
/// `apply(x) ≈ x * multiplier * 2^(shift - 31)`.
///
/// The one requantisation type: convolutions (per output channel), concat
/// (per input) and add (inputs and output) all go through [`Requant::apply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requant {
    /// Q31 fraction, normally in `[2^30, 2^31)`; 0 maps everything to 0.
    pub multiplier: i32,
    /// Power of two, in `[MIN_SHIFT, MAX_SHIFT]`; positive shifts left.
    pub shift: i8,
}

impl Requant {
    /// The rounding [`Requant::apply`] implements.
    pub const ROUNDING: Rounding = Rounding::TfliteDoubleRound;
    /// Multiplies by exactly 1 (`2^30 * 2^(1 - 31)`).
    pub const IDENTITY: Requant = Requant {
        multiplier: 1 << 30,
        shift: 1,
    };

    /// The Q31 pair closest to `real`, by TFLite's `QuantizeMultiplier`
    /// recipe: a zero, negative, NaN or tiny (< 2^-32) `real` gives a zero
    /// multiplier, one too large saturates (`i32::MAX`, [`MAX_SHIFT`]).
    pub fn from_real(real: f64) -> Self {
        let (multiplier, shift) = quantize_multiplier(real);
        Self {
            multiplier,
            // quantize_multiplier keeps shift in [MIN_SHIFT, MAX_SHIFT].
            shift: shift.clamp(MIN_SHIFT as i32, MAX_SHIFT as i32) as i8,
        }
    }

    /// Whether a model may carry it: non-negative multiplier, shift in range.
    pub fn is_valid(self) -> bool {
        self.multiplier >= 0 && (MIN_SHIFT..=MAX_SHIFT).contains(&self.shift)
    }

    /// The real factor this pair stands for.
    pub fn to_real(self) -> f64 {
        self.multiplier as f64 * libm::exp2(self.shift as f64 - 31.0)
    }

    /// `x * multiplier * 2^(shift - 31)`, rounded by [`Rounding::TfliteDoubleRound`]:
    ///
    /// ```text
    /// left  = max(shift, 0), right = max(-shift, 0)
    /// apply(x) = rounding_divide_by_pot(
    ///               saturating_rounding_doubling_high_mul(x << left, multiplier),
    ///               right)
    /// ```
    ///
    /// Total for every input: the left shift saturates (TFLite's overflows,
    /// which is undefined in C; a valid model never gets there), a shift
    /// outside the valid range is clamped into it.
    #[inline]
    pub fn apply(self, x: i32) -> i32 {
        let shift = self.shift.clamp(MIN_SHIFT, MAX_SHIFT) as i32;
        let left = shift.max(0) as u32;
        let right = (-shift).max(0) as u32;
        let x = x.saturating_mul(1i32 << left);
        rounding_divide_by_pot(
            saturating_rounding_doubling_high_mul(x, self.multiplier),
            right,
        )
    }
}

/// [`Requant::apply`] as one 64-bit multiply-add and a shift, for the
/// kernels' inner loops (about a third of the instructions on the
/// Cortex-M7). Exists only for a right shift (`shift <= -1` after
/// clamping, what every scale below 1/2 has) and a multiplier other than
/// `i32::MIN`; [`FusedRequant::new`] says `None` otherwise and callers keep
/// [`Requant::apply`].
///
/// Why it is the same function: with `P = x · m` and `e` the right shift,
/// the doubling high multiply is `y = ⌊(P + 2^30) / 2^31⌋` for every
/// product (gemmlowp's nudge `1 - 2^30` followed by a truncating division
/// equals that floor for negative products), and the rounding divide is
/// `⌊(y + 2^(e-1) - [y < 0]) / 2^e⌋`. Nested floors of integer quotients
/// merge, so `apply(x) = ⌊(P + 2^30 + 2^(30+e) - [y < 0]·2^31) / 2^(31+e)⌋`:
/// the high word of `P + round` (minus the correction) shifted right by
/// `e - 1`. The tests compare it with [`Requant::apply`] on random and
/// extreme inputs for every shift.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FusedRequant {
    multiplier: i32,
    /// `2^30 + 2^(30 + e)`.
    round: i64,
    /// `e - 1`, in `0..=30`.
    shift: u32,
}

impl FusedRequant {
    /// The fused form of `rq`, if it has one (see the type's documentation).
    pub fn new(rq: Requant) -> Option<Self> {
        let shift = rq.shift.clamp(MIN_SHIFT, MAX_SHIFT);
        if shift > -1 || rq.multiplier == i32::MIN {
            return None;
        }
        let e = (-(shift as i32)).min(31) as u32;
        Some(Self {
            multiplier: rq.multiplier,
            round: (1i64 << 30) + (1i64 << (30 + e)),
            shift: e - 1,
        })
    }

    /// As four `i32` words, for a kernel's per-channel table in its
    /// scratch ([`Self::from_words`] reads them back).
    pub fn to_words(self) -> [i32; 4] {
        [
            self.multiplier,
            self.round as i32,
            (self.round >> 32) as i32,
            self.shift as i32,
        ]
    }

    /// Back from [`Self::to_words`]. Words from anywhere else give some
    /// requantiser (the shift is taken mod 32), never a panic.
    #[inline(always)]
    pub fn from_words(w: [i32; 4]) -> Self {
        Self {
            multiplier: w[0],
            round: (w[1] as u32 as i64) | ((w[2] as i64) << 32),
            shift: w[3] as u32 & 31,
        }
    }

    /// Exactly [`Requant::apply`]`(x)`.
    #[inline(always)]
    pub fn apply(self, x: i32) -> i32 {
        let p = x as i64 * self.multiplier as i64;
        // -1 where the doubling high multiply is negative, else 0.
        let neg = (p + (1 << 30)) >> 63;
        let sum = p.wrapping_add(self.round).wrapping_add(neg << 31);
        ((sum >> 32) as i32) >> self.shift
    }

    /// `max(apply(x), 0)` up to values `<= 0`: equal to [`Self::apply`]
    /// wherever that is positive, and `<= 0` wherever that is. For callers
    /// that clamp at 0 or above anyway (a fused ReLU), it skips the
    /// correction for negative products.
    #[inline(always)]
    pub fn apply_relu(self, x: i32) -> i32 {
        let p = x as i64 * self.multiplier as i64;
        ((p.wrapping_add(self.round) >> 32) as i32) >> self.shift
    }
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul`: `a * b / 2^31` rounded to
/// nearest (ties towards +∞: nudge `2^30` for a non-negative product,
/// `1 - 2^30` for a negative one, then a truncating division), saturating
/// the one overflow (`i32::MIN * i32::MIN`). Computed exactly in 64 bits.
#[inline]
pub(crate) fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // Division truncates towards zero, as in C; |result| < 2^31.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp's `RoundingDivideByPOT`: `x / 2^exponent` rounded half away from
/// zero, for `exponent` in `0..=31` (larger exponents are treated as 31).
#[inline]
pub(crate) fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    let e = exponent.min(31);
    let x = x as i64;
    let mask = (1i64 << e) - 1;
    let remainder = x & mask;
    let threshold = (mask >> 1) + (x < 0) as i64;
    ((x >> e) + (remainder > threshold) as i64) as i32
}

/// TFLite's `QuantizeMultiplier`: `real ≈ q31 * 2^(shift - 31)` with `q31` in
/// `[2^30, 2^31)`, for the host-side quantiser to turn a real scale ratio
/// (`in_scale * w_scale[c] / out_scale`, …) into a [`Requant`].
///
/// `frexp` splits `real = q * 2^shift` with `q` in `[0.5, 1)`, then `q31 =
/// round_half_away(q * 2^31)`; a `q31` that rounds up to `2^31` is halved and
/// the shift raised. Edge cases follow TFLite: a shift below -31 (real
/// < 2^-32) gives `(0, 0)`, a shift above 30 saturates to `(i32::MAX, 30)`.
/// Beyond TFLite (which asserts): a zero, negative or NaN `real` gives `(0, 0)`
/// and +∞ gives `(i32::MAX, 30)` — scales are positive, so a quantiser that
/// produces those has a bug of its own to report.
pub(crate) fn quantize_multiplier(real: f64) -> (i32, i32) {
    // Also catches NaN (every comparison with it is false).
    if real.is_nan() || real <= 0.0 {
        return (0, 0);
    }
    if real.is_infinite() {
        return (i32::MAX, MAX_SHIFT as i32);
    }
    let (q, mut shift) = libm::frexp(real);
    let mut q_fixed = libm::round(q * (1i64 << 31) as f64) as i64;
    if q_fixed == 1i64 << 31 {
        q_fixed /= 2;
        shift += 1;
    }
    if shift < MIN_SHIFT as i32 {
        return (0, 0);
    }
    if shift > MAX_SHIFT as i32 {
        return (i32::MAX, MAX_SHIFT as i32);
    }
    (q_fixed as i32, shift)
}

/// TFLite's int8 add: both inputs are shifted left by this many bits before
/// they are brought to a common scale, keeping 20 bits of headroom below the
/// 8-bit values so the two scaled inputs add without losing precision.
pub(crate) const ADD_LEFT_SHIFT: u32 = 20;

/// The three requantisers of a TFLite-style int8 add (see
/// [`crate::engine::Add`]): each input is brought to the scale
/// `2 * max(a.scale, b.scale) / 2^20`, the sum is brought to the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddRequant {
    /// Input `a`: `a.scale / (2 * max_scale)`.
    pub a: Requant,
    /// Input `b`: `b.scale / (2 * max_scale)`.
    pub b: Requant,
    /// Sum: `2 * max_scale / (2^20 * out.scale)`.
    pub out: Requant,
}

impl AddRequant {
    /// TFLite's `PrepareGeneralSubOp`/`Add` recipe, in `f64`.
    pub fn new(a: QuantParams, b: QuantParams, out: QuantParams) -> Self {
        let twice_max = 2.0 * (a.scale as f64).max(b.scale as f64);
        Self {
            a: Requant::from_real(a.scale as f64 / twice_max),
            b: Requant::from_real(b.scale as f64 / twice_max),
            out: Requant::from_real(
                twice_max / ((1u64 << ADD_LEFT_SHIFT) as f64 * out.scale as f64),
            ),
        }
    }

    /// Whether a model may carry it.
    pub fn is_valid(self) -> bool {
        self.a.is_valid() && self.b.is_valid() && self.out.is_valid()
    }
}

/// The network's input convention for 8-bit luma: `real = luma / 255`
/// (the trainer feeds the float model exactly that), quantised with `q`.
/// A table, because the cart converts a whole thumbnail per frame and the
/// table makes the conversion a lookup.
pub(crate) fn input_lut(q: QuantParams) -> [i8; 256] {
    let mut lut = [0i8; 256];
    for (luma, v) in lut.iter_mut().enumerate() {
        *v = q.quantize(luma as f32 / 255.0);
    }
    lut
}

/// Per int8 logit, `round(255 * sigmoid(real))` with the 0.5 boundary made
/// exact: the value is `>= 128` if and only if `q >= zero_point`, i.e. the
/// logit is `>= 0`, i.e. the probability is `>= 0.5` — what the fan fit's
/// threshold of 128 expects, whatever the rounding of `expf` near 0.
pub(crate) fn probability_lut(q: QuantParams) -> [u8; 256] {
    let mut lut = [0u8; 256];
    for (i, v) in lut.iter_mut().enumerate() {
        let code = (i as i32 - 128) as i8;
        let p = 1.0 / (1.0 + libm::expf(-q.dequantize(code)));
        let byte = libm::roundf(255.0 * p) as i32; // NaN -> 0, saturating
        *v = if code >= q.zero_point {
            byte.clamp(128, 255) as u8
        } else {
            byte.clamp(0, 127) as u8
        };
    }
    lut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fused_requant_equals_apply() {
        let mut s = 0xf05e_u64;
        let mut next = || {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let extremes = [
            i32::MIN,
            i32::MIN + 1,
            -(1 << 30),
            -1,
            0,
            1,
            1 << 30,
            i32::MAX,
        ];
        for shift in [
            i8::MIN,
            -40,
            -31,
            -30,
            -20,
            -12,
            -7,
            -2,
            -1,
            0,
            1,
            30,
            i8::MAX,
        ] {
            for k in 0..400 {
                let multiplier = match extremes.get(k) {
                    Some(&e) => e,
                    _ => next() as i32 >> (next() % 31),
                };
                let rq = Requant { multiplier, shift };
                let Some(f) = FusedRequant::new(rq) else {
                    assert!(shift >= 0 || multiplier == i32::MIN, "{rq:?}");
                    continue;
                };
                assert!(shift <= -1);
                for j in 0..200 {
                    let x = match extremes.get(j) {
                        Some(&e) => e,
                        // Many low zero bits: exact ties are likelier.
                        None if j <= 40 => {
                            (next() as i32 >> (next() % 32)) & !((1 << (next() % 20)) - 1)
                        }
                        _ => next() as i32 >> (next() % 32),
                    };
                    let want = rq.apply(x);
                    assert_eq!(f.apply(x), want, "{rq:?} x {x}");
                    let relu = f.apply_relu(x);
                    if want > 0 {
                        assert_eq!(relu, want, "{rq:?} x {x}");
                    } else {
                        assert!(relu <= 0, "{rq:?} x {x}");
                    }
                }
            }
        }
        // Ties of the rounding divide hit exactly: 3 · 2^(e-1) · 2^31 / m
        // with m = 2^30 gives y = 3 · 2^(e-1) … for every e.
        for e in 1..=31i32 {
            let rq = Requant {
                multiplier: 1 << 30,
                shift: -(e as i8),
            };
            let f = FusedRequant::new(rq).unwrap();
            for y in -70i64..70 {
                let x = (y << 1).clamp(i32::MIN as i64, i32::MAX as i64) as i32;
                for dx in [-1, 0, 1] {
                    let x = x.saturating_add(dx);
                    assert_eq!(f.apply(x), rq.apply(x), "e {e} x {x}");
                }
            }
        }
    }

    /// Single rounding of the exact product, for comparison.
    fn exact(x: i32, r: Requant) -> f64 {
        x as f64 * r.to_real()
    }

    #[test]
    fn quantize_multiplier_matches_tflite_examples() {
        // 0.5 = 2^30 * 2^(0 - 31)
        assert_eq!(quantize_multiplier(0.5), (1 << 30, 0));
        assert_eq!(quantize_multiplier(1.0), (1 << 30, 1));
        assert_eq!(quantize_multiplier(0.25), (1 << 30, -1));
        // 0.75 -> 0.75 * 2^31
        assert_eq!(quantize_multiplier(0.75), (1_610_612_736, 0));
        // A value just under 1 whose mantissa rounds to 2^31.
        assert_eq!(quantize_multiplier(1.0 - 1e-12), (1 << 30, 1));
        assert_eq!(quantize_multiplier(0.0), (0, 0));
        assert_eq!(quantize_multiplier(-1.0), (0, 0));
        assert_eq!(quantize_multiplier(f64::NAN), (0, 0));
        assert_eq!(quantize_multiplier(1e-12), (0, 0));
        assert_eq!(quantize_multiplier(1e12), (i32::MAX, 30));
        assert_eq!(quantize_multiplier(f64::INFINITY), (i32::MAX, 30));
    }

    #[test]
    fn identity_is_exact() {
        for x in [-70_000, -129, -1, 0, 1, 127, 1 << 29, i32::MAX / 2] {
            assert_eq!(Requant::IDENTITY.apply(x), x);
        }
        assert_eq!(Requant::from_real(1.0), Requant::IDENTITY);
    }

    #[test]
    fn rounding_follows_gemmlowp() {
        let m = 1 << 30; // 0.5 in Q31
        // High multiply: nearest, ties towards +inf (its negative nudge is
        // 1 - 2^30 and the division truncates).
        assert_eq!(saturating_rounding_doubling_high_mul(3, m), 2); // 1.5
        assert_eq!(saturating_rounding_doubling_high_mul(-3, m), -1); // -1.5
        assert_eq!(saturating_rounding_doubling_high_mul(1, m), 1); // 0.5
        assert_eq!(saturating_rounding_doubling_high_mul(-1, m), 0); // -0.5
        assert_eq!(saturating_rounding_doubling_high_mul(-5, m), -2); // -2.5
        // Divide by 2^n: nearest, ties away from zero.
        assert_eq!(rounding_divide_by_pot(3, 1), 2); // 1.5
        assert_eq!(rounding_divide_by_pot(-3, 1), -2);
        assert_eq!(rounding_divide_by_pot(5, 2), 1); // 1.25
        assert_eq!(rounding_divide_by_pot(6, 2), 2); // 1.5
        assert_eq!(rounding_divide_by_pot(-6, 2), -2);
        assert_eq!(rounding_divide_by_pot(-7, 2), -2); // -1.75
        assert_eq!(rounding_divide_by_pot(-1, 31), 0);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 40), -1); // clamped to 31
        // Both: with shift 0 only the high multiply rounds ...
        let half = Requant::from_real(0.5);
        assert_eq!((half.multiplier, half.shift), (1 << 30, 0));
        assert_eq!(half.apply(3), 2);
        assert_eq!(half.apply(-3), -1);
        // ... with a right shift the divide's half-away rounding decides
        // for every accumulator that is not tiny ...
        let quarter = Requant::from_real(0.25);
        assert_eq!(quarter.apply(6), 2); // 1.5
        assert_eq!(quarter.apply(-6), -2);
        assert_eq!(quarter.apply(10), 3); // 2.5
        assert_eq!(quarter.apply(-10), -3);
        // ... and double rounding shows on tiny ones: 0.25 -> 0.5 -> 1.
        // TFLite and CMSIS-NN give the same; the error stays below 1.
        assert_eq!(quarter.apply(1), 1);
        assert_eq!(quarter.apply(-1), 0);
    }

    #[test]
    fn doubling_high_mul_saturates_the_one_overflow() {
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX),
            -i32::MAX
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul(1 << 30, 1 << 30),
            1 << 29
        );
    }

    #[test]
    fn apply_is_within_one_of_single_rounding() {
        // Splitmix over multipliers, shifts and accumulators.
        let mut s = 0x5eed_u64;
        let mut next = || {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        for _ in 0..20_000 {
            let real = 2f64.powi(-((next() % 20) as i32)) * (0.5 + (next() % 1000) as f64 / 2000.0);
            let r = Requant::from_real(real);
            let x = (next() as i32) >> (next() % 24);
            let got = r.apply(x) as f64;
            let want = exact(x, r);
            assert!(
                (got - want).abs() <= 1.0,
                "x {x} real {real} got {got} want {want}"
            );
            // And with the real value it came from (the Q31 error is tiny).
            assert!((got - x as f64 * real).abs() <= 1.0 + 1e-6 * (x as f64 * real).abs());
        }
    }

    #[test]
    fn apply_never_panics_on_extremes() {
        for m in [0, 1, 1 << 30, i32::MAX, -1, i32::MIN] {
            for shift in [i8::MIN, -40, -31, -1, 0, 1, 30, 31, i8::MAX] {
                let r = Requant {
                    multiplier: m,
                    shift,
                };
                for x in [i32::MIN, -1, 0, 1, i32::MAX] {
                    let _ = r.apply(x);
                }
            }
        }
    }

    #[test]
    fn quantize_params_round_trip_and_clamp() {
        let q = QuantParams::new(0.1, -3);
        assert_eq!(q.quantize(0.0), -3);
        assert_eq!(q.quantize(0.05), -2); // 0.5 step rounds away from zero
        assert_eq!(q.quantize(-0.05), -4);
        assert_eq!(q.quantize(1e9), 127);
        assert_eq!(q.quantize(-1e9), -128);
        assert_eq!(q.quantize(f32::NAN), -3);
        assert!((q.dequantize(7) - 1.0).abs() < 1e-6);
        assert!(q.is_valid());
        assert!(!QuantParams::new(0.0, 0).is_valid());
        assert!(!QuantParams::new(f32::NAN, 0).is_valid());
    }

    #[test]
    fn input_lut_maps_full_range() {
        let q = QuantParams::new(1.0 / 255.0, -128);
        let lut = input_lut(q);
        for (luma, &v) in lut.iter().enumerate() {
            assert_eq!(v as i32, luma as i32 - 128);
        }
    }

    #[test]
    fn probability_lut_boundary_is_the_zero_point() {
        for (scale, zp) in [
            (0.1f32, 0i8),
            (0.05, -20),
            (1e-9, 17),
            (3.0, -128),
            (0.2, 127),
        ] {
            let q = QuantParams::new(scale, zp);
            let lut = probability_lut(q);
            for (i, &p) in lut.iter().enumerate() {
                let code = (i as i32 - 128) as i8;
                assert_eq!(p >= 128, code >= zp, "scale {scale} zp {zp} code {code}");
            }
            // Monotone.
            assert!(lut.windows(2).all(|w| w[0] <= w[1]));
        }
    }
}
