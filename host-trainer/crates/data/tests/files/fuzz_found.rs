//! Inputs the host fuzz targets (`host-trainer/fuzz`, target
//! `dicom_source`) found, cut down to what triggers them, each read both
//! from bytes and from a file (the two readers must agree).

use sonomask_data::ingest::{self, IngestError};

/// A Part 10 file: preamble, `DICM`, a meta group (explicit VR little
/// endian, ultrasound image storage) and `body`.
fn part10(body: &[u8]) -> Vec<u8> {
    fn element(out: &mut Vec<u8>, tag: [u8; 4], vr: &[u8; 2], value: &[u8]) {
        out.extend_from_slice(&tag);
        out.extend_from_slice(vr);
        if vr == b"OB" {
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        } else {
            out.extend_from_slice(&(value.len() as u16).to_le_bytes());
        }
        out.extend_from_slice(value);
    }
    let mut meta = Vec::new();
    element(&mut meta, [2, 0, 1, 0], b"OB", &[0, 1]);
    element(
        &mut meta,
        [2, 0, 2, 0],
        b"UI",
        b"1.2.840.10008.5.1.4.1.1.6.1\0",
    );
    element(&mut meta, [2, 0, 3, 0], b"UI", b"2.25.1\0");
    element(&mut meta, [2, 0, 0x10, 0], b"UI", b"1.2.840.10008.1.2.1\0");
    let mut b = vec![0u8; 128];
    b.extend_from_slice(b"DICM");
    element(
        &mut b,
        [2, 0, 0, 0],
        b"UL",
        &(meta.len() as u32).to_le_bytes(),
    );
    b.extend_from_slice(&meta);
    b.extend_from_slice(body);
    b
}

fn read_both(bytes: &[u8]) -> [Result<(), IngestError>; 2] {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("found.dcm");
    std::fs::write(&path, bytes).unwrap();
    [
        ingest::read_any_bytes(&path, bytes).map(|_| ()),
        ingest::read_any(&path).map(|_| ()),
    ]
}

/// A VR code dicom-rs does not know is read as UN, whose length is 4
/// bytes after 2 reserved ones. The structure scan read a 2-byte length
/// there, so it walked on through garbage while dicom-rs took the next 4
/// bytes as the length, reserved it and zero-filled it before failing to
/// read it: a 6 KB fuzzed file (a stray byte before a sequence delimiter)
/// cost 3.7 GB. The scan now reads such a length as dicom-rs does and
/// refuses the file unread.
#[test]
fn unknown_vr_with_a_length_past_the_end_is_refused_unread() {
    let mut body = Vec::new();
    // (0008,0060) CS "US"
    body.extend_from_slice(&[0x08, 0x00, 0x60, 0x00, b'C', b'S', 2, 0, b'U', b'S']);
    // (0009,0010) with VR bytes 0xE0 0x00, reserved, length 0xDDFFFE00.
    body.extend_from_slice(&[0x09, 0x00, 0x10, 0x00, 0xE0, 0x00, 0, 0]);
    body.extend_from_slice(&0xDDFF_FE00u32.to_le_bytes());
    body.extend_from_slice(&[0u8; 64]);
    for got in read_both(&part10(&body)) {
        match got {
            Err(IngestError::LengthPastEnd { length, .. }) => assert_eq!(length, 0xDDFF_FE00),
            other => panic!("not refused unread: {other:?}"),
        }
    }
}

/// An item tag (FFFE,E000) after the pixel data, outside any sequence:
/// dicom-rs read it as an UN element and `sonomask mask` wrote it back as
/// an item header followed by a VR, a file that neither dicom-rs nor dcmtk
/// could read again. Such a data set is now refused when read.
#[test]
fn an_item_tag_outside_a_sequence_is_refused() {
    let mut body = Vec::new();
    // (0008,0060) CS "US"
    body.extend_from_slice(&[0x08, 0x00, 0x60, 0x00, b'C', b'S', 2, 0, b'U', b'S']);
    // (7FE0,0010) OB, 4 bytes, then the stray item with 4 bytes of value.
    body.extend_from_slice(&[
        0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 4, 0, 0, 0, 1, 2, 3, 4,
    ]);
    body.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 4, 0, 0, 0, 9, 9, 9, 9]);
    for got in read_both(&part10(&body)) {
        match got {
            Err(IngestError::Dicom { message, .. }) => {
                assert!(
                    message.contains("(FFFE,E000) outside a sequence"),
                    "{message}"
                )
            }
            other => panic!("not refused as a broken data set: {other:?}"),
        }
    }
}
