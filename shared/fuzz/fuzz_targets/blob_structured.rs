//! Structure-aware blob fuzzing: random bytes almost never get past the
//! blob's magic, end marker and CRC (`blob_decode`), so this target builds
//! a model from the fuzzer's input with `arbitrary` (shapes, op kinds,
//! tensor references, grids, requantisers; bulk weights from a seed),
//! writes it with the crate's own unchecked writer (valid trailer, CRC and,
//! if chosen, an ed25519 signature), optionally edits payload bytes and
//! fixes the CRC again, then loads it under a chosen signature policy and,
//! when it loads, runs it with the fast and the reference kernels on a
//! seeded input (`decode_and_run_with`: they must agree, and a loaded
//! model must run).
//!
//! Oracles beyond "no panic": a model that the engine's own validation
//! (`Model::new`) accepts, written with the computed output shape and
//! grid, an arena at least the plan's and no edits, must load, keep its
//! header fields and run; and the checked encoder (`encode_into`) must
//! accept exactly the graphs `Model::new` accepts and write the same bytes.
#![no_main]

use std::cell::RefCell;

use arbitrary::Arbitrary;
use ed25519_dalek::SigningKey;
use libfuzzer_sys::fuzz_target;
use sonomask_core::blob::fuzzing::{
    UncheckedHeader, decode_and_run_with, fix_crc, splitmix64, write_unchecked,
};
use sonomask_core::blob::{
    EncodeError, FORMAT_MAJOR, FORMAT_MINOR, MAX_ARCH_LEN, ModelDesc, SignaturePolicy, encode_into,
};
use sonomask_core::engine::{Add, Concat, Conv2d, MAX_OPS, Model, Op, Shape, TensorId};
use sonomask_core::quant::{AddRequant, QuantParams, Requant};

/// Most ops the generator emits: deep enough for a small U-Net, small
/// enough that a run stays in the milliseconds.
const MAX_GEN_OPS: usize = 12;

/// A grid: mostly a plausible scale (a power of two times 1..2) so models
/// validate; sometimes any float (NaN, 0, negative, subnormal).
#[derive(Arbitrary, Debug, Clone, Copy)]
enum ArbQuant {
    Plausible { exp: i8, frac: u8, zero_point: i8 },
    Raw { scale: f32, zero_point: i8 },
}

impl ArbQuant {
    fn get(self) -> QuantParams {
        match self {
            ArbQuant::Plausible {
                exp,
                frac,
                zero_point,
            } => {
                let e = i32::from(exp.rem_euclid(24)) - 16;
                let scale = 2f32.powi(e) * (1.0 + f32::from(frac) / 256.0);
                QuantParams::new(scale, zero_point)
            }
            ArbQuant::Raw { scale, zero_point } => QuantParams::new(scale, zero_point),
        }
    }
}

/// A requantiser: from a real factor (valid) or any pair.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum ArbRequant {
    Real(f32),
    Raw { multiplier: i32, shift: i8 },
}

impl ArbRequant {
    fn get(self) -> Requant {
        match self {
            ArbRequant::Real(r) => Requant::from_real(f64::from(r).abs()),
            ArbRequant::Raw { multiplier, shift } => Requant { multiplier, shift },
        }
    }
}

/// A tensor reference: mostly `back` tensors before the op's output
/// (0 = the latest tensor), sometimes any id (dangling or forward).
#[derive(Arbitrary, Debug, Clone, Copy)]
enum ArbRef {
    Back(u8),
    Raw(u16),
}

impl ArbRef {
    fn get(self, written: usize) -> TensorId {
        match self {
            ArbRef::Back(b) => (written - 1 - usize::from(b) % written) as TensorId,
            ArbRef::Raw(id) => id,
        }
    }
}

/// How a parameter slice's length is chosen: right, or off by a few.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum ArbLen {
    Right,
    Off(i8),
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum ArbOp {
    Conv {
        input: ArbRef,
        /// `None`: the input tensor's channels (what a valid graph has).
        in_c: Option<u8>,
        out_c: u8,
        /// Through `kernel`: mostly 1 or 3.
        k: u8,
        stride: u8,
        relu: bool,
        output: ArbQuant,
        requant: ArbRequant,
        /// Bias magnitude, as a power of two.
        bias_bits: u8,
        seed: u64,
        len: ArbLen,
    },
    Pool {
        input: ArbRef,
    },
    Up {
        input: ArbRef,
    },
    Concat {
        a: ArbRef,
        b: ArbRef,
        output: ArbQuant,
        /// `None`: the requantisers computed from the grids.
        requant: Option<(ArbRequant, ArbRequant)>,
    },
    Add {
        a: ArbRef,
        b: ArbRef,
        output: ArbQuant,
        relu: bool,
        requant: Option<(ArbRequant, ArbRequant, ArbRequant)>,
    },
}

/// What the header declares beyond the ops.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum ArbDecl {
    /// Output shape and grid as computed, the plan's arena plus `extra`.
    Computed { extra: u16 },
    /// Any output shape, grid and arena.
    Raw {
        output_shape: (u16, u16, u16),
        output_quant: ArbQuant,
        arena: u32,
    },
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum ArbPolicy {
    Optional,
    VerifyIfSigned,
    Required,
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Input channels, rows, columns (reduced to 1..=4, 1..=24, 1..=24).
    shape: (u8, u8, u8),
    input_quant: ArbQuant,
    ops: Vec<ArbOp>,
    decl: ArbDecl,
    /// Versions: `None` for this crate's.
    version: Option<(u16, u16)>,
    arch_len: u8,
    signed: bool,
    policy: ArbPolicy,
    /// Payload bytes to change after writing (offset, xor), CRC fixed after.
    edits: Vec<(u16, u8)>,
    input_seed: Option<u64>,
}

/// Owned parameter bytes of one convolution.
struct Params {
    weights: Vec<u8>,
    bias: Vec<u8>,
    multiplier: Vec<u8>,
    shift: Vec<u8>,
}

fn resize(n: usize, len: ArbLen) -> usize {
    match len {
        ArbLen::Right => n,
        ArbLen::Off(d) => n.saturating_add_signed(isize::from(d % 5)),
    }
}

fn conv_params(
    in_c: u16,
    out_c: u16,
    k: u8,
    requant: ArbRequant,
    bias_bits: u8,
    mut seed: u64,
    len: ArbLen,
) -> Params {
    let (in_c, out_c, k) = (usize::from(in_c), usize::from(out_c), usize::from(k));
    let weights = (0..resize(out_c * k * k * in_c, len))
        .map(|_| splitmix64(&mut seed) as u8)
        .collect();
    let bits = u32::from(bias_bits % 32);
    let bias: Vec<u8> = (0..out_c)
        .flat_map(|_| {
            let b = (splitmix64(&mut seed) as i64 >> (63 - bits)) as i32;
            b.to_le_bytes()
        })
        .collect();
    let base = requant.get();
    let (mut multiplier, mut shift) = (Vec::new(), Vec::new());
    for _ in 0..out_c {
        // Per-channel jitter in the low bits keeps the multipliers distinct
        // without leaving the valid range for a valid base.
        let jitter = (splitmix64(&mut seed) % 1024) as i32;
        let m = if base.multiplier > 1024 {
            base.multiplier - jitter
        } else {
            base.multiplier
        };
        multiplier.extend_from_slice(&m.to_le_bytes());
        shift.push(base.shift as u8);
    }
    Params {
        weights,
        bias: bias[..resize(bias.len(), len).min(bias.len())].to_vec(),
        multiplier,
        shift,
    }
}

/// Kernel side: 0 and 1 give the supported 1 and 3, anything else an
/// unsupported side below 8 (small, so its parameters stay small).
fn kernel(k: u8) -> u8 {
    match k {
        0 | 1 => 1 + 2 * k,
        other => other % 8,
    }
}

/// The shapes and grids of every tensor of `ops` so far, by the engine's
/// own validation (`None` past the first invalid op).
fn tensors(input: Shape, q: QuantParams, ops: &[Op<'_>]) -> Option<Vec<(Shape, QuantParams)>> {
    if ops.is_empty() {
        return Some(vec![(input, q)]);
    }
    let m = Model::new(input, q, ops).ok()?;
    Some(m.tensors().iter().map(|t| (t.shape, t.quant)).collect())
}

/// Arena, engine input/output, the unchecked blob, the checked blob.
type Buffers = (Vec<u8>, Vec<i8>, Vec<u8>, Vec<u8>);

thread_local! {
    /// Allocated once per fuzzing thread.
    static BUFFERS: RefCell<Buffers> = RefCell::new((
        vec![0u8; 1 << 20],
        vec![0i8; 1 << 18],
        vec![0u8; 1 << 20],
        vec![0u8; 1 << 20],
    ));
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[0x5a; 32])
}

fn one(input: Input) {
    let (c, h, w) = input.shape;
    let in_shape = Shape::new(
        1 + u16::from(c % 4),
        1 + u16::from(h % 24),
        1 + u16::from(w % 24),
    );
    let in_quant = input.input_quant.get();

    // Build the ops one at a time, asking validation for the shapes so far
    // so that references, channel counts and grids are mostly consistent.
    let mut params: Vec<Params> = Vec::new();
    let mut shapes: Vec<(Shape, QuantParams)> = vec![(in_shape, in_quant)];
    let arb_ops: Vec<ArbOp> = input.ops.iter().take(MAX_GEN_OPS).copied().collect();
    // First pass: parameters (owned), so the ops can borrow them after.
    let mut plans: Vec<(ArbOp, TensorId, TensorId, u16)> = Vec::new();
    for op in &arb_ops {
        let written = shapes.len();
        let at = |r: ArbRef| r.get(written);
        let lookup = |id: TensorId| shapes.get(usize::from(id)).copied();
        let (a, b, in_c) = match *op {
            ArbOp::Conv {
                input: r,
                in_c,
                out_c,
                k,
                requant,
                bias_bits,
                seed,
                len,
                ..
            } => {
                let id = at(r);
                let in_c = match in_c {
                    Some(n) => u16::from(n % 9),
                    None => lookup(id).map_or(1, |t| t.0.c),
                };
                let k = kernel(k);
                let out_c = u16::from(out_c % 8);
                params.push(conv_params(in_c, out_c, k, requant, bias_bits, seed, len));
                (id, 0, in_c)
            }
            ArbOp::Pool { input: r } | ArbOp::Up { input: r } => (at(r), 0, 0),
            ArbOp::Concat { a, b, .. } | ArbOp::Add { a, b, .. } => (at(a), at(b), 0),
        };
        plans.push((*op, a, b, in_c));
        // Shapes after this op, for the next op's references: rebuild the
        // op list so far (cheap: at most MAX_GEN_OPS ops).
        let ops = build_ops(&plans, &params, &shapes);
        match tensors(in_shape, in_quant, &ops) {
            Some(t) => shapes = t,
            // Invalid so far: later references see a plausible stand-in.
            None => shapes.push(shapes[shapes.len() - 1]),
        }
    }
    let ops = build_ops(&plans, &params, &shapes);
    debug_assert!(ops.len() <= MAX_OPS);

    let arch_bytes = [b'a'; 40];
    let arch = core::str::from_utf8(&arch_bytes[..usize::from(input.arch_len % 40)]).unwrap();
    let valid = Model::new(in_shape, in_quant, &ops);
    let (output_shape, output_quant, arena_bytes, consistent) = match (input.decl, &valid) {
        (ArbDecl::Computed { extra }, Ok(m)) => (
            m.output_shape(),
            m.output_quant(),
            u32::try_from(m.arena_bytes())
                .unwrap_or(u32::MAX)
                .saturating_add(u32::from(extra)),
            true,
        ),
        (ArbDecl::Computed { extra }, Err(_)) => (in_shape, in_quant, u32::from(extra), false),
        (
            ArbDecl::Raw {
                output_shape: (c, h, w),
                output_quant,
                arena,
            },
            _,
        ) => (Shape::new(c, h, w), output_quant.get(), arena, false),
    };
    let (format_major, format_minor) = input.version.unwrap_or((FORMAT_MAJOR, FORMAT_MINOR));
    let header = UncheckedHeader {
        format_major,
        format_minor,
        arch,
        input_shape: in_shape,
        output_shape,
        input_quant: in_quant,
        output_quant,
        arena_bytes,
        provenance: [0x11; 32],
        ops: &ops,
    };
    let k = key();
    let vk = k.verifying_key();
    let policy = match input.policy {
        ArbPolicy::Optional => SignaturePolicy::Optional,
        ArbPolicy::VerifyIfSigned => SignaturePolicy::VerifyIfSigned(&vk),
        ArbPolicy::Required => SignaturePolicy::Required(&vk),
    };

    BUFFERS.with(|b| {
        let (arena, io, blob, checked) = &mut *b.borrow_mut();
        let Ok(n) = write_unchecked(&header, input.signed.then_some(&k), blob) else {
            return;
        };
        let blob = &mut blob[..n];

        // The checked encoder agrees with validation, byte for byte.
        if matches!(input.decl, ArbDecl::Computed { extra: 0 }) && !input.signed {
            let desc = ModelDesc {
                arch,
                input_shape: in_shape,
                input_quant: in_quant,
                provenance: [0x11; 32],
                arena_bytes: None,
                ops: &ops,
            };
            match (encode_into(&desc, checked), &valid) {
                (Ok(m), Ok(_)) if input.version.is_none() => {
                    assert_eq!(
                        &checked[..m],
                        &blob[..],
                        "checked and unchecked writers differ"
                    )
                }
                (Ok(_), Ok(_)) => {}
                (Err(EncodeError::BadArch), Ok(_)) if arch.len() > MAX_ARCH_LEN => {}
                (Err(e), Ok(_)) => panic!("encode_into refuses a valid graph: {e:?}"),
                (Ok(_), Err(e)) => panic!("encode_into accepts an invalid graph ({e:?})"),
                (Err(_), Err(_)) => {}
            }
        }

        let payload_end = n - 9 - if input.signed { 64 } else { 0 };
        let mut edited = false;
        for &(at, x) in input.edits.iter().take(8) {
            let at = usize::from(at);
            if at < payload_end && x != 0 {
                blob[at] ^= x;
                edited = true;
            }
        }
        if edited {
            fix_crc(blob);
        }
        let loaded = decode_and_run_with(blob, policy, input.input_seed, arena, io);

        let policy_ok = input.signed || !matches!(input.policy, ArbPolicy::Required);
        let fine = consistent && !edited && input.version.is_none() && arch.len() <= MAX_ARCH_LEN;
        if fine && policy_ok && valid.is_ok() {
            assert!(loaded, "a valid model, written consistently, does not load");
            let m = Model::from_bytes(blob, policy).unwrap();
            assert_eq!(m.ops(), &ops[..]);
            assert_eq!(m.info().arch, arch);
            assert_eq!(m.info().declared_arena_bytes, arena_bytes);
        }
    });
}

/// The ops of `plans`, borrowing the parameters in `params` (one per
/// convolution, in order); grids of concat and add inputs from `shapes`.
fn build_ops<'p>(
    plans: &[(ArbOp, TensorId, TensorId, u16)],
    params: &'p [Params],
    shapes: &[(Shape, QuantParams)],
) -> Vec<Op<'p>> {
    let grid = |id: TensorId| {
        shapes
            .get(usize::from(id))
            .map_or(QuantParams::new(1.0, 0), |t| t.1)
    };
    let mut convs = params.iter();
    let mut ops = Vec::with_capacity(plans.len());
    for &(op, a, b, in_c) in plans {
        ops.push(match op {
            ArbOp::Conv {
                out_c,
                k,
                stride,
                relu,
                output,
                ..
            } => {
                let Some(p) = convs.next() else { break };
                Op::Conv2d(Conv2d {
                    input: a,
                    in_c,
                    out_c: u16::from(out_c % 8),
                    k: kernel(k),
                    stride: match stride {
                        0 | 1 => 1 + stride,
                        other => other,
                    },
                    relu,
                    output: output.get(),
                    weights: &p.weights,
                    bias: &p.bias,
                    multiplier: &p.multiplier,
                    shift: &p.shift,
                })
            }
            ArbOp::Pool { .. } => Op::MaxPool2x2 { input: a },
            ArbOp::Up { .. } => Op::Upsample2x { input: a },
            ArbOp::Concat {
                output, requant, ..
            } => {
                let out = output.get();
                let mut c = Concat::new(a, grid(a), b, grid(b), out);
                if let Some((ra, rb)) = requant {
                    c.a_requant = ra.get();
                    c.b_requant = rb.get();
                }
                Op::Concat(c)
            }
            ArbOp::Add {
                output,
                relu,
                requant,
                ..
            } => {
                let out = output.get();
                let mut rq = AddRequant::new(grid(a), grid(b), out);
                if let Some((ra, rb, ro)) = requant {
                    rq = AddRequant {
                        a: ra.get(),
                        b: rb.get(),
                        out: ro.get(),
                    };
                }
                Op::Add(Add {
                    a,
                    b,
                    output: out,
                    requant: rq,
                    relu,
                })
            }
        });
    }
    ops
}

fuzz_target!(|input: Input| one(input));
