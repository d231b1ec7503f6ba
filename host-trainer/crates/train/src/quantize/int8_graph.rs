//! The float graph quantised to the engine's int8 scheme (TFLite /
//! CMSIS-NN, ARCHITECTURE.md key decision 2), with owned parameters that
//! [`QuantGraph::ops`] lends to the engine and the blob encoder.
//!
//! - activations: asymmetric per tensor over the calibrated range
//!   ([`grid`]); pooling and upsampling keep their input's grid;
//! - weights: symmetric per output channel, `scale = max|w| / 127`, values
//!   in `[-127, 127]` (TFLite leaves out -128 so that the grid is symmetric);
//! - bias: `i32` at scale `in_scale · w_scale[c]`;
//! - requantisation: `Requant::from_real(in_scale · w_scale[c] / out_scale)`
//!   (Q31 multiplier + shift), adds through [`AddRequant`].

use sonomask_core::Shape;
use sonomask_core::engine::{Add, Conv2d, GraphError, Model, Op, TensorId};
use sonomask_core::quant::{AddRequant, QuantParams, Requant};

use super::calibrate::TensorRange;
use super::float_graph::{FloatGraph, FloatOp};

/// One quantised convolution with owned parameters (little-endian bytes,
/// the blob's layout) and its per-channel weight scales.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantConv {
    pub name: &'static str,
    pub input: TensorId,
    pub in_c: u16,
    pub out_c: u16,
    pub k: u8,
    pub relu: bool,
    pub output: QuantParams,
    pub weights: Vec<u8>,
    pub bias: Vec<u8>,
    pub multiplier: Vec<u8>,
    pub shift: Vec<u8>,
    /// Scale of each output channel's weights (`real = scale · q`).
    pub w_scale: Vec<f32>,
}

impl QuantConv {
    /// Weight `[oc][ky][kx][ic]` as an int8.
    pub fn weight(&self, i: usize) -> i8 {
        self.weights[i] as i8
    }

    pub fn bias(&self, oc: usize) -> i32 {
        i32::from_le_bytes(self.bias[4 * oc..4 * oc + 4].try_into().expect("4 bytes"))
    }
}

/// One quantised op.
#[derive(Clone, Debug, PartialEq)]
pub enum QuantOp {
    Conv(QuantConv),
    MaxPool(TensorId),
    Upsample(TensorId),
    Add(Add),
}

/// A quantised graph ready for the engine or the blob encoder.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantGraph {
    pub input_shape: Shape,
    pub input_quant: QuantParams,
    pub ops: Vec<QuantOp>,
}

/// The input grid every sonomask net uses: `real = luma / 255` maps
/// 0..=255 onto -128..=127 exactly, so the int8 input loses nothing of an
/// 8-bit thumbnail.
pub const INPUT_QUANT: QuantParams = QuantParams {
    scale: 1.0 / 255.0,
    zero_point: -128,
};

/// The asymmetric int8 grid over `[lo, hi]` (`lo ≤ 0 ≤ hi`): `scale =
/// (hi − lo) / 255`, zero point `round(−128 − lo / scale)` so that real 0
/// is exactly representable. A degenerate range (all zeros) gets a tiny
/// positive scale.
pub fn grid(lo: f32, hi: f32) -> QuantParams {
    let (lo, hi) = (lo.min(0.0) as f64, hi.max(0.0) as f64);
    let scale = ((hi - lo) / 255.0).max(1e-8);
    let zp = (-128.0 - lo / scale).round().clamp(-128.0, 127.0);
    QuantParams::new(scale as f32, zp as i8)
}

fn le_i32s(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Quantises one convolution whose input has grid `q_in` and output `q_out`.
fn quantize_conv(
    op: &FloatOp,
    input: TensorId,
    q_in: QuantParams,
    q_out: QuantParams,
) -> Option<QuantConv> {
    let FloatOp::Conv {
        name,
        in_c,
        out_c,
        k,
        relu,
        weights,
        bias,
        ..
    } = op
    else {
        return None;
    };
    let kk = k * k * in_c;
    let s_in = q_in.scale as f64;
    let mut wq = Vec::with_capacity(weights.len());
    let (mut bq, mut mult, mut shift, mut scales) = (vec![], vec![], vec![], vec![]);
    for oc in 0..*out_c {
        let w = &weights[oc * kk..(oc + 1) * kk];
        let max = w.iter().fold(0f32, |m, v| m.max(v.abs()));
        // A dead channel (all weights 0) gets scale 1: its weights stay 0.
        let s_w = if max > 0.0 { max / 127.0 } else { 1.0 };
        wq.extend(
            w.iter()
                .map(|&v| (v as f64 / s_w as f64).round().clamp(-127.0, 127.0) as i8 as u8),
        );
        let b = (bias[oc] as f64 / (s_in * s_w as f64)).round();
        bq.push(b.clamp(i32::MIN as f64, i32::MAX as f64) as i32);
        let rq = Requant::from_real(s_in * s_w as f64 / q_out.scale as f64);
        mult.push(rq.multiplier);
        shift.push(rq.shift as u8);
        scales.push(s_w);
    }
    Some(QuantConv {
        name,
        input,
        in_c: *in_c as u16,
        out_c: *out_c as u16,
        k: *k as u8,
        relu: *relu,
        output: q_out,
        weights: wq,
        bias: le_i32s(&bq),
        multiplier: le_i32s(&mult),
        shift,
        w_scale: scales,
    })
}

impl QuantGraph {
    /// Quantises `float` with one calibrated range per tensor.
    ///
    /// # Panics
    ///
    /// If `ranges` has not one entry per tensor of `float` (a caller bug).
    pub fn build(float: &FloatGraph, ranges: &[TensorRange], input_quant: QuantParams) -> Self {
        assert_eq!(ranges.len(), float.shapes.len(), "one range per tensor");
        let mut qs = vec![input_quant];
        let mut ops = Vec::with_capacity(float.ops.len());
        for (i, op) in float.ops.iter().enumerate() {
            let r = ranges[i + 1];
            let (qop, q) = match op {
                FloatOp::Conv { input, .. } => {
                    let q_out = grid(r.lo, r.hi);
                    let conv = quantize_conv(op, *input as TensorId, qs[*input], q_out)
                        .expect("a conv op");
                    (QuantOp::Conv(conv), q_out)
                }
                FloatOp::MaxPool { input } => (QuantOp::MaxPool(*input as TensorId), qs[*input]),
                FloatOp::Upsample { input } => (QuantOp::Upsample(*input as TensorId), qs[*input]),
                FloatOp::Add { a, b } => {
                    let q_out = grid(r.lo, r.hi);
                    let add = Add {
                        a: *a as TensorId,
                        b: *b as TensorId,
                        output: q_out,
                        requant: AddRequant::new(qs[*a], qs[*b], q_out),
                        relu: false,
                    };
                    (QuantOp::Add(add), q_out)
                }
            };
            ops.push(qop);
            qs.push(q);
        }
        QuantGraph {
            input_shape: float.input_shape(),
            input_quant,
            ops,
        }
    }

    /// The engine's view of the ops, borrowing the parameters.
    pub fn ops(&self) -> Vec<Op<'_>> {
        self.ops
            .iter()
            .map(|op| match op {
                QuantOp::Conv(c) => Op::Conv2d(Conv2d {
                    input: c.input,
                    in_c: c.in_c,
                    out_c: c.out_c,
                    k: c.k,
                    stride: 1,
                    relu: c.relu,
                    output: c.output,
                    weights: &c.weights,
                    bias: &c.bias,
                    multiplier: &c.multiplier,
                    shift: &c.shift,
                }),
                QuantOp::MaxPool(i) => Op::MaxPool2x2 { input: *i },
                QuantOp::Upsample(i) => Op::Upsample2x { input: *i },
                QuantOp::Add(a) => Op::Add(*a),
            })
            .collect()
    }

    /// A validated, planned engine model of the graph.
    pub fn model(&self) -> Result<Model<'_>, GraphError> {
        Model::new(self.input_shape, self.input_quant, &self.ops())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_represents_zero_exactly() {
        for (lo, hi) in [(0.0f32, 6.0f32), (-3.0, 5.0), (-10.0, 0.0), (-0.001, 40.0)] {
            let q = grid(lo, hi);
            assert!(q.is_valid(), "{lo} {hi}");
            assert_eq!(q.quantize(0.0), q.zero_point);
            assert_eq!(q.dequantize(q.zero_point), 0.0);
            // The range ends land on the grid's ends (within a step).
            assert!((q.dequantize(-128) - lo.min(0.0)).abs() <= q.scale);
            assert!((q.dequantize(127) - hi.max(0.0)).abs() <= q.scale);
        }
        assert_eq!(grid(0.0, 6.0).zero_point, -128);
        // An all-zero tensor still gets a valid grid that holds 0.
        let q = grid(0.0, 0.0);
        assert!(q.is_valid());
        assert_eq!(q.dequantize(q.zero_point), 0.0);
        assert_eq!(INPUT_QUANT.quantize(1.0), 127);
    }
}
