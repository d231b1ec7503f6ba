//! Real files through the data side, one test binary: every codec and
//! photometric interpretation ([`codecs`]) and the weak labelers on real
//! scanner frames ([`realdata`]); hostile DICOM cut and lying
//! ([`hostile`]; the files are built by [`hostile_files`], which the mask
//! crate's and the CLI's hostile tests include by path).

mod codecs;
mod fuzz_found;
mod hostile;
mod hostile_files;
mod realdata;

/// As in the `sonomask` binary: the parse-time allocation cap is live here.
#[global_allocator]
static ALLOC: sonomask_data::ingest::alloc_cap::CappedAlloc =
    sonomask_data::ingest::alloc_cap::CappedAlloc;

use std::path::PathBuf;

/// The workspace root (fixtures live in its `tests/data`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
}
