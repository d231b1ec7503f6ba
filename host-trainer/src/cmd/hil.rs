use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use sonomask_core::wire::{ModelStatus, Reply};
use sonomask_data::{dataset, progress};
use sonomask_deploy::model_file;
use sonomask_hil::client::Garble;
use sonomask_hil::qemu::{QemuLink, QemuOptions, default_firmware};
use sonomask_hil::{self as hil, FrameRecord, HilConfig, HilReport, Target};

/// Hardware in the loop: stream frames to a device and check every byte.
///
/// Sends the frames of DIR (clips in order) over the wire protocol to the
/// QEMU board (`qemu`), the simulated device on a host thread (`sim`) or a
/// cart on a serial port (`serial:PATH`), with MODEL in the device's flash
/// slot. Every answer is compared byte for byte with the host reference —
/// the firmware's own pipeline run here on the same frames — and, for
/// synthetic data, scored against the ground truth. A frame the device
/// reports black must come back all black. On QEMU the board runs with
/// `-icount shift=0` and an instruction-counting plugin (built with the C
/// compiler), so each frame's instructions per stage are exact.
///
/// Exit code 0 when every frame matches, 1 when any frame mismatched,
/// leaked or went unanswered, 2 on errors.
///
/// Examples:
///   cargo mps2   # build the board image first (QEMU only)
///   sonomask hil --target qemu --model models/default.snmk --data data --frames 20 --junit hil.xml
///   sonomask hil --target sim --model m.snmk --data data --garble 0.05
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Device: qemu, sim, or serial:PATH.
    #[arg(long)]
    target: String,
    /// Model blob (.snmk) for the device's slot.
    #[arg(long)]
    model: PathBuf,
    /// Dataset to stream (`sonomask synth` or `sonomask ingest`).
    #[arg(long)]
    data: PathBuf,
    /// At most this many frames.
    #[arg(long)]
    frames: Option<usize>,
    /// Write JUnit XML (one test case per frame) here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Write the full report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// What the device sends back: the masked frame, its spans, or only the report.
    #[arg(long, default_value = "frame", value_parser = ["frame", "spans", "report"])]
    reply: String,
    /// QEMU: how the host talks to the board. uart is the board's CMSDK
    /// UART (what a cart has; QEMU 7.2 receives ~15 kB/s on it, so 640×480
    /// frames take seconds each); semihosting carries the same protocol
    /// over two FIFOs.
    #[arg(long, default_value = "uart", value_parser = ["uart", "semihosting"])]
    link: String,
    /// QEMU: the board image (default: the thumbv7em release build).
    #[arg(long)]
    firmware: Option<PathBuf>,
    /// QEMU: the emulator.
    #[arg(long, default_value = "qemu-system-arm")]
    qemu: PathBuf,
    /// QEMU: do not count instructions (no plugin, no C compiler needed).
    #[arg(long)]
    no_count: bool,
    /// QEMU: run without -icount shift=0.
    #[arg(long)]
    no_icount: bool,
    /// Serial: baud rate.
    #[arg(long, default_value_t = 921_600)]
    baud: u32,
    /// Seconds to wait for each frame's answer.
    #[arg(long, default_value_t = 120.0)]
    timeout: f64,
    /// Fault injection: damage this fraction of outgoing frame messages
    /// (garbage before, truncated copy before, or one byte changed).
    #[arg(long)]
    garble: Option<f64>,
    /// Seed of the fault injection.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Require blobs signed with this public key (sim and the reference;
    /// a board image has its key built in).
    #[arg(long)]
    pubkey: Option<PathBuf>,
    /// Cycles per instruction assumed for the Cortex-M7 time estimate.
    #[arg(long, default_value_t = 1.0)]
    cpi: f64,
}

fn parse_target(args: &Args) -> anyhow::Result<Target> {
    Ok(match args.target.as_str() {
        "sim" => Target::Sim,
        "qemu" => Target::Qemu(QemuOptions {
            qemu: args.qemu.clone(),
            firmware: args.firmware.clone().unwrap_or_else(default_firmware),
            link: if args.link == "semihosting" {
                QemuLink::Semihosting
            } else {
                QemuLink::Uart
            },
            count_instructions: !args.no_count,
            icount: !args.no_icount,
        }),
        t => match t.strip_prefix("serial:") {
            Some(path) if !path.is_empty() => Target::Serial {
                path: path.to_string(),
                baud: args.baud,
            },
            _ => bail!("--target must be qemu, sim or serial:PATH (got {t:?})"),
        },
    })
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn line(f: &FrameRecord) -> String {
    let dice = f.truth.map_or("-".into(), |t| format!("{:.3}", t.dice));
    let leak = f.truth.map_or("-".into(), |t| format!("{:.3}", t.phi_leak));
    let check = match f.failure() {
        None => "ok".to_string(),
        Some(m) => format!("FAIL ({m})"),
    };
    format!(
        "{:>4}  {:<10} {:>3}  {:>4}×{:<4} {:<34} {:>7}  {:>5} {:>5} {:>8.1}  {check}",
        f.seq,
        f.clip,
        f.index,
        f.width,
        f.height,
        f.outcome,
        f.kept_pixels,
        dice,
        leak,
        f.latency_ms
    )
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let target = parse_target(&args)?;
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        bail!("--timeout must be a positive number of seconds");
    }
    if let Some(r) = args.garble
        && !(0.0..=1.0).contains(&r)
    {
        bail!("--garble must be between 0 and 1");
    }
    if !(args.cpi > 0.0 && args.cpi.is_finite()) {
        bail!("--cpi must be positive");
    }
    let pubkey = args
        .pubkey
        .as_deref()
        .map(model_file::read_verifying_key)
        .transpose()?;
    let cfg = HilConfig {
        target,
        model: args.model.clone(),
        data: args.data.clone(),
        frames: args.frames,
        reply: match args.reply.as_str() {
            "spans" => Reply::Spans,
            "report" => Reply::Report,
            _ => Reply::Frame,
        },
        timeout: Duration::from_secs_f64(args.timeout),
        garble: args.garble.map(|rate| Garble {
            rate,
            seed: args.seed,
        }),
        pubkey,
    };
    let total = dataset::Dataset::open(&args.data)?
        .clips()
        .iter()
        .map(|c| c.frames)
        .sum::<usize>()
        .min(args.frames.unwrap_or(usize::MAX));
    println!(
        "hil: {} · model {} · {} frames of {}",
        cfg.target.name(),
        args.model.display(),
        total,
        args.data.display()
    );
    println!(
        "{:>4}  {:<10} {:>3}  {:>9} {:<34} {:>7}  {:>5} {:>5} {:>8}  check",
        "seq", "clip", "#", "size", "outcome", "kept", "dice", "phi", "ms"
    );
    let bar = progress::bar(total as u64, "hil");
    let report = hil::run(&cfg, &|f| {
        bar.suspend(|| println!("{}", line(f)));
        bar.inc(1);
    })
    .with_context(|| format!("HIL run on {}", cfg.target.name()))?;
    bar.finish_and_clear();

    match &report.model_loads {
        Ok(arch) => println!("model: {arch} loads on the host"),
        Err(e) => println!("model: does NOT load ({e}); every frame must come back black"),
    }
    let d = &report.device;
    let model = match d.model {
        ModelStatus::Loaded {
            map_w,
            map_h,
            verified,
            ..
        } => format!(
            "loaded (map {map_w}×{map_h}, {})",
            if verified {
                "signature verified"
            } else {
                "not verified"
            }
        ),
        ModelStatus::Failed(f) => format!("FAILED: {f}"),
    };
    println!(
        "device: protocol {}, frame buffer {} B, model {model}",
        d.version, d.max_frame_bytes
    );
    print_summary(&report, args.cpi);
    if let Some(path) = &args.junit {
        let xml = hil::junit::render(&format!("hil.{}", args.target), &report.frames);
        dataset::write_atomic(path, xml.as_bytes())?;
        println!("junit: {}", path.display());
    }
    if let Some(path) = &args.json {
        dataset::write_json(path, &report)?;
    }
    Ok(if report.failures() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The run's totals, device counters, ground-truth scores, latency and the
/// instruction counts per stage (with the Cortex-M7 estimate at `cpi`).
fn print_summary(report: &HilReport, cpi: f64) {
    let masked = report.frames.iter().filter(|f| f.masked).count();
    let (lost_answers, lost_frames) = report.lost();
    println!(
        "summary: {} frames, {} mismatches, {} leaks, {} unanswered ({} answers lost, {} frames lost); {} masked, {} black",
        report.frames.len(),
        report.mismatches(),
        report.leaks(),
        report.errors(),
        lost_answers,
        lost_frames,
        masked,
        report.frames.len() - masked
    );
    let c = report.counters;
    println!(
        "device counters: frames {} masked {} blacked {} unknown {} damaged messages {} overflows {} unexpected {}; injected {}, damaged answers {}",
        c.frames,
        c.masked,
        c.blacked,
        c.unknown,
        c.bad_messages,
        c.overflows,
        c.unexpected,
        report.injected,
        report.damaged_answers
    );
    let truths: Vec<_> = report.frames.iter().filter_map(|f| f.truth).collect();
    if !truths.is_empty() {
        let n = truths.len() as f64;
        println!(
            "ground truth: dice {:.4}, iou {:.4}, phi leak {:.4}, signal loss {:.4} (mean of {} frames)",
            truths.iter().map(|t| t.dice).sum::<f64>() / n,
            truths.iter().map(|t| t.iou).sum::<f64>() / n,
            truths.iter().map(|t| t.phi_leak).sum::<f64>() / n,
            truths.iter().map(|t| t.signal_loss).sum::<f64>() / n,
            truths.len()
        );
    }
    if let (Some(p50), Some(p90), Some(p99), Some(max)) = (
        report.latency_ms(50.0),
        report.latency_ms(90.0),
        report.latency_ms(99.0),
        report.latency_ms(100.0),
    ) {
        println!("latency ms: p50 {p50:.1} p90 {p90:.1} p99 {p99:.1} max {max:.1}");
    }
    if report.frames.iter().any(|f| f.instructions.is_some()) {
        println!(
            "{:>4}  {:>12} {:>12} {:>12} {:>12} {:>12}  instructions per stage",
            "seq", "preprocess", "inference", "fit", "masking", "total"
        );
        for f in &report.frames {
            if let Some(i) = f.instructions {
                println!(
                    "{:>4}  {:>12} {:>12} {:>12} {:>12} {:>12}  {}",
                    f.seq,
                    thousands(i.preprocess),
                    thousands(i.inference),
                    thousands(i.fit),
                    thousands(i.masking),
                    thousands(i.total),
                    if f.masked { "masked" } else { "black" }
                );
            }
        }
    }
    if let Some((m, n)) = report.mean_instructions() {
        println!(
            "instructions per frame (mean of {n} masked frames): preprocess {}, inference {}, fit {}, masking {}, total {}",
            thousands(m.preprocess),
            thousands(m.inference),
            thousands(m.fit),
            thousands(m.masking),
            thousands(m.total)
        );
        let worst = report.max_instructions().unwrap_or(m.total);
        let ms = |insns: u64| insns as f64 * cpi / 480e6 * 1e3;
        println!(
            "estimated Cortex-M7 @ 480 MHz at {:.2} cycles per instruction: {:.2} ms mean, {:.2} ms worst per frame (budget 33 ms)",
            cpi,
            ms(m.total),
            ms(worst)
        );
    }
}
