//! Test fixtures shared by the quantiser's unit tests and the tract
//! reference crate's tests (feature `test-support`): a small trained net on
//! synthetic clips, and a net with perturbed BatchNorm statistics.

use std::path::PathBuf;
use std::sync::OnceLock;

use burn::module::{Param, RunningState};
use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sonomask_data::dataset::Dataset;
use sonomask_data::synth::SynthConfig;
use sonomask_data::synth_io;

use crate::DeviceChoice;
use crate::model::{ModelConfig, SectorNet};
use crate::training::{self, TrainRequest, TrainingConfig};

/// A synthetic dataset and a checkpoint trained on it.
pub struct Fixture {
    _dir: tempfile::TempDir,
    pub data: PathBuf,
    pub ckpt: PathBuf,
}

/// Six 320×240 clips of three frames and a net trained on them for two
/// epochs (the default architecture, so the blob is the real layout).
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let cfg = SynthConfig {
            seed: 21,
            clips: 6,
            frames: 3,
            size: Some((320, 240)),
            ..SynthConfig::default()
        };
        synth_io::write_dataset(&cfg, &data, &|| ()).unwrap();
        let labels = dir.path().join("labels");
        std::fs::create_dir(&labels).unwrap();
        let ds = Dataset::open(&data).unwrap();
        for c in ds.clips() {
            std::fs::copy(
                ds.clip_dir(&c.id).join("sector.png"),
                labels.join(format!("{}.png", c.id)),
            )
            .unwrap();
        }
        let ckpt = dir.path().join("net.bpk");
        training::train(
            TrainRequest {
                data: &ds,
                labels: &labels,
                extra: &[],
                decisions: None,
                init: None,
                out: &ckpt,
                device: DeviceChoice::Flex,
                config: TrainingConfig::new()
                    .with_num_epochs(3)
                    .with_batch_size(4)
                    .with_frames_per_clip(Some(3))
                    .with_seed(3)
                    .with_val_fraction(0.2),
            },
            &mut |_| (),
        )
        .unwrap();
        Fixture {
            _dir: dir,
            data,
            ckpt,
        }
    })
}

fn tensor1(v: Vec<f32>, dev: &Device) -> Tensor<1> {
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), dev)
}

/// `cfg`'s net with seeded random weights and BatchNorm statistics far from
/// identity, so that folding has something to fold.
pub fn perturbed_net(cfg: &ModelConfig, seed: u64) -> SectorNet {
    let dev = Device::flex();
    let mut net = cfg.init(&dev, seed);
    let mut rng = StdRng::seed_from_u64(seed ^ 0xb17);
    for l in [
        &mut net.enc1,
        &mut net.enc2,
        &mut net.enc3,
        &mut net.mid1,
        &mut net.ctx1,
        &mut net.ctx2,
        &mut net.reduce,
        &mut net.dec3,
        &mut net.dec2,
    ] {
        let [c] = l.bn.gamma.val().dims();
        let mut draw = |lo: f32, hi: f32| (0..c).map(|_| rng.random_range(lo..hi)).collect();
        l.bn.gamma = Param::from_tensor(tensor1(draw(0.5, 1.5), &dev));
        l.bn.beta = Param::from_tensor(tensor1(draw(-0.3, 0.3), &dev));
        l.bn.running_mean = RunningState::new(tensor1(draw(-0.2, 0.2), &dev));
        l.bn.running_var = RunningState::new(tensor1(draw(0.3, 2.0), &dev));
    }
    let b: Vec<f32> = vec![rng.random_range(-0.5..0.5)];
    net.head.bias = Some(Param::from_tensor(tensor1(b, &dev)));
    net
}
