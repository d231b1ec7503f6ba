//! Every transfer syntax and photometric interpretation `sonomask` reads,
//! on fixtures: synthetic dcmtk-made files whose pixels are known
//! (`tests/data/codecs`), real RLE and JPEG 2000 files that must decode to
//! exactly the pixels of their uncompressed twins (hashes recorded from
//! those twins), and every file of `../shared/realdata` when it is there.

use std::path::{Path, PathBuf};

use image::DynamicImage;
use sonomask_data::dataset::Frames;
use sonomask_data::ingest;

fn codec(name: &str) -> PathBuf {
    crate::root().join("tests/data/codecs").join(name)
}

fn pattern(name: &str) -> DynamicImage {
    image::open(codec(name)).unwrap()
}

/// FNV-1a over the decoded bytes of every frame.
fn fnv(frames: &Frames) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut eat = |b: &[u8]| {
        for &x in b {
            h = (h ^ u64::from(x)).wrapping_mul(0x100_0000_01b3);
        }
    };
    match frames {
        Frames::Gray(v) => v.iter().for_each(|f| eat(f.as_raw())),
        Frames::Rgb(v) => v.iter().for_each(|f| eat(f.as_raw())),
    }
    h
}

#[test]
fn lossless_codecs_give_back_the_exact_pixels() {
    let grey = pattern("pattern-grey.png").into_luma8();
    let rgb = pattern("pattern-rgb.png").into_rgb8();
    // Grey goes through dicom-rs's VOI step (no window in these files: a
    // min/max stretch), so the two codecs must agree with each other and
    // with the pattern up to one increasing mapping of grey levels.
    let mut decoded = Vec::new();
    for name in ["grey-jpeg-lossless-sv1.dcm", "grey-rle.dcm"] {
        match ingest::read_any(&codec(name)).unwrap() {
            Frames::Gray(v) => decoded.push(v[0].clone()),
            Frames::Rgb(_) => panic!("{name}: grey came back as colour"),
        }
    }
    assert_eq!(decoded[0], decoded[1]);
    let mut map = [None::<u8>; 256];
    for (&p, &d) in grey.as_raw().iter().zip(decoded[0].as_raw()) {
        let m = map[p as usize].get_or_insert(d);
        assert_eq!(*m, d, "grey level {p} decodes to two values");
    }
    let levels: Vec<u8> = map.iter().flatten().copied().collect();
    assert!(levels.windows(2).all(|w| w[0] <= w[1]), "{levels:?}");
    for name in ["rgb-jpeg-lossless-sv1.dcm", "rgb-rle.dcm"] {
        match ingest::read_any(&codec(name)).unwrap() {
            Frames::Rgb(v) => assert_eq!(v, std::slice::from_ref(&rgb), "{name}"),
            Frames::Gray(_) => panic!("{name}: colour came back as grey"),
        }
    }
}

#[test]
fn jpeg_baseline_is_close() {
    // Against the lossless decode of the same pattern (same VOI stretch).
    let Frames::Gray(exact) = ingest::read_any(&codec("grey-jpeg-lossless-sv1.dcm")).unwrap()
    else {
        panic!("grey came back as colour")
    };
    let grey = &exact[0];
    let Frames::Gray(v) = ingest::read_any(&codec("grey-jpeg-baseline.dcm")).unwrap() else {
        panic!("grey JPEG came back as colour")
    };
    let diffs: Vec<u32> = v[0]
        .as_raw()
        .iter()
        .zip(grey.as_raw())
        .map(|(&a, &b)| u32::from(a.abs_diff(b)))
        .collect();
    let mean = f64::from(diffs.iter().sum::<u32>()) / diffs.len() as f64;
    // Lossy (quality 90 by default): small on average, never wild.
    assert!(mean < 3.0, "mean abs diff {mean}");
    assert!(
        diffs.iter().all(|&d| d < 60),
        "max {:?}",
        diffs.iter().max()
    );
}

/// Hashes of the uncompressed twins (`pydicom-philips-curvilinear-palette.dcm`
/// and `pydicom-ge-linear-powerdoppler-rgb.dcm` in `../shared/realdata`),
/// recorded with `realdata_twins_decode_identically` below.
const PALETTE_HASH: u64 = 855_273_409_374_442_531;
const GE_RGB_HASH: u64 = 16_936_881_743_429_106_393;

#[test]
fn real_rle_palette_and_jpeg2000_match_their_uncompressed_twins() {
    let real = crate::root().join("tests/data/realdata");
    let rle = ingest::read_any(&real.join("pydicom-philips-curvilinear-palette-rle.dcm")).unwrap();
    let Frames::Rgb(v) = &rle else {
        panic!("palette comes back as RGB")
    };
    assert_eq!(v[0].dimensions(), (800, 600));
    assert_eq!(fnv(&rle), PALETTE_HASH);
    let j2k = ingest::read_any(&real.join("pydicom-ge-linear-powerdoppler-j2k.dcm")).unwrap();
    let Frames::Rgb(v) = &j2k else {
        panic!("JPEG 2000 colour comes back as RGB")
    };
    assert_eq!(v[0].dimensions(), (640, 480));
    assert_eq!(fnv(&j2k), GE_RGB_HASH);
}

/// Every file of the real-data folder beside the checkout decodes to the
/// frames its README describes; compressed twins equal the uncompressed
/// ones. The folder is not part of the repository: without it this test
/// says so and checks nothing.
#[test]
fn realdata_twins_decode_identically() {
    let dir = crate::root().join("../shared/realdata");
    if !dir.is_dir() {
        eprintln!("{} absent: nothing to check", dir.display());
        return;
    }
    let expect: [(&str, usize, (u32, u32), bool); 9] = [
        ("deid-philips-linear-grey-cine.dcm", 27, (800, 600), false),
        ("deid-philips-linear-grey.dcm", 1, (1024, 768), false),
        ("deid-siemens-curvilinear-rgb.dcm", 1, (1024, 768), true),
        ("pydicom-aloka-dualpane-palette16.dcm", 1, (640, 480), true),
        (
            "pydicom-ge-linear-powerdoppler-j2k.dcm",
            1,
            (640, 480),
            true,
        ),
        (
            "pydicom-ge-linear-powerdoppler-rgb.dcm",
            1,
            (640, 480),
            true,
        ),
        (
            "pydicom-philips-curvilinear-palette-rle.dcm",
            1,
            (800, 600),
            true,
        ),
        (
            "pydicom-philips-curvilinear-palette.dcm",
            1,
            (800, 600),
            true,
        ),
        ("pydicom-sonosite-phased-ybr-cine.dcm", 30, (320, 240), true),
    ];
    let mut hashes = std::collections::HashMap::new();
    for (name, n, size, colour) in expect {
        let frames = ingest::read_any(&dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(frames.len(), n, "{name}");
        let (dims, is_rgb) = match &frames {
            Frames::Gray(v) => (v[0].dimensions(), false),
            Frames::Rgb(v) => (v[0].dimensions(), true),
        };
        assert_eq!((dims, is_rgb), (size, colour), "{name}");
        hashes.insert(name, fnv(&frames));
    }
    eprintln!("hashes: {hashes:#?}");
    let h = |n: &str| hashes[n];
    assert_eq!(
        h("pydicom-philips-curvilinear-palette-rle.dcm"),
        h("pydicom-philips-curvilinear-palette.dcm")
    );
    assert_eq!(
        h("pydicom-ge-linear-powerdoppler-j2k.dcm"),
        h("pydicom-ge-linear-powerdoppler-rgb.dcm")
    );
    assert_eq!(h("pydicom-philips-curvilinear-palette.dcm"), PALETTE_HASH);
    assert_eq!(h("pydicom-ge-linear-powerdoppler-rgb.dcm"), GE_RGB_HASH);
    // The Aloka file's segmented 16-bit palette gives a colour image whose
    // grey ramp stays grey (R = G = B on over 80 % of the pixels).
    let Frames::Rgb(a) =
        ingest::read_any(&dir.join("pydicom-aloka-dualpane-palette16.dcm")).unwrap()
    else {
        unreachable!()
    };
    let grey = a[0]
        .pixels()
        .filter(|p| p[0] == p[1] && p[1] == p[2])
        .count();
    assert!(grey * 10 > a[0].as_raw().len() / 3 * 8, "{grey}");
}

#[test]
fn corrupt_and_unsupported_files_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    // DICOM magic, then garbage.
    let mut bytes = vec![0u8; 128];
    bytes.extend_from_slice(b"DICM");
    bytes.extend_from_slice(&[0xff; 64]);
    let p = dir.path().join("bad.dcm");
    std::fs::write(&p, &bytes).unwrap();
    let e = ingest::read_any(&p).unwrap_err();
    assert!(e.to_string().contains("bad.dcm"), "{e}");
    // A truncated copy of a real compressed file.
    let src = std::fs::read(crate::root().join("tests/data/codecs/rgb-rle.dcm")).unwrap();
    let q = dir.path().join("cut.dcm");
    std::fs::write(&q, &src[..src.len() - 2000]).unwrap();
    assert!(ingest::read_any(&q).is_err());
    // Not an image at all.
    let r: &Path = &dir.path().join("notes.png");
    std::fs::write(r, b"hello").unwrap();
    assert!(matches!(
        ingest::read_any(r),
        Err(ingest::IngestError::BadImage { .. })
    ));
}
