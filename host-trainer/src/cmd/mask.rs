use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use sonomask_mask::MaskOptions;
use sonomask_mask::batch::{self, ModelSource, Outcome};

/// Mask real files: keep the scan region(s), black out everything else.
///
/// Per input file (every frame of a DICOM clip, or one PNG/JPEG still) the
/// int8 model runs on every frame through the shared engine (the code the
/// cart runs); in a clip of three or more frames, the cells that change from
/// frame to frame (speckle in dark anatomy moves, burned-in text does not)
/// join the averaged map; the shared geometry fit turns it into fans
/// and rectangles (several for dual screens and M-mode/Doppler strips), a
/// single rectangle is snapped to the image's own edges (out while the
/// lines beyond carry speckle, in off a flat background or header text), a single fan's
/// apex, edges and arc likewise (a fan over a rectangle joined first), the DICOM
/// Sequence of Ultrasound Regions (0018,6011) clips, fills and
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
/// Files that are damaged or lie about their size (pixel data shorter or
/// longer than declared, lengths past the end of the file, sequences nested
/// over 64 deep, a JPEG header larger than the DICOM header, more than
/// 2 GiB of pixels) are refused before decoding, naming the file.
///
/// Exit codes: 0 all masked; 1 some input was skipped (unreadable or
/// unsupported; nothing is written for it); 3 with --strict, some clip
/// failed closed (and nothing was skipped); 2 error, or no input could be
/// masked (e.g. the only file named was skipped).
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
    /// Use the network's map alone: leave the clip's frame-to-frame motion
    /// out of the fit's input (the cart has no such prior).
    #[arg(long)]
    no_motion_prior: bool,
    /// Fit the network's map as it is and keep the fitted regions where the
    /// fit put them; by default map cells over a flat grey UI panel are
    /// dropped before the fit, and a single rectangle's sides, or a single
    /// fan's apex, edges and far arc, move out while the lines beyond carry
    /// speckle, and in off a flat background (the cart does neither).
    #[arg(long)]
    no_edge_snap: bool,
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

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let outcome = batch::mask_files(
        ModelSource {
            path: &args.model,
            pubkey: args.pubkey.as_deref(),
            require_signature: args.require_signature,
        },
        &args.inputs,
        &args.out,
        MaskOptions {
            emit_masks: args.emit_masks,
            preview: args.preview,
            deid_header: args.deid_header,
            no_motion_prior: args.no_motion_prior,
            no_edge_snap: args.no_edge_snap,
        },
        args.keep_probability,
    )?;
    print_outcome(&outcome, &args.out);
    if outcome.nothing_masked() {
        bail!("none of the {} input files could be masked", outcome.files);
    }
    Ok(if !outcome.skipped.is_empty() {
        ExitCode::from(1)
    } else if args.strict && outcome.failed_closed() > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// Per file, its outcome; then the totals and how to review failed clips.
pub fn print_outcome(outcome: &Outcome, out: &std::path::Path) {
    for s in &outcome.skipped {
        eprintln!("skipped: {}", s.error);
    }
    for r in &outcome.reports {
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
    let frames: usize = outcome.reports.iter().map(|r| r.frames).sum();
    eprintln!(
        "masked {} files ({frames} frames) in {:.1} s: {} failed closed, {} skipped -> {}",
        outcome.reports.len(),
        outcome.seconds,
        outcome.failed_closed(),
        outcome.skipped.len(),
        out.display()
    );
    if let Some(first) = outcome.queue.commands.first() {
        eprintln!(
            "review the failed clips ({}):\n  {first}\n  {}",
            out.join("review-queue.json").display(),
            outcome.queue.commands.get(1).map_or("", |s| s.as_str())
        );
    }
}
