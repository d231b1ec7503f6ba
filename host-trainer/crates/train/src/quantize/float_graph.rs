//! The trained network as a flat list of engine-shaped float ops, with
//! BatchNorm folded into the convolutions.
//!
//! This is the float twin of the int8 graph the quantiser writes: same op
//! order, same tensor numbering (0 = input, op `i` writes `i + 1`), same
//! layouts as the engine (activations HWC, weights OHWI). Its forward pass
//! is plain Rust, so calibration can see every intermediate tensor (burn's
//! forward only returns the logits), and a test checks it against burn's.
//!
//! # BatchNorm folding
//!
//! Inference BatchNorm is `y = γ (x − μ) / √(σ² + ε) + β` per channel, an
//! affine map, so `BN(conv(x))` is a convolution with weights `w·γ/√(σ²+ε)`
//! and bias `(b − μ)·γ/√(σ²+ε) + β` (the net's BN convolutions have no bias
//! of their own, `b = 0`). Folding happens in `f64` from burn's `f32`s.

use burn::nn::BatchNorm;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;
use sonomask_core::Shape;

use crate::model::{ConvBnRelu, SectorNet};

/// One op of the float graph. Tensor ids as in the int8 engine.
#[derive(Clone, Debug, PartialEq)]
pub enum FloatOp {
    /// `k × k` convolution, stride 1, padding `k / 2` (burn's and the
    /// engine's), optional ReLU. `weights` OHWI, `bias` per output channel.
    Conv {
        name: &'static str,
        input: usize,
        in_c: usize,
        out_c: usize,
        k: usize,
        relu: bool,
        weights: Vec<f32>,
        bias: Vec<f32>,
    },
    /// 2×2 max pooling, stride 2.
    MaxPool { input: usize },
    /// ×2 nearest upsampling.
    Upsample { input: usize },
    /// Element-wise sum (no activation).
    Add { a: usize, b: usize },
}

/// A float network in engine form (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub struct FloatGraph {
    /// Shape of every tensor, input first.
    pub shapes: Vec<Shape>,
    pub ops: Vec<FloatOp>,
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .try_into_vec_as::<f32>()
        .expect("a float tensor converts to f32")
}

/// Conv weights `[out, in, k, k]` (burn's OIHW) and bias, with an optional
/// BatchNorm folded in, as OHWI `f32`.
fn fold(conv: &Conv2d, bn: Option<&BatchNorm>) -> (usize, usize, usize, Vec<f32>, Vec<f32>) {
    let [out_c, in_c, k, _] = conv.weight.val().dims();
    let w = values(conv.weight.val());
    let b = conv
        .bias
        .as_ref()
        .map_or_else(|| vec![0.0; out_c], |b| values(b.val()));
    let (scale, shift): (Vec<f64>, Vec<f64>) = match bn {
        None => (vec![1.0; out_c], vec![0.0; out_c]),
        Some(bn) => {
            let gamma = values(bn.gamma.val());
            let beta = values(bn.beta.val());
            let mean = values(bn.running_mean.value());
            let var = values(bn.running_var.value());
            (0..out_c)
                .map(|c| {
                    let s = gamma[c] as f64 / (var[c] as f64 + bn.epsilon).sqrt();
                    (s, beta[c] as f64 - mean[c] as f64 * s)
                })
                .unzip()
        }
    };
    let mut weights = Vec::with_capacity(w.len());
    for (oc, &s) in scale.iter().enumerate() {
        for ky in 0..k {
            for kx in 0..k {
                for ic in 0..in_c {
                    let v = w[((oc * in_c + ic) * k + ky) * k + kx] as f64;
                    weights.push((v * s) as f32);
                }
            }
        }
    }
    let bias = (0..out_c)
        .map(|oc| (b[oc] as f64 * scale[oc] + shift[oc]) as f32)
        .collect();
    (in_c, out_c, k, weights, bias)
}

/// Builds the graph op by op, tracking shapes.
struct Builder {
    g: FloatGraph,
}

impl Builder {
    fn push(&mut self, op: FloatOp) -> usize {
        let s = |t: usize| self.g.shapes[t];
        let shape = match &op {
            FloatOp::Conv { input, out_c, .. } => {
                Shape::new(*out_c as u16, s(*input).h, s(*input).w)
            }
            FloatOp::MaxPool { input } => {
                let i = s(*input);
                Shape::new(i.c, i.h / 2, i.w / 2)
            }
            FloatOp::Upsample { input } => {
                let i = s(*input);
                Shape::new(i.c, i.h * 2, i.w * 2)
            }
            FloatOp::Add { a, .. } => s(*a),
        };
        self.g.ops.push(op);
        self.g.shapes.push(shape);
        self.g.shapes.len() - 1
    }

    fn conv(
        &mut self,
        name: &'static str,
        input: usize,
        conv: &Conv2d,
        bn: Option<&BatchNorm>,
    ) -> usize {
        let (in_c, out_c, k, weights, bias) = fold(conv, bn);
        self.push(FloatOp::Conv {
            name,
            input,
            in_c,
            out_c,
            k,
            relu: bn.is_some(),
            weights,
            bias,
        })
    }

    fn cbr(&mut self, name: &'static str, input: usize, layer: &ConvBnRelu) -> usize {
        self.conv(name, input, &layer.conv, Some(&layer.bn))
    }

    fn pool(&mut self, input: usize) -> usize {
        self.push(FloatOp::MaxPool { input })
    }

    fn up_add(&mut self, input: usize, skip: usize) -> usize {
        let up = self.push(FloatOp::Upsample { input });
        self.push(FloatOp::Add { a: up, b: skip })
    }
}

impl FloatGraph {
    /// The engine-form graph of `net` on a `1 × h × w` input, in the order
    /// of [`SectorNet::forward`]:
    ///
    /// ```text
    ///  1 enc1   2 pool  3 enc2   4 pool  5 enc3   6 pool  7 mid1  8 pool
    ///  9 ctx1  10 ctx2 11 up    12 add(11, 7)    13 reduce (1×1)
    /// 14 up    15 add(14, 5)    16 dec3  17 up   18 add(17, 3)    19 dec2
    /// 20 up    21 add(20, 1)    22 head (logits)
    /// ```
    pub fn from_net(net: &SectorNet, h: usize, w: usize) -> Self {
        let mut b = Builder {
            g: FloatGraph {
                shapes: vec![Shape::new(1, h as u16, w as u16)],
                ops: Vec::new(),
            },
        };
        let e1 = b.cbr("enc1", 0, &net.enc1);
        let p = b.pool(e1);
        let e2 = b.cbr("enc2", p, &net.enc2);
        let p = b.pool(e2);
        let e3 = b.cbr("enc3", p, &net.enc3);
        let p = b.pool(e3);
        let m = b.cbr("mid1", p, &net.mid1);
        let p = b.pool(m);
        let c = b.cbr("ctx1", p, &net.ctx1);
        let c = b.cbr("ctx2", c, &net.ctx2);
        let s = b.up_add(c, m);
        let r = b.cbr("reduce", s, &net.reduce);
        let s = b.up_add(r, e3);
        let d3 = b.cbr("dec3", s, &net.dec3);
        let s = b.up_add(d3, e2);
        let d2 = b.cbr("dec2", s, &net.dec2);
        let s = b.up_add(d2, e1);
        b.conv("head", s, &net.head, None);
        b.g
    }

    pub fn input_shape(&self) -> Shape {
        self.shapes[0]
    }

    /// Every tensor of a forward pass on `x` (HWC, `real = luma / 255`),
    /// input first, logits last.
    ///
    /// # Panics
    ///
    /// If `x` is not the input's length (a caller bug, not input data).
    pub fn forward(&self, x: &[f32]) -> Vec<Vec<f32>> {
        assert_eq!(x.len() as u64, self.shapes[0].numel(), "input length");
        let mut ts: Vec<Vec<f32>> = Vec::with_capacity(self.shapes.len());
        ts.push(x.to_vec());
        for op in &self.ops {
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
                    let s = self.shapes[*input];
                    conv_hwc(
                        &ts[*input],
                        s.h as usize,
                        s.w as usize,
                        *in_c,
                        *out_c,
                        *k,
                        weights,
                        bias,
                        *relu,
                    )
                }
                FloatOp::MaxPool { input } => max_pool_hwc(&ts[*input], self.shapes[*input]),
                FloatOp::Upsample { input } => upsample_hwc(&ts[*input], self.shapes[*input]),
                FloatOp::Add { a, b } => ts[*a].iter().zip(&ts[*b]).map(|(x, y)| x + y).collect(),
            };
            ts.push(out);
        }
        ts
    }

    /// The logits of a forward pass (`h × w`, one channel).
    pub fn logits(&self, x: &[f32]) -> Vec<f32> {
        self.forward(x).pop().unwrap_or_default()
    }

    /// Multiply-accumulates of one forward pass.
    pub fn macs(&self) -> u64 {
        self.ops
            .iter()
            .enumerate()
            .map(|(i, op)| match op {
                FloatOp::Conv { in_c, k, .. } => {
                    self.shapes[i + 1].numel() * (*in_c * *k * *k) as u64
                }
                _ => 0,
            })
            .sum()
    }
}

/// Convolution with zero padding `k / 2`, stride 1, HWC / OHWI: the im2col
/// patch of each output pixel against each output channel's weights.
#[allow(clippy::too_many_arguments)]
fn conv_hwc(
    x: &[f32],
    h: usize,
    w: usize,
    in_c: usize,
    out_c: usize,
    k: usize,
    weights: &[f32],
    bias: &[f32],
    relu: bool,
) -> Vec<f32> {
    let pad = k / 2;
    let kk = k * k * in_c;
    let mut patch = vec![0f32; kk];
    let mut out = vec![0f32; h * w * out_c];
    for oy in 0..h {
        for ox in 0..w {
            for ky in 0..k {
                for kx in 0..k {
                    let dst = &mut patch[(ky * k + kx) * in_c..(ky * k + kx + 1) * in_c];
                    let (iy, ix) = (
                        (oy + ky) as isize - pad as isize,
                        (ox + kx) as isize - pad as isize,
                    );
                    if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                        dst.fill(0.0);
                    } else {
                        let at = (iy as usize * w + ix as usize) * in_c;
                        dst.copy_from_slice(&x[at..at + in_c]);
                    }
                }
            }
            let o = &mut out[(oy * w + ox) * out_c..(oy * w + ox + 1) * out_c];
            for (oc, v) in o.iter_mut().enumerate() {
                let wr = &weights[oc * kk..(oc + 1) * kk];
                let acc = bias[oc] + wr.iter().zip(&patch).map(|(a, b)| a * b).sum::<f32>();
                *v = if relu { acc.max(0.0) } else { acc };
            }
        }
    }
    out
}

fn max_pool_hwc(x: &[f32], s: Shape) -> Vec<f32> {
    let (c, h, w) = (s.c as usize, s.h as usize, s.w as usize);
    let (oh, ow) = (h / 2, w / 2);
    let mut out = Vec::with_capacity(c * oh * ow);
    for y in 0..oh {
        for xx in 0..ow {
            for ch in 0..c {
                let at = |dy: usize, dx: usize| x[((2 * y + dy) * w + 2 * xx + dx) * c + ch];
                out.push(at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1)));
            }
        }
    }
    out
}

fn upsample_hwc(x: &[f32], s: Shape) -> Vec<f32> {
    let (c, h, w) = (s.c as usize, s.h as usize, s.w as usize);
    let mut out = Vec::with_capacity(4 * c * h * w);
    for y in 0..2 * h {
        for xx in 0..2 * w {
            let at = ((y / 2) * w + xx / 2) * c;
            out.extend_from_slice(&x[at..at + c]);
        }
    }
    out
}
