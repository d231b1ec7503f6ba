//! The Armv7E-M DSP instructions the hot loops need — `SMLAD` (two signed
//! 16 × 16 multiplies added to an accumulator) for the engine, `UXTAB16`
//! (two bytes added to two 16-bit lanes) for the thumbnail, and the FPU's
//! `VSQRT` for the fit — each under one name with a portable version of the
//! same arithmetic.
//!
//! Why inline assembly: stable Rust has no DSP intrinsics
//! (`core::arch::arm::__smlad` is unstable), and LLVM's ARMParallelDSP
//! pass only forms `SMLAD` for a single accumulator fed by its own pairs
//! of adjacent `i16` loads. A register tile (two pixels × two channels,
//! each loaded word used twice) came out as `SMLABB` + `SMLATT` pairs and
//! spills — about twice the instructions. Checked on the asm of
//! `thumbv7em-none-eabihf` with `-C target-cpu=cortex-m7`.
//!
//! Both versions wrap (mod 2^32), as `SMLAD` does (it only sets the Q
//! flag, which nothing reads), so the host and the cart agree bit for bit;
//! the HIL rig compares them frame by frame.

/// `acc + lo(a)·lo(b) + hi(a)·hi(b)` over the signed 16-bit halves of `a`
/// and `b`, wrapping.
#[cfg(sonomask_dsp)]
#[inline(always)]
#[allow(unsafe_code)]
pub fn smlad(a: u32, b: u32, acc: i32) -> i32 {
    let r: i32;
    // SAFETY: SMLAD reads three registers and writes one; no memory, no
    // stack, no flags other than Q (sticky overflow, never read here).
    unsafe {
        core::arch::asm!(
            "smlad {r}, {a}, {b}, {acc}",
            r = lateout(reg) r,
            a = in(reg) a,
            b = in(reg) b,
            acc = in(reg) acc,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    r
}

/// `acc + lo(a)·lo(b) + hi(a)·hi(b)` over the signed 16-bit halves of `a`
/// and `b`, wrapping.
#[cfg(not(sonomask_dsp))]
#[inline(always)]
pub fn smlad(a: u32, b: u32, acc: i32) -> i32 {
    let lo = (a as i16 as i32) * (b as i16 as i32);
    let hi = ((a >> 16) as i16 as i32) * ((b >> 16) as i16 as i32);
    acc.wrapping_add(lo).wrapping_add(hi)
}

/// The four dot products of a 2 × 2 register tile: two input runs `x0`,
/// `x1` of `n` words against two weight runs interleaved word by word in
/// `w` (`2n` words: channel 0's word `i` at `2i`, channel 1's at `2i + 1`).
/// Returns `acc + [x0·w0, x0·w1, x1·w0, x1·w1]` (each word two `i16` MACs).
///
/// The kernels' hot loop. In Rust, LLVM keeps a pointer difference on the
/// stack or skips the paired load (twelve instructions per word in
/// practice); written out it is eight instructions per two words
/// (sixteen MACs) plus the loop: two `LDR` with writeback, one `LDRD`, four
/// `SMLAD`, twice, then `SUBS`/`BNE`.
#[inline(always)]
pub fn dot2x2(x0: &[u32], x1: &[u32], w: &[u32], mut acc: [i32; 4]) -> [i32; 4] {
    let n = x0.len().min(x1.len()).min(w.len() / 2);
    let (x0, x1, w) = (&x0[..n], &x1[..n], &w[..2 * n]);
    // An odd first word here, so the loop below takes whole pairs.
    let odd = n % 2;
    if odd == 1 {
        acc = [
            smlad(x0[0], w[0], acc[0]),
            smlad(x0[0], w[1], acc[1]),
            smlad(x1[0], w[0], acc[2]),
            smlad(x1[0], w[1], acc[3]),
        ];
    }
    dot2x2_pairs(&x0[odd..], &x1[odd..], &w[2 * odd..], acc)
}

/// [`dot2x2`] over an even number of words, added to `acc`.
#[cfg(sonomask_dsp)]
#[inline(always)]
#[allow(unsafe_code)]
fn dot2x2_pairs(x0: &[u32], x1: &[u32], w: &[u32], acc: [i32; 4]) -> [i32; 4] {
    let pairs = x0.len() / 2;
    if pairs == 0 || x1.len() < 2 * pairs || w.len() < 4 * pairs {
        return acc;
    }
    let [mut a, mut b, mut c, mut d] = acc;
    // SAFETY: the loop runs `pairs >= 1` times and reads 2 words per
    // iteration from `x0` and `x1` and 4 from `w`, which hold at least
    // `2 * pairs`, `2 * pairs` and `4 * pairs` words (checked above); the
    // pointers are the slices' own, word aligned (LDRD needs 4 on the M7).
    // It writes only the registers it declares and the flags.
    unsafe {
        core::arch::asm!(
            "2:",
            "ldr {p}, [{x0}], #4",
            "ldr {q}, [{x1}], #4",
            "ldrd {r}, {s}, [{w}], #8",
            "smlad {a}, {p}, {r}, {a}",
            "smlad {b}, {p}, {s}, {b}",
            "smlad {c}, {q}, {r}, {c}",
            "smlad {d}, {q}, {s}, {d}",
            "ldr {p}, [{x0}], #4",
            "ldr {q}, [{x1}], #4",
            "ldrd {r}, {s}, [{w}], #8",
            "smlad {a}, {p}, {r}, {a}",
            "smlad {b}, {p}, {s}, {b}",
            "smlad {c}, {q}, {r}, {c}",
            "smlad {d}, {q}, {s}, {d}",
            "subs {n}, {n}, #1",
            "bne 2b",
            x0 = inout(reg) x0.as_ptr() => _,
            x1 = inout(reg) x1.as_ptr() => _,
            w = inout(reg) w.as_ptr() => _,
            n = inout(reg) pairs => _,
            a = inout(reg) a,
            b = inout(reg) b,
            c = inout(reg) c,
            d = inout(reg) d,
            p = out(reg) _,
            q = out(reg) _,
            r = out(reg) _,
            s = out(reg) _,
            options(nostack, readonly),
        );
    }
    [a, b, c, d]
}

/// [`dot2x2`] over an even number of words, added to `acc`.
#[cfg(not(sonomask_dsp))]
#[inline(always)]
fn dot2x2_pairs(x0: &[u32], x1: &[u32], w: &[u32], acc: [i32; 4]) -> [i32; 4] {
    let [mut a, mut b, mut c, mut d] = acc;
    for ((&p, &q), w) in x0.iter().zip(x1).zip(w.chunks_exact(2)) {
        a = smlad(p, w[0], a);
        b = smlad(p, w[1], b);
        c = smlad(q, w[0], c);
        d = smlad(q, w[1], d);
    }
    [a, b, c, d]
}

/// Bytes 0 and 2 of `w` added to the low and high 16-bit lanes of `acc`
/// (`UXTAB16`). The portable version adds `w & 0x00FF00FF` as a whole
/// word, which is the same as long as the low lane does not overflow —
/// callers keep every lane below 2^16 (LLVM turns the portable form into
/// byte loads and ORs, eight instructions per four pixels instead of three).
#[inline(always)]
pub fn add_bytes02(acc: u32, w: u32) -> u32 {
    #[cfg(sonomask_dsp)]
    {
        let r: u32;
        // SAFETY: UXTAB16 reads two registers and writes one; no memory,
        // no stack, no flags.
        #[allow(unsafe_code)]
        unsafe {
            core::arch::asm!(
                "uxtab16 {r}, {acc}, {w}",
                r = lateout(reg) r,
                acc = in(reg) acc,
                w = in(reg) w,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        r
    }
    #[cfg(not(sonomask_dsp))]
    {
        acc.wrapping_add(w & 0x00FF_00FF)
    }
}

/// Bytes 1 and 3 of `w` added to the low and high 16-bit lanes of `acc`
/// (`UXTAB16` with `ROR #8`); see [`add_bytes02`].
#[inline(always)]
pub fn add_bytes13(acc: u32, w: u32) -> u32 {
    #[cfg(sonomask_dsp)]
    {
        let r: u32;
        // SAFETY: as in add_bytes02.
        #[allow(unsafe_code)]
        unsafe {
            core::arch::asm!(
                "uxtab16 {r}, {acc}, {w}, ror #8",
                r = lateout(reg) r,
                acc = in(reg) acc,
                w = in(reg) w,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        r
    }
    #[cfg(not(sonomask_dsp))]
    {
        acc.wrapping_add((w >> 8) & 0x00FF_00FF)
    }
}

/// Two `i16` as one word, `lo` in the low half (the order `SMLAD` pairs them).
#[inline(always)]
pub fn pack(lo: i16, hi: i16) -> u32 {
    (lo as u16 as u32) | ((hi as u16 as u32) << 16)
}

/// `√x`, correctly rounded (IEEE 754), as every target computes it: the
/// FPU's `VSQRT.F32` on the hard-float Cortex-M (one instruction; libm's
/// bitwise routine costs about sixty), libm elsewhere. Both round exactly,
/// so the host and the cart get the same bits; a negative `x` gives NaN.
#[cfg(all(sonomask_dsp, target_abi = "eabihf"))]
#[inline(always)]
#[allow(unsafe_code)]
pub fn sqrtf(x: f32) -> f32 {
    let r: f32;
    // SAFETY: VSQRT reads one FPU register and writes one; no memory, no
    // stack, and it leaves the condition flags alone (only FPSCR's sticky
    // exception bits, which nothing reads).
    unsafe {
        core::arch::asm!(
            "vsqrt.f32 {r}, {x}",
            r = lateout(sreg) r,
            x = in(sreg) x,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    r
}

/// `√x`, correctly rounded (IEEE 754); see the hard-float version.
#[cfg(not(all(sonomask_dsp, target_abi = "eabihf")))]
#[inline(always)]
pub fn sqrtf(x: f32) -> f32 {
    libm::sqrtf(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot2x2_is_four_dot_products() {
        let mut seed = 7u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            seed
        };
        for n in 0..9 {
            let x0: [u32; 8] = core::array::from_fn(|_| next());
            let x1: [u32; 8] = core::array::from_fn(|_| next());
            let w: [u32; 16] = core::array::from_fn(|_| next());
            let dot = |x: &[u32], lane: usize| {
                (0..n).fold(0i32, |acc, i| smlad(x[i], w[2 * i + lane], acc))
            };
            let want = [dot(&x0, 0), dot(&x0, 1), dot(&x1, 0), dot(&x1, 1)];
            let init = [1, -2, i32::MAX, i32::MIN];
            let got = dot2x2(&x0[..n], &x1[..n], &w[..2 * n], init);
            let want: [i32; 4] = core::array::from_fn(|j| want[j].wrapping_add(init[j]));
            assert_eq!(got, want, "n {n}");
        }
    }

    #[test]
    fn byte_lanes_add() {
        let w = u32::from_le_bytes([1, 2, 3, 4]);
        assert_eq!(add_bytes02(0x0010_0020, w), 0x0013_0021);
        assert_eq!(add_bytes13(0x0010_0020, w), 0x0014_0022);
        let full = u32::from_le_bytes([255; 4]);
        assert_eq!(add_bytes02(0xFE01_FE01, full), 0xFF00_FF00);
    }

    #[test]
    fn smlad_pairs_halves_and_wraps() {
        assert_eq!(smlad(pack(3, -4), pack(5, 6), 10), 10 + 15 - 24);
        let m = pack(i16::MIN, i16::MIN);
        // 2 · 2^30 = 2^31 wraps to i32::MIN; plus the accumulator.
        assert_eq!(smlad(m, m, 0), i32::MIN);
        assert_eq!(smlad(m, m, -1), i32::MAX);
        assert_eq!(
            smlad(pack(-1, 1), pack(1, -1), i32::MIN),
            i32::MIN.wrapping_sub(2)
        );
    }
}
