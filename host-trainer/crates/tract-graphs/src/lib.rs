//! The float and the int8 graph rebuilt with tract-core, in code: an
//! independent implementation to check the quantiser and the shared engine
//! against (ARCHITECTURE.md, key decision 1).
//!
//! A `publish = false` crate used only by tests (`tests/reference.rs`:
//! float against burn, int8 against the engine op by op and whole graph) and
//! the benchmarks (`benches/engine.rs`: the engine against tract).
//!
//! Layouts as in the engine: activations HWC (`DataFormat::HWC`), weights
//! OHWI (`KernelFormat::OHWI`). tract pieces used:
//!
//! - convolution: `Conv` (float; or int8 with QLinearConv inputs: per-output-
//!   channel weight scales, zero points, and a requantisation tract derives
//!   from the `f32` scale ratio itself);
//! - ReLU: `max` with real 0 (the zero point on int8);
//! - max pooling: `MaxPool` 2×2, stride 2;
//! - ×2 nearest upsampling: two new unit axes, a broadcast to 2, a reshape;
//! - add: float `add`; on int8 dequantise both inputs to `f32`, add,
//!   requantise with `round` (tract has no TFLite-style integer add in core).

use tract_core::internal::*;
use tract_core::ops::array::MultiBroadcastTo;
use tract_core::ops::cast::cast;
use tract_core::ops::cnn::{Conv, KernelFormat, MaxPool, PaddingSpec, PoolSpec};
use tract_core::ops::math;
use tract_core::ops::nn::DataFormat;

use sonomask_core::engine::TensorInfo;
use sonomask_core::quant::QuantParams;
use sonomask_train::quantize::float_graph::{FloatGraph, FloatOp};
use sonomask_train::quantize::int8_graph::{QuantGraph, QuantOp};

fn pool_spec(k: usize, in_c: usize, out_c: usize, stride: usize) -> PoolSpec {
    let pad = k / 2;
    PoolSpec {
        data_format: DataFormat::HWC,
        kernel_shape: tvec![k, k],
        padding: if stride == 1 {
            PaddingSpec::Explicit(tvec![pad, pad], tvec![pad, pad])
        } else {
            PaddingSpec::Valid
        },
        dilations: None,
        strides: Some(tvec![stride, stride]),
        input_channels: in_c,
        output_channels: out_c,
    }
}

fn scalar<T: Datum + Copy>(m: &mut TypedModel, name: String, v: T) -> TractResult<OutletId> {
    m.add_const(name, tensor0(v))
}

/// `max(x, v)` with a scalar `v` broadcast over `x`.
fn max_with<T: Datum + Copy>(
    m: &mut TypedModel,
    name: &str,
    x: OutletId,
    v: T,
) -> TractResult<OutletId> {
    let c = scalar(m, format!("{name}.floor"), v)?;
    Ok(wire_with_rank_broadcast(name, m, math::max(), &[x, c])?[0])
}

fn max_pool(m: &mut TypedModel, name: &str, x: OutletId, c: usize) -> TractResult<OutletId> {
    let op = MaxPool {
        pool_spec: PoolSpec {
            padding: PaddingSpec::Valid,
            ..pool_spec(2, c, c, 2)
        },
        with_index_outputs: None,
    };
    Ok(m.wire_node(name, op, &[x])?[0])
}

/// `[h, w, c]` → `[2h, 2w, c]`, each value copied to a 2×2 block.
fn upsample(
    m: &mut TypedModel,
    name: &str,
    x: OutletId,
    h: usize,
    w: usize,
    c: usize,
) -> TractResult<OutletId> {
    let x = m.wire_node(format!("{name}.ax1"), AxisOp::Add(1), &[x])?[0];
    let x = m.wire_node(format!("{name}.ax3"), AxisOp::Add(3), &[x])?[0];
    let shape: TVec<TDim> = tvec![h.into(), 2.into(), w.into(), 2.into(), c.into()];
    let x = m.wire_node(
        format!("{name}.bcast"),
        MultiBroadcastTo {
            shape: ShapeFact::from_dims(shape.clone()),
        },
        &[x],
    )?[0];
    let out: TVec<TDim> = tvec![(2 * h).into(), (2 * w).into(), c.into()];
    Ok(m.wire_node(
        format!("{name}.reshape"),
        AxisOp::Reshape(0, shape, out),
        &[x],
    )?[0])
}

/// The float graph: input `f32 [h, w, 1]`, output the logits `f32 [h, w, 1]`.
pub fn float_model(g: &FloatGraph) -> TractResult<TypedModel> {
    let mut m = TypedModel::default();
    let s = g.input_shape();
    let src = m.add_source(
        "input",
        f32::fact([s.h as usize, s.w as usize, s.c as usize]),
    )?;
    let mut wires = vec![src];
    for (i, op) in g.ops.iter().enumerate() {
        let name = format!("op{}", i + 1);
        let shape = g.shapes[i + 1];
        let out = match op {
            FloatOp::Conv {
                input,
                in_c,
                out_c,
                k,
                relu,
                weights,
                bias,
                ..
            } => {
                let kernel = Tensor::from_shape(&[*out_c, *k, *k, *in_c], weights)?;
                let kernel = m.add_const(format!("{name}.w"), kernel)?;
                let b = m.add_const(format!("{name}.b"), Tensor::from_shape(&[*out_c], bias)?)?;
                let conv = Conv {
                    pool_spec: pool_spec(*k, *in_c, *out_c, 1),
                    kernel_fmt: KernelFormat::OHWI,
                    group: 1,
                    q_params: None,
                };
                let y = m.wire_node(&name, conv, &[wires[*input], kernel, b])?[0];
                if *relu {
                    max_with(&mut m, &format!("{name}.relu"), y, 0f32)?
                } else {
                    y
                }
            }
            FloatOp::MaxPool { input } => max_pool(&mut m, &name, wires[*input], shape.c as usize)?,
            FloatOp::Upsample { input } => {
                let si = g.shapes[*input];
                upsample(
                    &mut m,
                    &name,
                    wires[*input],
                    si.h as usize,
                    si.w as usize,
                    si.c as usize,
                )?
            }
            FloatOp::Add { a, b } => m.wire_node(&name, math::add(), &[wires[*a], wires[*b]])?[0],
        };
        wires.push(out);
    }
    let last = *wires.last().unwrap_or(&src);
    m.select_output_outlets(&[last])?;
    Ok(m)
}

/// `f32` real value of int8 `x` on grid `q`.
fn dequantize(
    m: &mut TypedModel,
    name: &str,
    x: OutletId,
    q: QuantParams,
) -> TractResult<OutletId> {
    let x = m.wire_node(format!("{name}.f32"), cast(f32::datum_type()), &[x])?[0];
    let zp = scalar(m, format!("{name}.zp"), q.zero_point as f32)?;
    let x = wire_with_rank_broadcast(format!("{name}.sub"), m, math::sub(), &[x, zp])?[0];
    let s = scalar(m, format!("{name}.scale"), q.scale)?;
    Ok(wire_with_rank_broadcast(format!("{name}.mul"), m, math::mul(), &[x, s])?[0])
}

/// int8 of real `x` on grid `q`: round, add the zero point, clamp.
fn quantize(
    m: &mut TypedModel,
    name: &str,
    x: OutletId,
    q: QuantParams,
    relu: bool,
) -> TractResult<OutletId> {
    let s = scalar(m, format!("{name}.scale"), q.scale)?;
    let x = wire_with_rank_broadcast(format!("{name}.div"), m, math::div(), &[x, s])?[0];
    let x = m.wire_node(format!("{name}.round"), math::round(), &[x])?[0];
    let zp = scalar(m, format!("{name}.zp"), q.zero_point as f32)?;
    let x = wire_with_rank_broadcast(format!("{name}.add"), m, math::add(), &[x, zp])?[0];
    let lo = if relu { q.zero_point as f32 } else { -128.0 };
    let x = max_with(m, &format!("{name}.lo"), x, lo)?;
    let hi = scalar(m, format!("{name}.hi"), 127f32)?;
    let x = wire_with_rank_broadcast(format!("{name}.min"), m, math::min(), &[x, hi])?[0];
    Ok(m.wire_node(format!("{name}.i8"), cast(i8::datum_type()), &[x])?[0])
}

/// Wires int8 op `i` of `g` reading `inputs` (its one or two input wires);
/// `tensors` are the engine's tensor infos (shapes and grids).
fn wire_int8_op(
    m: &mut TypedModel,
    g: &QuantGraph,
    i: usize,
    inputs: &[OutletId],
    tensors: &[TensorInfo],
) -> TractResult<OutletId> {
    let name = format!("op{}", i + 1);
    let out_shape = tensors[i + 1].shape;
    Ok(match &g.ops[i] {
        QuantOp::Conv(c) => {
            let (oc, k, ic) = (c.out_c as usize, c.k as usize, c.in_c as usize);
            let w: Vec<i8> = c.weights.iter().map(|&b| b as i8).collect();
            let kernel = m.add_const(
                format!("{name}.w"),
                Tensor::from_shape(&[oc, k, k, ic], &w)?,
            )?;
            let bias: Vec<i32> = (0..oc).map(|o| c.bias(o)).collect();
            let bias = m.add_const(format!("{name}.b"), Tensor::from_shape(&[oc], &bias)?)?;
            let q_in = tensors[c.input as usize].quant;
            let x0 = scalar(m, format!("{name}.x0"), q_in.zero_point as i32)?;
            let x_scale = scalar(m, format!("{name}.xs"), q_in.scale)?;
            let k0 = scalar(m, format!("{name}.k0"), 0i32)?;
            let k_scale =
                m.add_const(format!("{name}.ks"), Tensor::from_shape(&[oc], &c.w_scale)?)?;
            let y0 = scalar(m, format!("{name}.y0"), c.output.zero_point as i32)?;
            let y_scale = scalar(m, format!("{name}.ys"), c.output.scale)?;
            let conv = Conv {
                pool_spec: pool_spec(k, ic, oc, 1),
                kernel_fmt: KernelFormat::OHWI,
                group: 1,
                q_params: Some(i8::datum_type()),
            };
            let y = m.wire_node(
                &name,
                conv,
                &[
                    inputs[0], kernel, bias, x0, x_scale, k0, k_scale, y0, y_scale,
                ],
            )?[0];
            if c.relu {
                max_with(m, &format!("{name}.relu"), y, c.output.zero_point)?
            } else {
                y
            }
        }
        QuantOp::MaxPool(_) => max_pool(m, &name, inputs[0], out_shape.c as usize)?,
        QuantOp::Upsample(t) => {
            let si = tensors[*t as usize].shape;
            upsample(
                m,
                &name,
                inputs[0],
                si.h as usize,
                si.w as usize,
                si.c as usize,
            )?
        }
        QuantOp::Add(a) => {
            let xa = dequantize(
                m,
                &format!("{name}.a"),
                inputs[0],
                tensors[a.a as usize].quant,
            )?;
            let xb = dequantize(
                m,
                &format!("{name}.b"),
                inputs[1],
                tensors[a.b as usize].quant,
            )?;
            let sum = m.wire_node(format!("{name}.sum"), math::add(), &[xa, xb])?[0];
            quantize(m, &format!("{name}.q"), sum, a.output, a.relu)?
        }
    })
}

/// The tensors op `i` reads.
fn op_inputs(g: &QuantGraph, i: usize) -> Vec<usize> {
    match &g.ops[i] {
        QuantOp::Conv(c) => vec![c.input as usize],
        QuantOp::MaxPool(t) | QuantOp::Upsample(t) => vec![*t as usize],
        QuantOp::Add(a) => vec![a.a as usize, a.b as usize],
    }
}

fn i8_fact(t: &TensorInfo) -> TypedFact {
    i8::fact([t.shape.h as usize, t.shape.w as usize, t.shape.c as usize])
}

/// The whole int8 graph: input `i8 [h, w, 1]`, output the int8 logits.
pub fn int8_model(g: &QuantGraph, tensors: &[TensorInfo]) -> TractResult<TypedModel> {
    let mut m = TypedModel::default();
    let src = m.add_source("input", i8_fact(&tensors[0]))?;
    let mut wires = vec![src];
    for i in 0..g.ops.len() {
        let inputs: Vec<OutletId> = op_inputs(g, i).iter().map(|&t| wires[t]).collect();
        let out = wire_int8_op(&mut m, g, i, &inputs, tensors)?;
        wires.push(out);
    }
    let last = *wires.last().unwrap_or(&src);
    m.select_output_outlets(&[last])?;
    Ok(m)
}

/// Op `i` alone, its inputs as sources (in [`op_input_ids`] order), for
/// op-by-op comparison on the engine's own input tensors.
pub fn int8_op_model(g: &QuantGraph, i: usize, tensors: &[TensorInfo]) -> TractResult<TypedModel> {
    let mut m = TypedModel::default();
    let ids = op_inputs(g, i);
    let mut inputs = Vec::new();
    for (n, &t) in ids.iter().enumerate() {
        inputs.push(m.add_source(format!("in{n}"), i8_fact(&tensors[t]))?);
    }
    let out = wire_int8_op(&mut m, g, i, &inputs, tensors)?;
    m.select_output_outlets(&[out])?;
    Ok(m)
}

/// The tensor ids op `i` reads, in the order [`int8_op_model`] takes them.
pub fn op_input_ids(g: &QuantGraph, i: usize) -> Vec<usize> {
    op_inputs(g, i)
}

/// Runs `model` (optimised) on one HWC tensor per input.
pub fn run<T: Datum + Copy>(model: TypedModel, inputs: Vec<Tensor>) -> TractResult<Vec<T>> {
    let plan = model.into_optimized()?.into_runnable()?;
    let out = plan.run(inputs.into_iter().map(|t| t.into_tvalue()).collect())?;
    Ok(out[0].to_plain_array_view::<T>()?.iter().copied().collect())
}

/// An HWC tensor from a flat slice.
pub fn hwc<T: Datum + Copy>(data: &[T], h: usize, w: usize, c: usize) -> TractResult<Tensor> {
    Tensor::from_shape(&[h, w, c], data)
}
