//! A hand-set int8 network with the trainer's architecture
//! (`sonomask_train::model`: the 64×80 U-Net, 8.2 M MAC) that thresholds
//! the 3×3-blurred thumbnail: a stand-in model for HIL runs and tests
//! until a trained, quantised model (`models/default.snmk`) exists.
//!
//! Every op of the trained network is there with its real shape, so the
//! engine does exactly the work the real model will cost (the
//! instruction counts are representative); only `enc1`'s first channel
//! and the head carry non-zero weights:
//!
//! - `enc1` channel 0 = mean luma of the 3×3 neighbourhood (weights 1/9),
//!   every other channel and layer outputs 0;
//! - the skip adds pass `enc1` through to the head unchanged;
//! - the head (3×3, centre tap of channel 0) gives the logit
//!   `(blur − threshold) / 2` in luma steps, so p ≥ 0.5 ⇔ blur ≥ threshold —
//!   the paper's simple threshold labeler, as a network.

use sonomask_core::blob::{EncodeError, ModelDesc, encode_into, encoded_len};
use sonomask_core::engine::{Add, Conv2d, Op, Shape};
use sonomask_core::quant::{AddRequant, QuantParams, Requant};

/// Network input height and width (the trainer's).
pub const INPUT_H: u16 = 64;
pub const INPUT_W: u16 = 80;
/// The threshold (thumbnail luma) the stand-in uses by default.
pub const DEFAULT_THRESHOLD: u8 = 24;
/// Architecture name written into the blob.
pub const ARCH: &str = "unet64x80-threshold";

/// `real = luma / 255`, the trainer's input scaling.
const INPUT_QUANT: QuantParams = QuantParams {
    scale: 1.0 / 255.0,
    zero_point: -128,
};
/// Every hidden activation: `[0, 1]` after ReLU.
const HIDDEN: QuantParams = INPUT_QUANT;

/// Owned parameters of one convolution.
struct ConvParams {
    input: u16,
    in_c: u16,
    out_c: u16,
    k: u8,
    relu: bool,
    output: QuantParams,
    weights: Vec<u8>,
    bias: Vec<u8>,
    multiplier: Vec<u8>,
    shift: Vec<u8>,
}

enum Spec {
    Conv(ConvParams),
    Pool(u16),
    Up(u16),
    Add(u16, u16),
}

/// A convolution whose channels are all zero (weight scale 1).
fn zero_conv(input: u16, in_c: u16, out_c: u16, k: u8) -> ConvParams {
    let rq = Requant::from_real(1.0);
    ConvParams {
        input,
        in_c,
        out_c,
        k,
        relu: true,
        output: HIDDEN,
        weights: vec![0; out_c as usize * (k * k) as usize * in_c as usize],
        bias: vec![0; 4 * out_c as usize],
        multiplier: (0..out_c)
            .flat_map(|_| rq.multiplier.to_le_bytes())
            .collect(),
        shift: vec![rq.shift as u8; out_c as usize],
    }
}

fn specs(threshold: u8) -> Vec<Spec> {
    let (c1, c2, c3, m) = (8u16, 16u16, 32u16, 40u16);
    // enc1: channel 0 is the 3×3 mean (weight 127 ⇔ 1/9).
    let mut enc1 = zero_conv(0, 1, c1, 3);
    enc1.weights[..9].fill(127);
    let blur = Requant::from_real(1.0 / (9.0 * 127.0));
    enc1.multiplier[..4].copy_from_slice(&blur.multiplier.to_le_bytes());
    enc1.shift[0] = blur.shift as u8;
    // head: logit = (blur − T) / 2 luma steps, on a grid of 2/255 · 10.
    let mut head = zero_conv(21, c1, 1, 3);
    head.relu = false;
    head.output = QuantParams::new(20.0 / 255.0, 0);
    // Centre tap (ky = kx = 1), channel 0; weight scale 10/127.
    head.weights[(3 + 1) * c1 as usize] = 127;
    head.bias = (-127 * i32::from(threshold)).to_le_bytes().to_vec();
    let rq = Requant::from_real(1.0 / 254.0);
    head.multiplier = rq.multiplier.to_le_bytes().to_vec();
    head.shift = vec![rq.shift as u8];
    vec![
        Spec::Conv(enc1),                     // t1  enc1 8×64×80
        Spec::Pool(1),                        // t2
        Spec::Conv(zero_conv(2, c1, c2, 3)),  // t3  enc2 16×32×40
        Spec::Pool(3),                        // t4
        Spec::Conv(zero_conv(4, c2, c3, 3)),  // t5  enc3 32×16×20
        Spec::Pool(5),                        // t6
        Spec::Conv(zero_conv(6, c3, m, 3)),   // t7  mid1 40×8×10
        Spec::Pool(7),                        // t8
        Spec::Conv(zero_conv(8, m, m, 3)),    // t9  ctx1 40×4×5
        Spec::Conv(zero_conv(9, m, m, 3)),    // t10 ctx2
        Spec::Up(10),                         // t11
        Spec::Add(11, 7),                     // t12 + m
        Spec::Conv(zero_conv(12, m, c3, 1)),  // t13 reduce 32×8×10
        Spec::Up(13),                         // t14
        Spec::Add(14, 5),                     // t15 + e3
        Spec::Conv(zero_conv(15, c3, c2, 3)), // t16 dec3 16×16×20
        Spec::Up(16),                         // t17
        Spec::Add(17, 3),                     // t18 + e2
        Spec::Conv(zero_conv(18, c2, c1, 3)), // t19 dec2 8×32×40
        Spec::Up(19),                         // t20
        Spec::Add(20, 1),                     // t21 + e1
        Spec::Conv(head),                     // t22 head 1×64×80 logits
    ]
}

fn ops(specs: &[Spec]) -> Vec<Op<'_>> {
    specs
        .iter()
        .map(|s| match s {
            Spec::Conv(c) => Op::Conv2d(Conv2d {
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
            Spec::Pool(i) => Op::MaxPool2x2 { input: *i },
            Spec::Up(i) => Op::Upsample2x { input: *i },
            Spec::Add(a, b) => Op::Add(Add {
                a: *a,
                b: *b,
                output: HIDDEN,
                requant: AddRequant::new(HIDDEN, HIDDEN, HIDDEN),
                relu: false,
            }),
        })
        .collect()
}

/// The blob (`.snmk`, unsigned) of the threshold network.
pub fn blob(threshold: u8) -> Result<Vec<u8>, EncodeError> {
    let specs = specs(threshold);
    let ops = ops(&specs);
    let mut provenance = [0u8; 32];
    provenance[..ARCH.len()].copy_from_slice(ARCH.as_bytes());
    provenance[31] = threshold;
    let desc = ModelDesc {
        arch: ARCH,
        input_shape: Shape::new(1, INPUT_H, INPUT_W),
        input_quant: INPUT_QUANT,
        provenance,
        arena_bytes: None,
        ops: &ops,
    };
    let mut buf = vec![0u8; encoded_len(&desc, false)?];
    let n = encode_into(&desc, &mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonomask_core::blob::SignaturePolicy;
    use sonomask_core::engine::{Model, run};
    use sonomask_train::model::ModelConfig;

    #[test]
    fn has_the_trainers_shape_and_thresholds_the_blur() {
        let bytes = blob(50).unwrap();
        let model = Model::from_bytes(&bytes, SignaturePolicy::Optional).unwrap();
        assert_eq!(model.input_shape(), Shape::new(1, 64, 80));
        assert_eq!(model.output_shape(), Shape::new(1, 64, 80));
        // Same MACs as the trained architecture.
        let macs: u64 = model
            .ops()
            .iter()
            .zip(model.tensors().iter().skip(1))
            .map(|(op, t)| match op {
                Op::Conv2d(c) => t.shape.numel() * (c.k as u64).pow(2) * c.in_c as u64,
                _ => 0,
            })
            .sum();
        assert_eq!(macs, ModelConfig::new().cost().macs);
        assert!(model.arena_bytes() <= sonomask_firmware::board::ARENA_BYTES);
        // Left half bright (80), right half dark (20): p ≥ 0.5 exactly
        // where the 3×3 mean reaches the threshold.
        let luma: Vec<u8> = (0..64 * 80)
            .map(|i| if i % 80 < 40 { 80 } else { 20 })
            .collect();
        let mut input = vec![0i8; luma.len()];
        model.quantize_input_u8(&luma, &mut input).unwrap();
        let mut arena = vec![0u8; model.arena_bytes()];
        let mut logits = vec![0i8; luma.len()];
        run(&model, &input, &mut arena, &mut logits).unwrap();
        let mut p = vec![0u8; luma.len()];
        model.logits_to_probability_u8(&logits, &mut p).unwrap();
        for y in 1..63 {
            for x in 1..79 {
                let mean = (-1i32..=1)
                    .flat_map(|dy| (-1i32..=1).map(move |dx| (dy, dx)))
                    .map(|(dy, dx)| luma[((y + dy) * 80 + x + dx) as usize] as i32)
                    .sum::<i32>() as f64
                    / 9.0;
                let inside = p[(y * 80 + x) as usize] >= 128;
                if (mean - 50.0).abs() > 1.0 {
                    assert_eq!(inside, mean > 50.0, "({x},{y}) mean {mean}");
                }
            }
        }
    }
}
