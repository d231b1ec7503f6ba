use std::path::PathBuf;
use std::process::ExitCode;

use sonomask_data::dataset;
use sonomask_data::ingest::{self, IngestEvent};

/// Turn DICOM files and PNG/JPEG stills into a dataset.
///
/// Folders are searched for DICOM and PNG/JPEG files, so the weak labelers
/// (and later training) run on your own data. One clip per file; every frame
/// of a multi-frame DICOM.
///
/// With --truth DIR, a clip whose DIR/<clip-id>.json holds a drawn sector
/// (the JSON `sonomask annotate` writes) gets ground truth: `sonomask eval`
/// scores masks against it (PHI leak counts every non-black pixel outside
/// the sector), and OUT/truth/<clip-id>.png is a label folder for
/// `sonomask train --labels`.
///
/// Unreadable or unsupported files are reported and skipped; the exit code is
/// 1 when anything was skipped, 2 when nothing could be read.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Files or folders (folders are searched recursively, sorted by name, for
    /// DICOM files and .png/.jpg/.jpeg stills; files named here are always tried).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output dataset folder (must be empty or absent unless --force).
    #[arg(long)]
    out: PathBuf,
    /// Replace the contents of a non-empty output folder.
    #[arg(long)]
    force: bool,
    /// Folder of sector labels (<clip-id>.json, as `sonomask annotate` writes)
    /// that give the clips named there ground truth.
    #[arg(long, value_name = "DIR")]
    truth: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for i in &args.inputs {
        ingest::collect(i, true, &mut files)?;
    }
    dataset::prepare_out(&args.out, args.force)?;
    let summary = ingest::ingest_files(
        &files,
        &args.out,
        serde_json::json!({ "inputs": args.inputs, "truth": args.truth }),
        args.truth.as_deref(),
        &mut |event| match event {
            IngestEvent::Clip { input, entry } => eprintln!(
                "{} -> {} ({} frames, {}x{}{})",
                input.display(),
                entry.id,
                entry.frames,
                entry.width,
                entry.height,
                if entry.ground_truth {
                    ", ground truth"
                } else {
                    ""
                }
            ),
            IngestEvent::Skipped { error, .. } => eprintln!("skipped: {error}"),
        },
    )?;
    Ok(if summary.skipped > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
