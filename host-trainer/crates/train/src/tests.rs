//! End-to-end tests of training on a handful of tiny synthetic clips.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::checkpoint;
use super::inference::Predictor;
use super::training::{self, TrainRequest, TrainingConfig};
use super::{DeviceChoice, TrainError};
use sonomask_data::dataset::Dataset;
use sonomask_data::synth::SynthConfig;
use sonomask_data::synth_io;
use sonomask_deploy::maps as inference;

struct Fixture {
    _dir: tempfile::TempDir,
    data: PathBuf,
    labels: PathBuf,
}

/// Six 320×240 clips of three frames; ground-truth labels for five of them.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let cfg = SynthConfig {
            seed: 5,
            clips: 6,
            frames: 3,
            size: Some((320, 240)),
            ..SynthConfig::default()
        };
        synth_io::write_dataset(&cfg, &data, &|| ()).unwrap();
        let labels = dir.path().join("labels");
        std::fs::create_dir(&labels).unwrap();
        let ds = Dataset::open(&data).unwrap();
        for c in &ds.clips()[..5] {
            std::fs::copy(
                ds.clip_dir(&c.id).join("sector.png"),
                labels.join(format!("{}.png", c.id)),
            )
            .unwrap();
        }
        Fixture {
            _dir: dir,
            data,
            labels,
        }
    })
}

fn tiny(seed: u64) -> TrainingConfig {
    TrainingConfig::new()
        .with_num_epochs(2)
        .with_batch_size(4)
        .with_frames_per_clip(Some(2))
        .with_seed(seed)
        .with_val_fraction(0.2)
}

fn run(
    out: &Path,
    config: TrainingConfig,
    init: Option<&Path>,
    decisions: Option<&Path>,
    labels: Option<&Path>,
) -> Result<checkpoint::CheckpointMeta, TrainError> {
    let f = fixture();
    let data = Dataset::open(&f.data).unwrap();
    training::train(
        TrainRequest {
            data: &data,
            labels: labels.unwrap_or(&f.labels),
            extra: &[],
            decisions,
            init,
            out,
            device: DeviceChoice::Flex,
            config,
        },
        &mut |_| (),
    )
}

#[test]
fn train_save_load_predict_round_trip() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("net.bpk");
    let meta = run(&ckpt, tiny(1), None, None, None).unwrap();
    assert_eq!(meta.epochs.len(), 2);
    assert_eq!(meta.split.train_clips.len() + meta.split.val_clips.len(), 5);
    assert_eq!(meta.split.val_clips.len(), 1);
    assert!(meta.images_per_s > 0.0);
    assert!(meta.epochs.iter().all(|e| e.val_accuracy.is_some()));
    assert!(checkpoint::meta_path(&ckpt).is_file());

    // Load: the weights re-serialise to the same bytes.
    let bytes = std::fs::read(&ckpt).unwrap();
    let (net, loaded) = checkpoint::load(&ckpt, &burn::tensor::Device::flex()).unwrap();
    assert_eq!(checkpoint::weights_bytes(&net).unwrap(), bytes);
    assert_eq!(loaded.config.model, meta.config.model);

    // Refinement starts from it.
    let refined = dir.path().join("refined.bpk");
    let m2 = run(
        &refined,
        tiny(1).with_num_epochs(1),
        Some(&ckpt),
        None,
        None,
    )
    .unwrap();
    assert_eq!(m2.init.as_deref(), Some(ckpt.as_path()));

    // Predict writes one full-size mask per clip (labelled or not) and a summary.
    let predictor = Predictor::load(&ckpt, burn::tensor::Device::flex()).unwrap();
    let data = Dataset::open(&f.data).unwrap();
    let masks = dir.path().join("masks");
    let summary = inference::predict_dataset(
        &predictor,
        "float",
        &ckpt,
        &data,
        &masks,
        &Default::default(),
        &|_| (),
    )
    .unwrap();
    assert_eq!(summary.clips.len(), 6);
    for c in data.clips() {
        let m = sonomask_data::dataset::read_label_mask(&masks, c).unwrap();
        assert_eq!(m.dimensions(), (c.width, c.height));
    }
    sonomask_data::evaluate::evaluate(&data, &masks).unwrap();

    // The drawing UI starts from the network's fit where there is one: the
    // same regions `predict` rasterised.
    use sonomask_human::web::annotate::{AnnotateConfig, AnnotateState};
    let st = AnnotateState::new(
        sonomask_human::web::Common::new(sonomask_human::web::Token::fixed("t"), data.clone()),
        AnnotateConfig {
            out: dir.path().join("hq"),
            labels_name: "hq".into(),
            journal: dir.path().join("draw.jsonl"),
            annotator: "t".into(),
            clips: data.clips().iter().map(|c| c.id.clone()).collect(),
            proposal_dirs: vec![],
            model: Some(Box::new(
                Predictor::load(&ckpt, burn::tensor::Device::flex()).unwrap(),
            )),
        },
    )
    .unwrap();
    for (c, outcome) in data.clips().iter().zip(&summary.clips) {
        let p = st.proposal(&c.id).unwrap();
        assert_eq!(p.source == "model", outcome.fit_error.is_none(), "{}", c.id);
        if p.source == "model" {
            let mut m = image::GrayImage::new(c.width, c.height);
            p.regions.rasterize(c.width as u16, c.height as u16, &mut m);
            assert_eq!(
                m,
                sonomask_data::dataset::read_label_mask(&masks, c).unwrap()
            );
        }
    }
}

#[test]
fn same_seed_same_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n);
    run(&path("a"), tiny(7), None, None, None).unwrap();
    run(&path("b"), tiny(7), None, None, None).unwrap();
    run(&path("c"), tiny(8), None, None, None).unwrap();
    let read = |n: &str| std::fs::read(path(n)).unwrap();
    assert!(read("a") == read("b"), "same seed, different weights");
    assert!(read("a") != read("c"), "another seed, same weights");
}

#[test]
fn corrupt_checkpoints_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("net.bpk");
    run(&ckpt, tiny(3).with_num_epochs(1), None, None, None).unwrap();
    let good = std::fs::read(&ckpt).unwrap();
    let dev = burn::tensor::Device::flex();
    let err = |p: &Path| {
        checkpoint::load(p, &dev)
            .expect_err("must fail")
            .to_string()
    };

    std::fs::write(&ckpt, &good[..good.len() / 2]).unwrap();
    let e = err(&ckpt);
    assert!(e.contains("net.bpk") && e.contains("truncated"), "{e}");

    let mut flipped = good.clone();
    let k = flipped.len() - 10;
    flipped[k] ^= 0x55;
    std::fs::write(&ckpt, &flipped).unwrap();
    assert!(err(&ckpt).contains("corrupt"), "{}", err(&ckpt));

    // Garbage whose metadata was rewritten to match gets past the hash and
    // fails in burn's parser, still as an error.
    let junk = vec![7u8; 300];
    let mut meta = checkpoint::load_meta(&ckpt).unwrap();
    checkpoint::save(&ckpt, &junk, &mut meta).unwrap();
    assert!(err(&ckpt).contains("not a burn record"), "{}", err(&ckpt));

    std::fs::remove_file(checkpoint::meta_path(&ckpt)).unwrap();
    assert!(err(&ckpt).contains("net.bpk.json"), "{}", err(&ckpt));
    assert!(err(&dir.path().join("absent")).contains("absent"));
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.bpk");
    // No labels at all.
    let empty = dir.path().join("no-labels");
    std::fs::create_dir(&empty).unwrap();
    let e = run(&out, tiny(1), None, None, Some(&empty))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no-labels") && e.contains("no labels"), "{e}");

    // A journal naming a clip that is not in the dataset.
    let j = dir.path().join("j.jsonl");
    std::fs::write(
        &j,
        "{\"clip\":\"clip0001\",\"labels\":\"labels\",\"decision\":\"accept\",\"reviewer\":\"a\",\"seconds\":1,\"time\":\"t\"}\n\
         {\"clip\":\"nope\",\"labels\":\"labels\",\"decision\":\"accept\",\"reviewer\":\"a\",\"seconds\":1,\"time\":\"t\"}\n",
    )
    .unwrap();
    let e = run(&out, tiny(1), None, Some(&j), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("j.jsonl:2") && e.contains("nope"), "{e}");

    // A journal that accepts nothing usable.
    std::fs::write(
        &j,
        "{\"clip\":\"clip0001\",\"labels\":\"labels\",\"decision\":\"reject\",\"reviewer\":\"a\",\"seconds\":1,\"time\":\"t\"}\n",
    )
    .unwrap();
    let e = run(&out, tiny(1), None, Some(&j), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("accepted"), "{e}");
    assert!(!out.exists(), "nothing written on failure");

    #[cfg(not(feature = "cuda"))]
    assert!(matches!(
        super::device(DeviceChoice::Cuda),
        Err(TrainError::BackendNotCompiled { device: "cuda" })
    ));
}

#[test]
fn journal_selects_accepted_clips() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let j = dir.path().join("j.jsonl");
    let labels = f.labels.to_str().unwrap();
    let line = |clip: &str, d: &str| {
        format!(
            "{{\"clip\":\"{clip}\",\"labels\":\"{labels}\",\"decision\":\"{d}\",\"reviewer\":\"r\",\"seconds\":2.0,\"time\":\"2025-01-01T00:00:00Z\"}}\n"
        )
    };
    let text = [
        line("clip0000", "accept"),
        line("clip0001", "accept"),
        line("clip0002", "accept"),
        line("clip0002", "undo"),
        line("clip0003", "reject"),
        line("clip0005", "accept"), // accepted, but has no label file
    ]
    .concat();
    std::fs::write(&j, text).unwrap();
    let meta = run(
        &dir.path().join("n.bpk"),
        tiny(2).with_num_epochs(1),
        None,
        Some(&j),
        None,
    )
    .unwrap();
    let mut used: Vec<String> = meta.split.train_clips.clone();
    used.extend(meta.split.val_clips.clone());
    used.sort();
    assert_eq!(used, vec!["clip0000", "clip0001"]);
}
