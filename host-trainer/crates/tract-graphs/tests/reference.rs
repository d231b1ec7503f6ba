//! tract-core as an independent reference for the quantiser and the shared
//! engine (graphs built in code by this crate, no ONNX):
//!
//! - float: tract's float graph against burn's forward of the same
//!   checkpoint, within `1e-4 × max|logit|` (both are `f32`; only summation
//!   order and the BN folding, done in `f64`, differ);
//! - int8, op by op: every op of the quantised graph, fed the engine's own
//!   input tensors, within ±1 LSB of the engine's output (tract derives its
//!   requantiser from an `f32` scale ratio and rounds ties to even; ours is
//!   a Q31 multiplier from `f64`, rounded half away);
//! - int8, whole graph: those ±1 differences then propagate through later
//!   layers, so end to end the bound is statistical (see the test).

use burn::tensor::{Device, Tensor as BurnTensor, TensorData};
use sonomask_core::engine::{self, Model};
use sonomask_data::dataset::Dataset;
use sonomask_data::frames;
use sonomask_tract_graphs as tract_graphs;
use sonomask_train::checkpoint;
use sonomask_train::model::{ModelConfig, SectorNet};
use sonomask_train::quantize::calibrate::RangeMethod;
use sonomask_train::quantize::float_graph::FloatGraph;
use sonomask_train::quantize::int8_graph::QuantGraph;
use sonomask_train::quantize::{Quantized, calibration_frames, quantize_graph};
use sonomask_train::test_support::{fixture, perturbed_net};

fn burn_logits(net: &SectorNet, x: &[f32], h: usize, w: usize) -> Vec<f32> {
    net.forward(BurnTensor::from_data(
        TensorData::new(x.to_vec(), [1, 1, h, w]),
        &Device::flex(),
    ))
    .into_data()
    .try_into_vec_as::<f32>()
    .unwrap()
}

/// Thumbnails of the fixture's frames (what the int8 path feeds the engine).
fn fixture_thumbnails(n: usize) -> Vec<Vec<u8>> {
    let f = fixture();
    let data = Dataset::open(&f.data).unwrap();
    calibration_frames(&data, n)
        .into_iter()
        .map(|(c, i)| frames::load_thumbnail_u8(&data, &data.clips()[c], i, 80, 64).unwrap())
        .collect()
}

fn trained() -> (SectorNet, FloatGraph) {
    let (net, _) = checkpoint::load(&fixture().ckpt, &Device::flex()).unwrap();
    let g = FloatGraph::from_net(&net, 64, 80);
    (net, g)
}

#[test]
fn tract_float_matches_burn() {
    let small = ModelConfig::new()
        .with_input_h(32)
        .with_input_w(48)
        .with_encoder([4, 6, 8])
        .with_bottleneck(8);
    let perturbed = perturbed_net(&small, 5);
    let cases = [
        (trained(), fixture_thumbnails(3)),
        (
            {
                let g = FloatGraph::from_net(&perturbed, 32, 48);
                (perturbed, g)
            },
            vec![(0..32 * 48).map(|i| (i * 37 % 251) as u8).collect()],
        ),
    ];
    for ((net, g), thumbs) in cases {
        let s = g.input_shape();
        let (h, w) = (s.h as usize, s.w as usize);
        for t in thumbs {
            let x: Vec<f32> = t.iter().map(|&v| f32::from(v) / 255.0).collect();
            let want = burn_logits(&net, &x, h, w);
            let got: Vec<f32> = tract_graphs::run(
                tract_graphs::float_model(&g).unwrap(),
                vec![tract_graphs::hwc(&x, h, w, 1).unwrap()],
            )
            .unwrap();
            let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
            let worst = got
                .iter()
                .zip(&want)
                .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            eprintln!("tract vs burn: worst {worst}, max |logit| {scale}");
            assert!(worst <= 1e-4 * scale, "worst {worst}, scale {scale}");
        }
    }
}

/// Every tensor of the engine's forward pass (each prefix of the graph run
/// as a model of its own).
fn engine_tensors(g: &QuantGraph, input: &[i8]) -> Vec<Vec<i8>> {
    let ops = g.ops();
    let mut ts = vec![input.to_vec()];
    for k in 1..=ops.len() {
        let m = Model::new(g.input_shape, g.input_quant, &ops[..k]).unwrap();
        let mut arena = vec![0u8; m.arena_bytes()];
        let mut out = vec![0i8; m.output_len()];
        engine::run(&m, input, &mut arena, &mut out).unwrap();
        ts.push(out);
    }
    ts
}

fn quantised_fixture(thumbs: &[Vec<u8>]) -> Quantized {
    quantize_graph(trained().1, thumbs, RangeMethod::MinMax, &|| ())
}

#[test]
fn tract_int8_matches_the_engine_op_by_op() {
    let thumbs = fixture_thumbnails(8);
    let q = quantised_fixture(&thumbs);
    let model = q.graph.model().unwrap();
    let infos = model.tensors().to_vec();
    let (mut exact, mut total) = (0usize, 0usize);
    for t in thumbs.iter().take(2) {
        let mut input = vec![0i8; model.input_len()];
        model.quantize_input_u8(t, &mut input).unwrap();
        let ts = engine_tensors(&q.graph, &input);
        for i in 0..q.graph.ops.len() {
            let ins = tract_graphs::op_input_ids(&q.graph, i)
                .into_iter()
                .map(|id| {
                    let s = infos[id].shape;
                    tract_graphs::hwc(&ts[id], s.h as usize, s.w as usize, s.c as usize).unwrap()
                })
                .collect();
            let m = tract_graphs::int8_op_model(&q.graph, i, &infos).unwrap();
            let got: Vec<i8> = tract_graphs::run(m, ins).unwrap();
            let want = &ts[i + 1];
            assert_eq!(got.len(), want.len(), "op {i}");
            for (k, (&a, &b)) in got.iter().zip(want).enumerate() {
                assert!(
                    (a as i32 - b as i32).abs() <= 1,
                    "op {i} element {k}: tract {a}, engine {b}"
                );
                exact += usize::from(a == b);
            }
            total += want.len();
        }
    }
    eprintln!("op by op: {exact}/{total} exact, the rest ±1");
    // Not a bound the spec promises, a regression guard: measured 99.97%
    // exact (535 829 of 536 000), every other element ±1.
    assert!(exact as f64 >= 0.99 * total as f64, "{exact}/{total} exact");
}

#[test]
fn tract_int8_whole_graph_stays_close() {
    let thumbs = fixture_thumbnails(8);
    let q = quantised_fixture(&thumbs);
    let model = q.graph.model().unwrap();
    let infos = model.tensors().to_vec();
    let (mut within1, mut total, mut worst) = (0usize, 0usize, 0i32);
    for t in &thumbs {
        let mut input = vec![0i8; model.input_len()];
        model.quantize_input_u8(t, &mut input).unwrap();
        let mut arena = vec![0u8; model.arena_bytes()];
        let mut want = vec![0i8; model.output_len()];
        engine::run(&model, &input, &mut arena, &mut want).unwrap();
        let got: Vec<i8> = tract_graphs::run(
            tract_graphs::int8_model(&q.graph, &infos).unwrap(),
            vec![tract_graphs::hwc(&input, 64, 80, 1).unwrap()],
        )
        .unwrap();
        for (&a, &b) in got.iter().zip(&want) {
            let d = (a as i32 - b as i32).abs();
            within1 += usize::from(d <= 1);
            worst = worst.max(d);
        }
        total += want.len();
    }
    // Off-by-one differences in early layers propagate through 21 ops, so
    // end to end only most logits stay within ±1 LSB; no logit may move far.
    let frac = within1 as f64 / total as f64;
    eprintln!("whole graph: {frac} within ±1 LSB, worst {worst}");
    // Measured: 99.85% within ±1 LSB, worst 2 LSB.
    assert!(frac >= 0.98, "{frac} within ±1 LSB (worst {worst})");
    assert!(worst <= 4, "worst {worst} LSB");
}
