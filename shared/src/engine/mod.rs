//! The int8 inference engine: the graph description ([`Op`]), its
//! validation into a [`Model`] (shapes, parameters, arena plan), and
//! [`run`], which executes a model in a caller-provided arena.
//!
//! One engine, two homes (ARCHITECTURE.md, key decision 1): the host's
//! evaluation and batch masking and the cart's firmware call this very code,
//! so their outputs are identical bit for bit. Layers, as in tract: data
//! ([`crate::quant`]), kernels (`kernels`), graph and planning (this module
//! and `plan`); the file format ([`crate::blob`]) depends on them, never
//! the reverse. The kernels and the arena planner are crate-private: the
//! graph ([`Op`], [`Model`]) and [`run`] are the interface.
//!
//! Tensors are int8, HWC with `N = 1` (see `kernels` for why); tensor 0 is
//! the input, op `i` writes tensor `i + 1`, the last op's output is the
//! logits. No allocation, no panics on any input: every defect is an error.

pub(crate) mod kernels;
pub(crate) mod plan;

use core::ops::Range;

use serde::{Deserialize, Serialize};

use crate::quant::{self, AddRequant, QuantParams, Requant};
use kernels::{AddParams, ConcatInput, ConvGeom, ConvParams};
use plan::Plan;

/// Most ops a model may have (a 3-level U-Net has about 20). Bounds the
/// [`Model`]'s size (a few KiB; the firmware keeps it in a `static`).
pub const MAX_OPS: usize = 64;
/// Most tensors: the input plus one per op.
pub const MAX_TENSORS: usize = MAX_OPS + 1;

/// Index of a tensor: 0 is the input, op `i` writes `i + 1`.
pub type TensorId = u16;

/// Channels × height × width of an HWC tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// Channels (innermost in memory).
    pub c: u16,
    /// Height in pixels (rows).
    pub h: u16,
    /// Width in pixels (columns).
    pub w: u16,
}

impl Shape {
    /// `c` channels of `h` rows by `w` columns.
    pub const fn new(c: u16, h: u16, w: u16) -> Self {
        Self { c, h, w }
    }

    /// Number of elements (= bytes), in `u64` so it cannot overflow.
    pub const fn numel(self) -> u64 {
        self.c as u64 * self.h as u64 * self.w as u64
    }
}

/// A 2-D convolution, `k × k` (1 or 3), stride 1 or 2, "same" padding with
/// the input zero point (`(k - 1) / 2` before, the rest after, as PyTorch's
/// `padding = k / 2`; output side `ceil(in / stride)`), optional
/// fused ReLU, per-output-channel int8 weights and requantisation.
///
/// The parameters are little-endian bytes borrowed from the blob (flash on
/// the cart): no copy, no alignment requirement, no unsafe casts. Lengths:
/// `weights` = `out_c * k * k * in_c` (OHWI, `i8`), `bias` and `multiplier`
/// = `4 * out_c` (`i32` LE), `shift` = `out_c` (`i8`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conv2d<'a> {
    /// The tensor it reads.
    pub input: TensorId,
    /// Input channels; must equal the input tensor's.
    pub in_c: u16,
    /// Output channels (filters), > 0.
    pub out_c: u16,
    /// Kernel side: 1 or 3.
    pub k: u8,
    /// Stride in both directions: 1 or 2.
    pub stride: u8,
    /// Fused ReLU: the output is clamped at its zero point (real 0).
    pub relu: bool,
    /// Quantisation of the output tensor.
    pub output: QuantParams,
    /// `i8` weights, OHWI (`[out_c][k][k][in_c]`), symmetric per output
    /// channel (zero point 0).
    pub weights: &'a [u8],
    /// `i32` LE per output channel, on the scale `in_scale * w_scale[oc]`.
    pub bias: &'a [u8],
    /// `i32` LE Q31 multiplier per output channel (see [`Requant`]).
    pub multiplier: &'a [u8],
    /// `i8` power-of-two shift per output channel (see [`Requant`]).
    pub shift: &'a [u8],
}

impl Conv2d<'_> {
    /// Bias of output channel `oc` (0 past the end).
    pub fn bias(&self, oc: usize) -> i32 {
        kernels::le_i32(self.bias, oc)
    }

    /// Requantiser of output channel `oc`.
    pub fn requant(&self, oc: usize) -> Requant {
        Requant {
            multiplier: kernels::le_i32(self.multiplier, oc),
            shift: self.shift.get(oc).map_or(0, |&s| s as i8),
        }
    }

    /// Weight `[oc][ky][kx][ic]` (0 past the end).
    pub fn weight(&self, oc: usize, ky: usize, kx: usize, ic: usize) -> i8 {
        let (k, in_c) = (self.k as usize, self.in_c as usize);
        let i = ((oc * k + ky) * k + kx) * in_c + ic;
        self.weights.get(i).map_or(0, |&w| w as i8)
    }

    fn params(&self, in_zp: i8) -> ConvParams<'_> {
        ConvParams {
            weights: self.weights,
            bias: self.bias,
            multiplier: self.multiplier,
            shift: self.shift,
            in_zp,
            out_zp: self.output.zero_point,
            relu: self.relu,
        }
    }
}

/// Channel concat `[a, b]` of two tensors of the same height and width.
/// An input whose grid differs from `output` is requantised with its
/// `Requant` (`input.scale / output.scale`, see [`Concat::new`]); one on the
/// same grid is copied and its `Requant` ignored.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Concat {
    /// The first input: its channels come first in the output.
    pub a: TensorId,
    /// The second input: its channels follow `a`'s.
    pub b: TensorId,
    /// Quantisation of the output tensor.
    pub output: QuantParams,
    /// `a.scale / output.scale`, used only when `a`'s grid differs.
    pub a_requant: Requant,
    /// `b.scale / output.scale`, used only when `b`'s grid differs.
    pub b_requant: Requant,
}

impl Concat {
    /// A concat with the requantisers computed from the three grids.
    pub fn new(
        a: TensorId,
        a_quant: QuantParams,
        b: TensorId,
        b_quant: QuantParams,
        output: QuantParams,
    ) -> Self {
        Self {
            a,
            b,
            output,
            a_requant: Requant::from_real(a_quant.scale as f64 / output.scale as f64),
            b_requant: Requant::from_real(b_quant.scale as f64 / output.scale as f64),
        }
    }
}

/// Element-wise `a + b` of two same-shape tensors with TFLite's int8 add
/// requantisation ([`AddRequant`]), optional fused ReLU.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Add {
    /// The first summand (may be the same tensor as `b`).
    pub a: TensorId,
    /// The second summand, of the same shape as `a`.
    pub b: TensorId,
    /// Quantisation of the output tensor.
    pub output: QuantParams,
    /// The inputs' and the sum's requantisers ([`AddRequant::new`]).
    pub requant: AddRequant,
    /// Fused ReLU: the output is clamped at its zero point (real 0).
    pub relu: bool,
}

/// One step of the graph. Each reads one or two earlier tensors and writes
/// the next tensor id. Pooling and upsampling keep their input's grid (as
/// in TFLite), the others carry their output's.
///
/// Wire format (see [`crate::blob`]): postcard writes the variant index
/// (`Conv2d` = 0 … `Add` = 4) and then the fields in declaration order, so
/// variants may only be appended and fields of [`Conv2d`], [`Concat`],
/// [`Add`], [`Shape`], [`QuantParams`] and [`Requant`] never reordered
/// without a new major format version.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Op<'a> {
    /// A 2-D convolution ([`Conv2d`]).
    Conv2d(#[serde(borrow)] Conv2d<'a>),
    /// 2×2 max pooling, stride 2; an odd last row or column is dropped.
    MaxPool2x2 {
        /// The tensor it pools.
        input: TensorId,
    },
    /// Nearest-neighbour 2× upsampling.
    Upsample2x {
        /// The tensor it upsamples.
        input: TensorId,
    },
    /// A channel concat ([`Concat`]).
    Concat(Concat),
    /// An element-wise sum ([`Add`]).
    Add(Add),
}

impl Op<'_> {
    /// The tensors it reads.
    pub fn inputs(&self) -> (TensorId, Option<TensorId>) {
        match self {
            Op::Conv2d(c) => (c.input, None),
            Op::MaxPool2x2 { input } | Op::Upsample2x { input } => (*input, None),
            Op::Concat(c) => (c.a, Some(c.b)),
            Op::Add(a) => (a.a, Some(a.b)),
        }
    }
}

/// Shape and grid of one tensor, as validation computed them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TensorInfo {
    /// Channels, height and width.
    pub shape: Shape,
    /// The grid its int8 values are on.
    pub quant: QuantParams,
}

/// Why an op list does not describe a model the engine can run.
/// Serialisable for the wire protocol; variants may only be appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum GraphError {
    /// No ops, or more than [`MAX_OPS`].
    TooManyOps,
    /// An op reads a tensor that is not written before it.
    BadTensorRef,
    /// Shapes disagree: a convolution's `in_c` is not its input's channel
    /// count, concat inputs differ in height or width, add inputs in shape.
    ShapeMismatch,
    /// A tensor has a zero dimension (the input, an `out_c` of 0, or max
    /// pooling of a side of 1).
    EmptyTensor,
    /// A kernel size other than 1 or 3, or a stride other than 1 or 2.
    Unsupported,
    /// A parameter slice has the wrong length, a requantiser is out of
    /// range, or a scale is not finite and positive.
    BadParameter,
    /// A size does not fit in `u32` (tensor, scratch or arena).
    TooLarge,
}

impl core::fmt::Display for GraphError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            GraphError::TooManyOps => "model has no ops or too many ops",
            GraphError::BadTensorRef => "op reads a tensor that is not written before it",
            GraphError::ShapeMismatch => "tensor shapes do not fit together",
            GraphError::EmptyTensor => "tensor has a zero dimension",
            GraphError::Unsupported => "unsupported kernel size or stride",
            GraphError::BadParameter => "op parameter has the wrong length or is out of range",
            GraphError::TooLarge => "tensor, scratch or arena size overflows u32",
        })
    }
}

impl core::error::Error for GraphError {}

/// Why [`run`] (or, inside this crate, a kernel called directly) refused
/// to compute.
/// Serialisable for the wire protocol; variants may only be appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EngineError {
    /// The input slice is not `C × H × W` of the model's input.
    InputLength,
    /// The output slice is not `C × H × W` of the model's output.
    OutputLength,
    /// The arena is shorter than [`Model::arena_bytes`].
    ArenaTooSmall,
    /// A convolution's scratch is shorter than the kernel needs (the plan
    /// reserves enough, so only from direct kernel calls).
    ScratchTooSmall,
    /// A kernel's buffers or geometry disagree (only from direct kernel calls).
    BadGeometry,
    /// The plan does not fit the model: a bug in the engine, never the input.
    Internal,
}

impl core::fmt::Display for EngineError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            EngineError::InputLength => "input length does not match the model input",
            EngineError::OutputLength => "output length does not match the model output",
            EngineError::ArenaTooSmall => "arena smaller than the model's plan",
            EngineError::ScratchTooSmall => "kernel scratch buffer too small",
            EngineError::BadGeometry => "kernel buffers do not match its geometry",
            EngineError::Internal => "internal error: plan inconsistent with model",
        })
    }
}

impl core::error::Error for EngineError {}

/// Whether and how a loaded model's signature was checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SignatureStatus {
    /// The blob carries no signature (or the model was built in code).
    #[default]
    Unsigned,
    /// Signed, but the policy asked for no check.
    NotVerified,
    /// Signed and verified against the policy's key.
    Verified,
}

/// Where a model came from, as its blob says. For a model built in code
/// with [`Model::new`]: empty arch, version 0.0, zero provenance, the
/// plan's arena, unsigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ModelInfo<'a> {
    /// Architecture name, e.g. `"unet3-8"`.
    pub arch: &'a str,
    /// Blob format major version (see [`crate::blob::FORMAT_MAJOR`]).
    pub format_major: u16,
    /// Blob format minor version (see [`crate::blob::FORMAT_MINOR`]).
    pub format_minor: u16,
    /// Hash of the training configuration (opaque here).
    pub provenance: [u8; 32],
    /// Arena size the blob declares (>= the plan's).
    pub declared_arena_bytes: u32,
    /// Whether the blob was signed and its signature checked on load.
    pub signature: SignatureStatus,
}

/// A validated, planned model: ready to [`run`]. Borrows its parameters
/// from the bytes it was loaded from (`'a`).
#[derive(Clone, Debug)]
pub struct Model<'a> {
    ops: heapless::Vec<Op<'a>, MAX_OPS>,
    tensors: heapless::Vec<TensorInfo, MAX_TENSORS>,
    plan: Plan,
    input_lut: [i8; 256],
    probability_lut: [u8; 256],
    pub(crate) info: ModelInfo<'a>,
}

impl<'a> Model<'a> {
    /// Validates `ops` on an input of `input_shape` quantised with
    /// `input_quant` and plans its arena. For the host (evaluate a quantised
    /// graph before writing it) and for tests; the cart uses
    /// [`Model::from_bytes`].
    pub fn new(
        input_shape: Shape,
        input_quant: QuantParams,
        ops: &[Op<'a>],
    ) -> Result<Self, GraphError> {
        let ops = heapless::Vec::from_slice(ops).map_err(|_| GraphError::TooManyOps)?;
        Self::from_ops(input_shape, input_quant, ops)
    }

    pub(crate) fn from_ops(
        input_shape: Shape,
        input_quant: QuantParams,
        ops: heapless::Vec<Op<'a>, MAX_OPS>,
    ) -> Result<Self, GraphError> {
        let input = TensorInfo {
            shape: input_shape,
            quant: input_quant,
        };
        let tensors = infer(input, &ops)?;
        let plan = Plan::new(&tensors, &ops)?;
        let info = ModelInfo {
            declared_arena_bytes: plan.arena_bytes(),
            ..ModelInfo::default()
        };
        let output_quant = tensors.last().map_or(input_quant, |t| t.quant);
        Ok(Self {
            ops,
            tensors,
            plan,
            input_lut: quant::input_lut(input_quant),
            probability_lut: quant::probability_lut(output_quant),
            info,
        })
    }

    /// The graph, in execution order (op `i` writes tensor `i + 1`).
    pub fn ops(&self) -> &[Op<'a>] {
        &self.ops
    }

    /// Shape and grid of every tensor, input first, logits last.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// Where each intermediate tensor and scratch block lives in the arena.
    pub(crate) fn plan(&self) -> &Plan {
        &self.plan
    }

    /// What the blob says about the model (name, versions, provenance,
    /// declared arena, signature).
    pub fn info(&self) -> &ModelInfo<'a> {
        &self.info
    }

    /// Shape of the network's input (tensor 0).
    pub fn input_shape(&self) -> Shape {
        self.tensors[0].shape
    }

    /// Grid of the network's input: what [`Model::quantize_input_u8`]
    /// quantises luma onto.
    pub fn input_quant(&self) -> QuantParams {
        self.tensors[0].quant
    }

    fn output_info(&self) -> TensorInfo {
        // Non-empty: from_ops validated at least one op.
        self.tensors.last().copied().unwrap_or(self.tensors[0])
    }

    /// Shape of the logits (the last op's output).
    pub fn output_shape(&self) -> Shape {
        self.output_info().shape
    }

    /// Grid of the logits: `logit = scale * (q - zero_point)`, so
    /// probability >= 0.5 ⇔ logit >= 0 ⇔ `q >= zero_point`.
    pub fn output_quant(&self) -> QuantParams {
        self.output_info().quant
    }

    /// Bytes of arena [`run`] needs (the plan's figure; the blob may
    /// declare more, see [`ModelInfo::declared_arena_bytes`]).
    pub fn arena_bytes(&self) -> usize {
        self.plan.arena_bytes() as usize
    }

    /// Bytes of input [`run`] expects: `c * h * w` of
    /// [`Model::input_shape`].
    pub fn input_len(&self) -> usize {
        self.input_shape().numel() as usize
    }

    /// Bytes of logits [`run`] writes: `c * h * w` of
    /// [`Model::output_shape`].
    pub fn output_len(&self) -> usize {
        self.output_shape().numel() as usize
    }

    /// Converts 8-bit luma (the thumbnail, row-major, = HWC with one
    /// channel) to the network's input: `real = luma / 255`, quantised
    /// with [`Model::input_quant`] through a table built at load time.
    pub fn quantize_input_u8(&self, luma: &[u8], out: &mut [i8]) -> Result<(), EngineError> {
        if luma.len() != self.input_len() || out.len() != luma.len() {
            return Err(EngineError::InputLength);
        }
        for (o, &l) in out.iter_mut().zip(luma) {
            *o = self.input_lut[l as usize];
        }
        Ok(())
    }

    /// One 8-bit luma value as the network's input (`real = luma / 255`
    /// on [`Model::input_quant`]), through the load-time table.
    #[inline]
    pub fn quantize_luma(&self, luma: u8) -> i8 {
        self.input_lut[luma as usize]
    }

    /// Logits to an 8-bit probability map for the fan fit (threshold 128 ⇔
    /// probability 0.5, exactly: the value is `>= 128` iff `q >=
    /// zero_point`, whatever the rounding of `expf` near 0), through a
    /// table built at load time.
    pub fn logits_to_probability_u8(
        &self,
        logits: &[i8],
        out: &mut [u8],
    ) -> Result<(), EngineError> {
        if logits.len() != self.output_len() || out.len() != logits.len() {
            return Err(EngineError::OutputLength);
        }
        for (o, &q) in out.iter_mut().zip(logits) {
            *o = self.probability_lut[(q as i32 + 128) as usize];
        }
        Ok(())
    }
}

/// Converts 8-bit luma to int8 with `q`, `real = luma / 255` (the free form
/// of [`Model::quantize_input_u8`], for callers without a model at hand).
pub fn quantize_input_u8(luma: &[u8], q: QuantParams, out: &mut [i8]) -> Result<(), EngineError> {
    if out.len() != luma.len() {
        return Err(EngineError::InputLength);
    }
    let lut = quant::input_lut(q);
    for (o, &l) in out.iter_mut().zip(luma) {
        *o = lut[l as usize];
    }
    Ok(())
}

pub(crate) fn conv_geom(conv: &Conv2d<'_>, input: Shape) -> ConvGeom {
    ConvGeom {
        in_c: input.c as usize,
        in_h: input.h as usize,
        in_w: input.w as usize,
        out_c: conv.out_c as usize,
        k: conv.k as usize,
        stride: conv.stride as usize,
    }
}

fn shape_of(c: u64, h: u64, w: u64) -> Result<Shape, GraphError> {
    if c == 0 || h == 0 || w == 0 {
        return Err(GraphError::EmptyTensor);
    }
    let fit = |v: u64| u16::try_from(v).map_err(|_| GraphError::TooLarge);
    let shape = Shape::new(fit(c)?, fit(h)?, fit(w)?);
    if shape.numel() > u32::MAX as u64 {
        return Err(GraphError::TooLarge);
    }
    Ok(shape)
}

fn valid_quant(q: QuantParams) -> Result<QuantParams, GraphError> {
    if q.is_valid() {
        Ok(q)
    } else {
        Err(GraphError::BadParameter)
    }
}

/// Shapes and grids of all tensors, checking every op on the way.
fn infer(
    input: TensorInfo,
    ops: &[Op<'_>],
) -> Result<heapless::Vec<TensorInfo, MAX_TENSORS>, GraphError> {
    if ops.is_empty() || ops.len() > MAX_OPS {
        return Err(GraphError::TooManyOps);
    }
    let s = input.shape;
    shape_of(s.c as u64, s.h as u64, s.w as u64)?;
    valid_quant(input.quant)?;
    let mut tensors: heapless::Vec<TensorInfo, MAX_TENSORS> = heapless::Vec::new();
    tensors.push(input).map_err(|_| GraphError::TooManyOps)?;
    for op in ops {
        let get = |id: TensorId| {
            tensors
                .get(id as usize)
                .copied()
                .ok_or(GraphError::BadTensorRef)
        };
        let out = match op {
            Op::Conv2d(conv) => {
                let inp = get(conv.input)?;
                if !matches!(conv.k, 1 | 3) || !matches!(conv.stride, 1 | 2) {
                    return Err(GraphError::Unsupported);
                }
                if conv.in_c != inp.shape.c {
                    return Err(GraphError::ShapeMismatch);
                }
                if conv.out_c == 0 {
                    return Err(GraphError::EmptyTensor);
                }
                let g = conv_geom(conv, inp.shape);
                let out_c = conv.out_c as usize;
                let weights = out_c as u64 * (g.k * g.k) as u64 * g.in_c as u64;
                if conv.weights.len() as u64 != weights
                    || conv.bias.len() != 4 * out_c
                    || conv.multiplier.len() != 4 * out_c
                    || conv.shift.len() != out_c
                    || !(0..out_c).all(|oc| conv.requant(oc).is_valid())
                {
                    return Err(GraphError::BadParameter);
                }
                TensorInfo {
                    shape: shape_of(out_c as u64, g.out_h() as u64, g.out_w() as u64)?,
                    quant: valid_quant(conv.output)?,
                }
            }
            Op::MaxPool2x2 { input } => {
                let inp = get(*input)?;
                let s = inp.shape;
                TensorInfo {
                    shape: shape_of(s.c as u64, s.h as u64 / 2, s.w as u64 / 2)?,
                    quant: inp.quant,
                }
            }
            Op::Upsample2x { input } => {
                let inp = get(*input)?;
                let s = inp.shape;
                TensorInfo {
                    shape: shape_of(s.c as u64, 2 * s.h as u64, 2 * s.w as u64)?,
                    quant: inp.quant,
                }
            }
            Op::Concat(c) => {
                let (a, b) = (get(c.a)?, get(c.b)?);
                if (a.shape.h, a.shape.w) != (b.shape.h, b.shape.w) {
                    return Err(GraphError::ShapeMismatch);
                }
                if !c.a_requant.is_valid() || !c.b_requant.is_valid() {
                    return Err(GraphError::BadParameter);
                }
                let channels = a.shape.c as u64 + b.shape.c as u64;
                TensorInfo {
                    shape: shape_of(channels, a.shape.h as u64, a.shape.w as u64)?,
                    quant: valid_quant(c.output)?,
                }
            }
            Op::Add(add) => {
                let (a, b) = (get(add.a)?, get(add.b)?);
                if a.shape != b.shape {
                    return Err(GraphError::ShapeMismatch);
                }
                if !add.requant.is_valid() {
                    return Err(GraphError::BadParameter);
                }
                TensorInfo {
                    shape: a.shape,
                    quant: valid_quant(add.output)?,
                }
            }
        };
        tensors.push(out).map_err(|_| GraphError::TooManyOps)?;
    }
    Ok(tensors)
}

/// Runs `model` on `input` (int8, HWC, [`Model::input_len`] bytes — see
/// [`Model::quantize_input_u8`]) and writes the int8 logits to `output`
/// ([`Model::output_len`] bytes, grid [`Model::output_quant`]). `arena`
/// (any alignment, at least [`Model::arena_bytes`]) holds every
/// intermediate tensor and scratch; nothing is allocated, and a wrong
/// length is an error, never a panic. Deterministic: the same model and
/// input give the same bytes on every machine.
pub fn run(
    model: &Model<'_>,
    input: &[i8],
    arena: &mut [u8],
    output: &mut [i8],
) -> Result<(), EngineError> {
    execute(model, input, arena, output, Kernels::Fast)
}

/// [`run`] with the crate's reference kernels (naive loops, the
/// specification the fast ones are tested against): slow and obviously
/// right; for tests and for checking a new platform. Same arena size.
pub fn run_reference(
    model: &Model<'_>,
    input: &[i8],
    arena: &mut [u8],
    output: &mut [i8],
) -> Result<(), EngineError> {
    execute(model, input, arena, output, Kernels::Reference)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kernels {
    Fast,
    Reference,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tag {
    Out,
    Scratch,
    A,
    B,
}

#[derive(Default)]
struct Pieces<'s> {
    out: Option<&'s mut [i8]>,
    scratch: Option<&'s mut [i8]>,
    a: Option<&'s [i8]>,
    b: Option<&'s [i8]>,
}

/// Splits the arena into the disjoint ranges one op needs, mutable for its
/// output and scratch, shared for its inputs (the plan guarantees they do
/// not overlap; if they did, this is an error, not aliasing).
fn carve<'s>(
    arena: &'s mut [i8],
    want: &mut heapless::Vec<(Range<usize>, Tag), 4>,
) -> Result<Pieces<'s>, EngineError> {
    want.sort_unstable_by_key(|(r, _)| (r.start, r.end));
    let mut pieces = Pieces::default();
    let mut rest = arena;
    let mut consumed = 0usize;
    for (r, tag) in want.iter() {
        if r.start < consumed || r.end < r.start || r.end - consumed > rest.len() {
            return Err(EngineError::Internal);
        }
        let tail = core::mem::take(&mut rest);
        let (_, tail) = tail.split_at_mut(r.start - consumed);
        let (piece, tail) = tail.split_at_mut(r.end - r.start);
        rest = tail;
        consumed = r.end;
        match tag {
            Tag::Out => pieces.out = Some(piece),
            Tag::Scratch => pieces.scratch = Some(piece),
            Tag::A => pieces.a = Some(piece),
            Tag::B => pieces.b = Some(piece),
        }
    }
    Ok(pieces)
}

fn execute(
    model: &Model<'_>,
    input: &[i8],
    arena: &mut [u8],
    output: &mut [i8],
    which: Kernels,
) -> Result<(), EngineError> {
    if input.len() != model.input_len() {
        return Err(EngineError::InputLength);
    }
    if output.len() != model.output_len() {
        return Err(EngineError::OutputLength);
    }
    let arena = arena
        .get_mut(..model.arena_bytes())
        .ok_or(EngineError::ArenaTooSmall)?;
    let arena: &mut [i8] =
        bytemuck::try_cast_slice_mut(arena).map_err(|_| EngineError::Internal)?;
    let plan = &model.plan;
    let tensors = &model.tensors;
    let last = tensors.len() - 1;
    let info = |id: TensorId| {
        tensors
            .get(id as usize)
            .copied()
            .ok_or(EngineError::Internal)
    };

    for (i, op) in model.ops.iter().enumerate() {
        let out_id = i + 1;
        let (a_id, b_id) = op.inputs();
        let mut want: heapless::Vec<(Range<usize>, Tag), 4> = heapless::Vec::new();
        let range = |id: usize| {
            plan.tensor(id)
                .map(|p| p.range())
                .ok_or(EngineError::Internal)
        };
        if out_id != last {
            let _ = want.push((range(out_id)?, Tag::Out));
        }
        if let (Op::Conv2d(_), Kernels::Fast) = (op, which) {
            let p = plan.scratch(i).ok_or(EngineError::Internal)?;
            let _ = want.push((p.range(), Tag::Scratch));
        }
        if a_id != 0 {
            let _ = want.push((range(a_id as usize)?, Tag::A));
        }
        // The same tensor twice (add(x, x)) is carved once and shared.
        let b_shared = b_id == Some(a_id);
        if let Some(b) = b_id.filter(|&b| b != 0 && !b_shared) {
            let _ = want.push((range(b as usize)?, Tag::B));
        }
        let pieces = carve(&mut *arena, &mut want)?;
        let a_in: &[i8] = if a_id == 0 {
            input
        } else {
            pieces.a.ok_or(EngineError::Internal)?
        };
        let b_in: Option<&[i8]> = match b_id {
            None => None,
            Some(_) if b_shared => Some(a_in),
            Some(0) => Some(input),
            Some(_) => Some(pieces.b.ok_or(EngineError::Internal)?),
        };
        let out: &mut [i8] = if out_id == last {
            &mut *output
        } else {
            pieces.out.ok_or(EngineError::Internal)?
        };

        match op {
            Op::Conv2d(conv) => {
                let inp = info(conv.input)?;
                let g = conv_geom(conv, inp.shape);
                let p = conv.params(inp.quant.zero_point);
                match which {
                    Kernels::Reference => kernels::reference::conv2d_s8(&g, &p, a_in, out)?,
                    Kernels::Fast => {
                        let bytes = pieces.scratch.ok_or(EngineError::Internal)?;
                        let (_, words, _) = bytemuck::pod_align_to_mut::<i8, i32>(bytes);
                        kernels::fast::conv2d_s8(&g, &p, a_in, out, words)?
                    }
                }
            }
            Op::MaxPool2x2 { input } => {
                let s = info(*input)?.shape;
                let (c, h, w) = (s.c as usize, s.h as usize, s.w as usize);
                match which {
                    Kernels::Reference => kernels::reference::max_pool_2x2_s8(c, h, w, a_in, out)?,
                    Kernels::Fast => kernels::fast::max_pool_2x2_s8(c, h, w, a_in, out)?,
                }
            }
            Op::Upsample2x { input } => {
                let s = info(*input)?.shape;
                let (c, h, w) = (s.c as usize, s.h as usize, s.w as usize);
                match which {
                    Kernels::Reference => kernels::reference::upsample_2x_s8(c, h, w, a_in, out)?,
                    Kernels::Fast => kernels::fast::upsample_2x_s8(c, h, w, a_in, out)?,
                }
            }
            Op::Concat(c) => {
                let (a, b) = (info(c.a)?, info(c.b)?);
                let side = |t: TensorInfo, rq: Requant| ConcatInput {
                    channels: t.shape.c as usize,
                    zero_point: t.quant.zero_point,
                    requant: (!t.quant.same_grid(c.output)).then_some(rq),
                };
                let (sa, sb) = (side(a, c.a_requant), side(b, c.b_requant));
                let pixels = a.shape.h as usize * a.shape.w as usize;
                let b_in = b_in.ok_or(EngineError::Internal)?;
                let zp = c.output.zero_point;
                match which {
                    Kernels::Reference => {
                        kernels::reference::concat_s8(pixels, &sa, &sb, zp, a_in, b_in, out)?
                    }
                    Kernels::Fast => {
                        kernels::fast::concat_s8(pixels, &sa, &sb, zp, a_in, b_in, out)?
                    }
                }
            }
            Op::Add(add) => {
                let p = AddParams {
                    a_zp: info(add.a)?.quant.zero_point,
                    b_zp: info(add.b)?.quant.zero_point,
                    out_zp: add.output.zero_point,
                    requant: add.requant,
                    relu: add.relu,
                };
                let b_in = b_in.ok_or(EngineError::Internal)?;
                match which {
                    Kernels::Reference => kernels::reference::add_s8(&p, a_in, b_in, out)?,
                    Kernels::Fast => kernels::fast::add_s8(&p, a_in, b_in, out)?,
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
