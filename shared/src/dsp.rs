//! The Armv7E-M DSP instructions the hot loops need — `SMLAD` (two signed
//! 16 × 16 multiplies added to an accumulator) for the engine, `UXTAB16`
//! (two bytes added to two 16-bit lanes, [`sum_rows16`]) for the thumbnail,
//! and the FPU's `VSQRT` for the fit — each under one name with a portable
//! version of the same arithmetic.
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
//! the HIL rig compares them frame by frame, and the firmware's
//! `sonomask-selftest` image checks each routine against its plain
//! definition (`portable`, through `crate::selftest`) on the Cortex-M7.

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

/// A run of [`dot2x2`] tiles along a row: for pixel `j` (run
/// `x[j * step..][..field]`), `out0[j] = b0 + x_j·w0` and
/// `out1[j] = b1 + x_j·w1` with `[b0, b1] = bias` and `w` as in
/// [`dot2x2`] (`2 * field` words), two pixels at a time: `tiles` =
/// `min(out0.len(), out1.len()) / 2`. The caller provides
/// `x.len() >= (2 * tiles - 1) * step + field` (checked: if not, the
/// outputs are left alone).
///
/// Why the whole run in one asm block: around a [`dot2x2`] call per tile
/// LLVM spent about 60 instructions (slices, bounds checks, spills) on
/// top of the 16 per two words; here the tile's bookkeeping lives in a
/// small state block in memory, about 20 instructions per tile.
#[inline(always)]
pub fn dot2x2_tiles(
    x: &[u32],
    step: usize,
    field: usize,
    w: &[u32],
    bias: [i32; 2],
    out0: &mut [i32],
    out1: &mut [i32],
) {
    let tiles = out0.len().min(out1.len()) / 2;
    let need = (2 * tiles)
        .saturating_sub(1)
        .saturating_mul(step)
        .saturating_add(field);
    if tiles == 0 || x.len() < need || w.len() < 2 * field {
        return;
    }
    #[cfg(sonomask_dsp)]
    if field >= 2 && field.is_multiple_of(2) {
        dot2x2_tiles_asm(
            x,
            step,
            field,
            w,
            bias,
            &mut out0[..2 * tiles],
            &mut out1[..2 * tiles],
        );
        return;
    }
    let init = [bias[0], bias[1], bias[0], bias[1]];
    let outs = out0.chunks_exact_mut(2).zip(out1.chunks_exact_mut(2));
    for (t, (o0, o1)) in outs.enumerate() {
        let x0 = &x[2 * t * step..][..field];
        let x1 = &x[(2 * t + 1) * step..][..field];
        let [a, b, c, d] = dot2x2(x0, x1, &w[..2 * field], init);
        o0.copy_from_slice(&[a, c]);
        o1.copy_from_slice(&[b, d]);
    }
}

/// [`dot2x2_tiles`] for an even `field >= 2`, bounds checked by the caller.
#[cfg(sonomask_dsp)]
#[inline(always)]
#[allow(unsafe_code)]
fn dot2x2_tiles_asm(
    x: &[u32],
    step: usize,
    field: usize,
    w: &[u32],
    bias: [i32; 2],
    out0: &mut [i32],
    out1: &mut [i32],
) {
    // Offsets 0, 4, ... : next tile's first pixel, step in bytes, weights,
    // word pairs per field, the two biases, channel 0's next output, tiles
    // left, channel 1's next output.
    let mut st: [usize; 9] = [
        x.as_ptr() as usize,
        4 * step,
        w.as_ptr() as usize,
        field / 2,
        bias[0] as u32 as usize,
        bias[1] as u32 as usize,
        out0.as_mut_ptr() as usize,
        out0.len() / 2,
        out1.as_mut_ptr() as usize,
    ];
    // SAFETY: `tiles = out0.len() / 2 = out1.len() / 2 >= 1` iterations
    // (the caller checked it is not 0); tile `t` reads `field` words from
    // pixel `2t` and `2t + 1` of `x` (`(2t + 1) * step + field <= x.len()`,
    // checked by the caller), `2 * field` words of `w` (checked), and
    // writes `out0[2t..2t + 2]` and `out1[2t..2t + 2]`; `field / 2 >= 1`. All pointers come from the
    // slices, word aligned (LDRD/STRD need 4 on the M7). It writes only
    // `st`, `out`, the registers it declares and the flags.
    unsafe {
        core::arch::asm!(
            "3:",
            "ldrd {a}, {b}, [{st}, #16]",
            "mov {c}, {a}",
            "mov {d}, {b}",
            "ldr {x0}, [{st}]",
            "ldr {n}, [{st}, #4]",
            "add {x1}, {x0}, {n}",
            "add {p}, {x1}, {n}",
            "str {p}, [{st}]",
            "ldr {w}, [{st}, #8]",
            "ldr {n}, [{st}, #12]",
            "2:",
            "ldrd {r}, {s}, [{w}], #8",
            "ldr {p}, [{x0}], #4",
            "smlad {a}, {p}, {r}, {a}",
            "smlad {b}, {p}, {s}, {b}",
            "ldr {p}, [{x1}], #4",
            "smlad {c}, {p}, {r}, {c}",
            "smlad {d}, {p}, {s}, {d}",
            "ldrd {r}, {s}, [{w}], #8",
            "ldr {p}, [{x0}], #4",
            "smlad {a}, {p}, {r}, {a}",
            "smlad {b}, {p}, {s}, {b}",
            "ldr {p}, [{x1}], #4",
            "smlad {c}, {p}, {r}, {c}",
            "smlad {d}, {p}, {s}, {d}",
            "subs {n}, {n}, #1",
            "bne 2b",
            "ldr {p}, [{st}, #24]",
            "strd {a}, {c}, [{p}], #8",
            "str {p}, [{st}, #24]",
            "ldr {p}, [{st}, #32]",
            "strd {b}, {d}, [{p}], #8",
            "str {p}, [{st}, #32]",
            "ldr {p}, [{st}, #28]",
            "subs {p}, {p}, #1",
            "str {p}, [{st}, #28]",
            "bne 3b",
            st = in(reg) st.as_mut_ptr(),
            x0 = out(reg) _,
            x1 = out(reg) _,
            w = out(reg) _,
            n = out(reg) _,
            a = out(reg) _,
            b = out(reg) _,
            c = out(reg) _,
            d = out(reg) _,
            p = out(reg) _,
            r = out(reg) _,
            s = out(reg) _,
            options(nostack),
        );
    }
}

/// `dst[i * stride] = clamp(max(r, 0) + zp, -128, 127)` with
/// `r = FusedRequant::from_words(rq).apply_relu(acc[i])`: a run of one
/// channel's outputs with a fused ReLU whose lower bound is the zero point
/// (`max(r, 0) + zp` equals `max(r + zp, zp)` before the clamp, so this is
/// the kernels' `clamp(r + zp, -128, 127).max(zp)`). `dst` must hold the
/// run (`(acc.len() - 1) * stride + 1` bytes; checked, if not nothing is
/// written) and `stride >= 1`.
///
/// Why asm: LLVM reloaded the output stride and checked the destination
/// per element, 18 instructions; here it is twelve (`SMLAL` on a copy of
/// the rounding constant, `ASR`, `BIC` for the `max(r, 0)`, `SSAT`).
#[inline(always)]
pub fn requant_relu_run(acc: &[i32], rq: [i32; 4], zp: i32, dst: &mut [i8], stride: usize) {
    let n = acc.len();
    if n == 0 || stride == 0 || dst.len() < (n - 1).saturating_mul(stride).saturating_add(1) {
        return;
    }
    requant_relu_run_impl(acc, rq, zp, dst, stride);
}

#[cfg(sonomask_dsp)]
#[inline(always)]
#[allow(unsafe_code)]
fn requant_relu_run_impl(acc: &[i32], rq: [i32; 4], zp: i32, dst: &mut [i8], stride: usize) {
    let [m, round_lo, round_hi, shift] = rq;
    // SAFETY: `acc.len() >= 1` iterations (checked by the caller), each
    // reads the next word of `acc` and writes `dst[i * stride]`, which the
    // caller checked lies in `dst`. The pointers are the slices' own
    // (`LDR` needs no alignment beyond the `i32`'s). It writes only `dst`,
    // the registers it declares and the flags.
    unsafe {
        core::arch::asm!(
            "2:",
            "ldr {x}, [{acc}], #4",
            "mov {lo}, {rlo}",
            "mov {hi}, {rhi}",
            "smlal {lo}, {hi}, {x}, {m}",
            "asr {x}, {hi}, {sh}",
            "bic {x}, {x}, {x}, asr #31",
            "add {x}, {x}, {zp}",
            "ssat {x}, #8, {x}",
            "strb {x}, [{dst}]",
            "add {dst}, {dst}, {stride}",
            "subs {n}, {n}, #1",
            "bne 2b",
            acc = inout(reg) acc.as_ptr() => _,
            dst = inout(reg) dst.as_mut_ptr() => _,
            n = inout(reg) acc.len() => _,
            m = in(reg) m,
            rlo = in(reg) round_lo,
            rhi = in(reg) round_hi,
            sh = in(reg) shift & 31,
            zp = in(reg) zp,
            stride = in(reg) stride,
            x = out(reg) _,
            lo = out(reg) _,
            hi = out(reg) _,
            options(nostack),
        );
    }
}

#[cfg(not(sonomask_dsp))]
#[inline(always)]
fn requant_relu_run_impl(acc: &[i32], rq: [i32; 4], zp: i32, dst: &mut [i8], stride: usize) {
    let f = crate::quant::FusedRequant::from_words(rq);
    for (d, &a) in dst.iter_mut().step_by(stride).zip(acc) {
        *d = (f.apply_relu(a).max(0) + zp).clamp(-128, 127) as i8;
    }
}

/// The two dot products of a 2 × 1 tile: input runs `x0`, `x1` of `n`
/// words against one weight run `w` of `n` words. Returns
/// `acc + [x0·w, x1·w]` (each word two `i16` MACs).
///
/// For a layer's last odd output channel (the network's 1-channel logits
/// among them): LLVM's own loop loads word by word and counts an index,
/// ten instructions per word; written out it is three `LDRD` and four
/// `SMLAD` per two words plus the loop.
#[inline(always)]
pub fn dot1x2(x0: &[u32], x1: &[u32], w: &[u32], mut acc: [i32; 2]) -> [i32; 2] {
    let n = x0.len().min(x1.len()).min(w.len());
    let (x0, x1, w) = (&x0[..n], &x1[..n], &w[..n]);
    // An odd first word here, so the loop below takes whole pairs.
    let odd = n % 2;
    if odd == 1 {
        acc = [smlad(x0[0], w[0], acc[0]), smlad(x1[0], w[0], acc[1])];
    }
    dot1x2_pairs(&x0[odd..], &x1[odd..], &w[odd..], acc)
}

/// [`dot1x2`] over an even number of words, added to `acc`.
#[cfg(sonomask_dsp)]
#[inline(always)]
#[allow(unsafe_code)]
fn dot1x2_pairs(x0: &[u32], x1: &[u32], w: &[u32], acc: [i32; 2]) -> [i32; 2] {
    let pairs = x0.len() / 2;
    if pairs == 0 || x1.len() < 2 * pairs || w.len() < 2 * pairs {
        return acc;
    }
    let [mut a, mut c] = acc;
    // SAFETY: the loop runs `pairs >= 1` times and reads 2 words per
    // iteration from each of `x0`, `x1` and `w`, which hold at least
    // `2 * pairs` words (checked above); the pointers are the slices' own,
    // word aligned (LDRD needs 4 on the M7). It writes only the registers
    // it declares and the flags.
    unsafe {
        core::arch::asm!(
            "2:",
            "ldrd {p0}, {p1}, [{x0}], #8",
            "ldrd {q0}, {q1}, [{x1}], #8",
            "ldrd {w0}, {w1}, [{w}], #8",
            "smlad {a}, {p0}, {w0}, {a}",
            "smlad {c}, {q0}, {w0}, {c}",
            "smlad {a}, {p1}, {w1}, {a}",
            "smlad {c}, {q1}, {w1}, {c}",
            "subs {n}, {n}, #1",
            "bne 2b",
            x0 = inout(reg) x0.as_ptr() => _,
            x1 = inout(reg) x1.as_ptr() => _,
            w = inout(reg) w.as_ptr() => _,
            n = inout(reg) pairs => _,
            a = inout(reg) a,
            c = inout(reg) c,
            p0 = out(reg) _,
            p1 = out(reg) _,
            q0 = out(reg) _,
            q1 = out(reg) _,
            w0 = out(reg) _,
            w1 = out(reg) _,
            options(nostack, readonly),
        );
    }
    [a, c]
}

/// [`dot1x2`] over an even number of words, added to `acc`.
#[cfg(not(sonomask_dsp))]
#[inline(always)]
fn dot1x2_pairs(x0: &[u32], x1: &[u32], w: &[u32], acc: [i32; 2]) -> [i32; 2] {
    let [mut a, mut c] = acc;
    for ((&p, &q), &w) in x0.iter().zip(x1).zip(w) {
        a = smlad(p, w, a);
        c = smlad(q, w, c);
    }
    [a, c]
}

/// Bytes 0 and 2 of `w` added to the low and high 16-bit lanes of `acc`
/// (`UXTAB16`). The portable version adds `w & 0x00FF00FF` as a whole
/// word, which is the same as long as the low lane does not overflow —
/// callers keep every lane below 2^16 (LLVM turns the portable form into
/// byte loads and ORs, eight instructions per four pixels instead of three).
#[inline(always)]
// On the cart only the tests call it (`sum_rows16` is written out there).
#[cfg_attr(sonomask_dsp, allow(dead_code))]
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
#[cfg_attr(sonomask_dsp, allow(dead_code))]
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

/// The plain sums of `n` rows of 16 bytes (`rows[r·stride..][..16]`,
/// `r < n`, `n ≤ 257` so no lane overflows), in 16-bit lanes: word `2j`
/// holds bytes `4j` (low lane) and `4j + 2` (high), word `2j + 1` bytes
/// `4j + 1` and `4j + 3` — four [`add_bytes02`]/[`add_bytes13`] pairs per
/// row, added to `acc`.
///
/// The thumbnail's hot loop. In Rust, LLVM rotates the eight
/// accumulators through spare registers and spills two of them (about 30
/// instructions per row); written out it is fifteen: four `LDR` (any
/// alignment: the M7 and QEMU allow unaligned `LDR`, not `LDRD`), eight
/// `UXTAB16`, `ADD`, `SUBS`, `BNE`.
#[inline(always)]
pub fn sum_rows16(rows: &[u8], stride: usize, n: usize, acc: [u32; 8]) -> [u32; 8] {
    // The bytes the loop reads, checked once (the portable loop would
    // panic on them row by row; the same slice index panics here).
    if n == 0 {
        return acc;
    }
    let rows = &rows[..(n - 1) * stride + 16];
    sum_rows16_checked(rows, stride, n, acc)
}

/// [`sum_rows16`] once `rows` is known to hold `(n − 1)·stride + 16` bytes
/// and `n ≥ 1`.
#[cfg(sonomask_dsp)]
#[inline(always)]
#[allow(unsafe_code)]
fn sum_rows16_checked(rows: &[u8], stride: usize, n: usize, acc: [u32; 8]) -> [u32; 8] {
    let [
        mut a0,
        mut a1,
        mut a2,
        mut a3,
        mut a4,
        mut a5,
        mut a6,
        mut a7,
    ] = acc;
    // SAFETY: the loop runs `n ≥ 1` times, reading 16 bytes at
    // `rows + r·stride` for `r < n`, all inside `rows` (its length was
    // checked by the caller: `(n − 1)·stride + 16`). LDR takes any
    // alignment on the Cortex-M7 (unaligned access enabled, the reset
    // default). It writes only the registers it declares and the flags.
    unsafe {
        core::arch::asm!(
            "2:",
            "ldr {t}, [{p}]",
            "uxtab16 {a0}, {a0}, {t}",
            "uxtab16 {a1}, {a1}, {t}, ror #8",
            "ldr {t}, [{p}, #4]",
            "uxtab16 {a2}, {a2}, {t}",
            "uxtab16 {a3}, {a3}, {t}, ror #8",
            "ldr {t}, [{p}, #8]",
            "uxtab16 {a4}, {a4}, {t}",
            "uxtab16 {a5}, {a5}, {t}, ror #8",
            "ldr {t}, [{p}, #12]",
            "uxtab16 {a6}, {a6}, {t}",
            "uxtab16 {a7}, {a7}, {t}, ror #8",
            "add {p}, {p}, {s}",
            "subs {n}, {n}, #1",
            "bne 2b",
            p = inout(reg) rows.as_ptr() => _,
            s = in(reg) stride,
            n = inout(reg) n => _,
            t = out(reg) _,
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            a2 = inout(reg) a2,
            a3 = inout(reg) a3,
            a4 = inout(reg) a4,
            a5 = inout(reg) a5,
            a6 = inout(reg) a6,
            a7 = inout(reg) a7,
            options(nostack, readonly),
        );
    }
    [a0, a1, a2, a3, a4, a5, a6, a7]
}

/// [`sum_rows16`] once `rows` is known to hold `(n − 1)·stride + 16` bytes
/// and `n ≥ 1`.
#[cfg(not(sonomask_dsp))]
#[inline(always)]
fn sum_rows16_checked(rows: &[u8], stride: usize, n: usize, mut acc: [u32; 8]) -> [u32; 8] {
    for r in 0..n {
        let px = &rows[r * stride..][..16];
        for (j, q) in px.chunks_exact(4).enumerate() {
            let v = u32::from_le_bytes([q[0], q[1], q[2], q[3]]);
            acc[2 * j] = add_bytes02(acc[2 * j], v);
            acc[2 * j + 1] = add_bytes13(acc[2 * j + 1], v);
        }
    }
    acc
}

/// `words.copy_within(by.., 0)`: moves the words after the first `by` to
/// the front (`by <= words.len()`). The conv kernel shifts its window this
/// way every output row; `compiler_builtins`' `memmove` copies a word at a
/// time, this 16 bytes per `LDM`/`STM` pair. Copying upwards in blocks is
/// safe for any `by > 0`: a block is loaded whole before it is stored, and
/// the stores stay below the words not yet loaded.
#[inline]
pub fn copy_down(words: &mut [u32], by: usize) {
    if by == 0 || by > words.len() {
        // Nothing moves, or the caller's slice is too short: the portable
        // call's own checks (it panics for `by > len` as copy_within does).
        words.copy_within(by.., 0);
        return;
    }
    let n = words.len() - by;
    let blocks = n / 4;
    copy_down_blocks(words, by, blocks);
    words.copy_within(by + 4 * blocks.., 4 * blocks);
}

/// The first `4 · blocks` words of [`copy_down`] (`4 · blocks + by <=
/// words.len()`, `by > 0`).
#[cfg(sonomask_dsp)]
#[inline(always)]
#[allow(unsafe_code)]
fn copy_down_blocks(words: &mut [u32], by: usize, blocks: usize) {
    if blocks == 0 {
        return;
    }
    assert!(by > 0 && by + 4 * blocks <= words.len());
    let dst = words.as_mut_ptr();
    // SAFETY: the loop runs `blocks >= 1` times; pass `i` loads the words
    // `by + 4i .. by + 4i + 4` and stores them to `4i .. 4i + 4`, all inside
    // `words` (asserted above). A block is loaded before it is stored and
    // stores only reach below the next block's words (`by > 0`), so this is
    // `copy_within`'s result. `dst.add(by)` stays inside `words`. It writes
    // only `words`, the registers it declares and the flags.
    unsafe {
        core::arch::asm!(
            "2:",
            "ldmia {src}!, {{r0, r1, r2, r3}}",
            "stmia {dst}!, {{r0, r1, r2, r3}}",
            "subs {n}, {n}, #1",
            "bne 2b",
            src = inout(reg) dst.add(by) => _,
            dst = inout(reg) dst => _,
            n = inout(reg) blocks => _,
            out("r0") _,
            out("r1") _,
            out("r2") _,
            out("r3") _,
            options(nostack),
        );
    }
}

/// The first `4 · blocks` words of [`copy_down`].
#[cfg(not(sonomask_dsp))]
#[inline(always)]
fn copy_down_blocks(words: &mut [u32], by: usize, blocks: usize) {
    words.copy_within(by..by + 4 * blocks, 0);
}

/// Sets `bytes` to zero: the black of a masked frame, most of the masking
/// stage on the cart. `compiler_builtins`' `memset` stores a word at a
/// time; this stores 32 bytes per two `STM`s.
#[inline]
pub fn zero_bytes(bytes: &mut [u8]) {
    let (head, words, tail) = bytemuck::pod_align_to_mut::<u8, [u32; 8]>(bytes);
    head.fill(0);
    zero_blocks(words);
    tail.fill(0);
}

/// Zeroes 32-byte, word-aligned blocks.
#[cfg(sonomask_dsp)]
#[inline(always)]
#[allow(unsafe_code)]
fn zero_blocks(blocks: &mut [[u32; 8]]) {
    if blocks.is_empty() {
        return;
    }
    // SAFETY: the loop runs `blocks.len() >= 1` times and writes 32 bytes
    // per pass from `blocks.as_mut_ptr()` upwards: exactly the blocks the
    // exclusive borrow covers (word-aligned, as STM needs). It writes
    // only the registers it declares and the flags.
    unsafe {
        core::arch::asm!(
            "2:",
            "stmia {p}!, {{r0, r1, r2, r3}}",
            "stmia {p}!, {{r0, r1, r2, r3}}",
            "subs {n}, {n}, #1",
            "bne 2b",
            p = inout(reg) blocks.as_mut_ptr() => _,
            n = inout(reg) blocks.len() => _,
            in("r0") 0u32,
            in("r1") 0u32,
            in("r2") 0u32,
            in("r3") 0u32,
            options(nostack),
        );
    }
}

/// Zeroes 32-byte, word-aligned blocks.
#[cfg(not(sonomask_dsp))]
#[inline(always)]
fn zero_blocks(blocks: &mut [[u32; 8]]) {
    blocks.fill([0; 8]);
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

/// The plain definition of every public routine above, one element at a
/// time: what the Cortex-M7's assembly must compute, bit for bit. On the
/// host the routines above run portable code shaped like the asm (whole
/// word pairs, an odd first word, the tile loop), so these also check that
/// shaping there; on the cart only the self-test ([`crate::selftest`])
/// calls them, to hold each `asm!` block to its definition on the CPU
/// that runs it.
#[cfg(any(test, feature = "selftest"))]
pub(crate) mod portable {
    /// `acc + lo(a)·lo(b) + hi(a)·hi(b)`, signed halves, wrapping.
    pub fn smlad(a: u32, b: u32, acc: i32) -> i32 {
        let lo = (a as i16 as i32) * (b as i16 as i32);
        let hi = ((a >> 16) as i16 as i32) * ((b >> 16) as i16 as i32);
        acc.wrapping_add(lo).wrapping_add(hi)
    }

    /// `acc + x·w` over the common length, word by word.
    fn dot(x: &[u32], w: impl Iterator<Item = u32>, acc: i32) -> i32 {
        x.iter().zip(w).fold(acc, |a, (&x, w)| smlad(x, w, a))
    }

    /// [`super::dot2x2`]: `n = min(x0, x1, w / 2)` words.
    pub fn dot2x2(x0: &[u32], x1: &[u32], w: &[u32], acc: [i32; 4]) -> [i32; 4] {
        let n = x0.len().min(x1.len()).min(w.len() / 2);
        let lane = |l: usize| w.iter().skip(l).step_by(2).take(n).copied();
        [
            dot(&x0[..n], lane(0), acc[0]),
            dot(&x0[..n], lane(1), acc[1]),
            dot(&x1[..n], lane(0), acc[2]),
            dot(&x1[..n], lane(1), acc[3]),
        ]
    }

    /// [`super::dot1x2`]: `n = min(x0, x1, w)` words.
    pub fn dot1x2(x0: &[u32], x1: &[u32], w: &[u32], acc: [i32; 2]) -> [i32; 2] {
        let n = x0.len().min(x1.len()).min(w.len());
        let w = || w[..n].iter().copied();
        [dot(&x0[..n], w(), acc[0]), dot(&x1[..n], w(), acc[1])]
    }

    /// [`super::dot2x2_tiles`], pixel by pixel.
    pub fn dot2x2_tiles(
        x: &[u32],
        step: usize,
        field: usize,
        w: &[u32],
        bias: [i32; 2],
        out0: &mut [i32],
        out1: &mut [i32],
    ) {
        let tiles = out0.len().min(out1.len()) / 2;
        let need = (2 * tiles)
            .saturating_sub(1)
            .saturating_mul(step)
            .saturating_add(field);
        if tiles == 0 || x.len() < need || w.len() < 2 * field {
            return;
        }
        for j in 0..2 * tiles {
            let px = &x[j * step..][..field];
            let lane = |l: usize| w.iter().skip(l).step_by(2).take(field).copied();
            out0[j] = dot(px, lane(0), bias[0]);
            out1[j] = dot(px, lane(1), bias[1]);
        }
    }

    /// [`super::requant_relu_run`], element by element.
    pub fn requant_relu_run(acc: &[i32], rq: [i32; 4], zp: i32, dst: &mut [i8], stride: usize) {
        let n = acc.len();
        if n == 0 || stride == 0 || dst.len() < (n - 1).saturating_mul(stride).saturating_add(1) {
            return;
        }
        let f = crate::quant::FusedRequant::from_words(rq);
        for (i, &a) in acc.iter().enumerate() {
            dst[i * stride] = (f.apply_relu(a).max(0) + zp).clamp(-128, 127) as i8;
        }
    }

    /// `UXTAB16`: bytes 0 and 2 of `w` added to the 16-bit lanes of `acc`,
    /// each lane mod 2^16.
    pub fn add_bytes02(acc: u32, w: u32) -> u32 {
        let lo = (acc as u16).wrapping_add(w as u8 as u16);
        let hi = ((acc >> 16) as u16).wrapping_add((w >> 16) as u8 as u16);
        u32::from(lo) | u32::from(hi) << 16
    }

    /// `UXTAB16` with `ROR #8`: bytes 1 and 3 of `w`.
    pub fn add_bytes13(acc: u32, w: u32) -> u32 {
        add_bytes02(acc, w.rotate_right(8))
    }

    /// [`super::sum_rows16`], byte by byte (panics where it does: `rows`
    /// shorter than `(n − 1)·stride + 16`).
    pub fn sum_rows16(rows: &[u8], stride: usize, n: usize, mut acc: [u32; 8]) -> [u32; 8] {
        for r in 0..n {
            let px = &rows[r * stride..][..16];
            for (b, &v) in px.iter().enumerate() {
                // Byte b: word 2·(b / 4) + (b % 2), lane (b / 2) % 2.
                let word = 2 * (b / 4) + b % 2;
                let shift = 16 * ((b / 2) % 2);
                acc[word] = acc[word].wrapping_add(u32::from(v) << shift);
            }
        }
        acc
    }

    /// [`super::copy_down`]: `copy_within`.
    pub fn copy_down(words: &mut [u32], by: usize) {
        words.copy_within(by.., 0);
    }

    /// [`super::zero_bytes`]: `fill(0)`.
    pub fn zero_bytes(bytes: &mut [u8]) {
        bytes.fill(0);
    }

    /// [`super::sqrtf`]: libm's, correctly rounded.
    pub fn sqrtf(x: f32) -> f32 {
        libm::sqrtf(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_down_is_copy_within() {
        for len in [0usize, 1, 2, 5, 8, 9, 17, 64, 65] {
            for by in 0..=len {
                let start: [u32; 80] = core::array::from_fn(|i| i as u32 * 7 + 1);
                let (mut a, mut b) = (start, start);
                copy_down(&mut a[..len], by);
                b[..len].copy_within(by.., 0);
                assert_eq!(a, b, "len {len} by {by}");
            }
        }
    }

    #[test]
    fn zero_bytes_clears_exactly_its_slice() {
        let mut buf = [0xA5u8; 200];
        for start in 0..9 {
            for len in [0, 1, 3, 31, 32, 33, 64, 95, 150] {
                buf.fill(0xA5);
                zero_bytes(&mut buf[start..start + len]);
                for (i, &b) in buf.iter().enumerate() {
                    let inside = (start..start + len).contains(&i);
                    assert_eq!(b, if inside { 0 } else { 0xA5 }, "{start}+{len} at {i}");
                }
            }
        }
    }

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
    fn dot2x2_tiles_is_a_run_of_tiles() {
        let mut seed = 5u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            seed
        };
        let x: [u32; 64] = core::array::from_fn(|_| next());
        let w: [u32; 16] = core::array::from_fn(|_| next());
        for field in 1..8 {
            for step in [1, 2, field, 3] {
                for tiles in 0..4 {
                    let bias = [-7, i32::MAX];
                    let mut got0 = [0x5a5a_i32; 8];
                    let mut got1 = [0x5a5a_i32; 8];
                    let (o0, o1) = (&mut got0[..2 * tiles], &mut got1[..2 * tiles]);
                    dot2x2_tiles(&x, step, field, &w[..2 * field], bias, o0, o1);
                    for t in 0..tiles {
                        let x0 = &x[2 * t * step..][..field];
                        let x1 = &x[(2 * t + 1) * step..][..field];
                        let init = [bias[0], bias[1], bias[0], bias[1]];
                        let [a, b, c, d] = dot2x2(x0, x1, &w[..2 * field], init);
                        let at = format_args!("field {field} step {step} tile {t}");
                        assert_eq!(got0[2 * t..][..2], [a, c], "{at}");
                        assert_eq!(got1[2 * t..][..2], [b, d], "{at}");
                    }
                    assert!(got0[2 * tiles..].iter().all(|&v| v == 0x5a5a));
                    assert!(got1[2 * tiles..].iter().all(|&v| v == 0x5a5a));
                }
            }
        }
    }

    #[test]
    fn dot1x2_is_two_dot_products() {
        let mut seed = 11u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            seed
        };
        for n in 0..9 {
            let x0: [u32; 8] = core::array::from_fn(|_| next());
            let x1: [u32; 8] = core::array::from_fn(|_| next());
            let w: [u32; 8] = core::array::from_fn(|_| next());
            let dot = |x: &[u32]| (0..n).fold(0i32, |acc, i| smlad(x[i], w[i], acc));
            let init = [i32::MAX, -3];
            let got = dot1x2(&x0[..n], &x1[..n], &w[..n], init);
            let want = [
                dot(&x0).wrapping_add(init[0]),
                dot(&x1).wrapping_add(init[1]),
            ];
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
    fn row_sums_in_lanes() {
        // 257 rows of 255 fill a lane exactly; a stride with padding.
        let stride = 21;
        let mut rows = [0u8; 256 * 21 + 16];
        for (i, b) in rows.iter_mut().enumerate() {
            *b = if i % stride < 16 {
                (i % stride) as u8 * 17
            } else {
                1
            };
        }
        let got = sum_rows16(&rows, stride, 257, [0; 8]);
        let lane = |b: usize| 257 * (b as u32 * 17);
        for j in 0..4 {
            assert_eq!(got[2 * j], lane(4 * j) | lane(4 * j + 2) << 16);
            assert_eq!(got[2 * j + 1], lane(4 * j + 1) | lane(4 * j + 3) << 16);
        }
        assert_eq!(sum_rows16(&rows, stride, 0, [7; 8]), [7; 8]);
        assert_eq!(sum_rows16(&rows, stride, 1, [1; 8])[0], 1 + (34 << 16));
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
