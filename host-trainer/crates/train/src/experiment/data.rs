//! The fixed data of an experiment: the pool and the test set (synthetic,
//! generated from the config's seeds) and the pool's weak labels, which are
//! deterministic and so shared by every job instead of recomputed per job.
//!
//! Each folder is built once. Several processes may start at the same time
//! (shards on one machine, or on several machines sharing `RUNS` over a
//! network file system): each builds into its own hidden temporary folder
//! and renames it into place; a rename onto a folder that another process
//! already completed fails, and the loser drops its copy. Generation is
//! deterministic, so either copy is the same. A folder made from another
//! configuration (a different manifest) is an error, never silently reused.
//! [`fingerprint`] hashes the bytes of both datasets; every result records
//! it and the report refuses results made from different data, which also
//! catches shards on machines that generated their own copies.

use std::fs;
use std::path::{Path, PathBuf};

use super::config::DataConfig;
use super::{ExperimentError, io_err};
use crate::checkpoint::fnv1a64;
use sonomask_data::dataset::Dataset;
use sonomask_data::ingest::{self, IngestEvent};
use sonomask_data::synth::SynthConfig;
use sonomask_data::synth_io;
use sonomask_data::weak::{self, Method};

/// The opened fixed datasets.
pub struct FixedData {
    pub pool: Dataset,
    pub test: Dataset,
    /// The real test set (`[data] real`), ingested with its ground truth.
    pub real: Option<Dataset>,
    /// [`fingerprint`] of the pool, the test set and the real set's source
    /// folder (its `files/` and `labels/`: the ingested copy records source
    /// paths, which differ between checkouts).
    pub fingerprint: String,
}

/// Where the shared weak labels of the pool live.
pub fn labels_dir(runs: &Path, method: Method) -> PathBuf {
    // The folder is named after the method: the journal's label-set name
    // must match the mask folder's name (`journal::names_mask_dir`).
    runs.join("data").join("labels").join(method.name())
}

/// Generates (once) and opens the pool and test set of `cfg` under
/// `RUNS/data`.
pub fn prepare(runs: &Path, cfg: &DataConfig) -> Result<FixedData, ExperimentError> {
    let root = runs.join("data");
    let pool = ensure_dataset(&root.join("pool"), &cfg.pool())?;
    let test = ensure_dataset(&root.join("test"), &cfg.test())?;
    let real_src = cfg
        .real_root
        .clone()
        .or_else(|| cfg.real.as_ref().map(PathBuf::from));
    let (real, fingerprint) = match &real_src {
        None => (None, fingerprint(&[pool.root(), test.root()])?),
        Some(src) => (
            Some(ensure_real(&root.join("real"), src)?),
            fingerprint(&[pool.root(), test.root(), src])?,
        ),
    };
    Ok(FixedData {
        pool,
        test,
        real,
        fingerprint,
    })
}

/// Ingests the real test set `src` (`files/`, `labels/`) into `dir` once.
/// Every file must ingest and carry ground truth: a real column scored on
/// fewer clips than the folder holds would silently change meaning.
fn ensure_real(dir: &Path, src: &Path) -> Result<Dataset, ExperimentError> {
    ensure_dir(dir, |tmp| {
        let mut files = Vec::new();
        ingest::collect(&src.join("files"), true, &mut files)?;
        let mut problems = Vec::new();
        let summary = ingest::ingest_files(
            &files,
            tmp,
            serde_json::json!({ "real_test_set": true }),
            Some(&src.join("labels")),
            &mut |e| match e {
                IngestEvent::Skipped { input, error } => {
                    problems.push(format!("{}: {error}", input.display()));
                }
                IngestEvent::Clip { input, entry } if !entry.ground_truth => {
                    problems.push(format!("{}: no label in labels/", input.display()));
                }
                IngestEvent::Clip { .. } => {}
            },
        )?;
        if !problems.is_empty() || summary.clips.is_empty() {
            return Err(ExperimentError::Conflict {
                path: src.to_path_buf(),
                message: format!(
                    "not usable as a real test set: {}",
                    if problems.is_empty() {
                        "no files".to_string()
                    } else {
                        problems.join("; ")
                    }
                ),
            });
        }
        Ok(())
    })?;
    Ok(Dataset::open(dir)?)
}

/// The pool's labels of `method`, computed once.
pub fn ensure_labels(
    runs: &Path,
    pool: &Dataset,
    method: Method,
) -> Result<PathBuf, ExperimentError> {
    let dir = labels_dir(runs, method);
    ensure_dir(&dir, |tmp| {
        weak::label_dataset(method, pool, tmp, &|| {})?;
        Ok(())
    })?;
    // A completed folder holds one mask per clip; anything else was not
    // made by this code for this pool.
    for c in pool.clips() {
        let p = dir.join(format!("{}.png", c.id));
        if !p.is_file() {
            return Err(ExperimentError::Conflict {
                path: dir.clone(),
                message: format!(
                    "no label for pool clip {}; the folder was not made for this pool (delete it to rebuild)",
                    c.id
                ),
            });
        }
    }
    Ok(dir)
}

fn ensure_dataset(dir: &Path, cfg: &SynthConfig) -> Result<Dataset, ExperimentError> {
    ensure_dir(dir, |tmp| {
        synth_io::write_dataset(cfg, tmp, &|| {})?;
        Ok(())
    })?;
    let data = Dataset::open(dir)?;
    let want = synth_io::config_json(cfg);
    if data.manifest().config != want {
        return Err(ExperimentError::Conflict {
            path: dir.to_path_buf(),
            message: format!(
                "this dataset was generated from {} but the experiment's [data] asks for {want}; use a fresh --out for a changed [data] section",
                data.manifest().config
            ),
        });
    }
    Ok(data)
}

/// Builds `dir` with `build` unless it exists: into a temporary sibling
/// folder first, then renamed into place (see the module documentation).
pub(crate) fn ensure_dir(
    dir: &Path,
    build: impl FnOnce(&Path) -> Result<(), ExperimentError>,
) -> Result<(), ExperimentError> {
    if dir.exists() {
        return Ok(());
    }
    let parent = dir
        .parent()
        .ok_or_else(|| ExperimentError::Invalid(format!("{}: no parent", dir.display())))?;
    fs::create_dir_all(parent).map_err(io_err(parent))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".building-{name}-"))
        .tempdir_in(parent)
        .map_err(io_err(parent))?;
    build(tmp.path())?;
    match fs::rename(tmp.path(), dir) {
        Ok(()) => {
            // Renamed away: nothing left for the guard to delete.
            let _ = tmp.keep();
            Ok(())
        }
        // Another process finished first; keep its copy, drop ours.
        Err(_) if dir.exists() => Ok(()),
        Err(e) => Err(io_err(dir)(e)),
    }
}

/// FNV-1a 64 over every file's relative path and bytes, in sorted path
/// order, of the given folders: the same data gives the same hex string on
/// every machine.
pub fn fingerprint(dirs: &[&Path]) -> Result<String, ExperimentError> {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for (i, dir) in dirs.iter().enumerate() {
        feed(format!("#{i}\0").as_bytes());
        for (rel, path) in files_sorted(dir)? {
            let bytes = fs::read(&path).map_err(io_err(&path))?;
            feed(rel.as_bytes());
            feed(&[0]);
            feed(&(bytes.len() as u64).to_le_bytes());
            feed(&bytes);
        }
    }
    // One extra round so an empty input differs from the bare offset basis.
    Ok(format!("{:016x}", fnv1a64(&h.to_le_bytes())))
}

/// Every file under `dir` (relative path with `/`, full path), sorted.
fn files_sorted(dir: &Path) -> Result<Vec<(String, PathBuf)>, ExperimentError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).map_err(io_err(&d))? {
            let path = e.map_err(io_err(&d))?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((rel, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> DataConfig {
        DataConfig {
            seed: 3,
            test_seed: None,
            pool_clips: 2,
            test_clips: 1,
            frames: 2,
            test_frames: Some(3),
            size: Some("96x80".into()),
            layouts: None,
            real: None,
            real_root: None,
        }
    }

    #[test]
    fn built_once_identical_everywhere_and_guarded() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let da = prepare(a.path(), &tiny()).unwrap();
        let db = prepare(b.path(), &tiny()).unwrap();
        assert_eq!(da.fingerprint, db.fingerprint, "same config, same bytes");
        // Second call reuses the folder.
        assert_eq!(
            prepare(a.path(), &tiny()).unwrap().fingerprint,
            da.fingerprint
        );
        // No temporary folders are left behind.
        let leftovers: Vec<_> = fs::read_dir(a.path().join("data"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        // Another [data] section on the same folder is refused.
        let other = DataConfig { seed: 4, ..tiny() };
        let err = prepare(a.path(), &other).err().unwrap().to_string();
        assert!(err.contains("fresh --out"), "{err}");
        // The test set has its own frame count.
        let frames = |d: &Dataset| {
            fs::read_dir(d.root().join("clips/clip0000/frames"))
                .unwrap()
                .count()
        };
        assert_eq!((frames(&da.pool), frames(&da.test)), (2, 3));
        // Labels: one per pool clip, computed once.
        let dir = ensure_labels(a.path(), &da.pool, Method::Threshold).unwrap();
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 2);
    }

    #[test]
    fn racing_builders_agree() {
        let a = tempfile::tempdir().unwrap();
        let results: Vec<String> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..3)
                .map(|_| s.spawn(|| prepare(a.path(), &tiny()).map(|d| d.fingerprint)))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap().unwrap()).collect()
        });
        assert!(results.windows(2).all(|w| w[0] == w[1]), "{results:?}");
    }
}
