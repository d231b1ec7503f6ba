use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use sonomask_core::wire::Reply;
use sonomask_data::dataset::Dataset;
use sonomask_data::evaluate::Summary;
use sonomask_data::synth::SynthConfig;
use sonomask_data::weak::{self, Method};
use sonomask_data::{evaluate, progress, synth_io};
use sonomask_hil::qemu::{QemuLink, QemuOptions, default_firmware};
use sonomask_hil::{self as hil, HilConfig, Target};
use sonomask_human::oracle::{AnnotateParams, CheckParams};
use sonomask_mask::MaskOptions;
use sonomask_train::DeviceChoice;
use sonomask_train::experiment::config;
use sonomask_train::experiment::shard::Shard;
use sonomask_train::model::ModelConfig;
use sonomask_train::quantize::{self, QuantizeConfig, QuantizeRequest};
use sonomask_train::recipe::Recipe;
use sonomask_train::training::TrainingConfig;

/// Run the main job on built-in defaults: the paper's method end to end.
///
/// Synthesises an echo pool and a held-out test set, runs both weak
/// labelers, lets a simulated reviewer check the threshold labels and a
/// simulated annotator draw a small set (rejected clips first), pretrains
/// the network on the accepted labels, refines it on the drawn set, and
/// scores weak labels, pretrained and refined models on the test set.
/// Prints a summary and writes a contact sheet, masks the real files in
/// ../shared/realdata (when present) with models/default.snmk, and ends with
/// a repeated-run experiment (experiments/demo.toml: the method against the
/// threshold labels over 5 seeds, t-tests, report and plots).
/// Run from the repository root with no arguments.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Working folder for the demo's data, labels, models and pictures (replaced).
    #[arg(long, default_value = "demo-out")]
    out: PathBuf,
    /// Synthetic clips in the training pool.
    #[arg(long, default_value_t = 100)]
    clips: usize,
    /// Synthetic clips in the held-out test set.
    #[arg(long, default_value_t = 20)]
    test_clips: usize,
    /// Frames per clip.
    #[arg(long, default_value_t = 8)]
    frames: usize,
    /// Clips the simulated annotator draws.
    #[arg(long, default_value_t = 20)]
    drawn: usize,
    /// Maximum pretraining epochs.
    #[arg(long, default_value_t = 12)]
    pretrain_epochs: usize,
    /// Maximum refinement epochs.
    #[arg(long, default_value_t = 25)]
    refine_epochs: usize,
    /// Seed of data, reviewer, annotator and training.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Backend: flex (CPU), cuda or tch (need the Cargo feature of that name).
    #[arg(long, default_value = "flex")]
    device: DeviceChoice,
    /// Skip the closing repeated-run experiment.
    #[arg(long)]
    no_experiment: bool,
    /// Experiment config for the closing repeated runs (default: the
    /// built-in experiments/demo.toml); its runs go to OUT/<name>/runs,
    /// where finished jobs are reused.
    #[arg(long, value_name = "TOML")]
    experiment: Option<PathBuf>,
    /// Real DICOM files to mask at the end, when the folder exists (relative
    /// paths are from the current folder: run from the repository root).
    #[arg(long, default_value = "../shared/realdata")]
    realdata: PathBuf,
    /// Int8 model blob that masks them.
    #[arg(long, default_value = "models/default.snmk")]
    mask_model: PathBuf,
}

/// `experiments/demo.toml`, built in so the demo runs from any folder.
const DEMO_EXPERIMENT: &str = include_str!("../../../experiments/demo.toml");

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let t0 = std::time::Instant::now();
    let data_dir = args.out.join("data");
    let test_dir = args.out.join("test");
    let cfg = SynthConfig {
        seed: args.seed,
        clips: args.clips,
        frames: args.frames,
        ..SynthConfig::default()
    };
    let test_cfg = SynthConfig {
        seed: args.seed + 1000,
        clips: args.test_clips,
        ..cfg.clone()
    };
    println!(
        "sonomask demo: pool of {} synthetic clips and a test set of {}, {} frames each, seed {}",
        cfg.clips, test_cfg.clips, cfg.frames, cfg.seed
    );
    for (c, dir, what) in [
        (&cfg, &data_dir, "synth pool"),
        (&test_cfg, &test_dir, "synth test"),
    ] {
        sonomask_data::dataset::prepare_out(dir, true)?;
        let pb = progress::bar(c.clips as u64, what);
        synth_io::write_dataset(c, dir, &|| pb.inc(1))?;
        pb.finish_and_clear();
    }
    println!(
        "  synthesised -> {} and {}",
        data_dir.display(),
        test_dir.display()
    );
    let sheet = args.out.join("contact-sheet.png");
    super::synth::write_preview(&cfg, &sheet)?;
    println!("  contact sheet -> {}", sheet.display());

    let data = Dataset::open(&data_dir)?;
    let frames: usize = data.clips().iter().map(|c| c.frames).sum();
    let mut rows = Vec::new();
    for method in Method::ALL {
        let masks = args.out.join(format!("masks-{method}"));
        let pb = progress::bar(data.clips().len() as u64, method.name());
        let t = std::time::Instant::now();
        weak::label_dataset(method, &data, &masks, &|| pb.inc(1))
            .with_context(|| format!("{method} labeler"))?;
        pb.finish_and_clear();
        let secs = t.elapsed().as_secs_f64();
        let s = evaluate::evaluate(&data, &masks)?;
        rows.push((method, s, frames as f64 / secs.max(1e-9)));
    }
    println!();
    println!("  weak labels on the pool ({frames} frames per labeler run)");
    print_header("labeler");
    for (m, s, fps) in &rows {
        print_row(m.name(), s, &format!("{fps:>9.0} frames/s"));
    }

    // The paper's method on the pool, scored on the held-out test set.
    let recipe = Recipe {
        pool: data_dir.clone(),
        test: test_dir.clone(),
        work: args.out.join("paper"),
        weak: Method::Threshold,
        check: CheckParams {
            seed: args.seed,
            ..CheckParams::default()
        },
        annotate: AnnotateParams {
            clips: args.drawn.min(args.clips),
            seed: args.seed,
            ..AnnotateParams::default()
        },
        // The cart's widths, so the firmware step below runs the network
        // the cart would.
        pretrain: TrainingConfig::new()
            .with_model(ModelConfig::cart())
            .with_num_epochs(args.pretrain_epochs)
            .with_seed(args.seed),
        refine: TrainingConfig::new()
            .with_model(ModelConfig::cart())
            .with_num_epochs(args.refine_epochs)
            .with_seed(args.seed),
        device: args.device,
    };
    let spinner = progress::spinner("paper method");
    let r = recipe
        .run(&mut |stage| spinner.set_message(stage.to_string()))
        .context("the paper's method")?;
    spinner.finish_and_clear();
    println!();
    println!(
        "  paper method: {} threshold labels checked ({} accepted, {:.0} s of simulated review), {} drawn ({:.0} s of simulated drawing)",
        r.checked, r.accepted, r.check_seconds, r.drawn, r.draw_seconds
    );
    println!(
        "  on the held-out test set ({} clips):",
        r.weak_on_test.clips
    );
    print_header("model");
    print_row("threshold", &r.weak_on_test, "");
    for (name, st) in [("pretrain", &r.pretrain), ("+refine", &r.refine)] {
        print_row(
            name,
            &st.test,
            &format!(
                "{:>5.0} s, {} epochs, {:.0} img/s",
                st.train_s, st.epochs, st.images_per_s
            ),
        );
    }
    println!(
        "  pretrain + refine: {:.0} s of training; refined model -> {}",
        r.pretrain.train_s + r.refine.train_s,
        r.refine.model.display()
    );

    cart_step(&args, &r.refine.model, &data, &test_dir)?;

    // Real files, when the real-data folder is there.
    println!();
    if !args.realdata.is_dir() {
        println!(
            "  real files: {} not found; nothing to mask",
            args.realdata.display()
        );
    } else if !args.mask_model.is_file() {
        println!(
            "  real files: model {} not found; not masking {}",
            args.mask_model.display(),
            args.realdata.display()
        );
    } else {
        let dir = args.out.join("realdata-masked");
        let o = sonomask_mask::batch::mask_files(
            sonomask_mask::batch::ModelSource {
                path: &args.mask_model,
                pubkey: None,
                require_signature: false,
            },
            std::slice::from_ref(&args.realdata),
            &dir,
            MaskOptions {
                emit_masks: false,
                preview: true,
                deid_header: true,
                ..MaskOptions::default()
            },
            0.5,
        )
        .with_context(|| format!("masking {}", args.realdata.display()))?;
        super::mask::print_outcome(&o, &dir);
        if o.nothing_masked() {
            bail!(
                "masking {}: none of the {} input files could be masked",
                args.realdata.display(),
                o.files
            );
        }
        println!(
            "  real files in {} masked with {}: {} masked, {} failed closed (all black, listed in review-queue.json), {} skipped -> {} (before/after sheets in preview/)",
            args.realdata.display(),
            args.mask_model.display(),
            o.reports.len() - o.failed_closed(),
            o.failed_closed(),
            o.skipped.len(),
            dir.display()
        );
    }
    println!();
    println!("check the weak labels yourself in the browser (one key per clip):");
    println!("  {}", review_command(&args.out));
    println!("or draw a few HQ labels by dragging fan handles:");
    println!("  {}", annotate_command(&args.out));

    if !args.no_experiment {
        repeated_runs(&args.out, args.experiment.as_deref(), args.device)?;
    }
    println!();
    println!(
        "done in {:.1} s; outputs in {}",
        t0.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Test frames the demo streams through the firmware.
const CART_FRAMES: usize = 12;

/// The cart's half: quantises the refined model to int8 and streams test
/// frames through the firmware's pipeline on the simulated device, and on
/// the QEMU board when `qemu-system-arm` and the board image (`cargo mps2`)
/// are there; every returned byte is compared with the host reference.
fn cart_step(
    args: &Args,
    refined: &std::path::Path,
    pool: &Dataset,
    test_dir: &std::path::Path,
) -> anyhow::Result<()> {
    let blob = args.out.join("paper").join("refined.snmk");
    let config = QuantizeConfig {
        method: quantize::DEFAULT_METHOD,
        calib_frames: 64,
    };
    let spinner = progress::spinner("quantize");
    let q = quantize::quantize_checkpoint(
        QuantizeRequest {
            checkpoint: refined,
            calib: pool,
            out: &blob,
            key: None,
            config,
        },
        &|| {},
    )
    .with_context(|| format!("quantizing {}", refined.display()))?;
    spinner.finish_and_clear();
    println!(
        "  int8: {} ({} bytes, arena {} bytes, {} MACs); {:.4} of coarse decisions agree with float",
        blob.display(),
        q.blob_bytes,
        q.arena_bytes,
        q.macs,
        q.calib_agreement.decision_agreement
    );
    let mut targets = vec![Target::Sim];
    let firmware = default_firmware();
    let qemu = std::path::PathBuf::from("qemu-system-arm");
    let have_qemu = std::process::Command::new(&qemu)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if have_qemu && firmware.is_file() {
        targets.push(Target::Qemu(QemuOptions {
            qemu,
            firmware,
            link: QemuLink::Semihosting,
            count_instructions: true,
            icount: true,
        }));
    }
    for target in targets {
        let name = target.name();
        let cfg = HilConfig {
            target,
            model: blob.clone(),
            data: test_dir.to_path_buf(),
            frames: Some(CART_FRAMES),
            reply: Reply::Frame,
            timeout: std::time::Duration::from_secs(60),
            garble: None,
            pubkey: None,
        };
        let spinner = progress::spinner(&format!("firmware on {name}"));
        let report = hil::run(&cfg, &|_| {});
        spinner.finish_and_clear();
        // The QEMU run is a bonus: its failure to start is reported, not fatal.
        let report = match report {
            Ok(r) => r,
            Err(e) if name != "sim" => {
                println!(
                    "  firmware on {name}: not run ({:#})",
                    anyhow::Error::from(e)
                );
                continue;
            }
            Err(e) => return Err(e).context("the simulated device"),
        };
        let masked = report.frames.iter().filter(|f| f.masked).count();
        let instructions: Vec<u64> = report
            .frames
            .iter()
            .filter_map(|f| f.instructions.map(|c| c.total))
            .collect();
        let per_frame = if instructions.is_empty() {
            String::new()
        } else {
            let mean = instructions.iter().sum::<u64>() as f64 / instructions.len() as f64;
            format!(", {:.1} M instructions per frame", mean / 1e6)
        };
        println!(
            "  firmware on {name}: {} test frames, {masked} masked, {} mismatches with the host reference, {} leaks{per_frame}",
            report.frames.len(),
            report.mismatches(),
            report.leaks(),
        );
        if report.failures() > 0 {
            anyhow::bail!(
                "the firmware on {name} disagreed with the host reference; rerun with `sonomask hil --target {name} --model {} --data {}`",
                blob.display(),
                test_dir.display()
            );
        }
    }
    if !have_qemu {
        println!(
            "  (the QEMU board runs too when qemu-system-arm is installed and `cargo mps2` built its image)"
        );
    }
    Ok(())
}

/// The closing experiment (`config`, else experiments/demo.toml) into
/// `OUT/<name>/runs` (finished jobs there are reused) and its report into
/// `OUT/<name>/report`.
fn repeated_runs(
    out: &std::path::Path,
    config: Option<&std::path::Path>,
    device: DeviceChoice,
) -> anyhow::Result<()> {
    let (text, source) = match config {
        Some(path) => (
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
            path.display().to_string(),
        ),
        None => (DEMO_EXPERIMENT.to_string(), "experiments/demo.toml".into()),
    };
    let mut cfg = config::parse(&text)
        .map_err(anyhow::Error::msg)
        .with_context(|| source.clone())?;
    cfg.device = device;
    println!();
    println!(
        "repeated runs ({source}): {} over {} seeds, compared with t-tests",
        cfg.arms
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(" and "),
        cfg.seeds.len()
    );
    let dir = out.join(&cfg.name);
    let runs = dir.join("runs");
    super::experiment::run_jobs(&cfg, &runs, Shard::ALL, 1, false)?;
    let (loaded, report, written) = super::experiment::write_report(&runs, &dir.join("report"))?;
    println!();
    super::experiment::print_report(&loaded, &report, &written);
    Ok(())
}

fn print_header(first: &str) {
    println!(
        "  {:<10} {:>8} {:>7} {:>7} {:>8} {:>8} {:>9}",
        first, "accuracy", "dice", "iou", "phi_leak", "sig_loss", "bound_px"
    );
}

fn print_row(name: &str, s: &Summary, extra: &str) {
    println!(
        "  {:<10} {:>8.4} {:>7.4} {:>7.4} {:>8.4} {:>8.4} {:>9.2}  {extra}",
        name, s.pixel_accuracy, s.dice, s.iou, s.phi_leak, s.signal_loss, s.boundary_px
    );
}

/// A path as a shell word: plain when it is safe, single-quoted otherwise.
fn shell_word(p: &std::path::Path) -> String {
    let s = p.display().to_string();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:=@".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The `sonomask review` command for the demo's temporal weak labels.
fn review_command(out: &std::path::Path) -> String {
    format!(
        "sonomask review --data {} --labels {} --journal {}",
        shell_word(&out.join("data")),
        shell_word(&out.join("masks-temporal")),
        shell_word(&out.join("review.jsonl")),
    )
}

/// The `sonomask annotate` command starting from the demo's weak labels.
fn annotate_command(out: &std::path::Path) -> String {
    format!(
        "sonomask annotate --data {} --out {} --journal {} --clips 5 --proposals {}",
        shell_word(&out.join("data")),
        shell_word(&out.join("hq")),
        shell_word(&out.join("annotate.jsonl")),
        shell_word(&out.join("masks-temporal")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_commands_are_shell_safe() {
        assert_eq!(
            review_command(std::path::Path::new("demo-out")),
            "sonomask review --data demo-out/data --labels demo-out/masks-temporal --journal demo-out/review.jsonl"
        );
        let odd = review_command(std::path::Path::new("my demo's"));
        assert!(odd.contains(r"--data 'my demo'\''s/data'"), "{odd}");
    }
}
