//! The cart's per-frame stages on this host, with criterion:
//!
//! - `inference_64x80`: the shared int8 engine against tract (f32, and its
//!   own int8) on the same graph — the default 64×80 sector net, seeded
//!   random weights (timing does not depend on the values);
//! - `thumbnail_1024x768_rgb`: frame → luma → exact area average → int8
//!   input (the shared thumbnail code);
//! - `mask_1024x768_rgb`: span masking (the shared geometry's row spans of
//!   a fan, everything outside blackened in place) against a plain memcpy of
//!   the same frame, both reported in bytes of frame per second.
//!
//! Run with `cargo bench -p sonomask-tract-graphs --bench engine`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sonomask_core::engine;
use sonomask_core::geometry::{Fan, Region, Regions};
use sonomask_core::mask::{FrameLayout, PixelFormat, mask_in_place};
use sonomask_core::thumbnail;
use sonomask_train::model::ModelConfig;
use sonomask_train::quantize::{self as q, calibrate::RangeMethod, float_graph::FloatGraph};
use tract_core::internal::*;

use sonomask_tract_graphs as tract_graphs;

/// A 64×80 echo-like thumbnail: bright noisy fan, dark outside.
fn thumbnail_u8(seed: u32) -> Vec<u8> {
    let (h, w) = (64usize, 80usize);
    let mut s = seed.wrapping_mul(2_654_435_761).max(1);
    (0..h * w)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            let (x, y) = ((i % w) as f32 - 40.0, (i / w) as f32 - 2.0);
            let inside = y > 0.0 && (x * x + y * y).sqrt() < 58.0 && x.abs() < y * 0.9;
            if inside {
                30 + (s % 190) as u8
            } else {
                (s % 12) as u8
            }
        })
        .collect()
}

fn bench_inference(c: &mut Criterion) {
    let cfg = ModelConfig::new();
    let net = cfg.init(&burn::tensor::Device::flex(), 7);
    let float = FloatGraph::from_net(&net, cfg.input_h, cfg.input_w);
    let calib: Vec<Vec<u8>> = (1..=8).map(thumbnail_u8).collect();
    let quant = q::quantize_graph(float.clone(), &calib, RangeMethod::MinMax, &|| ());
    let model = quant.graph.model().expect("valid graph");
    let infos = model.tensors().to_vec();

    let thumb = thumbnail_u8(99);
    let mut input = vec![0i8; model.input_len()];
    model.quantize_input_u8(&thumb, &mut input).expect("input");
    let mut arena = vec![0u8; model.arena_bytes()];
    let mut out = vec![0i8; model.output_len()];
    let x: Vec<f32> = thumb.iter().map(|&v| f32::from(v) / 255.0).collect();

    let tract_f32 = tract_graphs::float_model(&float)
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .expect("tract float model");
    let tract_i8 = tract_graphs::int8_model(&quant.graph, &infos)
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .expect("tract int8 model");
    let x_t = tract_graphs::hwc(&x, 64, 80, 1).expect("tensor");
    let i_t = tract_graphs::hwc(&input, 64, 80, 1).expect("tensor");

    let mut g = c.benchmark_group("inference_64x80");
    g.throughput(Throughput::Elements(1));
    g.bench_function("engine_int8", |b| {
        b.iter(|| engine::run(&model, &input, &mut arena, &mut out).expect("run"))
    });
    g.bench_function("tract_f32", |b| {
        b.iter(|| {
            tract_f32
                .run(tvec![x_t.clone().into_tvalue()])
                .expect("run")
        })
    });
    g.bench_function("tract_int8", |b| {
        b.iter(|| tract_i8.run(tvec![i_t.clone().into_tvalue()]).expect("run"))
    });
    g.finish();
}

/// A 1024×768 RGB frame with noise everywhere.
fn frame_1024x768() -> Vec<u8> {
    let mut s = 0x1234_5678u32;
    (0..1024 * 768 * 3)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            s as u8
        })
        .collect()
}

fn bench_thumbnail(c: &mut Criterion) {
    let frame = frame_1024x768();
    let layout = FrameLayout::packed(1024, 768, PixelFormat::Rgb888);
    let net_in = {
        let cfg = ModelConfig::new();
        let net = cfg.init(&burn::tensor::Device::flex(), 7);
        let float = FloatGraph::from_net(&net, 64, 80);
        q::quantize_graph(float, &[thumbnail_u8(1)], RangeMethod::MinMax, &|| ()).graph
    };
    let model = net_in.model().expect("valid graph");
    let mut input = vec![0i8; model.input_len()];
    let mut g = c.benchmark_group("thumbnail_1024x768_rgb");
    g.throughput(Throughput::Bytes(frame.len() as u64));
    g.bench_function("frame_to_input", |b| {
        b.iter(|| thumbnail::frame_to_input(&model, &frame, layout, &mut input).expect("ok"))
    });
    g.finish();
}

fn bench_masking(c: &mut Criterion) {
    let src = frame_1024x768();
    let mut dst = vec![0u8; src.len()];
    let layout = FrameLayout::packed(1024, 768, PixelFormat::Rgb888);
    // A cardiac fan as the synthetic scanner draws one: apex near the top
    // centre, ±38°, reaching most of the frame height.
    let regions = Regions::one(Region::Fan(Fan {
        apex_x: 512.0,
        apex_y: 40.0,
        angle_left: -0.66,
        angle_right: 0.66,
        r_inner: 0.0,
        r_outer: 690.0,
        flat_top: Some(60.0),
        clip: None,
    }));
    let mut g = c.benchmark_group("mask_1024x768_rgb");
    g.throughput(Throughput::Bytes(src.len() as u64));
    g.bench_function("memcpy", |b| {
        b.iter(|| {
            dst.copy_from_slice(&src);
            std::hint::black_box(&mut dst);
        })
    });
    g.bench_function("span_mask_in_place", |b| {
        b.iter(|| {
            mask_in_place(&mut dst, layout, &regions).expect("layout");
            std::hint::black_box(&mut dst);
        })
    });
    g.bench_function("memcpy_then_span_mask", |b| {
        b.iter(|| {
            dst.copy_from_slice(&src);
            mask_in_place(&mut dst, layout, &regions).expect("layout");
            std::hint::black_box(&mut dst);
        })
    });
    g.finish();
    let kept = regions.area(1024, 768);
    eprintln!(
        "fan keeps {kept} of {} pixels ({:.1}%)",
        1024 * 768,
        100.0 * kept as f64 / (1024.0 * 768.0)
    );
}

criterion_group!(benches, bench_inference, bench_thumbnail, bench_masking);
criterion_main!(benches);
