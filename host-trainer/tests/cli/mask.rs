//! `sonomask mask` end to end on fixtures with the shipped model
//! (`models/default.snmk`): outputs re-read with dicom-rs (and dcmtk's
//! `dcmdump` where installed; CI installs it and then requires it), masked
//! pixels checked against the emitted keep masks, de-identification,
//! skipped files, fail closed and the review queue.

use std::path::{Path, PathBuf};
use std::process::Command;

use dicom_dictionary_std::{tags, uids};
use dicom_object::open_file;
use dicom_pixeldata::PixelDecoder;
use image::GrayImage;
use sonomask_data::dataset::Frames;
use sonomask_data::ingest;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn model() -> PathBuf {
    root().join("models/default.snmk")
}

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sonomask"))
        .args(args)
        .output()
        .expect("run sonomask");
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), text)
}

fn report(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("mask-report.json")).unwrap()).unwrap()
}

fn file_report<'a>(rep: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    rep["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in the report"))
}

/// `dcmdump` accepts the file (exit 0, nothing on stderr). Without dcmtk
/// installed this is skipped, except under CI, which installs it.
fn dcmdump_ok(path: &Path) {
    match Command::new("dcmdump").arg("-q").arg(path).output() {
        Ok(o) => assert!(
            o.status.success() && o.stderr.is_empty(),
            "dcmdump {}: {}",
            path.display(),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(_) if std::env::var_os("CI").is_none() => {
            eprintln!("dcmdump not installed (apt-get install dcmtk): not checked")
        }
        Err(e) => panic!("CI needs dcmdump (dcmtk): {e}"),
    }
}

/// The stored samples of an 8-bit MONOCHROME2 file, frame by frame: what
/// `mask` writes. `ingest::read_any` would stretch them to the frame's
/// min/max (dicom-rs's VOI step when the file has no window), and masking
/// moves the min/max, so displayed grey levels may change where the
/// stored samples do not.
fn stored_grey(path: &Path) -> Frames {
    let obj = open_file(path).unwrap();
    let px = obj.decode_pixel_data().unwrap();
    assert_eq!((px.bits_allocated(), px.samples_per_pixel()), (8, 1));
    let (w, h) = (px.columns(), px.rows());
    let data = px.data();
    Frames::Gray(
        data.chunks_exact((w * h) as usize)
            .map(|f| GrayImage::from_raw(w, h, f.to_vec()).unwrap())
            .collect(),
    )
}

/// Every pixel outside `keep` is black and every pixel inside equals the
/// input, frame by frame.
fn check_masked(id: &str, input: &Frames, output: &Frames, keep: &GrayImage) {
    assert_eq!(input.len(), output.len(), "{id}");
    let k = keep.as_raw();
    let check = |a: &[u8], b: &[u8], spp: usize| {
        for (i, (pa, pb)) in a.chunks_exact(spp).zip(b.chunks_exact(spp)).enumerate() {
            if k[i] != 0 {
                assert_eq!(pa, pb, "{id}: kept pixel {i} changed");
            } else {
                assert!(
                    pb.iter().all(|&v| v == 0),
                    "{id}: pixel {i} outside the mask survives"
                );
            }
        }
    };
    match (input, output) {
        (Frames::Gray(a), Frames::Gray(b)) => a
            .iter()
            .zip(b)
            .for_each(|(a, b)| check(a.as_raw(), b.as_raw(), 1)),
        (Frames::Rgb(a), Frames::Rgb(b)) => a
            .iter()
            .zip(b)
            .for_each(|(a, b)| check(a.as_raw(), b.as_raw(), 3)),
        _ => panic!("output changed between grey and colour"),
    }
}

#[test]
fn masks_dicom_and_stills_and_skips_what_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    let real = root().join("tests/data/realdata");
    let codecs = root().join("tests/data/codecs");
    for (from, name) in [
        (
            real.join("pydicom-sonosite-phased-ybr-cine.dcm"),
            "cine.dcm",
        ),
        (
            real.join("pydicom-philips-curvilinear-palette-rle.dcm"),
            "palette.dcm",
        ),
        (codecs.join("grey-jpeg-lossless-sv1.dcm"), "grey.dcm"),
    ] {
        std::fs::copy(from, inputs.join(name)).unwrap();
    }
    // A still (the sonosite frame as PNG) and a corrupt DICOM.
    let Frames::Rgb(cine) = ingest::read_any(&inputs.join("cine.dcm")).unwrap() else {
        panic!()
    };
    cine[0].save(inputs.join("still.png")).unwrap();
    let mut bad = vec![0u8; 128];
    bad.extend_from_slice(b"DICMgarbage");
    std::fs::write(inputs.join("broken.dcm"), bad).unwrap();

    let out = dir.path().join("out");
    let (code, err) = run(&[
        "mask",
        "--model",
        model().to_str().unwrap(),
        inputs.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--emit-masks",
        "--preview",
        "--deid-header",
    ]);
    // The corrupt file is skipped: exit 1, named on stderr, nothing written.
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("skipped") && err.contains("broken.dcm"),
        "{err}"
    );
    assert!(!out.join("broken.dcm").exists());
    let rep = report(&out);
    assert_eq!(rep["skipped"].as_array().unwrap().len(), 1);
    assert_eq!(rep["files"].as_array().unwrap().len(), 4);

    for id in ["cine", "palette", "grey"] {
        let f = file_report(&rep, id);
        let path = out.join(format!("{id}.dcm"));
        dcmdump_ok(&path);
        // dicom-rs reads it back, uncompressed, with a new instance UID.
        let obj = open_file(&path).unwrap();
        let src = open_file(inputs.join(format!("{id}.dcm"))).unwrap();
        assert_eq!(
            obj.meta().transfer_syntax(),
            uids::EXPLICIT_VR_LITTLE_ENDIAN
        );
        let uid = |o: &dicom_object::DefaultDicomObject| {
            o.element(tags::SOP_INSTANCE_UID)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string()
        };
        assert_ne!(uid(&obj), uid(&src));
        assert_eq!(obj.meta().media_storage_sop_instance_uid(), uid(&obj));
        assert!(obj.decode_pixel_data().is_ok());
        // De-identified header: name emptied, marked, listed in the report.
        let name = obj
            .element(tags::PATIENT_NAME)
            .map(|e| e.to_str().unwrap().to_string());
        assert!(name.as_deref().unwrap_or("").is_empty(), "{name:?}");
        assert_eq!(
            obj.element(tags::PATIENT_IDENTITY_REMOVED)
                .unwrap()
                .to_str()
                .unwrap(),
            "YES"
        );
        let changed: Vec<&str> = f["changed_attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["tag"].as_str().unwrap())
            .collect();
        assert!(changed.contains(&"(0008,0018)"), "{id}: {changed:?}");
        assert!(changed.contains(&"(0012,0062)"), "{id}: {changed:?}");

        // The pixels: inside the keep mask as read, outside black.
        let n = f["frames"].as_u64().unwrap() as usize;
        let keep = image::open(out.join(format!("{id}_f000.mask.png")))
            .unwrap()
            .into_luma8();
        assert!(out.join(format!("{id}_f{:03}.mask.png", n - 1)).exists());
        assert!(!out.join(format!("{id}_f{n:03}.mask.png")).exists());
        let (before, after) = if id == "grey" {
            (stored_grey(&inputs.join("grey.dcm")), stored_grey(&path))
        } else {
            (
                ingest::read_any(&inputs.join(format!("{id}.dcm"))).unwrap(),
                ingest::read_any(&path).unwrap(),
            )
        };
        if f["status"] == "masked" {
            assert!(keep.as_raw().contains(&255));
            check_masked(id, &before, &after, &keep);
        } else {
            assert!(keep.as_raw().iter().all(|&v| v == 0));
            check_masked(id, &before, &after, &keep);
        }
        assert!(out.join("preview").join(format!("{id}.png")).exists());
    }
    // The palette file keeps its palette (a black entry exists) and the
    // cine comes out as RGB (YBR JPEG decoded), all 30 frames.
    let pal = open_file(out.join("palette.dcm")).unwrap();
    assert_eq!(
        pal.element(tags::PHOTOMETRIC_INTERPRETATION)
            .unwrap()
            .to_str()
            .unwrap(),
        "PALETTE COLOR"
    );
    let cine = open_file(out.join("cine.dcm")).unwrap();
    assert_eq!(
        cine.element(tags::PHOTOMETRIC_INTERPRETATION)
            .unwrap()
            .to_str()
            .unwrap(),
        "RGB"
    );
    assert_eq!(cine.decode_pixel_data().unwrap().number_of_frames(), 30);
    // The still comes out as PNG, masked like the rest.
    let still = file_report(&rep, "still");
    assert_eq!(still["kind"], "still");
    let masked = ingest::read_any(&out.join("still.png")).unwrap();
    let keep = image::open(out.join("still_f000.mask.png"))
        .unwrap()
        .into_luma8();
    check_masked(
        "still",
        &Frames::Rgb(vec![cine_frame(&inputs)]),
        &masked,
        &keep,
    );
    // The review queue exists (possibly empty) and is valid JSON.
    let q: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("review-queue.json")).unwrap()).unwrap();
    assert_eq!(q["format"], "sonomask-review-queue");
}

fn cine_frame(inputs: &Path) -> image::RgbImage {
    image::open(inputs.join("still.png")).unwrap().into_rgb8()
}

#[test]
fn implausible_clips_fail_closed_and_strict_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("blank.dcm");
    // A blank frame whose header declares the only image region in the top
    // left corner: whatever the model keeps (on a blank frame the shipped
    // model keeps ~44 %, or nothing), the cross-check with the declared
    // region rejects it, or nothing is fitted.
    write_blank_with_region(&input, 160, 120, (0, 0, 39, 29));
    let out = dir.path().join("out");
    let args = |strict: bool| {
        let mut a = vec![
            "mask".to_string(),
            "--model".into(),
            model().display().to_string(),
            input.display().to_string(),
            "--out".into(),
            out.display().to_string(),
        ];
        if strict {
            a.push("--strict".into());
        }
        a
    };
    let a = args(false);
    let (code, err) = run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("FAILED CLOSED"), "{err}");
    let q: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("review-queue.json")).unwrap()).unwrap();
    let items = q["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["clip"], "blank");
    assert!(!items[0]["reason"].as_str().unwrap().is_empty());
    assert!(Path::new(items[0]["proposal"].as_str().unwrap()).exists());
    assert!(
        q["commands"][1]
            .as_str()
            .unwrap()
            .starts_with("sonomask review")
    );
    let Frames::Gray(masked) = ingest::read_any(&out.join("blank.dcm")).unwrap() else {
        panic!("grey in, grey out")
    };
    let raw = open_file(out.join("blank.dcm")).unwrap();
    let px = raw.element(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
    assert!(px.iter().all(|&v| v == 0) && masked.len() == 1);
    let a = args(true);
    let (code, err) = run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 3, "{err}");
}

#[test]
fn a_model_that_is_not_a_blob_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("x.snmk");
    std::fs::write(&fake, b"not a model").unwrap();
    let (code, err) = run(&[
        "mask",
        "--model",
        fake.to_str().unwrap(),
        root()
            .join("tests/data/codecs/grey-rle.dcm")
            .to_str()
            .unwrap(),
        "--out",
        dir.path().join("o").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("x.snmk"), "{err}");
}

/// A 8-bit MONOCHROME2 frame of mid grey declaring one 2D tissue region.
fn write_blank_with_region(path: &Path, w: u16, h: u16, (x0, y0, x1, y1): (u32, u32, u32, u32)) {
    use dicom_core::value::DataSetSequence;
    use dicom_core::{DataElement, Length, PrimitiveValue, VR};
    use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
    let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
    let ul = |tag, v: u32| DataElement::new(tag, VR::UL, PrimitiveValue::from(v));
    let region = InMemDicomObject::from_element_iter([
        us(tags::REGION_SPATIAL_FORMAT, 1),
        us(tags::REGION_DATA_TYPE, 1),
        ul(tags::REGION_LOCATION_MIN_X0, x0),
        ul(tags::REGION_LOCATION_MIN_Y0, y0),
        ul(tags::REGION_LOCATION_MAX_X1, x1),
        ul(tags::REGION_LOCATION_MAX_Y1, y1),
    ]);
    let obj = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(uids::ULTRASOUND_IMAGE_STORAGE),
        ),
        DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("2.25.7"),
        ),
        DataElement::new(
            tags::PATIENT_NAME,
            VR::PN,
            PrimitiveValue::from("Blank^Test"),
        ),
        DataElement::new(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from("MONOCHROME2"),
        ),
        us(tags::SAMPLES_PER_PIXEL, 1),
        us(tags::ROWS, h),
        us(tags::COLUMNS, w),
        us(tags::BITS_ALLOCATED, 8),
        us(tags::BITS_STORED, 8),
        us(tags::HIGH_BIT, 7),
        us(tags::PIXEL_REPRESENTATION, 0),
        DataElement::new(
            tags::SEQUENCE_OF_ULTRASOUND_REGIONS,
            VR::SQ,
            DataSetSequence::new(vec![region], Length::UNDEFINED),
        ),
        DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::from(vec![100u8; w as usize * h as usize]),
        ),
    ]);
    obj.with_meta(FileMetaTableBuilder::new().transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN))
        .unwrap()
        .write_to_file(path)
        .unwrap();
}

#[test]
fn large_and_portrait_frames_are_masked_at_full_size() {
    // Real screens come larger and in other shapes than 640×480: a
    // 2083×1455 DICOM export and a 776×1080 portrait phone recording (issue
    // 17). The SonoSite frame, scaled up and letterboxed, stands in for
    // both; whatever the model keeps, the output has the input's size and
    // obeys its keep mask pixel for pixel.
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    let Frames::Rgb(cine) =
        ingest::read_any(&root().join("tests/data/realdata/pydicom-sonosite-phased-ybr-cine.dcm"))
            .unwrap()
    else {
        panic!("the cine is colour")
    };
    let big = image::imageops::resize(&cine[0], 2083, 1455, image::imageops::FilterType::Triangle);
    big.save(inputs.join("large.png")).unwrap();
    let small = image::imageops::resize(&cine[0], 776, 582, image::imageops::FilterType::Triangle);
    let mut portrait = image::RgbImage::new(776, 1080);
    image::imageops::replace(&mut portrait, &small, 0, 249);
    portrait.save(inputs.join("portrait.png")).unwrap();

    let out = dir.path().join("out");
    let (code, err) = run(&[
        "mask",
        "--model",
        model().to_str().unwrap(),
        inputs.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--emit-masks",
    ]);
    assert_eq!(code, 0, "{err}");
    for (id, img) in [("large", big), ("portrait", portrait)] {
        let masked = ingest::read_any(&out.join(format!("{id}.png"))).unwrap();
        let keep = image::open(out.join(format!("{id}_f000.mask.png")))
            .unwrap()
            .into_luma8();
        assert_eq!(keep.dimensions(), img.dimensions(), "{id}");
        assert_eq!(
            file_report(&report(&out), id)["status"],
            "masked",
            "{id}: {err}"
        );
        check_masked(id, &Frames::Rgb(vec![img]), &masked, &keep);
    }
}
