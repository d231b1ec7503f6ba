//! The `sonomask mask` reader ([`sonomask_mask::source::read`]) on the
//! hostile files of the ingest tests (issue 19, item 3): the same typed
//! errors naming the file, never a panic or an abort; what it accepts (a
//! padded pixel data element, sequences nested to the limit) it writes back
//! without the padding and de-identifies without overflowing the stack.

#[path = "../../data/tests/files/hostile_files.rs"]
mod hostile_files;

use std::path::{Path, PathBuf};

use hostile_files as hf;
use sonomask_data::ingest::IngestError;
use sonomask_data::ingest::structure::MAX_SEQUENCE_DEPTH;
use sonomask_mask::deid::UidMap;
use sonomask_mask::{dicom_out, source};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// Which error a case must give.
type Kind = fn(&IngestError) -> bool;

fn refused(what: &str, path: &Path, kind: Kind) {
    let name = path.file_name().unwrap().to_str().unwrap();
    match source::read(path) {
        Err(e) => {
            assert!(e.to_string().contains(name), "{what}: {e}");
            assert!(kind(&e), "{what}: unexpected kind: {e:?}");
        }
        Ok(s) => panic!("{what}: read as {} frames", s.frames.len()),
    }
}

#[test]
fn every_hostile_file_is_a_typed_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (r, d) = (root(), dir.path());
    let mut cases: Vec<(PathBuf, &str, Kind)> = vec![
        (hf::pixel_data_too_long(&r, d), "pixel data too long", |e| {
            matches!(e, IngestError::Pixels { .. })
        }),
        (hf::deeply_nested(&r, d, 10_000), "10,000 levels", |e| {
            matches!(e, IngestError::TooDeep { .. })
        }),
        (
            hf::jpeg_bomb_dicom(d, "bomb-in-small.dcm", (16, 16), (65000, 65000)),
            "JPEG bigger than its header",
            |e| matches!(e, IngestError::Pixels { .. }),
        ),
        (
            hf::jpeg_bomb_dicom(d, "bomb-in-big.dcm", (65000, 65000), (65000, 65000)),
            "65000 x 65000 declared",
            |e| matches!(e, IngestError::TooLarge { .. }),
        ),
        (hf::jpeg_bomb_still(d), "65000 x 65000 still", |e| {
            matches!(e, IngestError::BadImage { .. })
        }),
    ];
    for (p, what) in hf::wrong_vrs(&r, d) {
        cases.push((p, what, |_| true));
    }
    for (p, what) in hf::bad_palettes(&r, d) {
        cases.push((p, what, |e| matches!(e, IngestError::Palette { .. })));
    }
    for (path, what, kind) in cases {
        refused(what, &path, kind);
    }
}

#[test]
fn accepted_oddities_are_written_back_whole_and_deidentified() {
    let dir = tempfile::tempdir().unwrap();
    let (r, d) = (root(), dir.path());
    // The pad after the pixel data is not carried into the output.
    let padded = source::read(&hf::pixel_data_padded(&r, d)).unwrap();
    let native = &padded.dicom.as_ref().unwrap().native;
    assert_eq!((native.frames, native.data.len()), (1, 1024 * 768));
    // Nesting at the limit: parsed, de-identified (recursively) and written.
    let deep = source::read(&hf::deeply_nested(&r, d, MAX_SEQUENCE_DEPTH)).unwrap();
    let src = deep.dicom.unwrap();
    let masked = src.native.data.clone();
    let out = dicom_out::build(src, masked, Some(&UidMap::default())).unwrap();
    assert!(out.bytes.len() > 1024 * 768);
}

/// A fuzzed Philips header (`dicom_source`, host-trainer/fuzz) that dicom-rs
/// reads but writes back in a form nothing can read (the structure scan sees
/// (0008,0008) claiming 1.2 GB): the masked file is refused with a typed
/// error instead of being written. Whatever `build` accepts reads back.
#[test]
fn a_masked_file_that_would_not_read_back_is_refused() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-found/meta-readback.dcm");
    let src = source::read(&path).expect("the fuzzed file reads");
    let n = src.frames.len();
    let dicom = src.dicom.expect("a DICOM source");
    let masked = dicom.native.data.clone();
    match dicom_out::build(dicom, masked, Some(&UidMap::default())) {
        Err(dicom_out::DicomOutError::Unreadable(e)) => assert!(e.contains("masked output"), "{e}"),
        Err(e) => panic!("another error: {e}"),
        Ok(out) => {
            let again = source::read_bytes(&path, &out.bytes).expect("reads back");
            assert_eq!(again.frames.len(), n);
        }
    }
}
