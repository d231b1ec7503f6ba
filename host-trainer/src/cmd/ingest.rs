use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use sonomask::dataset::{self, ClipData, Frames, FramesRef, Manifest};
use sonomask::ingest;

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

/// Adds `path` to `out`: a file named explicitly (`explicit`) always, a file
/// met while recursing into a folder only if it looks like DICOM (magic) or
/// is named .png/.jpg/.jpeg (any case).
pub(super) fn collect(path: &Path, explicit: bool, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .with_context(|| format!("reading {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            collect(&e, false, out)?;
        }
    } else if path.exists() {
        if explicit || ingest::is_ingestible(path) {
            out.push(path.to_path_buf());
        }
    } else {
        bail!("{}: no such file or folder", path.display());
    }
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    for i in &args.inputs {
        collect(i, true, &mut files)?;
    }
    super::synth::prepare_out(&args.out, args.force)?;
    let mut entries = Vec::new();
    let mut skipped = 0usize;
    let mut used_ids = std::collections::HashSet::new();
    for f in &files {
        let frames = match ingest::read_any(f) {
            Ok(fr) => fr,
            Err(e) => {
                eprintln!("skipped: {e}");
                skipped += 1;
                continue;
            }
        };
        let base = ingest::clip_id_for(f);
        let mut id = base.clone();
        let mut k = 1;
        while !used_ids.insert(id.clone()) {
            k += 1;
            id = format!("{base}-{k}");
        }
        let meta = serde_json::json!({ "id": id, "source": f, "frames": frames.len() });
        let refs = match &frames {
            Frames::Gray(v) => FramesRef::Gray(v),
            Frames::Rgb(v) => FramesRef::Rgb(v),
        };
        let entry = dataset::write_clip(
            &args.out,
            &ClipData {
                id: &id,
                frames: refs,
                sector: None,
                overlay: None,
                meta,
            },
        )?;
        eprintln!(
            "{} -> {id} ({} frames, {}x{})",
            f.display(),
            entry.frames,
            entry.width,
            entry.height
        );
        entries.push(entry);
    }
    if entries.is_empty() {
        bail!("none of the {} input files could be read", files.len());
    }
    dataset::write_manifest(
        &args.out,
        &Manifest {
            format: dataset::FORMAT.into(),
            version: dataset::VERSION,
            created_by: "sonomask ingest".into(),
            config: serde_json::json!({ "inputs": args.inputs }),
            clips: entries,
        },
    )?;
    Ok(if skipped > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_recursion_keeps_dicom_and_stills_explicit_files_always() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("sub")).unwrap();
        let mut dicm = vec![0u8; 128];
        dicm.extend_from_slice(b"DICM");
        std::fs::write(d.join("sub/IM0001"), &dicm).unwrap();
        for name in [
            "a.PNG",
            "b.jpeg",
            "sub/c.JPG",
            "notes.txt",
            "DICOMDIR.bak",
            "sub/.DS_Store",
        ] {
            std::fs::write(d.join(name), b"x").unwrap();
        }
        let mut files = Vec::new();
        collect(d, true, &mut files).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.strip_prefix(d).unwrap().to_path_buf())
            .collect();
        let want: Vec<PathBuf> = ["a.PNG", "b.jpeg", "sub/IM0001", "sub/c.JPG"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(names, want);

        let mut files = Vec::new();
        collect(&d.join("notes.txt"), true, &mut files).unwrap();
        assert_eq!(files, [d.join("notes.txt")]);
        assert!(collect(&d.join("missing"), true, &mut Vec::new()).is_err());
    }
}
