//! DICOM bytes through everything `sonomask mask` does with a file apart
//! from the model: `source::read_bytes` (dicom-rs parse, our checks of
//! encapsulated data, decode to 8-bit frames: MONOCHROME1/2, PALETTE COLOR
//! (normal and segmented LUTs), RGB/YBR_FULL/YBR_FULL_422, multi-frame; the
//! stored samples and the declared ultrasound regions), the declared
//! regions as a prior, masking of the stored samples, writing the masked
//! file back with the de-identification profile, and reading that output
//! again.
//!
//! Must hold for every input: no panic outside the decoder fence (see
//! `tolerate_caught_dependency_panics`), no allocation the size of a lie,
//! and a file we write is one we can read back with the same frame count
//! and size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonomask_core::{Rect, Region, Regions};
use sonomask_mask::{apply, deid::UidMap, dicom_out, source, us_regions};

fuzz_target!(
    init: sonomask_host_fuzz::tolerate_caught_dependency_panics(),
    |data: &[u8]| {
        let name = sonomask_host_fuzz::input_name("dcm");
        let Ok(src) = source::read_bytes(&name, data) else {
            return;
        };
        let (w, h) = src.size();
        let n = src.frames.len();
        assert!(n > 0 && w > 0 && h > 0, "read as {n} frames of {w}x{h}");
        let Some(dicom) = src.dicom else {
            return;
        };
        // A fit that keeps the middle of the frame, checked against what
        // the file declares (the prior `sonomask mask` applies).
        let (fw, fh) = (w as f32, h as f32);
        let fitted = Regions::one(Region::Rect(Rect {
            x0: fw * 0.25,
            y0: fh * 0.25,
            x1: fw * 0.75,
            y1: fh * 0.75,
        }));
        let (w16, h16) = (u16::try_from(w).unwrap_or(u16::MAX), u16::try_from(h).unwrap_or(u16::MAX));
        let (regions, _) = us_regions::apply(&fitted, &dicom.us_regions, w16, h16);
        let keep = regions.is_valid().then_some(&regions);
        let masked = apply::mask_native(&dicom.native, keep);
        let uids = UidMap::default();
        let Ok(out) = dicom_out::build(dicom, masked, Some(&uids)) else {
            return;
        };
        let again = source::read_bytes(&name, &out.bytes)
            .unwrap_or_else(|e| panic!("the masked output does not read back: {e}"));
        assert_eq!(again.frames.len(), n, "frames in the masked output");
        assert_eq!(again.size(), (w, h), "size of the masked output");
    }
);
