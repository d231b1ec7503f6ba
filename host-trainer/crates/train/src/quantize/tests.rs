//! Quantisation tests: BN folding against burn, int8 against float on a
//! random net, and the whole pipeline (tiny synthetic set → brief training
//! → quantize → engine vs float) on files.

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use ed25519_dalek::SigningKey;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sonomask_core::blob::SignaturePolicy;
use sonomask_core::engine::Model;
use sonomask_data::dataset::Dataset;
use sonomask_deploy::blob_inference::{self, EnginePredictor};
use sonomask_deploy::maps::CoarseMaps;

use super::*;
use crate::inference::Predictor;
use crate::test_support::{fixture, perturbed_net};

/// A small net (32×48 input) for the fast unit tests.
fn small_cfg() -> ModelConfig {
    ModelConfig::new()
        .with_input_h(32)
        .with_input_w(48)
        .with_encoder([4, 6, 8])
        .with_bottleneck(8)
}

/// A thumbnail that looks like an echo frame: a bright noisy fan on a
/// dark background with a few text-like bright specks.
fn thumbnail(rng: &mut StdRng, h: usize, w: usize) -> Vec<u8> {
    let (cx, cy) = (w as f32 * rng.random_range(0.4..0.6), h as f32 * 0.05);
    let r = h as f32 * rng.random_range(0.6..0.95);
    (0..h * w)
        .map(|i| {
            let (x, y) = ((i % w) as f32 - cx, (i / w) as f32 - cy);
            let inside = y > 0.0 && (x * x + y * y).sqrt() < r && x.abs() < y * 0.9;
            let v: f32 = if inside {
                rng.random_range(30.0..220.0)
            } else if rng.random_bool(0.02) {
                240.0
            } else {
                rng.random_range(0.0..12.0)
            };
            v as u8
        })
        .collect()
}

fn thumbnails(seed: u64, n: usize, h: usize, w: usize) -> Vec<Vec<u8>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| thumbnail(&mut rng, h, w)).collect()
}

#[test]
fn folded_graph_matches_burn() {
    let cfg = small_cfg();
    let (h, w) = (cfg.input_h, cfg.input_w);
    let net = perturbed_net(&cfg, 4);
    let g = FloatGraph::from_net(&net, h, w);
    assert_eq!(g.ops.len(), 22);
    assert_eq!(g.macs(), cfg.cost().macs);
    let dev = Device::flex();
    for t in thumbnails(8, 3, h, w) {
        let x: Vec<f32> = t.iter().map(|&v| f32::from(v) / 255.0).collect();
        let ours = g.logits(&x);
        let theirs = net
            .forward(Tensor::from_data(TensorData::new(x, [1, 1, h, w]), &dev))
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap();
        let scale = theirs.iter().fold(1f32, |m, v| m.max(v.abs()));
        let worst = ours
            .iter()
            .zip(&theirs)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        // f32 sums in another order, BN folded in f64: a few ulps of the
        // logits' scale.
        assert!(worst <= 1e-4 * scale, "worst {worst}, scale {scale}");
    }
}

#[test]
fn int8_tracks_float_on_a_random_net() {
    let cfg = small_cfg();
    let (h, w) = (cfg.input_h, cfg.input_w);
    let g = FloatGraph::from_net(&perturbed_net(&cfg, 11), h, w);
    let calib = thumbnails(1, 24, h, w);
    let held_out = thumbnails(2, 12, h, w);
    for method in [RangeMethod::MinMax, RangeMethod::Percentile(99.99)] {
        let q = quantize_graph(g.clone(), &calib, method, &|| ());
        // Every convolution's weights use the full int8 range per channel.
        for c in convs(&q.graph) {
            let kk = c.weights.len() / c.out_c as usize;
            for oc in 0..c.out_c as usize {
                let max = (0..kk).map(|i| c.weight(oc * kk + i).unsigned_abs()).max();
                assert_eq!(max, Some(127), "{} channel {oc}", c.name);
            }
        }
        let a = agreement(&q, &held_out).unwrap();
        eprintln!("{method}: {a:?}");
        // Measured (seeded, so exact): 0.985 agreement and 4.8–5.0%
        // relative logit error for both methods on this untrained net, whose
        // logits crowd around 0. A wrong scale, zero point or weight layout
        // gives ~0.5 agreement and errors of the logits' own size.
        assert!(a.decision_agreement >= 0.97, "{method}: {a:?}");
        assert!(
            a.mean_abs_logit_error <= 0.08 * a.mean_abs_logit,
            "{method}: {a:?}"
        );
    }
}

#[test]
fn calibration_frames_spread_over_clips() {
    let f = fixture();
    let data = Dataset::open(&f.data).unwrap();
    // 6 clips of 3 frames.
    assert_eq!(calibration_frames(&data, 3), vec![(0, 0), (2, 0), (4, 0)]);
    let all = calibration_frames(&data, 8);
    assert_eq!(all.len(), 8);
    assert_eq!(&all[..3], &[(0, 0), (0, 1), (1, 0)]);
    assert_eq!(
        calibration_frames(&data, 100).len(),
        18,
        "at most every frame"
    );
}

fn quantize_to(out: &Path, frames: usize, key: Option<&SigningKey>) -> QuantizeReport {
    let f = fixture();
    let data = Dataset::open(&f.data).unwrap();
    quantize_checkpoint(
        QuantizeRequest {
            checkpoint: &f.ckpt,
            calib: &data,
            out,
            key,
            config: QuantizeConfig {
                method: RangeMethod::MinMax,
                calib_frames: frames,
            },
        },
        &|| (),
    )
    .unwrap()
}

#[test]
fn pipeline_blob_runs_like_the_float_net() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.snmk");
    let report = quantize_to(&out, 12, None);
    assert_eq!(report.calib_frames.len(), 12);
    assert_eq!(report.tensors.len(), 23);
    assert!(report_path(&out).is_file());
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(bytes.len(), report.blob_bytes);
    assert!(blob_inference::is_blob_file(&out).unwrap());
    assert!(!blob_inference::is_blob_file(&f.ckpt).unwrap());

    let model = Model::from_bytes(&bytes, SignaturePolicy::Optional).unwrap();
    assert_eq!(model.info().arch, "sectornet-64x80-8.16.32-40");
    assert_eq!(hex(&model.info().provenance), report.provenance);
    let int8 = EnginePredictor::new(&out, &model).unwrap();
    let float = Predictor::load(&f.ckpt, Device::flex()).unwrap();
    let data = Dataset::open(&f.data).unwrap();
    let a = int8.clip_maps(&data, data.clips()).unwrap();
    let b = float.clip_maps(&data, data.clips()).unwrap();
    let (mut same, mut total, mut worst) = (0usize, 0usize, 0u8);
    for ((ma, na), (mb, nb)) in a.iter().zip(&b) {
        assert_eq!(na, nb, "same frames averaged");
        for (&x, &y) in ma.iter().zip(mb) {
            same += usize::from((x >= 128) == (y >= 128));
            worst = worst.max(x.abs_diff(y));
        }
        total += ma.len();
    }
    let agree = same as f64 / total as f64;
    eprintln!("coarse decisions agree on {agree}, worst gap {worst}/255");
    // Measured: 0.996 of the coarse decisions agree, the worst averaged
    // probability differs by 4/255. A broken input path or grid gives far
    // less.
    assert!(agree >= 0.99, "coarse decisions agree on {agree}");
    assert!(worst <= 32, "worst probability gap {worst}/255");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn quantize_is_deterministic_and_hashes_its_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let r1 = quantize_to(&p("a.snmk"), 6, None);
    let r2 = quantize_to(&p("b.snmk"), 6, None);
    let r3 = quantize_to(&p("c.snmk"), 7, None);
    let read = |n: &str| std::fs::read(p(n)).unwrap();
    assert_eq!(read("a.snmk"), read("b.snmk"));
    assert_eq!(r1.provenance, r2.provenance);
    assert_ne!(r1.provenance, r3.provenance, "calibration set is hashed");

    let key = SigningKey::from_bytes(&[9; 32]);
    quantize_to(&p("s.snmk"), 6, Some(&key));
    let signed = read("s.snmk");
    let vk = key.verifying_key();
    let m = Model::from_bytes(&signed, SignaturePolicy::Required(&vk)).unwrap();
    assert_eq!(hex(&m.info().provenance), r1.provenance);
    let other = SigningKey::from_bytes(&[8; 32]).verifying_key();
    assert!(Model::from_bytes(&signed, SignaturePolicy::Required(&other)).is_err());
}

fn request<'a>(
    ckpt: &'a Path,
    data: &'a Dataset,
    out: &'a Path,
    frames: usize,
) -> QuantizeRequest<'a> {
    QuantizeRequest {
        checkpoint: ckpt,
        calib: data,
        out,
        key: None,
        config: QuantizeConfig {
            method: RangeMethod::MinMax,
            calib_frames: frames,
        },
    }
}

#[test]
fn bad_requests_are_typed_errors() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let data = Dataset::open(&f.data).unwrap();
    let out = dir.path().join("x.snmk");
    assert!(matches!(
        quantize_checkpoint(request(&f.ckpt, &data, &out, 0), &|| ()),
        Err(QuantizeError::NoFrames)
    ));
    let absent = dir.path().join("absent.bpk");
    let e = quantize_checkpoint(request(&absent, &data, &out, 4), &|| ()).unwrap_err();
    assert!(e.to_string().contains("absent.bpk"), "{e}");
    assert!(!out.exists(), "nothing written on failure");
}

#[test]
fn provenance_ignores_the_clock_but_not_the_training() {
    let a = br#"{"seed":42,"wall_s":139.1,"images_per_s":152.0,"epochs":[{"epoch":1,"train_loss":0.3,"images_per_s":125.2,"seconds":2.39}]}"#;
    let b = br#"{"seed":42,"wall_s":181.7,"images_per_s":101.5,"epochs":[{"epoch":1,"train_loss":0.3,"images_per_s":88.0,"seconds":3.41}]}"#;
    let c = br#"{"seed":43,"wall_s":139.1,"images_per_s":152.0,"epochs":[{"epoch":1,"train_loss":0.3,"images_per_s":125.2,"seconds":2.39}]}"#;
    let d = br#"{"seed":42,"wall_s":139.1,"images_per_s":152.0,"epochs":[{"epoch":1,"train_loss":0.4,"images_per_s":125.2,"seconds":2.39}]}"#;
    assert_eq!(super::timeless_meta(a), super::timeless_meta(b));
    assert_ne!(super::timeless_meta(a), super::timeless_meta(c));
    assert_ne!(super::timeless_meta(a), super::timeless_meta(d));
    // Not JSON: hashed as it is.
    assert_eq!(
        super::timeless_meta(b"\xff garbage"),
        b"\xff garbage".to_vec()
    );
}
