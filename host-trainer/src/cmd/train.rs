use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use sonomask_data::dataset::Dataset;
use sonomask_train::training::{self, ExtraSource, TrainRequest, TrainingConfig};
use sonomask_train::{DeviceChoice, model};

/// Train the sector network on labelled clips (burn, BCE + soft Dice, Adam).
///
/// Labels: MASKDIR/<clip-id>.png (255 = keep) for some or all clips of
/// --data; clips without one are skipped. With --decisions (a review journal,
/// JSONL), only clips whose latest non-undone decision for this label set is
/// `accept` are used. 10% of the clips (seeded) are held out for validation;
/// training stops early when the validation loss stops improving, and the
/// best epoch's weights are kept.
///
/// Writes CKPT (burnpack weights, f32) and CKPT.json (config, seed, MACs,
/// params, metrics per epoch, images/s), each atomically. --init CKPT starts
/// from a checkpoint's weights (refinement). Same seed, same data, same
/// backend → same checkpoint bytes on the CPU (flex) backend.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Dataset folder.
    #[arg(long)]
    data: PathBuf,
    /// Folder of label masks, one <clip-id>.png per labelled clip.
    #[arg(long)]
    labels: PathBuf,
    /// Review journal (JSONL) selecting the accepted labels.
    #[arg(long)]
    decisions: Option<PathBuf>,
    /// Another dataset with labels to train on alongside --data (e.g. real
    /// frames from `sonomask ingest --truth`, next to a synthetic pool).
    /// Repeatable; pairs with --extra-labels in order. Each of its labelled
    /// clips gives as many samples as a --data clip (frames repeat for stills).
    #[arg(long, value_name = "DIR", requires = "extra_labels")]
    extra_data: Vec<PathBuf>,
    /// The label folder (<clip-id>.png) of each --extra-data, in order.
    #[arg(long, value_name = "DIR")]
    extra_labels: Vec<PathBuf>,
    /// Start from this checkpoint's weights (and architecture).
    #[arg(long)]
    init: Option<PathBuf>,
    /// Checkpoint to write (CKPT.json is written beside it).
    #[arg(long)]
    out: PathBuf,
    /// Maximum number of epochs (early stopping may end sooner).
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Seed of weight init, split, shuffling and augmentation.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Evenly spaced frames taken from each clip [default: about 720 images per
    /// epoch, 4 to 16 frames per clip].
    #[arg(long)]
    frames_per_clip: Option<usize>,
    /// Epochs without improvement before stopping.
    #[arg(long, default_value_t = 6)]
    patience: usize,
    /// Fraction of clips held out for validation (seeded); 0 trains on all
    /// and stops on the training loss instead.
    #[arg(long, default_value_t = 0.1)]
    val_fraction: f64,
    /// Learning rate (Adam).
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    /// Backend: flex (CPU, always available), cuda or tch (need the Cargo feature of that name).
    #[arg(long, default_value = "flex")]
    device: DeviceChoice,
    /// Encoder channels at full, 1/2 and 1/4 resolution [default: 8,16,32].
    /// Narrower networks cost fewer MACs on the cart (a refinement with
    /// --init keeps the checkpoint's architecture).
    #[arg(long, value_delimiter = ',', conflicts_with = "init")]
    encoder: Option<Vec<usize>>,
    /// Bottleneck channels at 1/8 and 1/16 resolution [default: 40].
    #[arg(long, conflicts_with = "init")]
    bottleneck: Option<usize>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = TrainingConfig::new()
        .with_num_epochs(args.epochs)
        .with_seed(args.seed)
        .with_frames_per_clip(args.frames_per_clip)
        .with_patience(args.patience)
        .with_learning_rate(args.lr)
        .with_val_fraction(args.val_fraction);
    if let Some(e) = &args.encoder {
        config.model.encoder = <[usize; 3]>::try_from(e.as_slice())
            .map_err(|_| anyhow::anyhow!("--encoder takes three channel counts, e.g. 8,16,32"))?;
    }
    if let Some(b) = args.bottleneck {
        config.model.bottleneck = b;
    }
    config
        .model
        .validate()
        .map_err(|e| anyhow::anyhow!("--encoder/--bottleneck: {e}"))?;
    let data = Dataset::open(&args.data)?;
    let cost = config.model.cost();
    if args.init.is_none() {
        eprintln!(
            "model: {} MACs/inference (budget {}), {} params ({} B at int8, budget {})",
            cost.macs,
            model::MAX_MACS,
            cost.params,
            cost.int8_bytes,
            model::MAX_INT8_BYTES
        );
    }
    if args.extra_data.len() != args.extra_labels.len() {
        anyhow::bail!(
            "--extra-data and --extra-labels pair up in order: got {} and {}",
            args.extra_data.len(),
            args.extra_labels.len()
        );
    }
    let extra_sets = args
        .extra_data
        .iter()
        .map(|d| Dataset::open(d).with_context(|| format!("opening --extra-data {}", d.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let extra: Vec<ExtraSource<'_>> = extra_sets
        .iter()
        .zip(&args.extra_labels)
        .map(|(data, labels)| ExtraSource { data, labels })
        .collect();
    let req = TrainRequest {
        data: &data,
        labels: &args.labels,
        extra: &extra,
        decisions: args.decisions.as_deref(),
        init: args.init.as_deref(),
        out: &args.out,
        device: args.device,
        config,
    };
    let meta = training::train(req, &mut |m| {
        eprintln!(
            "epoch {:>3}: train loss {:.4}  val loss {}  val acc {}  {:.0} img/s  {:.1} s (batches {:.1} s, forward+backward+step {:.1} s, validation {:.1} s)",
            m.epoch,
            m.train_loss,
            m.val_loss.map_or("-".into(), |v| format!("{v:.4}")),
            m.val_accuracy.map_or("-".into(), |v| format!("{v:.4}")),
            m.images_per_s,
            m.seconds,
            m.batch_s,
            m.step_s,
            (m.seconds - m.batch_s - m.step_s).max(0.0)
        );
    })
    .with_context(|| format!("training on {}", args.data.display()))?;
    eprintln!(
        "trained {} epochs (best {}{}) on {} images from {} clips ({} validation clips) in {:.1} s, {:.0} images/s; {} MACs, {} params -> {}",
        meta.epochs.len(),
        meta.best_epoch,
        if meta.stopped_early {
            ", stopped early"
        } else {
            ""
        },
        meta.split.train_images,
        meta.split.train_clips.len(),
        meta.split.val_clips.len(),
        meta.wall_s,
        meta.images_per_s,
        meta.cost.macs,
        meta.cost.params,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
