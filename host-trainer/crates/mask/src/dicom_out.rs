//! Writing a masked DICOM file: the source object with its pixel data
//! replaced by the masked samples, uncompressed, and a new SOP Instance UID.
//!
//! Uncompressed input keeps its transfer syntax (implicit or explicit VR
//! little endian); anything else (JPEG, JPEG 2000, RLE, deflated, big
//! endian) is written as explicit VR little endian: re-encoding lossy data
//! would lose quality again, and the masked samples are already decoded.
//! Without `--deid-header` only the pixel data, the attributes that
//! describe it (when the representation had to change, see
//! [`super::source`]) and the SOP Instance UID change.

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::InMemDicomObject;

use super::deid::{self, Applied, Change, UidMap};
use super::source::{DicomSource, OutputSamples};

/// Why a masked DICOM file could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum DicomOutError {
    #[error("the masked pixel data has {got} bytes, {want} expected")]
    PixelLength { got: usize, want: usize },
    #[error("cannot encode the masked file: {0}")]
    Write(String),
    /// The encoded file does not read back as a DICOM data set: a damaged
    /// header that dicom-rs read leniently was written in a form no reader
    /// follows (found by fuzzing). Nothing is written for it.
    #[error("the masked file would not read back: {0}")]
    Unreadable(String),
}

/// A masked file ready to be written.
pub struct DicomOutput {
    pub bytes: Vec<u8>,
    pub sop_instance_uid: String,
    pub transfer_syntax: String,
    /// Every attribute changed apart from the pixel data itself.
    pub changes: Vec<Change>,
}

/// Transfer syntaxes written back as they came.
const KEPT_SYNTAXES: [&str; 2] = [
    uids::IMPLICIT_VR_LITTLE_ENDIAN,
    uids::EXPLICIT_VR_LITTLE_ENDIAN,
];

fn tag_text(tag: Tag) -> String {
    format!("({:04X},{:04X})", tag.0, tag.1)
}

/// Puts `value` at `tag` unless it already holds it; records a change.
fn set_us(obj: &mut InMemDicomObject, tag: Tag, name: &str, value: u16, out: &mut Vec<Change>) {
    if obj.get(tag).and_then(|e| e.to_int::<u16>().ok()) == Some(value) {
        return;
    }
    obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(value)));
    out.push(Change {
        tag: tag_text(tag),
        name: name.into(),
        action: Applied::Set,
    });
}

/// Builds the output file from `src` and the masked samples (all frames,
/// laid out as `src.native`). With `deid` the Basic Profile is applied
/// (UIDs through that map, so a run keeps links between its files).
pub fn build(
    src: DicomSource,
    masked: Vec<u8>,
    deid_uids: Option<&UidMap>,
) -> Result<DicomOutput, DicomOutError> {
    let want = src.native.frame_len() * src.native.frames;
    if masked.len() != want {
        return Err(DicomOutError::PixelLength {
            got: masked.len(),
            want,
        });
    }
    let mut file = src.obj;
    let mut changes = Vec::new();
    let source_ts = file.meta().transfer_syntax().to_string();
    let ts = if KEPT_SYNTAXES.contains(&source_ts.as_str()) {
        source_ts.clone()
    } else {
        uids::EXPLICIT_VR_LITTLE_ENDIAN.to_string()
    };

    // Pixel data, and the attributes describing it when they change.
    let pixel = if src.native.bytes_per_pixel == 2 {
        let words: Vec<u16> = masked
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(words.into()))
    } else {
        DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::U8(masked.into()))
    };
    file.put(pixel);
    // Offset tables only describe encapsulated data.
    for tag in [
        tags::EXTENDED_OFFSET_TABLE,
        tags::EXTENDED_OFFSET_TABLE_LENGTHS,
    ] {
        if file.remove_element(tag) {
            changes.push(Change {
                tag: tag_text(tag),
                name: "Extended Offset Table".into(),
                action: Applied::Removed,
            });
        }
    }
    if src.native.samples == OutputSamples::Rgb8 {
        if src.photometric != "RGB" {
            file.put(DataElement::new(
                tags::PHOTOMETRIC_INTERPRETATION,
                VR::CS,
                PrimitiveValue::from("RGB"),
            ));
            changes.push(Change {
                tag: tag_text(tags::PHOTOMETRIC_INTERPRETATION),
                name: "Photometric Interpretation".into(),
                action: Applied::Set,
            });
        }
        let obj: &mut InMemDicomObject = &mut file;
        set_us(
            obj,
            tags::SAMPLES_PER_PIXEL,
            "Samples per Pixel",
            3,
            &mut changes,
        );
        set_us(
            obj,
            tags::PLANAR_CONFIGURATION,
            "Planar Configuration",
            0,
            &mut changes,
        );
        set_us(obj, tags::BITS_ALLOCATED, "Bits Allocated", 8, &mut changes);
        set_us(obj, tags::BITS_STORED, "Bits Stored", 8, &mut changes);
        set_us(obj, tags::HIGH_BIT, "High Bit", 7, &mut changes);
        set_us(
            obj,
            tags::PIXEL_REPRESENTATION,
            "Pixel Representation",
            0,
            &mut changes,
        );
        for (tag, name) in [
            (
                tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                "Red Palette Color Lookup Table Descriptor",
            ),
            (
                tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                "Green Palette Color Lookup Table Descriptor",
            ),
            (
                tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
                "Blue Palette Color Lookup Table Descriptor",
            ),
            (
                tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                "Red Palette Color Lookup Table Data",
            ),
            (
                tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                "Green Palette Color Lookup Table Data",
            ),
            (
                tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                "Blue Palette Color Lookup Table Data",
            ),
            (
                tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                "Segmented Red Palette Color Lookup Table Data",
            ),
            (
                tags::SEGMENTED_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                "Segmented Green Palette Color Lookup Table Data",
            ),
            (
                tags::SEGMENTED_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                "Segmented Blue Palette Color Lookup Table Data",
            ),
            (
                tags::PALETTE_COLOR_LOOKUP_TABLE_UID,
                "Palette Color Lookup Table UID",
            ),
        ] {
            if obj.remove_element(tag) {
                changes.push(Change {
                    tag: tag_text(tag),
                    name: name.into(),
                    action: Applied::Removed,
                });
            }
        }
    }

    let old_uid = file
        .get(tags::SOP_INSTANCE_UID)
        .and_then(|e| e.to_str().ok().map(|s| s.to_string()));
    let new_uid = match deid_uids {
        Some(uids) => {
            let obj: &mut InMemDicomObject = &mut file;
            changes.extend(deid::apply_basic_profile(obj, uids));
            changes.extend(deid::mark_deidentified(obj));
            // The profile gave the instance a new UID (U) if it had one.
            match old_uid {
                Some(old) => uids.replace(&old),
                None => deid::new_uid(),
            }
        }
        None => deid::new_uid(),
    };
    let had_uid_change = changes
        .iter()
        .any(|c| c.tag == tag_text(tags::SOP_INSTANCE_UID));
    file.put(DataElement::new(
        tags::SOP_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from(new_uid.as_str()),
    ));
    if !had_uid_change {
        changes.push(Change {
            tag: tag_text(tags::SOP_INSTANCE_UID),
            name: "SOP Instance UID".into(),
            action: Applied::NewUid,
        });
    }

    let meta = file.meta_mut();
    meta.media_storage_sop_instance_uid = new_uid.clone();
    meta.transfer_syntax = ts.clone();
    if deid_uids.is_some() {
        // AE titles name the sending site.
        meta.source_application_entity_title = None;
        meta.sending_application_entity_title = None;
        meta.receiving_application_entity_title = None;
        meta.private_information_creator_uid = None;
        meta.private_information = None;
    }
    meta.update_information_group_length();

    let mut bytes = Vec::with_capacity(want + 64 * 1024);
    file.write_all(&mut bytes)
        .map_err(|e| DicomOutError::Write(e.to_string()))?;
    // Read it back (structure scan and dicom-rs, no pixel decoding) before
    // anyone writes it: a file the next tool cannot open is lost data.
    sonomask_data::ingest::open_dicom_bytes(std::path::Path::new("the masked output"), &bytes)
        .map_err(|e| DicomOutError::Unreadable(e.to_string()))?;
    Ok(DicomOutput {
        bytes,
        sop_instance_uid: new_uid,
        transfer_syntax: ts,
        changes,
    })
}
