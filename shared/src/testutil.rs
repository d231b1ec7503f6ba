//! Test helpers shared by the engine and blob tests: a seeded PRNG, owned
//! model parameters (what the host exporter would hold), a float U-Net with
//! calibration and quantisation, and the float ("fake quant") reference.

extern crate std;

use std::vec;
use std::vec::Vec;

use crate::engine::kernels::ConvGeom;
use crate::engine::{Add, Concat, Conv2d, Model, Op, Shape, TensorId};
use crate::quant::{AddRequant, QuantParams, Requant};

/// splitmix64: tiny, seedable, good enough to drive property tests.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
    pub fn usize(&mut self, lo: usize, hi: usize) -> usize {
        self.range(lo as i64, hi as i64) as usize
    }
    pub fn i8(&mut self) -> i8 {
        self.next_u64() as i8
    }
    pub fn bool(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Log-uniform in `[lo, hi)`.
    pub fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + self.unit() * (hi.ln() - lo.ln())).exp()
    }
    pub fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-300);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (2.0 * core::f64::consts::PI * v).cos()
    }
    pub fn i8s(&mut self, n: usize) -> Vec<i8> {
        (0..n).map(|_| self.i8()).collect()
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

pub fn i8_bytes(v: &[i8]) -> Vec<u8> {
    v.iter().map(|&x| x as u8).collect()
}

pub fn i32_le(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// `clamp(round_half_away(real / q.scale) + zp, lo, 127)` in `f64`: the
/// float reference's quantiser.
pub fn quantize_f64(real: f64, q: QuantParams, relu: bool) -> i8 {
    let lo = if relu { q.zero_point as i64 } else { -128 };
    let v = (real / q.scale as f64).round() as i64 + q.zero_point as i64;
    v.clamp(lo, 127) as i8
}

pub fn dequantize_f64(x: i8, q: QuantParams) -> f64 {
    q.scale as f64 * (x as i64 - q.zero_point as i64) as f64
}

/// Owned parameters of one convolution, as an exporter would hold them,
/// plus the per-channel weight scales (for the float reference).
#[derive(Clone, Debug)]
pub struct ConvData {
    pub weights: Vec<u8>,
    pub bias: Vec<u8>,
    pub multiplier: Vec<u8>,
    pub shift: Vec<u8>,
    pub w_scale: Vec<f64>,
}

impl ConvData {
    pub fn new(weights: &[i8], bias: &[i32], rq: &[Requant], w_scale: Vec<f64>) -> Self {
        ConvData {
            weights: i8_bytes(weights),
            bias: i32_le(bias),
            multiplier: i32_le(&rq.iter().map(|r| r.multiplier).collect::<Vec<_>>()),
            shift: rq.iter().map(|r| r.shift as u8).collect(),
            w_scale,
        }
    }
}

/// One op with owned parameters.
#[derive(Clone, Debug)]
pub enum Spec {
    Conv {
        input: TensorId,
        in_c: u16,
        out_c: u16,
        k: u8,
        stride: u8,
        relu: bool,
        output: QuantParams,
        data: ConvData,
    },
    Pool(TensorId),
    Up(TensorId),
    Concat(Concat),
    Add(Add),
}

/// A quantised graph with owned parameters; [`Graph::ops`] borrows them.
#[derive(Clone, Debug)]
pub struct Graph {
    pub input_shape: Shape,
    pub input_quant: QuantParams,
    pub specs: Vec<Spec>,
}

impl Graph {
    pub fn ops(&self) -> Vec<Op<'_>> {
        self.specs
            .iter()
            .map(|s| match s {
                Spec::Conv {
                    input,
                    in_c,
                    out_c,
                    k,
                    stride,
                    relu,
                    output,
                    data,
                } => Op::Conv2d(Conv2d {
                    input: *input,
                    in_c: *in_c,
                    out_c: *out_c,
                    k: *k,
                    stride: *stride,
                    relu: *relu,
                    output: *output,
                    weights: &data.weights,
                    bias: &data.bias,
                    multiplier: &data.multiplier,
                    shift: &data.shift,
                }),
                Spec::Pool(i) => Op::MaxPool2x2 { input: *i },
                Spec::Up(i) => Op::Upsample2x { input: *i },
                Spec::Concat(c) => Op::Concat(*c),
                Spec::Add(a) => Op::Add(*a),
            })
            .collect()
    }

    pub fn model(&self) -> Model<'_> {
        Model::new(self.input_shape, self.input_quant, &self.ops()).expect("valid test graph")
    }
}

/// Convolution in `f64` on HWC data with zero padding, the engine's geometry.
pub fn conv_f64(
    g: &ConvGeom,
    x: &[f64],
    w: impl Fn(usize, usize, usize, usize) -> f64,
    b: impl Fn(usize) -> f64,
) -> Vec<f64> {
    let (oh, ow, pad) = (g.out_h(), g.out_w(), g.pad());
    let mut out = vec![0.0; g.output_len()];
    for oy in 0..oh {
        for ox in 0..ow {
            for oc in 0..g.out_c {
                let mut acc = b(oc);
                for ky in 0..g.k {
                    for kx in 0..g.k {
                        let iy = (oy * g.stride + ky) as isize - pad as isize;
                        let ix = (ox * g.stride + kx) as isize - pad as isize;
                        if iy < 0 || ix < 0 || iy >= g.in_h as isize || ix >= g.in_w as isize {
                            continue;
                        }
                        let base = (iy as usize * g.in_w + ix as usize) * g.in_c;
                        for ic in 0..g.in_c {
                            acc += x[base + ic] * w(oc, ky, kx, ic);
                        }
                    }
                }
                out[(oy * ow + ox) * g.out_c + oc] = acc;
            }
        }
    }
    out
}

pub fn pool_any<T: Copy + PartialOrd>(s: Shape, x: &[T]) -> Vec<T> {
    let (c, h, w) = (s.c as usize, s.h as usize, s.w as usize);
    let (oh, ow) = (h / 2, w / 2);
    let mut out = Vec::with_capacity(c * oh * ow);
    for y in 0..oh {
        for xx in 0..ow {
            for ch in 0..c {
                let mut m = x[(2 * y * w + 2 * xx) * c + ch];
                for (dy, dx) in [(0, 1), (1, 0), (1, 1)] {
                    let v = x[((2 * y + dy) * w + 2 * xx + dx) * c + ch];
                    if v > m {
                        m = v;
                    }
                }
                out.push(m);
            }
        }
    }
    out
}

pub fn up_any<T: Copy>(s: Shape, x: &[T]) -> Vec<T> {
    let (c, h, w) = (s.c as usize, s.h as usize, s.w as usize);
    let mut out = Vec::with_capacity(4 * c * h * w);
    for y in 0..2 * h {
        for xx in 0..2 * w {
            for ch in 0..c {
                out.push(x[((y / 2) * w + xx / 2) * c + ch]);
            }
        }
    }
    out
}

pub fn concat_any<T: Copy>(pixels: usize, a: &[T], ca: usize, b: &[T], cb: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(pixels * (ca + cb));
    for p in 0..pixels {
        out.extend_from_slice(&a[p * ca..(p + 1) * ca]);
        out.extend_from_slice(&b[p * cb..(p + 1) * cb]);
    }
    out
}

/// The float reference of a quantised graph ("fake quant"): every op
/// dequantises its int8 inputs and parameters, computes in `f64` and
/// quantises its output with round-half-away and clamping. Tensors are
/// the reference's own (errors propagate as they would in a float model
/// with quantised activations). Returns every tensor.
pub fn fake_quant_forward(graph: &Graph, input: &[i8]) -> Vec<Vec<i8>> {
    let mut ts: Vec<Vec<i8>> = vec![input.to_vec()];
    for i in 0..graph.specs.len() {
        let out = fake_quant_op(graph, i, &ts);
        ts.push(out);
    }
    ts
}

/// Every tensor as the engine computes it (runs each prefix of the graph).
pub fn engine_tensors(graph: &Graph, input: &[i8]) -> Vec<Vec<i8>> {
    let ops = graph.ops();
    let mut ts = vec![input.to_vec()];
    for k in 1..=ops.len() {
        let m = Model::new(graph.input_shape, graph.input_quant, &ops[..k]).unwrap();
        let mut arena = vec![0u8; m.arena_bytes()];
        let mut out = vec![0i8; m.output_len()];
        crate::engine::run(&m, input, &mut arena, &mut out).unwrap();
        ts.push(out);
    }
    ts
}

/// The float reference of op `i` of `graph`, reading its inputs from `ts`.
pub fn fake_quant_op(graph: &Graph, i: usize, ts: &[Vec<i8>]) -> Vec<i8> {
    let model = graph.model();
    let infos = model.tensors();
    let out_q = infos[i + 1].quant;
    match &graph.specs[i] {
        Spec::Conv {
            input,
            out_c,
            k,
            stride,
            relu,
            data,
            ..
        } => {
            let inp = infos[*input as usize];
            let g = ConvGeom {
                in_c: inp.shape.c as usize,
                in_h: inp.shape.h as usize,
                in_w: inp.shape.w as usize,
                out_c: *out_c as usize,
                k: *k as usize,
                stride: *stride as usize,
            };
            let x: Vec<f64> = ts[*input as usize]
                .iter()
                .map(|&v| dequantize_f64(v, inp.quant))
                .collect();
            let s_in = inp.quant.scale as f64;
            let kk = g.patch_len();
            let y = conv_f64(
                &g,
                &x,
                |oc, ky, kx, ic| {
                    let wq = data.weights[oc * kk + (ky * g.k + kx) * g.in_c + ic] as i8;
                    wq as f64 * data.w_scale[oc]
                },
                |oc| {
                    let bq = crate::engine::kernels::le_i32(&data.bias, oc);
                    bq as f64 * s_in * data.w_scale[oc]
                },
            );
            y.iter().map(|&v| quantize_f64(v, out_q, *relu)).collect()
        }
        Spec::Pool(t) => pool_any(infos[*t as usize].shape, &ts[*t as usize]),
        Spec::Up(t) => up_any(infos[*t as usize].shape, &ts[*t as usize]),
        Spec::Concat(c) => {
            let (a, b) = (infos[c.a as usize], infos[c.b as usize]);
            let px = a.shape.h as usize * a.shape.w as usize;
            let conv = |t: &[i8], q: QuantParams| -> Vec<i8> {
                t.iter()
                    .map(|&v| quantize_f64(dequantize_f64(v, q), out_q, false))
                    .collect()
            };
            let (va, vb) = (
                conv(&ts[c.a as usize], a.quant),
                conv(&ts[c.b as usize], b.quant),
            );
            concat_any(px, &va, a.shape.c as usize, &vb, b.shape.c as usize)
        }
        Spec::Add(add) => {
            let (a, b) = (infos[add.a as usize], infos[add.b as usize]);
            ts[add.a as usize]
                .iter()
                .zip(&ts[add.b as usize])
                .map(|(&x, &y)| {
                    let real = dequantize_f64(x, a.quant) + dequantize_f64(y, b.quant);
                    quantize_f64(real, out_q, add.relu)
                })
                .collect()
        }
    }
}

/// A float op (weights OHWI in `f64`).
#[derive(Clone, Debug)]
pub enum FSpec {
    Conv {
        input: TensorId,
        out_c: u16,
        k: u8,
        stride: u8,
        relu: bool,
        w: Vec<f64>,
        b: Vec<f64>,
    },
    Pool(TensorId),
    Up(TensorId),
    Concat(TensorId, TensorId),
    Add(TensorId, TensorId, bool),
}

/// A float network, the stand-in for what burn trains.
#[derive(Clone, Debug)]
pub struct FloatNet {
    pub input_shape: Shape,
    pub specs: Vec<FSpec>,
}

impl FloatNet {
    /// The 3-level U-Net-like test graph (every op kind, both kernel sizes,
    /// both strides, a residual add), He-initialised:
    ///
    /// ```text
    /// t1 conv3 relu 1→c1, t2 conv3 relu c1→c1        (skip 1, H×W)
    /// t3 maxpool, t4 conv3 relu, t5 conv3 relu c2     (skip 2, H/2)
    /// t6 conv3 stride 2 relu, t7 conv3 relu c3, t8 conv3 c3, t9 add(t7, t8) relu  (H/4)
    /// t10 upsample, t11 concat(t10, t5), t12 conv3 relu c2
    /// t13 upsample, t14 concat(t13, t2), t15 conv3 relu c1
    /// t16 conv1 1 channel: logits
    /// ```
    pub fn unet(rng: &mut Rng, h: u16, w: u16, c: [u16; 3]) -> FloatNet {
        let [c1, c2, c3] = c;
        let mut net = FloatNet {
            input_shape: Shape::new(1, h, w),
            specs: Vec::new(),
        };
        net.push_conv(rng, 0, c1, 3, 1, true); // t1
        net.push_conv(rng, 1, c1, 3, 1, true); // t2
        net.specs.push(FSpec::Pool(2)); // t3
        net.push_conv(rng, 3, c2, 3, 1, true); // t4
        net.push_conv(rng, 4, c2, 3, 1, true); // t5
        net.push_conv(rng, 5, c2, 3, 2, true); // t6
        net.push_conv(rng, 6, c3, 3, 1, true); // t7
        net.push_conv(rng, 7, c3, 3, 1, false); // t8
        net.specs.push(FSpec::Add(7, 8, true)); // t9
        net.specs.push(FSpec::Up(9)); // t10
        net.specs.push(FSpec::Concat(10, 5)); // t11
        net.push_conv(rng, 11, c2, 3, 1, true); // t12
        net.specs.push(FSpec::Up(12)); // t13
        net.specs.push(FSpec::Concat(13, 2)); // t14
        net.push_conv(rng, 14, c1, 3, 1, true); // t15
        net.push_conv(rng, 15, 1, 1, 1, false); // t16
        net
    }

    /// The shallow graph of the engine brief: conv3 relu ×2 → maxpool →
    /// conv3 relu → upsample → concat with the skip → conv1 logits.
    pub fn shallow(rng: &mut Rng, h: u16, w: u16, c1: u16, c2: u16) -> FloatNet {
        let mut net = FloatNet {
            input_shape: Shape::new(1, h, w),
            specs: Vec::new(),
        };
        net.push_conv(rng, 0, c1, 3, 1, true); // t1
        net.push_conv(rng, 1, c1, 3, 1, true); // t2
        net.specs.push(FSpec::Pool(2)); // t3
        net.push_conv(rng, 3, c2, 3, 1, true); // t4
        net.specs.push(FSpec::Up(4)); // t5
        net.specs.push(FSpec::Concat(5, 2)); // t6
        net.push_conv(rng, 6, 1, 1, 1, false); // t7
        net
    }

    /// Appends a He-initialised convolution.
    pub fn push_conv(
        &mut self,
        rng: &mut Rng,
        input: TensorId,
        out_c: u16,
        k: u8,
        stride: u8,
        relu: bool,
    ) {
        let in_c = self.shapes()[input as usize].c;
        let n = out_c as usize * (k * k) as usize * in_c as usize;
        let std = (2.0 / ((k * k) as f64 * in_c as f64)).sqrt();
        let w = (0..n).map(|_| rng.normal() * std).collect();
        let b = (0..out_c).map(|_| rng.normal() * 0.1).collect();
        self.specs.push(FSpec::Conv {
            input,
            out_c,
            k,
            stride,
            relu,
            w,
            b,
        });
    }

    pub fn shapes(&self) -> Vec<Shape> {
        let mut s = vec![self.input_shape];
        for spec in &self.specs {
            let next = match spec {
                FSpec::Conv {
                    input,
                    out_c,
                    stride,
                    ..
                } => {
                    let i = s[*input as usize];
                    let st = *stride as u16;
                    Shape::new(*out_c, i.h.div_ceil(st), i.w.div_ceil(st))
                }
                FSpec::Pool(t) => {
                    let i = s[*t as usize];
                    Shape::new(i.c, i.h / 2, i.w / 2)
                }
                FSpec::Up(t) => {
                    let i = s[*t as usize];
                    Shape::new(i.c, 2 * i.h, 2 * i.w)
                }
                FSpec::Concat(a, b) => {
                    let (a, b) = (s[*a as usize], s[*b as usize]);
                    Shape::new(a.c + b.c, a.h, a.w)
                }
                FSpec::Add(a, _, _) => s[*a as usize],
            };
            s.push(next);
        }
        s
    }

    /// Every tensor of the float forward pass.
    pub fn forward(&self, x: &[f64]) -> Vec<Vec<f64>> {
        let shapes = self.shapes();
        let mut ts = vec![x.to_vec()];
        for spec in &self.specs {
            let out = match spec {
                FSpec::Conv {
                    input,
                    out_c,
                    k,
                    stride,
                    relu,
                    w,
                    b,
                } => {
                    let i = shapes[*input as usize];
                    let g = ConvGeom {
                        in_c: i.c as usize,
                        in_h: i.h as usize,
                        in_w: i.w as usize,
                        out_c: *out_c as usize,
                        k: *k as usize,
                        stride: *stride as usize,
                    };
                    let kk = g.patch_len();
                    let y = conv_f64(
                        &g,
                        &ts[*input as usize],
                        |oc, ky, kx, ic| w[oc * kk + (ky * g.k + kx) * g.in_c + ic],
                        |oc| b[oc],
                    );
                    if *relu {
                        y.iter().map(|v| v.max(0.0)).collect()
                    } else {
                        y
                    }
                }
                FSpec::Pool(t) => pool_any(shapes[*t as usize], &ts[*t as usize]),
                FSpec::Up(t) => up_any(shapes[*t as usize], &ts[*t as usize]),
                FSpec::Concat(a, b) => {
                    let (sa, sb) = (shapes[*a as usize], shapes[*b as usize]);
                    let px = sa.h as usize * sa.w as usize;
                    concat_any(
                        px,
                        &ts[*a as usize],
                        sa.c as usize,
                        &ts[*b as usize],
                        sb.c as usize,
                    )
                }
                FSpec::Add(a, b, relu) => ts[*a as usize]
                    .iter()
                    .zip(&ts[*b as usize])
                    .map(|(x, y)| if *relu { (x + y).max(0.0) } else { x + y })
                    .collect(),
            };
            ts.push(out);
        }
        ts
    }

    /// Post-training quantisation the TFLite way: activation grids from the
    /// min/max over `calib` inputs (always including 0), per-channel
    /// symmetric weights, `i32` bias, Q31 requantisers. Pooling and
    /// upsampling keep their input's grid.
    pub fn quantize(&self, input_quant: QuantParams, calib: &[Vec<f64>]) -> Graph {
        let shapes = self.shapes();
        let mut lo = vec![0.0f64; shapes.len()];
        let mut hi = vec![0.0f64; shapes.len()];
        for x in calib {
            for (t, v) in self.forward(x).iter().enumerate() {
                for &e in v {
                    lo[t] = lo[t].min(e);
                    hi[t] = hi[t].max(e);
                }
            }
        }
        let grid = |lo: f64, hi: f64| {
            let scale = ((hi - lo) / 255.0).max(1e-6);
            let zp = (-128.0 - lo / scale).round().clamp(-128.0, 127.0) as i8;
            QuantParams::new(scale as f32, zp)
        };
        let mut qs = vec![input_quant];
        let mut specs = Vec::new();
        for (i, spec) in self.specs.iter().enumerate() {
            let t = i + 1;
            let (spec, q) = match spec {
                FSpec::Conv {
                    input,
                    out_c,
                    k,
                    stride,
                    relu,
                    w,
                    b,
                } => {
                    let q_in = qs[*input as usize];
                    let q_out = grid(lo[t], hi[t]);
                    let kk = w.len() / *out_c as usize;
                    let mut wq = Vec::with_capacity(w.len());
                    let mut bq = Vec::new();
                    let mut rq = Vec::new();
                    let mut scales = Vec::new();
                    for oc in 0..*out_c as usize {
                        let wc = &w[oc * kk..(oc + 1) * kk];
                        let max = wc.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                        let s_w = if max > 0.0 { max / 127.0 } else { 1.0 };
                        wq.extend(
                            wc.iter()
                                .map(|v| (v / s_w).round().clamp(-127.0, 127.0) as i8),
                        );
                        let s_in = q_in.scale as f64;
                        bq.push((b[oc] / (s_in * s_w)).round() as i32);
                        rq.push(Requant::from_real(s_in * s_w / q_out.scale as f64));
                        scales.push(s_w);
                    }
                    let spec = Spec::Conv {
                        input: *input,
                        in_c: shapes[*input as usize].c,
                        out_c: *out_c,
                        k: *k,
                        stride: *stride,
                        relu: *relu,
                        output: q_out,
                        data: ConvData::new(&wq, &bq, &rq, scales),
                    };
                    (spec, q_out)
                }
                FSpec::Pool(x) => (Spec::Pool(*x), qs[*x as usize]),
                FSpec::Up(x) => (Spec::Up(*x), qs[*x as usize]),
                FSpec::Concat(a, b) => {
                    let q_out = grid(lo[t], hi[t]);
                    let c = Concat::new(*a, qs[*a as usize], *b, qs[*b as usize], q_out);
                    (Spec::Concat(c), q_out)
                }
                FSpec::Add(a, b, relu) => {
                    let q_out = grid(lo[t], hi[t]);
                    let add = Add {
                        a: *a,
                        b: *b,
                        output: q_out,
                        requant: AddRequant::new(qs[*a as usize], qs[*b as usize], q_out),
                        relu: *relu,
                    };
                    (Spec::Add(add), q_out)
                }
            };
            specs.push(spec);
            qs.push(q);
        }
        Graph {
            input_shape: self.input_shape,
            input_quant,
            specs,
        }
    }
}

/// Luma of a test frame: a bright fan-like blob on a dark, noisy
/// background, so activations look like an image's rather than noise.
pub fn test_luma(rng: &mut Rng, h: usize, w: usize) -> Vec<u8> {
    let (cx, cy) = (w as f64 * (0.4 + 0.2 * rng.unit()), h as f64 * 0.1);
    let r = h as f64 * (0.6 + 0.3 * rng.unit());
    let mut out = Vec::with_capacity(h * w);
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f64 - cx, y as f64 - cy);
            let inside = dy > 0.0 && (dx * dx + dy * dy).sqrt() < r && dx.abs() < dy * 0.9;
            let base = if inside { 120.0 } else { 15.0 };
            let v = base + rng.normal() * if inside { 50.0 } else { 8.0 };
            out.push(v.clamp(0.0, 255.0) as u8);
        }
    }
    out
}

/// The standard input grid: `real = luma / 255` maps 0..=255 onto -128..=127.
pub const INPUT_QUANT: QuantParams = QuantParams {
    scale: 1.0 / 255.0,
    zero_point: -128,
};

/// A small random quantised U-Net (calibrated on a few frames).
pub fn small_unet(seed: u64, h: u16, w: u16, c: [u16; 3]) -> Graph {
    let mut rng = Rng::new(seed);
    let net = FloatNet::unet(&mut rng, h, w, c);
    calibrated(&mut rng, &net)
}

/// `net` quantised with activation grids calibrated on three test frames.
pub fn calibrated(rng: &mut Rng, net: &FloatNet) -> Graph {
    let (h, w) = (net.input_shape.h, net.input_shape.w);
    let calib: Vec<Vec<f64>> = (0..3)
        .map(|_| {
            test_luma(rng, h as usize, w as usize)
                .iter()
                .map(|&l| l as f64 / 255.0)
                .collect()
        })
        .collect();
    net.quantize(INPUT_QUANT, &calib)
}
