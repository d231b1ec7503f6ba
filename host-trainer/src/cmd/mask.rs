use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use rayon::prelude::*;
use serde::Serialize;
use sonomask::dataset;
use sonomask::mask::deid::UidMap;
use sonomask::mask::{self, FileReport, MaskOptions, Masker, review_queue};
use sonomask::model_file;
use sonomask::progress;
use sonomask::train::blob_inference::{self, EnginePredictor};
use sonomask::train::inference;

/// Mask real files: keep the scan region(s), black out everything else.
///
/// Per input file (every frame of a DICOM clip, or one PNG/JPEG still) the
/// int8 model runs on every frame through the shared engine (the code the
/// cart runs), the shared geometry fit turns the averaged map into fans
/// and rectangles (several for dual screens and M-mode/Doppler strips),
/// the DICOM Sequence of Ultrasound Regions (0018,6011) clips and
/// cross-checks them, and every frame is masked outside them.
///
/// DICOM in -> OUTDIR/<stem>.dcm: the masked pixel data (uncompressed;
/// implicit/explicit VR little endian input keeps its syntax), a new SOP
/// Instance UID, every other attribute untouched unless --deid-header.
/// PNG/JPEG in -> OUTDIR/<stem>.png. OUTDIR/mask-report.json lists every
/// file: outcome, regions, timings and every attribute changed.
///
/// Fail closed: a clip whose mask is implausible (nothing fitted, too
/// little or too much kept, disagreement with the declared ultrasound
/// regions) is written fully black and listed in OUTDIR/review-queue.json
/// with the reason and the commands that open it in `sonomask review`.
///
/// Exit codes: 0 all masked; 1 some input was skipped (unreadable or
/// unsupported; nothing is written for it); 3 with --strict, some clip
/// failed closed (and nothing was skipped); 2 error.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Int8 model blob (.snmk), e.g. models/default.snmk.
    #[arg(long)]
    model: PathBuf,
    /// DICOM files, PNG/JPEG stills, or folders of them (searched
    /// recursively, sorted by name; files named here are always tried).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output folder (created if missing; files of the same name are replaced).
    #[arg(long)]
    out: PathBuf,
    /// Also write each frame's keep mask as OUTDIR/<stem>_f<NNN>.mask.png
    /// (8-bit, 255 = kept).
    #[arg(long)]
    emit_masks: bool,
    /// Also write before/after contact sheets as OUTDIR/preview/<stem>.png.
    #[arg(long)]
    preview: bool,
    /// Exit non-zero (3) when any clip failed closed.
    #[arg(long)]
    strict: bool,
    /// Apply the DICOM PS3.15 Basic Application Level Confidentiality
    /// Profile to the headers (every changed attribute is listed in the
    /// report; values are never logged).
    #[arg(long)]
    deid_header: bool,
    /// Keep map pixels with at least this probability (the fit's input).
    #[arg(long, default_value_t = 0.5)]
    keep_probability: f64,
    /// Public key (KEY.pub) a signed blob must verify with.
    #[arg(long)]
    pubkey: Option<PathBuf>,
    /// Refuse the blob unless it is signed and verifies with --pubkey.
    #[arg(long, requires = "pubkey")]
    require_signature: bool,
}

/// A file that could not be masked.
#[derive(Serialize)]
struct Skipped {
    input: PathBuf,
    error: String,
}

/// OUTDIR/mask-report.json.
#[derive(Serialize)]
struct RunReport<'a> {
    model: &'a Path,
    deid_header: bool,
    files: Vec<&'a FileReport>,
    skipped: Vec<Skipped>,
    masked: usize,
    failed_closed: usize,
    seconds: f64,
}

/// What a library caller (the demo) gets back.
pub struct Outcome {
    pub reports: Vec<FileReport>,
    pub skipped: usize,
}

impl Outcome {
    pub fn failed_closed(&self) -> usize {
        self.reports.iter().filter(|r| r.failed_closed()).count()
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let outcome = mask_files(
        &args.model,
        &args.inputs,
        &args.out,
        MaskOptions {
            emit_masks: args.emit_masks,
            preview: args.preview,
            deid_header: args.deid_header,
        },
        args.keep_probability,
        args.pubkey.as_deref(),
        args.require_signature,
    )?;
    Ok(if outcome.skipped > 0 {
        ExitCode::from(1)
    } else if args.strict && outcome.failed_closed() > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// The whole run: files in parallel, reports, review queue, summary.
pub fn mask_files(
    model_path: &Path,
    inputs: &[PathBuf],
    out: &Path,
    opts: MaskOptions,
    keep_probability: f64,
    pubkey: Option<&Path>,
    require_signature: bool,
) -> anyhow::Result<Outcome> {
    let t0 = std::time::Instant::now();
    if !blob_inference::is_blob_file(model_path)? {
        bail!(
            "{}: not an int8 model blob (no SNMK magic); `sonomask quantize` makes one",
            model_path.display()
        );
    }
    let keep_level = inference::keep_level(keep_probability)?;
    let bytes =
        std::fs::read(model_path).with_context(|| format!("reading {}", model_path.display()))?;
    let key = model_file::read_verifying_key_if_given(pubkey)?;
    let model = blob_inference::load_blob(
        model_path,
        &bytes,
        model_file::signature_policy(key.as_ref(), require_signature),
    )?;
    let masker = Masker {
        engine: EnginePredictor::new(model_path, &model)?,
        keep_level,
    };

    let mut files = Vec::new();
    for i in inputs {
        super::ingest::collect(i, true, &mut files)?;
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let ids = review_queue::ingest_ids(&files);
    let uids = UidMap::default();
    let pb = progress::bar(files.len() as u64, "mask");
    let results: Vec<_> = files
        .par_iter()
        .zip(&ids)
        .map(|(f, id)| {
            let r = mask::process_file(&masker, f, id, out, opts, &uids);
            pb.inc(1);
            r
        })
        .collect();
    pb.finish_and_clear();

    let mut reports = Vec::new();
    let mut skipped = Vec::new();
    for (f, r) in files.iter().zip(results) {
        match r {
            Ok(rep) => reports.push(rep),
            Err(e) => {
                eprintln!("skipped: {e}");
                skipped.push(Skipped {
                    input: f.clone(),
                    error: e.to_string(),
                });
            }
        }
    }

    // The review queue, with the rejected proposals beside it.
    let failed: Vec<&FileReport> = reports.iter().filter(|r| r.failed_closed()).collect();
    let queue = review_queue::build(
        model_path,
        out,
        &failed
            .iter()
            .map(|r| {
                (
                    r.input.clone(),
                    r.output.clone(),
                    r.reason.clone().unwrap_or_default(),
                )
            })
            .collect::<Vec<_>>(),
    );
    if !queue.items.is_empty() {
        let dir = out.join("review");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        for (item, r) in queue.items.iter().zip(&failed) {
            let proposal = mask::keep_mask(r.proposal.as_ref(), r.width, r.height);
            dataset::write_png(&item.proposal, &proposal)?;
        }
    }
    dataset::write_json(&out.join("review-queue.json"), &queue)?;

    let seconds = t0.elapsed().as_secs_f64();
    let report = RunReport {
        model: model_path,
        deid_header: opts.deid_header,
        files: reports.iter().collect(),
        masked: reports.len() - failed.len(),
        failed_closed: failed.len(),
        skipped,
        seconds,
    };
    dataset::write_json(&out.join("mask-report.json"), &report)?;

    for r in &reports {
        match &r.reason {
            None => eprintln!(
                "{} -> {} ({} frames, kept {:.1}%)",
                r.input.display(),
                r.output.display(),
                r.frames,
                100.0 * r.kept_fraction
            ),
            Some(why) => eprintln!(
                "{} -> {} FAILED CLOSED (all black): {why}",
                r.input.display(),
                r.output.display()
            ),
        }
    }
    let frames: usize = reports.iter().map(|r| r.frames).sum();
    eprintln!(
        "masked {} files ({frames} frames) in {seconds:.1} s: {} failed closed, {} skipped -> {}",
        reports.len(),
        failed.len(),
        report.skipped.len(),
        out.display()
    );
    if let Some(first) = queue.commands.first() {
        eprintln!(
            "review the failed clips ({}):\n  {first}\n  {}",
            out.join("review-queue.json").display(),
            queue.commands.get(1).map_or("", |s| s.as_str())
        );
    }
    let skipped = report.skipped.len();
    if reports.is_empty() && skipped > 0 {
        bail!("none of the {} input files could be masked", files.len());
    }
    Ok(Outcome { reports, skipped })
}
