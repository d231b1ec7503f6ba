//! Ingest tests: DICOM files built in memory (palette, multi-frame, YBR,
//! planar RGB) read end to end, stills, folder filtering, typed errors.

use super::*;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject, Tag};

#[test]
fn ids_are_sanitised() {
    assert_eq!(clip_id_for(Path::new("/x/a b.c.dcm")), "a_b_c");
    assert_eq!(clip_id_for(Path::new("/x/.dcm")), "_dcm");
}

#[test]
fn garbage_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("junk.dcm");
    let mut bytes = vec![0u8; 128];
    bytes.extend_from_slice(b"DICM");
    bytes.extend_from_slice(&[0xff; 40]);
    std::fs::write(&p, &bytes).unwrap();
    assert!(looks_like_dicom(&p));
    assert!(matches!(
        read_any(&p),
        Err(IngestError::Dicom { .. } | IngestError::Pixels { .. })
    ));
    let q = dir.path().join("junk.png");
    std::fs::write(&q, b"nope").unwrap();
    assert!(matches!(read_any(&q), Err(IngestError::BadImage { .. })));
}

#[test]
fn folder_filter_by_magic_and_extension() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut dicm = vec![0u8; 128];
    dicm.extend_from_slice(b"DICM");
    std::fs::write(d.join("IM0001"), &dicm).unwrap();
    for name in [
        "a.PNG",
        "b.jpg",
        "c.JpEg",
        "notes.txt",
        "Thumbs.db",
        "noext",
    ] {
        std::fs::write(d.join(name), b"x").unwrap();
    }
    let picked: Vec<bool> = [
        "IM0001",
        "a.PNG",
        "b.jpg",
        "c.JpEg",
        "notes.txt",
        "Thumbs.db",
        "noext",
    ]
    .iter()
    .map(|n| is_ingestible(&d.join(n)))
    .collect();
    assert_eq!(picked, [true, true, true, true, false, false, false]);
}

#[test]
fn ybr_full_422_unpacks_pairs() {
    // Two pairs: grey (Cb = Cr = 128) and a red-ish pair.
    let data = [10, 200, 128, 128, 76, 76, 85, 255];
    let rgb = unpack_ybr_full_422(&data, 2, 2).unwrap();
    assert_eq!(&rgb[..6], &[10, 10, 10, 200, 200, 200]);
    assert_eq!(&rgb[6..9], &ybr_full_to_rgb(76, 85, 255));
    // Y 76, Cb 85, Cr 255 is (almost) pure red: 76 + 1.402 * 127 = 254.05.
    assert_eq!(ybr_full_to_rgb(76, 85, 255), [254, 0, 0]);
    assert_eq!(&rgb[6..9], &rgb[9..12]);
    assert!(unpack_ybr_full_422(&data, 3, 1).is_err());
    assert!(unpack_ybr_full_422(&data[..6], 2, 2).is_err());
}

#[test]
fn color_decision_by_pi_and_transfer_syntax() {
    use ColorSamples::*;
    let jpeg = "1.2.840.10008.1.2.4.50";
    let j2k = "1.2.840.10008.1.2.4.90";
    let rle = "1.2.840.10008.1.2.5";
    let native = "1.2.840.10008.1.2.1";
    assert_eq!(effective_color("YBR_FULL_422", "RGB", jpeg), Some(Rgb));
    assert_eq!(effective_color("YBR_RCT", "RGB", j2k), Some(Rgb));
    assert_eq!(
        effective_color("YBR_ICT", "RGB", "1.2.840.10008.1.2.4.91"),
        Some(Rgb)
    );
    assert_eq!(effective_color("YBR_FULL", "RGB", j2k), Some(YbrFull));
    assert_eq!(effective_color("YBR_FULL", "RGB", rle), Some(YbrFull));
    assert_eq!(effective_color("RGB", "RGB", rle), Some(Rgb));
    assert_eq!(
        effective_color("YBR_FULL", "RGB", "1.2.840.10008.1.2.4.70"),
        Some(YbrFull)
    );
    assert_eq!(
        effective_color("YBR_FULL", "YBR_FULL", native),
        Some(YbrFull)
    );
    assert_eq!(
        effective_color("YBR_FULL_422", "YBR_FULL_422", native),
        Some(YbrFull422Packed)
    );
    assert_eq!(
        effective_color("YBR_PARTIAL_420", "YBR_PARTIAL_420", native),
        None
    );
}

/// A minimal single-frame image file, explicit VR little endian.
fn write_image(
    path: &Path,
    pi: &str,
    spp: u16,
    bits: u16,
    (w, h): (u16, u16),
    extra: Vec<DataElement<InMemDicomObject>>,
) {
    let mut obj = InMemDicomObject::new_empty();
    let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
    obj.put(DataElement::new(
        tags::SOP_CLASS_UID,
        VR::UI,
        PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.6.1"),
    ));
    obj.put(DataElement::new(
        tags::SOP_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from("2.25.1234"),
    ));
    obj.put(DataElement::new(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        PrimitiveValue::from(pi),
    ));
    obj.put(us(tags::SAMPLES_PER_PIXEL, spp));
    obj.put(us(tags::ROWS, h));
    obj.put(us(tags::COLUMNS, w));
    obj.put(us(tags::BITS_ALLOCATED, bits));
    obj.put(us(tags::BITS_STORED, bits));
    obj.put(us(tags::HIGH_BIT, bits - 1));
    obj.put(us(tags::PIXEL_REPRESENTATION, 0));
    if spp == 3 {
        obj.put(us(tags::PLANAR_CONFIGURATION, 0));
    }
    for e in extra {
        obj.put(e);
    }
    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .unwrap();
    file.write_to_file(path).unwrap();
}

fn desc(tag: Tag, v: [u16; 3]) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::U16(v.into_iter().collect()))
}

/// Bytes under an OW element (the tag is set by `with_tag`).
fn ow_bytes(b: &[u8]) -> OwBytes {
    OwBytes(b.to_vec())
}

struct OwBytes(Vec<u8>);

impl OwBytes {
    fn with_tag(self, tag: Tag) -> DataElement<InMemDicomObject> {
        DataElement::new(tag, VR::OW, PrimitiveValue::U8(self.0.into()))
    }
}

fn ow(tag: Tag, v: &[u16]) -> DataElement<InMemDicomObject> {
    DataElement::new(
        tag,
        VR::OW,
        PrimitiveValue::U16(v.iter().copied().collect()),
    )
}

#[test]
fn palette_file_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pal.dcm");
    let pixels = DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::from(vec![0u8, 1, 2, 3]),
    );
    let red: Vec<u16> = vec![0, 0x5555, 0xaaaa, 0xffff];
    write_image(
        &p,
        "PALETTE COLOR",
        1,
        8,
        (2, 2),
        vec![
            pixels,
            desc(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [4, 0, 16]),
            desc(
                tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                [4, 0, 16],
            ),
            desc(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [4, 0, 16]),
            ow(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA, &red),
            // green segmented: discrete 0, then linear to 0xffff over 3
            ow(
                tags::SEGMENTED_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                &[0, 1, 0, 1, 3, 0xffff],
            ),
            ow(
                tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                &[0xffff, 0xffff, 0, 0],
            ),
        ],
    );
    let Frames::Rgb(frames) = read_dicom(&p).unwrap() else {
        panic!("palette must come back as RGB")
    };
    assert_eq!(frames.len(), 1);
    assert_eq!(
        frames[0].as_raw(),
        &[0, 0, 255, 85, 85, 255, 170, 170, 0, 255, 255, 0]
    );

    // Red data one entry short: a typed palette error naming the file.
    let q = dir.path().join("bad.dcm");
    write_image(
        &q,
        "PALETTE COLOR",
        1,
        8,
        (2, 2),
        vec![
            DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                PrimitiveValue::from(vec![0u8, 1, 2, 3]),
            ),
            desc(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [4, 0, 16]),
            desc(
                tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                [4, 0, 16],
            ),
            desc(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [4, 0, 16]),
            ow(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA, &red[..3]),
            ow(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA, &red),
            ow(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA, &red),
        ],
    );
    match read_dicom(&q) {
        Err(e @ IngestError::Palette { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("bad.dcm") && msg.contains("red"), "{msg}");
        }
        other => panic!("expected a palette error, got {other:?}"),
    }

    // No LUT at all: also a palette error.
    let r = dir.path().join("nolut.dcm");
    write_image(
        &r,
        "PALETTE COLOR",
        1,
        8,
        (2, 2),
        vec![DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::from(vec![0u8, 1, 2, 3]),
        )],
    );
    assert!(matches!(read_dicom(&r), Err(IngestError::Palette { .. })));
}

#[test]
fn monochrome1_multiframe_implicit_vr() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mono1.dcm");
    let mut obj = InMemDicomObject::new_empty();
    let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
    obj.put(DataElement::new(
        tags::SOP_CLASS_UID,
        VR::UI,
        PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.6.1"),
    ));
    obj.put(DataElement::new(
        tags::SOP_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from("2.25.99"),
    ));
    obj.put(DataElement::new(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        PrimitiveValue::from("MONOCHROME1"),
    ));
    obj.put(DataElement::new(
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        PrimitiveValue::from("2"),
    ));
    for (tag, v) in [
        (tags::SAMPLES_PER_PIXEL, 1),
        (tags::ROWS, 1),
        (tags::COLUMNS, 2),
        (tags::BITS_ALLOCATED, 8),
        (tags::BITS_STORED, 8),
        (tags::HIGH_BIT, 7),
        (tags::PIXEL_REPRESENTATION, 0),
    ] {
        obj.put(us(tag, v));
    }
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::from(vec![0u8, 255, 100, 200]),
    ));
    obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::IMPLICIT_VR_LITTLE_ENDIAN))
        .unwrap()
        .write_to_file(&p)
        .unwrap();
    let Frames::Gray(frames) = read_dicom(&p).unwrap() else {
        panic!("MONOCHROME1 must come back grey")
    };
    assert_eq!(frames.len(), 2);
    // Inverted: a low stored value is bright.
    for f in &frames {
        let px = f.as_raw();
        assert!(px[0] > px[1], "{px:?}");
    }
    assert_eq!(frames[0].as_raw(), &[255, 0]);
}

#[test]
fn palette_with_8bit_lut_entries() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pal8.dcm");
    // 8-bit entries packed two to a 16-bit word (as OW stores them).
    let packed = |b: [u8; 4]| ow_bytes(&b);
    write_image(
        &p,
        "PALETTE COLOR",
        1,
        8,
        (4, 1),
        vec![
            DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                PrimitiveValue::from(vec![0u8, 1, 2, 3]),
            ),
            desc(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [4, 0, 8]),
            desc(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [4, 0, 8]),
            desc(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [4, 0, 8]),
            packed([0, 85, 170, 255]).with_tag(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA),
            packed([1, 2, 3, 4]).with_tag(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA),
            packed([9, 9, 9, 9]).with_tag(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA),
        ],
    );
    let Frames::Rgb(frames) = read_dicom(&p).unwrap() else {
        panic!("palette must come back as RGB")
    };
    assert_eq!(
        frames[0].as_raw(),
        &[0, 1, 9, 85, 2, 9, 170, 3, 9, 255, 4, 9]
    );
}

#[test]
fn palette_file_16bit_indices() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pal16.dcm");
    let lut: Vec<u16> = (0..=u16::MAX).collect();
    write_image(
        &p,
        "PALETTE COLOR",
        1,
        16,
        (3, 1),
        vec![
            ow(tags::PIXEL_DATA, &[0, 0x8000, 0xffff]),
            desc(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [0, 0, 16]),
            desc(
                tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                [0, 0, 16],
            ),
            desc(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR, [0, 0, 16]),
            ow(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA, &lut),
            ow(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA, &lut),
            ow(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA, &lut),
        ],
    );
    let Frames::Rgb(frames) = read_dicom(&p).unwrap() else {
        panic!("palette must come back as RGB")
    };
    assert_eq!(frames[0].as_raw(), &[0, 0, 0, 128, 128, 128, 255, 255, 255]);
}

#[test]
fn native_ybr_full_422_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ybr422.dcm");
    // 2x2: row 0 grey pair, row 1 red pair; 2 bytes a pixel.
    let data = vec![10u8, 200, 128, 128, 76, 76, 85, 255];
    write_image(
        &p,
        "YBR_FULL_422",
        3,
        8,
        (2, 2),
        vec![DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::from(data),
        )],
    );
    let Frames::Rgb(frames) = read_dicom(&p).unwrap() else {
        panic!("YBR must come back as RGB")
    };
    assert_eq!(
        frames[0].as_raw(),
        &[10, 10, 10, 200, 200, 200, 254, 0, 0, 254, 0, 0]
    );
    // Truncated pixel data is a typed error.
    let q = dir.path().join("short.dcm");
    write_image(
        &q,
        "YBR_FULL_422",
        3,
        8,
        (2, 2),
        vec![DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::from(vec![1u8, 2, 3, 4]),
        )],
    );
    assert!(matches!(read_dicom(&q), Err(IngestError::Pixels { .. })));
}

#[test]
fn native_ybr_full_and_planar_rgb_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ybr.dcm");
    write_image(
        &p,
        "YBR_FULL",
        3,
        8,
        (2, 1),
        vec![DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::from(vec![76u8, 85, 255, 50, 128, 128]),
        )],
    );
    let Frames::Rgb(frames) = read_dicom(&p).unwrap() else {
        panic!()
    };
    assert_eq!(frames[0].as_raw(), &[254, 0, 0, 50, 50, 50]);

    // Planar configuration 1: RRGGBB.
    let q = dir.path().join("planar.dcm");
    write_image(
        &q,
        "RGB",
        3,
        8,
        (2, 1),
        vec![
            DataElement::new(
                tags::PLANAR_CONFIGURATION,
                VR::US,
                PrimitiveValue::from(1u16),
            ),
            DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                PrimitiveValue::from(vec![1u8, 2, 3, 4, 5, 6]),
            ),
        ],
    );
    let Frames::Rgb(frames) = read_dicom(&q).unwrap() else {
        panic!()
    };
    assert_eq!(frames[0].as_raw(), &[1, 3, 5, 2, 4, 6]);
}

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

/// Found by the fuzz target `dicom_source` (28 bytes, inline): an ASCII PNM
/// whose header declares 0 columns decodes to a 0×0 image, which was read
/// as one frame of 0×0 pixels. It is a typed error naming the file now.
#[test]
fn an_image_with_no_pixels_is_refused() {
    let bytes = b"P3000000000000000000 0 00001";
    let path = Path::new("empty.ppm");
    let err = read_still_bytes(path, bytes).unwrap_err();
    assert!(matches!(err, IngestError::BadImage { .. }), "{err}");
    assert!(err.to_string().contains("empty.ppm"), "{err}");
    assert!(read_any_bytes(path, bytes).is_err());
}
