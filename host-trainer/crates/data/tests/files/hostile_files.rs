//! Hostile DICOM and JPEG files built from the real fixtures, shared by the
//! library tests ([`super::hostile`]) and the CLI tests
//! (`host-trainer/tests/cli/hostile.rs` includes this file by path), so
//! both levels see exactly the same bytes.
//!
//! Every builder writes one file into `dir` and returns its path; the file
//! name says what is wrong with it (errors must name the file).

#![allow(dead_code)] // each includer uses a subset

use std::path::{Path, PathBuf};

use dicom_core::value::{PixelFragmentSequence, Value};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{DefaultDicomObject, FileMetaTableBuilder, InMemDicomObject, open_file};

/// The native 8-bit grey Philips still (1024 × 768, explicit VR LE).
pub const GREY: &str = "tests/data/realdata/deid-philips-linear-grey.dcm";
/// The RLE PALETTE COLOR Philips still (800 × 600, 16-bit LUT entries).
pub const PALETTE: &str = "tests/data/realdata/pydicom-philips-curvilinear-palette-rle.dcm";

/// `root/rel` opened, edited by `edit`, written to `dir/name`.
pub fn edited(
    root: &Path,
    rel: &str,
    dir: &Path,
    name: &str,
    edit: impl FnOnce(&mut DefaultDicomObject),
) -> PathBuf {
    let mut obj = open_file(root.join(rel)).unwrap();
    edit(&mut obj);
    let path = dir.join(name);
    obj.write_to_file(&path).unwrap();
    path
}

fn us(tag: Tag, v: u16) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::from(v))
}

/// The grey still's pixel data, doubled: the file holds two frames' worth
/// where its header declares one.
pub fn pixel_data_too_long(root: &Path, dir: &Path) -> PathBuf {
    edited(root, GREY, dir, "too-long.dcm", |o| {
        let mut px = o
            .element(tags::PIXEL_DATA)
            .unwrap()
            .to_bytes()
            .unwrap()
            .to_vec();
        px.extend_from_within(..);
        o.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::from(px),
        ));
    })
}

/// The grey still with one trailing pad byte after its pixel data (an odd
/// length some writers leave): not hostile, must still read.
pub fn pixel_data_padded(root: &Path, dir: &Path) -> PathBuf {
    edited(root, GREY, dir, "padded.dcm", |o| {
        let mut px = o
            .element(tags::PIXEL_DATA)
            .unwrap()
            .to_bytes()
            .unwrap()
            .to_vec();
        px.extend_from_slice(&[0, 0]);
        o.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::from(px),
        ));
    })
}

/// The grey still with `depth` nested sequences (each one item holding the
/// next) inserted before its first attribute, as raw explicit VR little
/// endian bytes with undefined lengths.
pub fn deeply_nested(root: &Path, dir: &Path, depth: usize) -> PathBuf {
    let bytes = std::fs::read(root.join(GREY)).unwrap();
    // (0002,0000) UL: its value is the length of the rest of the meta group.
    let meta_len = u32::from_le_bytes(bytes[140..144].try_into().unwrap()) as usize;
    let start = 144 + meta_len;
    let mut out = bytes[..start].to_vec();
    for _ in 0..depth {
        // (0008,0006) Language Code Sequence, SQ, undefined length; an item
        // of undefined length.
        out.extend_from_slice(&[0x08, 0, 0x06, 0, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
        out.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    }
    for _ in 0..depth {
        // Item delimiter, then sequence delimiter.
        out.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        out.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    }
    out.extend_from_slice(&bytes[start..]);
    let path = dir.join(format!("nested-{depth}.dcm"));
    std::fs::write(&path, out).unwrap();
    path
}

/// Attributes with the wrong value representation, one file each:
/// `(file name, what is wrong)`.
pub fn wrong_vrs(root: &Path, dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let mut v = Vec::new();
    let mut case = |name: &str, what: &'static str, edit: &dyn Fn(&mut DefaultDicomObject)| {
        v.push((edited(root, GREY, dir, name, edit), what));
    };
    case("rows-text.dcm", "Rows as text", &|o| {
        o.put(DataElement::new(
            tags::ROWS,
            VR::LO,
            PrimitiveValue::from("seven hundred"),
        ));
    });
    case("rows-ob.dcm", "Rows as OB bytes", &|o| {
        o.put(DataElement::new(
            tags::ROWS,
            VR::OB,
            PrimitiveValue::from(vec![0xFFu8; 7]),
        ));
    });
    case("rows-empty.dcm", "Rows empty", &|o| {
        o.put(DataElement::new(tags::ROWS, VR::US, PrimitiveValue::Empty));
    });
    case("pixels-sq.dcm", "Pixel Data as a sequence", &|o| {
        o.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::SQ,
            dicom_core::value::DataSetSequence::new(
                vec![InMemDicomObject::from_element_iter([us(tags::ROWS, 1)])],
                dicom_core::Length::UNDEFINED,
            ),
        ));
    });
    for (name, bits) in [("bits-0.dcm", 0), ("bits-7.dcm", 7), ("bits-64.dcm", 64)] {
        case(name, "Bits Allocated not 8 or 16", &move |o| {
            o.put(us(tags::BITS_ALLOCATED, bits));
        });
    }
    case("samples-0.dcm", "0 samples per pixel", &|o| {
        o.put(us(tags::SAMPLES_PER_PIXEL, 0));
    });
    case("columns-0.dcm", "0 columns", &|o| {
        o.put(us(tags::COLUMNS, 0));
    });
    v
}

/// Pixel Data declared with VR UN: the bytes are all there, only the VR is
/// wrong. Returned apart from [`wrong_vrs`]: reading it as the OB it holds
/// is as right as refusing it.
pub fn pixel_data_un(root: &Path, dir: &Path) -> PathBuf {
    edited(root, GREY, dir, "pixels-un.dcm", |o| {
        let px = o
            .element(tags::PIXEL_DATA)
            .unwrap()
            .to_bytes()
            .unwrap()
            .to_vec();
        o.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::UN,
            PrimitiveValue::from(px),
        ));
    })
}

/// A baseline JPEG (16 × 16 grey) whose frame header (SOF0) then claims
/// `w × h` pixels: a decompression bomb unless refused by size first.
pub fn jpeg_claiming(w: u16, h: u16, rgb: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    let img: image::DynamicImage = if rgb {
        image::RgbImage::from_pixel(16, 16, image::Rgb([90, 60, 30])).into()
    } else {
        image::GrayImage::from_pixel(16, 16, image::Luma([90])).into()
    };
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    let sof = bytes
        .windows(2)
        .position(|m| m == [0xFF, 0xC0])
        .expect("a baseline JPEG has SOF0");
    // FF C0, length (2), precision (1), height (2), width (2): big endian.
    bytes[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    bytes
}

/// A still `.jpg` claiming 65000 × 65000 pixels.
pub fn jpeg_bomb_still(dir: &Path) -> PathBuf {
    let path = dir.join("bomb.jpg");
    std::fs::write(&path, jpeg_claiming(65000, 65000, true)).unwrap();
    path
}

/// A JPEG baseline DICOM (one grey frame, `rows × columns` declared) whose
/// single fragment claims `jpeg_w × jpeg_h` pixels.
pub fn jpeg_bomb_dicom(
    dir: &Path,
    name: &str,
    (rows, columns): (u16, u16),
    (jpeg_w, jpeg_h): (u16, u16),
) -> PathBuf {
    let fragment = jpeg_claiming(jpeg_w, jpeg_h, false);
    let mut fragment = fragment;
    if fragment.len() % 2 == 1 {
        fragment.push(0);
    }
    let obj = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(uids::ULTRASOUND_IMAGE_STORAGE),
        ),
        DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("2.25.19"),
        ),
        DataElement::new(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from("MONOCHROME2"),
        ),
        us(tags::SAMPLES_PER_PIXEL, 1),
        us(tags::ROWS, rows),
        us(tags::COLUMNS, columns),
        us(tags::BITS_ALLOCATED, 8),
        us(tags::BITS_STORED, 8),
        us(tags::HIGH_BIT, 7),
        us(tags::PIXEL_REPRESENTATION, 0),
        DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            Value::PixelSequence(PixelFragmentSequence::new(
                Vec::<u32>::new(),
                vec![fragment],
            )),
        ),
    ]);
    let path = dir.join(name);
    obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::JPEG_BASELINE8_BIT))
        .unwrap()
        .write_to_file(&path)
        .unwrap();
    path
}

/// The palette still with 8-bit entries declared over its 16-bit LUT data
/// (values above 255): a known encoder quirk, read as 16-bit entries, so
/// the file reads as the intact one.
pub fn palette_8bit_descriptor_16bit_data(root: &Path, dir: &Path) -> PathBuf {
    edited(root, PALETTE, dir, "lut-8bit-descriptor.dcm", |o| {
        for t in [
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
        ] {
            o.put(DataElement::new(
                t,
                VR::US,
                PrimitiveValue::U16(vec![256, 0, 8].into()),
            ));
        }
    })
}

/// The palette still with its lookup tables broken, one file each:
/// `(file, what is wrong)`.
pub fn bad_palettes(root: &Path, dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let desc = [
        tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
        tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
        tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
    ];
    let data = [
        tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
        tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
    ];
    let set_desc = move |o: &mut DefaultDicomObject, d: [u16; 3]| {
        for t in desc {
            o.put(DataElement::new(
                t,
                VR::US,
                PrimitiveValue::U16(d.to_vec().into()),
            ));
        }
    };
    let set_data = move |o: &mut DefaultDicomObject, words: Vec<u16>| {
        for t in data {
            o.put(DataElement::new(
                t,
                VR::OW,
                PrimitiveValue::U16(words.clone().into()),
            ));
        }
    };
    let mut v = Vec::new();
    let mut case = |name: &str, what: &'static str, edit: &dyn Fn(&mut DefaultDicomObject)| {
        v.push((edited(root, PALETTE, dir, name, edit), what));
    };
    case(
        "lut-10-of-256.dcm",
        "descriptor says 256 entries, data has 10",
        &|o| set_data(o, vec![0x1000; 10]),
    );
    case(
        "lut-descriptor-0.dcm",
        "descriptor says 0 (65536) entries, data has 256",
        &|o| set_desc(o, [0, 0, 16]),
    );
    case(
        "lut-16bit-entries-8bit-data.dcm",
        "descriptor says 256 16-bit entries, data holds 256 bytes",
        &|o| {
            for t in data {
                o.put(DataElement::new(
                    t,
                    VR::OB,
                    PrimitiveValue::from(vec![0x80u8; 256]),
                ));
            }
        },
    );
    case("lut-bits-0.dcm", "descriptor says 0 bits per entry", &|o| {
        set_desc(o, [256, 0, 0])
    });
    case(
        "lut-bits-32.dcm",
        "descriptor says 32 bits per entry",
        &|o| set_desc(o, [256, 0, 32]),
    );
    case("lut-missing.dcm", "no red LUT data", &|o| {
        o.remove_element(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA);
    });
    case(
        "lut-descriptor-short.dcm",
        "descriptor with one value",
        &|o| {
            o.put(DataElement::new(
                desc[0],
                VR::US,
                PrimitiveValue::from(256u16),
            ));
        },
    );
    v
}
