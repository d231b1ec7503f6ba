//! `--deid-header`: the DICOM PS3.15 Basic Application Level
//! Confidentiality Profile applied to the header, recursively into
//! sequences, with every changed attribute listed for the run report.
//!
//! Actions (Table E.1-1, [`super::deid_table`]): X remove, Z empty, D dummy
//! value, U a new UID (the same new UID for the same old one throughout a
//! run, so study/series/frame-of-reference links between the output files
//! survive). Where the table leaves a choice that depends on the IOD's
//! attribute type (X/Z, X/D, Z/D, X/Z/D, X/Z/U*) we take the one that keeps
//! any IOD valid without knowing the type: Z over X, D over Z and X, U for
//! UIDs. Private attributes, curve data (50xx) and overlay data and
//! comments (60xx,3000/4000) are removed. None of the profile's options
//! (retain dates, device identity, …) is offered. Values are never written
//! to the report, only the tag, name and action.
//!
//! Pixel data is cleaned by the mask itself (the Clean Pixel Data Option);
//! the output says so in De-identification Method Code Sequence.

use std::collections::HashMap;
use std::sync::Mutex;

use dicom_core::header::HasLength;
use dicom_core::value::{DataSetSequence, Value};
use dicom_core::{DataElement, Length, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use serde::Serialize;

use super::deid_table::BASIC_PROFILE;

/// An action of the Basic Profile as the table states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BasicAction {
    /// X
    Remove,
    /// D
    Dummy,
    /// Z
    Empty,
    /// U
    Uid,
    /// X/D
    RemoveOrDummy,
    /// X/Z
    RemoveOrEmpty,
    /// Z/D
    EmptyOrDummy,
    /// X/Z/D
    RemoveOrEmptyOrDummy,
    /// X/Z/U*
    RemoveOrEmptyOrUid,
}

/// What we do to an attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Applied {
    Removed,
    Emptied,
    Dummy,
    NewUid,
    /// Written by us (de-identification method, burned-in annotation, …).
    Set,
}

/// One changed attribute, for the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `(gggg,eeee)`, prefixed by the enclosing sequence and item index for
    /// nested attributes, e.g. `(0008,1140)[0].(0008,1155)`.
    pub tag: String,
    pub name: String,
    pub action: Applied,
}

/// New UIDs for old ones, consistent within a run and unpredictable.
#[derive(Default)]
pub struct UidMap {
    map: Mutex<HashMap<String, String>>,
}

impl UidMap {
    /// The new UID for `old` (made on first use).
    pub fn replace(&self, old: &str) -> String {
        let old = old.trim_end_matches(['\0', ' ']);
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(old.to_string()).or_insert_with(new_uid).clone()
    }
}

/// A fresh UID under the `2.25` root (ITU-T X.667: a random 128-bit UUID
/// as a decimal integer).
pub fn new_uid() -> String {
    let mut b = [0u8; 16];
    // The OS random source; without it fall back to time and a counter,
    // still unique within this process.
    if getrandom::fill(&mut b).is_err() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        b[..8].copy_from_slice(&(t as u64).to_le_bytes());
        b[8..].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    }
    // Version 4, variant 1 bits, as a UUID would carry them.
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    format!("2.25.{}", u128::from_be_bytes(b))
}

/// Every row of Table E.1-1 we apply, `(tag, action, attribute name)`, in
/// tag order; the wildcard rows (private attributes, curve and overlay
/// data) are not listed (see [`apply_basic_profile`]). Public so that tests
/// can check the output of a run against the table with another DICOM
/// implementation (dcmtk's `dcmdump`).
pub fn basic_profile() -> impl Iterator<Item = (Tag, BasicAction, &'static str)> {
    BASIC_PROFILE
        .iter()
        .map(|&(g, e, action, name)| (Tag(g, e), action, name))
}

fn action_for(tag: Tag) -> Option<(BasicAction, &'static str)> {
    BASIC_PROFILE
        .binary_search_by_key(&(tag.0, tag.1), |&(g, e, _, _)| (g, e))
        .ok()
        .map(|i| (BASIC_PROFILE[i].2, BASIC_PROFILE[i].3))
}

/// The wildcard rows of the table: private attributes, curve data,
/// overlay data and comments.
fn wildcard_removal(tag: Tag) -> Option<&'static str> {
    let (g, e) = (tag.0, tag.1);
    if g % 2 == 1 {
        Some("Private Attribute")
    } else if (0x5000..=0x50ff).contains(&g) {
        Some("Curve Data")
    } else if (0x6000..=0x60ff).contains(&g) && e == 0x3000 {
        Some("Overlay Data")
    } else if (0x6000..=0x60ff).contains(&g) && e == 0x4000 {
        Some("Overlay Comments")
    } else {
        None
    }
}

fn tag_text(tag: Tag) -> String {
    format!("({:04X},{:04X})", tag.0, tag.1)
}

/// A dummy value of `vr` (D).
fn dummy(vr: VR) -> Value<InMemDicomObject, dicom_object::mem::InMemFragment> {
    let s = |v: &str| Value::Primitive(PrimitiveValue::from(v));
    match vr {
        VR::DA => s("19000101"),
        VR::TM => s("000000"),
        VR::DT => s("19000101000000"),
        VR::AS => s("000Y"),
        VR::IS | VR::DS => s("0"),
        VR::UI => s(&new_uid()),
        VR::US => Value::Primitive(PrimitiveValue::from(0u16)),
        VR::SS => Value::Primitive(PrimitiveValue::from(0i16)),
        VR::UL => Value::Primitive(PrimitiveValue::from(0u32)),
        VR::SL => Value::Primitive(PrimitiveValue::from(0i32)),
        VR::FL => Value::Primitive(PrimitiveValue::from(0f32)),
        VR::FD => Value::Primitive(PrimitiveValue::from(0f64)),
        VR::SQ => empty_value(vr),
        VR::OB | VR::OW | VR::OF | VR::OD | VR::OL | VR::OV | VR::UN => empty_value(vr),
        // PN, LO, SH, LT, ST, UT, UC, UR, CS, AE: text.
        _ => s("ANONYMIZED"),
    }
}

fn empty_value(vr: VR) -> Value<InMemDicomObject, dicom_object::mem::InMemFragment> {
    if vr == VR::SQ {
        Value::Sequence(DataSetSequence::new(Vec::new(), Length::UNDEFINED))
    } else {
        Value::Primitive(PrimitiveValue::Empty)
    }
}

fn is_empty(elem: &DataElement<InMemDicomObject>) -> bool {
    match elem.value() {
        Value::Primitive(p) => p.is_empty(),
        Value::Sequence(s) => s.items().is_empty(),
        Value::PixelSequence(_) => false,
    }
}

/// Applies the Basic Profile to `obj` and its sequences; returns every
/// attribute it changed (an attribute already empty and to be emptied is
/// not a change).
pub fn apply_basic_profile(obj: &mut InMemDicomObject, uids: &UidMap) -> Vec<Change> {
    let mut changes = Vec::new();
    apply_into(obj, uids, "", &mut changes);
    changes
}

fn apply_into(obj: &mut InMemDicomObject, uids: &UidMap, prefix: &str, out: &mut Vec<Change>) {
    let all: Vec<Tag> = obj.tags().collect();
    for tag in all {
        // Pixel data is masked, not de-identified by the table.
        if tag == tags::PIXEL_DATA {
            continue;
        }
        let path = format!("{prefix}{}", tag_text(tag));
        if let Some(name) = wildcard_removal(tag) {
            obj.remove_element(tag);
            out.push(Change {
                tag: path,
                name: name.into(),
                action: Applied::Removed,
            });
            continue;
        }
        let Some(elem) = obj.get(tag) else { continue };
        let (vr, was_empty) = (elem.vr(), is_empty(elem));
        let old_uids: Vec<String> = elem.to_multi_str().map(|v| v.to_vec()).unwrap_or_default();
        let entry = action_for(tag);
        // Not in the table (keep), or a sequence under X/Z/U* (keep it and
        // replace the UIDs inside): clean inside sequences.
        let keep_and_recurse = match entry {
            None => true,
            Some((BasicAction::RemoveOrEmptyOrUid, _)) => vr == VR::SQ,
            Some(_) => false,
        };
        if keep_and_recurse {
            if vr == VR::SQ {
                obj.update_value(tag, |v| {
                    if let Some(items) = v.items_mut() {
                        for (i, item) in items.iter_mut().enumerate() {
                            apply_into(item, uids, &format!("{path}[{i}]."), out);
                        }
                    }
                });
            }
            continue;
        }
        let Some((action, name)) = entry else {
            continue;
        };
        let applied = match action {
            BasicAction::Remove => Applied::Removed,
            BasicAction::Empty | BasicAction::RemoveOrEmpty => Applied::Emptied,
            BasicAction::Dummy
            | BasicAction::RemoveOrDummy
            | BasicAction::EmptyOrDummy
            | BasicAction::RemoveOrEmptyOrDummy => Applied::Dummy,
            BasicAction::Uid => Applied::NewUid,
            BasicAction::RemoveOrEmptyOrUid if vr == VR::UI => Applied::NewUid,
            BasicAction::RemoveOrEmptyOrUid => Applied::Emptied,
        };
        let applied = if applied == Applied::NewUid && vr != VR::UI {
            Applied::Dummy
        } else {
            applied
        };
        match applied {
            Applied::Removed => {
                obj.remove_element(tag);
            }
            Applied::Emptied => {
                if was_empty {
                    continue;
                }
                obj.put(DataElement::new(tag, vr, empty_value(vr)));
            }
            Applied::Dummy => {
                obj.put(DataElement::new(tag, vr, dummy(vr)));
            }
            Applied::NewUid => {
                if old_uids.is_empty() {
                    continue;
                }
                let new: Vec<String> = old_uids.iter().map(|u| uids.replace(u)).collect();
                obj.put(DataElement::new(tag, vr, PrimitiveValue::Strs(new.into())));
            }
            Applied::Set => unreachable!("the table never says Set"),
        }
        out.push(Change {
            tag: path,
            name: name.into(),
            action: applied,
        });
    }
}

/// Records in `obj` that it was de-identified with the Basic Profile and
/// that burned-in annotation was removed from the pixels (Clean Pixel Data
/// Option, PS3.16 codes 113100 and 113101); returns those changes.
pub fn mark_deidentified(obj: &mut InMemDicomObject) -> Vec<Change> {
    let code = |value: &str, meaning: &str| {
        InMemDicomObject::from_element_iter([
            DataElement::new(tags::CODE_VALUE, VR::SH, PrimitiveValue::from(value)),
            DataElement::new(
                tags::CODING_SCHEME_DESIGNATOR,
                VR::SH,
                PrimitiveValue::from("DCM"),
            ),
            DataElement::new(tags::CODE_MEANING, VR::LO, PrimitiveValue::from(meaning)),
        ])
    };
    let set: [(Tag, &str, DataElement<InMemDicomObject>); 4] = [
        (
            tags::PATIENT_IDENTITY_REMOVED,
            "Patient Identity Removed",
            DataElement::new(
                tags::PATIENT_IDENTITY_REMOVED,
                VR::CS,
                PrimitiveValue::from("YES"),
            ),
        ),
        (
            tags::DEIDENTIFICATION_METHOD,
            "De-identification Method",
            DataElement::new(
                tags::DEIDENTIFICATION_METHOD,
                VR::LO,
                PrimitiveValue::from("sonomask: PS3.15 Basic Profile; pixels masked"),
            ),
        ),
        (
            tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
            "De-identification Method Code Sequence",
            DataElement::new(
                tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
                VR::SQ,
                DataSetSequence::new(
                    vec![
                        code("113100", "Basic Application Confidentiality Profile"),
                        code("113101", "Clean Pixel Data Option"),
                    ],
                    Length::UNDEFINED,
                ),
            ),
        ),
        (
            tags::BURNED_IN_ANNOTATION,
            "Burned In Annotation",
            DataElement::new(
                tags::BURNED_IN_ANNOTATION,
                VR::CS,
                PrimitiveValue::from("NO"),
            ),
        ),
    ];
    set.into_iter()
        .map(|(tag, name, elem)| {
            obj.put(elem);
            Change {
                tag: tag_text(tag),
                name: name.into(),
                action: Applied::Set,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(BASIC_PROFILE.len() > 600);
        assert!(
            BASIC_PROFILE
                .windows(2)
                .all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1))
        );
        assert_eq!(
            action_for(tags::PATIENT_NAME),
            Some((BasicAction::Empty, "Patient's Name"))
        );
        assert_eq!(
            action_for(tags::SOP_INSTANCE_UID).unwrap().0,
            BasicAction::Uid
        );
        assert_eq!(action_for(tags::ROWS), None);
    }

    #[test]
    fn uids_are_fresh_valid_and_consistent() {
        let a = new_uid();
        assert!(a.starts_with("2.25.") && a.len() <= 64, "{a}");
        assert!(a[5..].chars().all(|c| c.is_ascii_digit()));
        assert_ne!(a, new_uid());
        let m = UidMap::default();
        assert_eq!(m.replace("1.2.3\0"), m.replace("1.2.3"));
        assert_ne!(m.replace("1.2.3"), m.replace("1.2.4"));
    }

    #[test]
    fn profile_on_a_small_object() {
        let item = InMemDicomObject::from_element_iter([
            DataElement::new(
                tags::REFERENCED_SOP_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from("1.2.3.4"),
            ),
            DataElement::new(tags::PATIENT_ID, VR::LO, PrimitiveValue::from("MRN123")),
        ]);
        let mut obj = InMemDicomObject::from_element_iter([
            DataElement::new(tags::PATIENT_NAME, VR::PN, PrimitiveValue::from("Doe^Jane")),
            DataElement::new(tags::PATIENT_BIRTH_DATE, VR::DA, PrimitiveValue::Empty),
            DataElement::new(
                tags::INSTITUTION_NAME,
                VR::LO,
                PrimitiveValue::from("General"),
            ),
            DataElement::new(
                tags::STUDY_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from("1.2.3"),
            ),
            DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(4u16)),
            DataElement::new(
                Tag(0x0009, 0x0010),
                VR::LO,
                PrimitiveValue::from("ACME private"),
            ),
            DataElement::new(
                tags::REFERENCED_IMAGE_SEQUENCE,
                VR::SQ,
                DataSetSequence::new(vec![item], Length::UNDEFINED),
            ),
        ]);
        let uids = UidMap::default();
        let changes = apply_basic_profile(&mut obj, &uids);
        let by_tag = |t: &str| changes.iter().find(|c| c.tag == t).map(|c| c.action);
        assert_eq!(by_tag("(0010,0010)"), Some(Applied::Emptied));
        // Already empty: no change recorded.
        assert_eq!(by_tag("(0010,0030)"), None);
        // X/Z/D: a dummy keeps any IOD valid.
        assert_eq!(by_tag("(0008,0080)"), Some(Applied::Dummy));
        assert_eq!(by_tag("(0020,000D)"), Some(Applied::NewUid));
        assert_eq!(by_tag("(0009,0010)"), Some(Applied::Removed));
        assert_eq!(by_tag("(0008,1140)[0].(0008,1155)"), Some(Applied::NewUid));
        assert_eq!(by_tag("(0008,1140)[0].(0010,0020)"), Some(Applied::Dummy));
        // X/Z/U* on a sequence: kept, UIDs inside replaced.
        assert_eq!(by_tag("(0008,1140)"), None);
        assert_eq!(by_tag("(0028,0010)"), None);
        assert_eq!(
            obj.get(tags::INSTITUTION_NAME).unwrap().to_str().unwrap(),
            "ANONYMIZED"
        );
        assert!(obj.get(Tag(0x0009, 0x0010)).is_none());
        assert_eq!(obj.get(tags::ROWS).unwrap().to_int::<u16>().unwrap(), 4);
        let study = obj.get(tags::STUDY_INSTANCE_UID).unwrap().to_str().unwrap();
        assert_eq!(study, uids.replace("1.2.3"));
        let nested = obj
            .get(tags::REFERENCED_IMAGE_SEQUENCE)
            .unwrap()
            .items()
            .unwrap()[0]
            .get(tags::REFERENCED_SOP_INSTANCE_UID)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(nested, uids.replace("1.2.3.4"));
        let marks = mark_deidentified(&mut obj);
        assert_eq!(marks.len(), 4);
        assert_eq!(
            obj.get(tags::PATIENT_IDENTITY_REMOVED)
                .unwrap()
                .to_str()
                .unwrap(),
            "YES"
        );
    }
}
