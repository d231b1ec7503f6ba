//! Hostile DICOM (issue 19, item 3, first part): real fixtures cut at every
//! element boundary and with lengths that lie. Every one must give a typed
//! error naming the file — never a panic, never a hang, never an
//! allocation the size of the lie.

use std::path::{Path, PathBuf};

use sonomask_data::dataset::Frames;
use sonomask_data::ingest::{self, IngestError};

use crate::root;

/// Byte offsets where a data element (or an encapsulated item) starts, for
/// an explicit-VR little-endian Part 10 file: the meta group and datasets
/// in that syntax or in an encapsulated one (only the pixel data is then
/// encapsulated). Undefined-length values are entered, so the offsets of
/// their items and delimiters are included.
fn element_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut at = 132;
    while at + 8 <= bytes.len() {
        starts.push(at);
        let group = u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        if group == 0xFFFE {
            // Item or delimiter: tag + 4-byte length, the value follows.
            let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap());
            at += 8;
            if len != u32::MAX {
                at += len as usize;
            }
            continue;
        }
        let (len, head) = if long_length(&bytes[at + 4..at + 6]) {
            (
                u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()),
                12,
            )
        } else {
            (u16::from_le_bytes([bytes[at + 6], bytes[at + 7]]) as u32, 8)
        };
        at += head;
        if len != u32::MAX {
            at += len as usize;
        }
    }
    starts
}

/// Explicit-VR value representations with a 4-byte length (after 2
/// reserved bytes); the others have a 2-byte length.
fn long_length(vr: &[u8]) -> bool {
    matches!(
        vr,
        b"OB" | b"OW" | b"OF" | b"OD" | b"OL" | b"OV" | b"SQ" | b"UN" | b"UT" | b"UC" | b"UR"
    )
}

/// A real fixture's bytes and its intact decode.
fn fixture(name: &str) -> (Vec<u8>, Frames) {
    let path = root().join("tests/data/realdata").join(name);
    (
        std::fs::read(&path).unwrap(),
        ingest::read_any(&path).unwrap(),
    )
}

fn read_bytes(dir: &Path, name: &str, bytes: &[u8]) -> Result<Frames, IngestError> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    ingest::read_any(&path)
}

/// A damaged file either fails with an error naming it, or reads as exactly
/// the intact file's frames (e.g. only a trailing delimiter was lost):
/// never a partial or made-up image.
fn error_or_intact(what: &str, got: Result<Frames, IngestError>, intact: &Frames, file: &str) {
    match got {
        Err(e) => assert!(e.to_string().contains(file), "{what}: {e}"),
        Ok(f) => {
            let same = match (&f, intact) {
                (Frames::Gray(a), Frames::Gray(b)) => a == b,
                (Frames::Rgb(a), Frames::Rgb(b)) => a == b,
                _ => false,
            };
            assert!(same, "{what}: read as {} other frames", f.len());
        }
    }
}

const FIXTURES: [&str; 3] = [
    "deid-philips-linear-grey.dcm", // explicit VR LE, native
    "pydicom-philips-curvilinear-palette-rle.dcm", // RLE, palette
    "pydicom-sonosite-phased-ybr-cine.dcm", // JPEG baseline, 30 frames
];

#[test]
fn truncated_at_every_element_boundary_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for name in FIXTURES {
        let (bytes, intact) = fixture(name);
        let starts = element_starts(&bytes);
        assert!(starts.len() > 20, "{name}: {} elements", starts.len());
        let mut cuts: Vec<usize> = starts.iter().flat_map(|&s| [s, s + 3]).collect();
        cuts.extend([0, 64, 131, bytes.len() - 1]);
        for cut in cuts.into_iter().filter(|&c| c < bytes.len()) {
            let got = read_bytes(dir.path(), "cut.dcm", &bytes[..cut]);
            error_or_intact(&format!("{name} cut at {cut}"), got, &intact, "cut.dcm");
        }
    }
}

#[test]
fn lengths_that_claim_gigabytes_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for name in FIXTURES {
        let (bytes, intact) = fixture(name);
        // Every defined 4-byte length (OB/OW/SQ/UN/UT… and items) in turn
        // set to about 4 GiB.
        let starts = element_starts(&bytes);
        let mut lied = 0;
        for &at in &starts {
            let group = u16::from_le_bytes([bytes[at], bytes[at + 1]]);
            let element = u16::from_le_bytes([bytes[at + 2], bytes[at + 3]]);
            let field = if group == 0xFFFE && element == 0xE000 {
                at + 4
            } else if group == 0xFFFE {
                continue; // a delimiter's length carries nothing
            } else if long_length(&bytes[at + 4..at + 6]) {
                at + 8
            } else {
                continue;
            };
            if u32::from_le_bytes(bytes[field..field + 4].try_into().unwrap()) == u32::MAX {
                continue;
            }
            let mut evil = bytes.clone();
            evil[field..field + 4].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
            let got = read_bytes(dir.path(), "huge.dcm", &evil);
            error_or_intact(
                &format!("{name}: 4 GiB at {field}"),
                got,
                &intact,
                "huge.dcm",
            );
            lied += 1;
        }
        assert!(lied > 0, "{name}: no length to lie about");
    }
}

/// The native Philips still with one attribute replaced, written back.
fn edited(
    dir: &Path,
    name: &str,
    edit: impl FnOnce(&mut dicom_object::DefaultDicomObject),
) -> PathBuf {
    let mut obj =
        dicom_object::open_file(root().join("tests/data/realdata/deid-philips-linear-grey.dcm"))
            .unwrap();
    edit(&mut obj);
    let path = dir.join(name);
    obj.write_to_file(&path).unwrap();
    path
}

#[test]
fn declared_sizes_that_disagree_with_the_pixel_data_are_errors() {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    let dir = tempfile::tempdir().unwrap();
    let is = |v: &str| DataElement::new(tags::NUMBER_OF_FRAMES, VR::IS, PrimitiveValue::from(v));
    let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
    let cases: Vec<(&str, PathBuf)> = vec![
        (
            "0 frames",
            edited(dir.path(), "zero.dcm", |o| {
                o.put(is("0"));
            }),
        ),
        (
            "65535 frames",
            edited(dir.path(), "many.dcm", |o| {
                o.put(is("65535"));
            }),
        ),
        (
            "rows doubled: pixel data too short",
            edited(dir.path(), "short.dcm", |o| {
                o.put(us(tags::ROWS, 1536));
            }),
        ),
        (
            "pixel data cut to half",
            edited(dir.path(), "half.dcm", |o| {
                let px = o
                    .element(tags::PIXEL_DATA)
                    .unwrap()
                    .to_bytes()
                    .unwrap()
                    .to_vec();
                o.put(DataElement::new(
                    tags::PIXEL_DATA,
                    VR::OB,
                    PrimitiveValue::from(px[..px.len() / 2].to_vec()),
                ));
            }),
        ),
    ];
    for (what, path) in cases {
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        match ingest::read_any(&path) {
            Err(e) => assert!(e.to_string().contains(&file), "{what}: {e}"),
            Ok(f) => panic!("{what}: read as {} frames", f.len()),
        }
    }
}
