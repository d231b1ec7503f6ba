extern crate std;
use std::vec::Vec;

use super::*;
use crate::testing::{FlagPin, OwnedWorkspace, ThresholdNet, fan_regions, frame, slot};
use ed25519_dalek::SigningKey;
use sonomask_core::PixelFormat;
use sonomask_core::slot::SLOT_HEADER_LEN;

const W: u16 = 320;
const H: u16 = 240;

fn gray() -> FrameLayout {
    FrameLayout::packed(W, H, PixelFormat::Gray8)
}

/// Pixels kept by a masked frame (non-zero ones; the test frames have no
/// zero pixel inside the fan).
fn kept_mask(frame: &[u8], bpp: usize) -> Vec<bool> {
    frame
        .chunks_exact(bpp)
        .map(|p| p.iter().any(|&v| v != 0))
        .collect()
}

fn truth_mask(r: &Regions, w: u16, h: u16) -> Vec<bool> {
    let mut m = std::vec![0u8; w as usize * h as usize];
    r.rasterize(w, h, &mut m);
    m.iter().map(|&v| v != 0).collect()
}

fn iou(a: &[bool], b: &[bool]) -> f64 {
    let i = a.iter().zip(b).filter(|(x, y)| **x && **y).count();
    let u = a.iter().zip(b).filter(|(x, y)| **x || **y).count();
    i as f64 / u.max(1) as f64
}

#[test]
fn masks_a_fan_and_keeps_nothing_else() {
    let blob = slot(&ThresholdNet::new(40, 30, 70).blob(None));
    let mut ows = OwnedWorkspace::new(40 * 30, 8192);
    let pin = FlagPin::default();
    let model = load_model(&blob, SignaturePolicy::Optional);
    let mut p = Pipeline::new(model, ows.ws(), pin.clone(), Config::default());
    assert!(pin.0.get(), "the fault line starts raised");
    let truth = fan_regions(W, H, 0.5, 0.85);
    let mut f = frame(W, H, PixelFormat::Gray8, &truth, 1, false);
    let r = p.process(&mut f, gray(), true, &mut NoProbe);
    let kept = r.outcome.expect("masked");
    assert_eq!(r.run, 1);
    assert!(!pin.0.get() && !p.fault_line());
    let k = kept_mask(&f, 1);
    assert_eq!(k.iter().filter(|&&b| b).count() as u64, kept);
    let t = truth_mask(&truth, W, H);
    let extra = k.iter().zip(&t).filter(|(a, b)| **a && !**b).count();
    let lost = k.iter().zip(&t).filter(|(a, b)| !**a && **b).count();
    assert!(
        iou(&k, &t) > 0.9,
        "IoU {} extra {extra} lost {lost} of {}",
        iou(&k, &t),
        t.iter().filter(|&&b| b).count()
    );
    // The text block in the corner is gone.
    assert!(f[..(W as usize / 8)].iter().all(|&v| v == 0));
    // The spans the device would report are what was kept.
    for y in 0..H as u32 {
        for s in p.kept_spans(y, W) {
            let row = y as usize * W as usize;
            assert!(
                k[row + s.start as usize..row + s.end as usize]
                    .iter()
                    .all(|&b| b)
            );
        }
    }
}

#[test]
fn rgb_frames_mask_like_their_luma() {
    let blob = slot(&ThresholdNet::new(40, 30, 70).blob(None));
    let truth = fan_regions(W, H, 0.45, 0.8);
    let run = |format: PixelFormat| {
        let mut ows = OwnedWorkspace::new(40 * 30, 8192);
        let model = load_model(&blob, SignaturePolicy::Optional);
        let mut p = Pipeline::new(model, ows.ws(), FlagPin::default(), Config::default());
        let mut f = frame(W, H, format, &truth, 3, false);
        let r = p.process(
            &mut f,
            FrameLayout::packed(W, H, format),
            true,
            &mut NoProbe,
        );
        (r.outcome, kept_mask(&f, format.bytes_per_pixel()))
    };
    assert_eq!(run(PixelFormat::Gray8), run(PixelFormat::Rgb888));
}

/// Smoothing may shrink what is kept but never keep a pixel the current
/// frame's own fit (a fresh pipeline on that frame alone) blacks out.
#[test]
fn smoothing_never_widens_the_current_fit() {
    let blob = slot(&ThresholdNet::new(40, 30, 70).blob(None));
    let mut ows = OwnedWorkspace::new(40 * 30, 8192);
    let model = load_model(&blob, SignaturePolicy::Optional);
    let mut p = Pipeline::new(model, ows.ws(), FlagPin::default(), Config::default());
    let mut ows2 = OwnedWorkspace::new(40 * 30, 8192);
    let model2 = load_model(&blob, SignaturePolicy::Optional);
    let mut fresh = Pipeline::new(model2, ows2.ws(), FlagPin::default(), Config::default());
    let mut shrank = false;
    for (i, (cx, r)) in [
        (0.5, 0.9),
        (0.52, 0.8),
        (0.48, 0.85),
        (0.5, 0.7),
        (0.51, 0.88),
    ]
    .into_iter()
    .enumerate()
    {
        let truth = fan_regions(W, H, cx, r);
        let f = frame(W, H, PixelFormat::Gray8, &truth, 10 + i as u64, false);
        let (mut a, mut b) = (f.clone(), f);
        let ra = p.process(&mut a, gray(), i == 0, &mut NoProbe);
        let rb = fresh.process(&mut b, gray(), true, &mut NoProbe);
        assert!(
            ra.outcome.is_ok() && rb.outcome.is_ok(),
            "frame {i}: {ra:?} {rb:?}"
        );
        let (ka, kb) = (kept_mask(&a, 1), kept_mask(&b, 1));
        assert!(
            ka.iter().zip(&kb).all(|(x, y)| !*x || *y),
            "frame {i} widened"
        );
        shrank |= ka != kb;
    }
    assert!(shrank, "the blend never changed anything");
}

#[test]
fn no_model_or_bad_blobs_black_out_every_frame() {
    let net = ThresholdNet::new(40, 30, 70);
    let key = SigningKey::from_bytes(&[3; 32]);
    let other = SigningKey::from_bytes(&[4; 32]);
    let vk = key.verifying_key();
    let unsigned = slot(&net.blob(None));
    let signed = slot(&net.blob(Some(&key)));
    let forged = slot(&net.blob(Some(&other)));
    let mut corrupt = unsigned.clone();
    corrupt[SLOT_HEADER_LEN + 40] ^= 0x10;
    let cases: [(&[u8], SignaturePolicy<'_>, FaultCode); 5] = [
        (&[0xFF; 256], SignaturePolicy::Optional, FaultCode::NoModel),
        (
            &corrupt,
            SignaturePolicy::Optional,
            FaultCode::Model(BlobError::CrcMismatch),
        ),
        (
            &unsigned,
            SignaturePolicy::Required(&vk),
            FaultCode::Model(BlobError::SignatureMissing),
        ),
        (
            &forged,
            SignaturePolicy::Required(&vk),
            FaultCode::Model(BlobError::SignatureInvalid),
        ),
        (
            &unsigned[..SLOT_HEADER_LEN + 20],
            SignaturePolicy::Optional,
            FaultCode::Model(BlobError::Truncated),
        ),
    ];
    let truth = fan_regions(W, H, 0.5, 0.85);
    for (bytes, policy, want) in cases {
        let mut ows = OwnedWorkspace::new(40 * 30, 8192);
        let pin = FlagPin::default();
        let mut p = Pipeline::new(
            load_model(bytes, policy),
            ows.ws(),
            pin.clone(),
            Config::default(),
        );
        assert_eq!(p.model_status(), ModelStatus::Failed(want));
        for seed in 0..3 {
            let mut f = frame(W, H, PixelFormat::Gray8, &truth, seed, false);
            let r = p.process(&mut f, gray(), false, &mut NoProbe);
            assert_eq!(r.outcome, Err(want));
            assert!(f.iter().all(|&v| v == 0), "{want:?}: a pixel survived");
            assert!(pin.0.get());
        }
    }
    // The properly signed blob loads and verifies.
    let mut ows = OwnedWorkspace::new(40 * 30, 8192);
    let p = Pipeline::new(
        load_model(&signed, SignaturePolicy::Required(&vk)),
        ows.ws(),
        FlagPin::default(),
        Config::default(),
    );
    assert!(matches!(
        p.model_status(),
        ModelStatus::Loaded {
            verified: true,
            map_w: 40,
            map_h: 30,
            ..
        }
    ));
}

#[test]
fn a_model_larger_than_the_workspace_is_unsupported() {
    let blob = slot(&ThresholdNet::new(40, 30, 70).blob(None));
    let mut small = OwnedWorkspace::new(20 * 15, 8192);
    let p = Pipeline::new(
        load_model(&blob, SignaturePolicy::Optional),
        small.ws(),
        FlagPin::default(),
        Config::default(),
    );
    assert_eq!(
        p.model_status(),
        ModelStatus::Failed(FaultCode::UnsupportedModel)
    );
}

#[test]
fn faults_raise_the_line_and_a_good_frame_clears_it() {
    let blob = slot(&ThresholdNet::new(40, 30, 70).blob(None));
    let mut ows = OwnedWorkspace::new(40 * 30, 8192);
    let pin = FlagPin::default();
    let mut p = Pipeline::new(
        load_model(&blob, SignaturePolicy::Optional),
        ows.ws(),
        pin.clone(),
        Config::default(),
    );
    let truth = fan_regions(W, H, 0.5, 0.85);
    let good = frame(W, H, PixelFormat::Gray8, &truth, 1, false);

    // Smaller than the network's map: unsupported.
    let mut tiny = std::vec![100u8; 30 * 20];
    let r = p.process(
        &mut tiny,
        FrameLayout::packed(30, 20, PixelFormat::Gray8),
        false,
        &mut NoProbe,
    );
    assert_eq!(r.outcome, Err(FaultCode::UnsupportedFrame));
    assert!(pin.0.get() && tiny.iter().all(|&v| v == 0));
    // A buffer shorter than its layout.
    let mut short = good[..1000].to_vec();
    let r = p.process(&mut short, gray(), false, &mut NoProbe);
    assert_eq!(r.outcome, Err(FaultCode::UnsupportedFrame));
    assert!(short.iter().all(|&v| v == 0));
    // All dark: nothing to fit.
    let mut dark = std::vec![3u8; W as usize * H as usize];
    let r = p.process(&mut dark, gray(), false, &mut NoProbe);
    assert!(matches!(r.outcome, Err(FaultCode::Fit(_))), "{r:?}");
    // All bright: the "sector" is the whole frame, which no scanner draws.
    let mut bright = std::vec![150u8; W as usize * H as usize];
    let r = p.process(&mut bright, gray(), false, &mut NoProbe);
    assert_eq!(r.outcome, Err(FaultCode::Implausible(Implausibility::Area)));
    assert!(bright.iter().all(|&v| v == 0) && pin.0.get());
    // Recovery.
    let mut f = good.clone();
    assert!(
        p.process(&mut f, gray(), false, &mut NoProbe)
            .outcome
            .is_ok()
    );
    assert!(!pin.0.get());
    assert_eq!(p.runs(), 5);
}

#[test]
fn a_geometry_jump_is_blacked_out_until_confirmed() {
    let blob = slot(&ThresholdNet::new(40, 30, 70).blob(None));
    let mut ows = OwnedWorkspace::new(40 * 30, 8192);
    let pin = FlagPin::default();
    let mut p = Pipeline::new(
        load_model(&blob, SignaturePolicy::Optional),
        ows.ws(),
        pin.clone(),
        Config::default(),
    );
    let left = fan_regions(W, H, 0.3, 0.6);
    let right = fan_regions(W, H, 0.7, 0.6);
    let mut f = frame(W, H, PixelFormat::Gray8, &left, 1, false);
    assert!(
        p.process(&mut f, gray(), true, &mut NoProbe)
            .outcome
            .is_ok()
    );
    let mut f = frame(W, H, PixelFormat::Gray8, &right, 2, false);
    assert_eq!(
        p.process(&mut f, gray(), false, &mut NoProbe).outcome,
        Err(FaultCode::GeometryJump)
    );
    assert!(pin.0.get() && f.iter().all(|&v| v == 0));
    let mut f = frame(W, H, PixelFormat::Gray8, &right, 3, false);
    assert!(
        p.process(&mut f, gray(), false, &mut NoProbe)
            .outcome
            .is_ok()
    );
    assert!(!pin.0.get());
    // A restart (new clip) accepts a new geometry at once.
    let mut f = frame(W, H, PixelFormat::Gray8, &left, 4, false);
    assert!(
        p.process(&mut f, gray(), true, &mut NoProbe)
            .outcome
            .is_ok()
    );
}

#[test]
fn stages_are_marked_in_order() {
    struct Log(Vec<Stage>);
    impl Probe for Log {
        fn mark(&mut self, s: Stage) {
            self.0.push(s);
        }
    }
    let blob = slot(&ThresholdNet::new(40, 30, 70).blob(None));
    let mut ows = OwnedWorkspace::new(40 * 30, 8192);
    let mut p = Pipeline::new(
        load_model(&blob, SignaturePolicy::Optional),
        ows.ws(),
        FlagPin::default(),
        Config::default(),
    );
    let truth = fan_regions(W, H, 0.5, 0.85);
    let mut f = frame(W, H, PixelFormat::Gray8, &truth, 1, false);
    let mut log = Log(Vec::new());
    p.process(&mut f, gray(), true, &mut log);
    use Stage::*;
    assert_eq!(log.0, [Preprocess, Inference, Fit, Mask, Done]);
    let mut none = OwnedWorkspace::new(16, 16);
    let mut p = Pipeline::new(
        Err(FaultCode::NoModel),
        none.ws(),
        FlagPin::default(),
        Config::default(),
    );
    log.0.clear();
    p.process(&mut f, gray(), true, &mut log);
    assert_eq!(log.0, [Preprocess, Mask, Done]);
}
