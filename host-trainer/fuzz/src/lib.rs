//! Helpers shared by the host fuzz targets (see `Cargo.toml` for the list).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// As in the `sonomask` binary: single allocations are capped while a DICOM
/// file is parsed (`sonomask_data::ingest::alloc_cap`), so declared lengths
/// of gigabytes fail the parse instead of reaching libFuzzer's malloc limit.
#[global_allocator]
static ALLOC: sonomask_data::ingest::alloc_cap::CappedAlloc =
    sonomask_data::ingest::alloc_cap::CappedAlloc;

/// Lets panics raised inside a *dependency* (a crate from the registry:
/// dicom-rs, jpeg-decoder, openjp2, …) unwind instead of aborting, and
/// keeps libFuzzer's abort for every other panic.
///
/// Why: the DICOM readers run dicom-rs and its codecs inside
/// `ingest::catch_decoder_panic`, which turns such a panic into a typed
/// error naming the file (`IngestError::Pixels`): that is the designed
/// behaviour for a malformed file, not a crash. A panic in our own code, or
/// one that escapes the fence, still aborts (an unwind out of the target
/// ends the process too). Each distinct location is printed once, so a long
/// run's log lists the dependency panics it met.
///
/// Call it from the target's `init:` block, after libfuzzer-sys has set
/// its aborting hook.
pub fn tolerate_caught_dependency_panics() {
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let abort = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let file = info.location().map_or("", |l| l.file());
        if !is_dependency_source(file) {
            abort(info);
            return;
        }
        let at = info
            .location()
            .map_or_else(String::new, |l| format!("{}:{}", l.file(), l.line()));
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        if seen.get_or_insert_with(HashSet::new).insert(at.clone()) {
            let why = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            eprintln!(
                "sonomask-fuzz: dependency panic (caught by the decoder fence) at {at}: {why}"
            );
        }
    }));
}

/// Whether a panic location is in a crate from the registry (not ours, not
/// the standard library).
pub fn is_dependency_source(file: &str) -> bool {
    file.contains("/registry/src/")
}

/// A scratch folder for one input: on tmpfs (`/dev/shm`) where there is
/// one, so the journal's fsyncs cost nothing.
pub fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let builder = tempfile::Builder::new()
        .prefix("sonomask-fuzz-")
        .tempdir_in(shm);
    builder.unwrap_or_else(|_| tempfile::tempdir().expect("a temporary folder"))
}

/// A placeholder path that only names the input in error messages.
pub fn input_name(ext: &str) -> PathBuf {
    PathBuf::from(format!("fuzz-input.{ext}"))
}
