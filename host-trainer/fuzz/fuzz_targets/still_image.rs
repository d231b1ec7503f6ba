//! PNG/JPEG bytes through the stills reader that `sonomask ingest` and
//! `sonomask mask` share (`ingest::read_still_bytes`, which `read_still`
//! and `source::read` call on a file's bytes). Anything else `image` can
//! guess from the first bytes is compiled out (only the png and jpeg
//! features), so other formats must give `IngestError::BadImage`.
//!
//! Must hold: no panic (there is no decoder fence around stills), no
//! allocation the size of a declared image, and a decoded still is one
//! non-empty frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonomask_data::ingest;

fuzz_target!(|data: &[u8]| {
    let name = sonomask_host_fuzz::input_name("png");
    if let Ok(frames) = ingest::read_still_bytes(&name, data) {
        assert_eq!(frames.len(), 1, "a still is one frame");
    }
    // The mask reader takes the same path for anything without `DICM` at
    // byte 128 (and the DICOM path for the rest, fuzzed by dicom_source).
    if data.get(128..132) != Some(b"DICM") {
        let _ = sonomask_mask::source::read_bytes(&name, data);
    }
});
