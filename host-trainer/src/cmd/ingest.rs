use std::path::PathBuf;
use std::process::ExitCode;

use sonomask_data::dataset;
use sonomask_data::ingest::{self, IngestEvent};

/// Turn DICOM files and PNG/JPEG stills into a dataset (no ground truth).
///
/// Folders are searched for DICOM and PNG/JPEG files, so the weak labelers
/// (and later training) run on your own data. One clip per file; every frame
/// of a multi-frame DICOM.
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
        serde_json::json!({ "inputs": args.inputs }),
        &mut |event| match event {
            IngestEvent::Clip { input, entry } => eprintln!(
                "{} -> {} ({} frames, {}x{})",
                input.display(),
                entry.id,
                entry.frames,
                entry.width,
                entry.height
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
