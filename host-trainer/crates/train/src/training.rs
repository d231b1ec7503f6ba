//! The training loop: BCE-with-logits + soft Dice, Adam, validation every
//! epoch, early stopping, the best epoch's weights checkpointed.
//!
//! Determinism: weights are initialised from the seed (see
//! [`super::model`]), batches are shuffled and augmented from seeds derived
//! from (seed, epoch, sample), and nothing reads burn's global RNG, so the
//! same seed, data and backend give the same checkpoint bytes. Measured on
//! the flex CPU backend with rayon: identical bytes run to run (the
//! `same_seed_same_checkpoint` test; a 15-epoch, 200-clip pretraining run
//! twice), and with `RAYON_NUM_THREADS` = 1, 2 and 4. GPU backends make no
//! such promise (atomics and autotuned kernels reorder float sums).

use std::path::Path;
use std::time::Instant;

use burn::config::Config;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::checkpoint::{self, CheckpointMeta};
use super::data::{self, AugmentConfig, DataSummary, Sample};
use super::model::{ModelConfig, SectorNet};
use super::{DeviceChoice, TrainError};
use sonomask_data::dataset::Dataset;
use sonomask_data::progress;
use sonomask_human::journal;

/// Everything that shapes a training run; written into `CKPT.json`.
#[derive(Config, Debug)]
pub struct TrainingConfig {
    #[config(default = "ModelConfig::new()")]
    pub model: ModelConfig,
    #[config(default = "AdamConfig::new()")]
    pub optimizer: AdamConfig,
    #[config(default = "AugmentConfig::new()")]
    pub augment: AugmentConfig,
    /// Upper bound on epochs (early stopping may end sooner).
    #[config(default = 30)]
    pub num_epochs: usize,
    #[config(default = 16)]
    pub batch_size: usize,
    #[config(default = 42)]
    pub seed: u64,
    #[config(default = 2e-3)]
    pub learning_rate: f64,
    /// Stop after this many epochs without a better validation loss.
    #[config(default = 6)]
    pub patience: usize,
    /// Evenly spaced frames taken from each clip; `None`: [`auto_frames_per_clip`]
    /// (the resolved number is what `CKPT.json` records).
    #[config(default = "None")]
    pub frames_per_clip: Option<usize>,
    /// Fraction of clips held out for validation.
    #[config(default = 0.1)]
    pub val_fraction: f64,
    /// Weight of the soft Dice term next to BCE.
    #[config(default = 1.0)]
    pub dice_weight: f64,
}

/// Images per epoch the automatic frames-per-clip aims at.
pub const AUTO_IMAGES_PER_EPOCH: usize = 720;

/// Frames per clip when none is given: about [`AUTO_IMAGES_PER_EPOCH`]
/// images per epoch, at least 4 and at most 16 frames per clip. Pretraining
/// on ~200 clips takes 4 frames of each; refining on 20 clips takes 16, so a
/// small human-labelled set still gives each epoch a few hundred varied images.
pub fn auto_frames_per_clip(clips: usize) -> usize {
    AUTO_IMAGES_PER_EPOCH.div_ceil(clips.max(1)).clamp(4, 16)
}

/// One epoch's numbers.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EpochMetrics {
    pub epoch: usize,
    pub train_loss: f64,
    /// `None` when there is no validation set.
    pub val_loss: Option<f64>,
    /// Fraction of coarse pixels on the right side of p = 0.5.
    pub val_accuracy: Option<f64>,
    pub images_per_s: f64,
    pub seconds: f64,
    /// Of the training pass: seconds assembling batches (augmentation and
    /// the copy into tensors) and seconds in forward, loss, backward and
    /// the optimiser step; the rest of `seconds` is validation.
    #[serde(default)]
    pub batch_s: f64,
    #[serde(default)]
    pub step_s: f64,
}

/// Labelled clips of another dataset trained alongside the main one: real
/// frames with human-drawn sectors next to a synthetic pool. Every clip
/// gives `frames_per_clip` samples ([`data::PerClip::Fill`]); no journal
/// applies to them.
#[derive(Clone, Copy)]
pub struct ExtraSource<'a> {
    pub data: &'a Dataset,
    pub labels: &'a Path,
}

/// What to train on and where to write.
pub struct TrainRequest<'a> {
    pub data: &'a Dataset,
    pub labels: &'a Path,
    /// More labelled datasets (see [`ExtraSource`]); usually empty.
    pub extra: &'a [ExtraSource<'a>],
    pub decisions: Option<&'a Path>,
    pub init: Option<&'a Path>,
    pub out: &'a Path,
    pub device: DeviceChoice,
    pub config: TrainingConfig,
}

/// BCE-with-logits (numerically stable form) plus `dice_weight` × soft
/// Dice loss (per image, then averaged).
///
/// # Shapes
///
/// - `logits`, `targets`: `[batch, 1, h, w]`; targets in `[0, 1]`
/// - output: `[1]`
pub fn loss(logits: Tensor<4>, targets: Tensor<4>, dice_weight: f64) -> Tensor<1> {
    let [n, c, h, w] = logits.dims();
    // max(x, 0) − x·t + log(1 + e^−|x|)
    let bce = (logits.clone().clamp_min(0.0) - logits.clone() * targets.clone()
        + logits.clone().abs().neg().exp().log1p())
    .mean();
    let p = sigmoid(logits).reshape([n, c * h * w]);
    let t = targets.reshape([n, c * h * w]);
    let inter = (p.clone() * t.clone()).sum_dim(1);
    let denom = p.sum_dim(1) + t.sum_dim(1);
    let dice = (inter.mul_scalar(2.0).add_scalar(1.0)) / denom.add_scalar(1.0);
    bce + dice.mean().neg().add_scalar(1.0).mul_scalar(dice_weight)
}

/// Loss summed over the batch and correctly classified pixels.
/// The settings a run cannot start without.
fn check_config(config: &TrainingConfig) -> Result<(), TrainError> {
    if config.batch_size < 2 {
        return Err(TrainError::Config(
            "batch size must be at least 2 (BatchNorm)".into(),
        ));
    }
    if config.num_epochs == 0 {
        return Err(TrainError::Config("epochs must be at least 1".into()));
    }
    if config.frames_per_clip == Some(0) {
        return Err(TrainError::Config(
            "frames per clip must be at least 1".into(),
        ));
    }
    Ok(())
}

/// Mean loss and pixel accuracy over the validation samples, in batches of
/// 32 on the plain (non-autodiff) device; `(None, None)` without a
/// validation set.
fn validate(
    model: &SectorNet,
    samples: &[&Sample],
    (w, h): (usize, usize),
    dev: &Device,
    dice: f64,
) -> (Option<f64>, Option<f64>) {
    if samples.is_empty() {
        return (None, None);
    }
    let (mut l, mut correct) = (0f64, 0usize);
    for chunk in samples.chunks(32) {
        let (bl, bc) = eval_batch(model, chunk, w, h, dev, dice);
        l += bl;
        correct += bc;
    }
    (
        Some(l / samples.len() as f64),
        Some(correct as f64 / (samples.len() * w * h) as f64),
    )
}

fn eval_batch(
    model: &SectorNet,
    samples: &[&Sample],
    w: usize,
    h: usize,
    dev: &Device,
    dice: f64,
) -> (f64, usize) {
    let b = data::batch(samples, w, h, None, dev);
    let logits = model.forward(b.images);
    let l: f32 = loss(logits.clone(), b.targets.clone(), dice).into_scalar();
    let pred = logits.greater_equal_elem(0.0);
    let truth = b.targets.greater_equal_elem(0.5);
    let correct: i64 = pred.equal(truth).int().sum().into_scalar();
    (f64::from(l) * samples.len() as f64, correct as usize)
}

/// Trains a network and writes the checkpoint; returns its metadata.
pub fn train(
    req: TrainRequest<'_>,
    on_epoch: &mut dyn FnMut(&EpochMetrics),
) -> Result<CheckpointMeta, TrainError> {
    let t_start = Instant::now();
    let mut config = req.config;
    check_config(&config)?;
    let base = super::device(req.device)?;
    let ad = base.clone().autodiff();

    // Weights: from --init (its architecture wins) or fresh from the seed.
    let mut model = match req.init {
        Some(init) => {
            let (model, meta) = checkpoint::load(init, &ad)?;
            config.model = meta.config.model;
            model
        }
        None => {
            config
                .model
                .validate()
                .map_err(|e| TrainError::Config(e.to_string()))?;
            config.model.init(&ad, config.seed)
        }
    };
    let (w, h) = (config.model.input_w, config.model.input_h);

    // Which clips: labelled, and accepted in the journal if one is given.
    let allowed = match req.decisions {
        Some(path) => {
            let entries = journal::read(path)?;
            journal::check_clips(path, &entries, |c| req.data.clip(c).is_ok())?;
            Some(journal::accepted(&entries, |l| {
                journal::names_mask_dir(l, req.labels, path)
            }))
        }
        None => None,
    };
    let clips = data::labelled_clips(req.data, req.labels, allowed.as_ref())?;
    let frames_per_clip = config
        .frames_per_clip
        .unwrap_or_else(|| auto_frames_per_clip(clips.len()));
    config.frames_per_clip = Some(frames_per_clip);
    let pb = progress::bar(clips.len() as u64, "loading");
    let mut ds = data::load(
        req.data,
        req.labels,
        &clips,
        frames_per_clip,
        data::PerClip::UpTo,
        w,
        h,
        &|| pb.inc(1),
    )?;
    pb.finish_and_clear();
    let mut extra_meta = Vec::with_capacity(req.extra.len());
    for (k, x) in req.extra.iter().enumerate() {
        let clips = data::labelled_clips(x.data, x.labels, None)?;
        let more = data::load(
            x.data,
            x.labels,
            &clips,
            frames_per_clip,
            data::PerClip::Fill,
            w,
            h,
            &|| (),
        )?;
        extra_meta.push(checkpoint::ExtraMeta {
            data: x.data.root().to_path_buf(),
            labels: x.labels.to_path_buf(),
            clips: clips.len(),
        });
        ds.append(more, &format!("extra{}:", k + 1));
    }
    let (train_set, val_set) = data::split(ds.clips.len(), config.val_fraction, config.seed);
    let train_samples = ds.subset(&train_set);
    let val_samples = ds.subset(&val_set);
    let split = DataSummary {
        train_clips: train_set.iter().map(|&i| ds.clips[i].clone()).collect(),
        val_clips: val_set.iter().map(|&i| ds.clips[i].clone()).collect(),
        train_images: train_samples.len(),
        val_images: val_samples.len(),
    };

    let mut meta = CheckpointMeta {
        format: checkpoint::FORMAT.into(),
        version: checkpoint::VERSION,
        config: config.clone(),
        seed: config.seed,
        cost: config.model.cost(),
        burn_params: model.num_params(),
        device: req.device.name().into(),
        data: req.data.root().to_path_buf(),
        labels: req.labels.to_path_buf(),
        decisions: req.decisions.map(Path::to_path_buf),
        init: req.init.map(Path::to_path_buf),
        extra: extra_meta,
        split,
        epochs: Vec::new(),
        best_epoch: 0,
        stopped_early: false,
        images_per_s: 0.0,
        wall_s: 0.0,
        weights_len: 0,
        weights_fnv1a64: String::new(),
    };

    let bs = config.batch_size;
    let batches_per_epoch = train_samples.len().div_ceil(bs) as u64;
    let pb = progress::bar_with_message(batches_per_epoch * config.num_epochs as u64, "training");
    let mut optim = config.optimizer.init();
    let mut best: Option<(f64, Vec<u8>)> = None;
    let mut since_best = 0;
    let (mut train_images, mut train_secs) = (0usize, 0f64);
    for epoch in 1..=config.num_epochs {
        let t0 = Instant::now();
        let mut order: Vec<usize> = (0..train_samples.len()).collect();
        order.shuffle(&mut StdRng::seed_from_u64(data::sample_seed(
            config.seed,
            epoch,
            usize::MAX,
        )));
        let (mut loss_sum, mut seen) = (0f64, 0usize);
        let (mut batch_s, mut step_s) = (0f64, 0f64);
        for chunk in order.chunks(bs) {
            pb.inc(1);
            if chunk.len() < 2 {
                continue; // BatchNorm needs two samples
            }
            let samples: Vec<&Sample> = chunk.iter().map(|&i| train_samples[i]).collect();
            let seeds: Vec<u64> = chunk
                .iter()
                .map(|&i| data::sample_seed(config.seed, epoch, i))
                .collect();
            let tb = Instant::now();
            let b = data::batch(&samples, w, h, Some((&config.augment, &seeds)), &ad);
            let ts = Instant::now();
            batch_s += (ts - tb).as_secs_f64();
            let l = loss(model.forward(b.images), b.targets, config.dice_weight);
            let lv: f32 = l.clone().into_scalar();
            let grads = GradientsParams::from_grads(l.backward(), &model);
            model = optim.step(config.learning_rate, model, grads);
            step_s += ts.elapsed().as_secs_f64();
            loss_sum += f64::from(lv) * chunk.len() as f64;
            seen += chunk.len();
            pb.set_message(format!(
                "epoch {epoch} loss {:.4}",
                loss_sum / seen.max(1) as f64
            ));
        }
        let train_dt = t0.elapsed().as_secs_f64();
        train_images += seen;
        train_secs += train_dt;
        let train_loss = loss_sum / seen.max(1) as f64;

        let (val_loss, val_accuracy) = validate(
            &model.valid(),
            &val_samples,
            (w, h),
            &base,
            config.dice_weight,
        );
        let m = EpochMetrics {
            epoch,
            train_loss,
            val_loss,
            val_accuracy,
            images_per_s: seen as f64 / train_dt.max(1e-9),
            seconds: t0.elapsed().as_secs_f64(),
            batch_s,
            step_s,
        };
        pb.set_message(format!(
            "epoch {epoch} loss {train_loss:.4} val acc {}",
            val_accuracy.map_or("-".into(), |a| format!("{a:.4}"))
        ));
        pb.suspend(|| on_epoch(&m));
        meta.epochs.push(m);

        // Early stopping on the validation loss (training loss without a validation set).
        let score = val_loss.unwrap_or(train_loss);
        if best.as_ref().is_none_or(|(b, _)| score < *b) {
            let weights =
                checkpoint::weights_bytes(&model).map_err(|e| TrainError::Checkpoint {
                    path: req.out.to_path_buf(),
                    message: e,
                })?;
            meta.best_epoch = epoch;
            meta.images_per_s = train_images as f64 / train_secs.max(1e-9);
            meta.wall_s = t_start.elapsed().as_secs_f64();
            checkpoint::save(req.out, &weights, &mut meta)?;
            best = Some((score, weights));
            since_best = 0;
        } else {
            since_best += 1;
            if since_best >= config.patience {
                meta.stopped_early = epoch < config.num_epochs;
                break;
            }
        }
    }
    pb.finish_and_clear();
    // Final metadata: all epochs, whole-run throughput; weights are the best epoch's.
    let (_, weights) = best.ok_or_else(|| TrainError::Config("no epoch ran".into()))?;
    meta.images_per_s = train_images as f64 / train_secs.max(1e-9);
    meta.wall_s = t_start.elapsed().as_secs_f64();
    checkpoint::save(req.out, &weights, &mut meta)?;
    Ok(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_frames_per_clip_aims_at_a_few_hundred_images() {
        assert_eq!(auto_frames_per_clip(200), 4);
        assert_eq!(auto_frames_per_clip(20), 16);
        assert_eq!(auto_frames_per_clip(90), 8);
        assert_eq!(auto_frames_per_clip(0), 16);
    }

    #[test]
    fn loss_is_small_for_confident_right_answers() {
        let dev = Device::flex();
        let t = Tensor::<4>::from_data(
            burn::tensor::TensorData::new(vec![1.0f32, 0.0, 1.0, 0.0], [1, 1, 2, 2]),
            &dev,
        );
        let right: f32 =
            loss(t.clone().mul_scalar(20.0).sub_scalar(10.0), t.clone(), 1.0).into_scalar();
        let wrong: f32 = loss(t.clone().mul_scalar(-20.0).add_scalar(10.0), t, 1.0).into_scalar();
        assert!(right < 0.01, "{right}");
        assert!(wrong > 5.0, "{wrong}");
    }
}
