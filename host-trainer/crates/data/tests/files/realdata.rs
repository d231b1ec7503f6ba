//! Real scanner files (fixtures in `tests/data/realdata`, MIT-licensed, see its
//! README): they decode, and both weak labelers produce masks with the
//! properties a person checking them would want.
//!
//! There is no ground truth for these files. The "hand-drawn" regions below
//! were read off the frames by eye (pixel rows/columns where the image area
//! starts and ends; fan edges from the max projection of the cine) and are
//! accurate to a few pixels; the thresholds are set a little below what the
//! labelers measured, so a regression shows.

use std::path::PathBuf;

use image::GrayImage;
use sonomask_core::{Fan, Rect, Region, Regions};
use sonomask_data::dataset::Frames;
use sonomask_data::evaluate::score_mask;
use sonomask_data::ingest;
use sonomask_data::weak::{self, Method};

fn fixture(name: &str) -> PathBuf {
    crate::root().join("tests/data/realdata").join(name)
}

fn truth_mask(regions: &Regions, w: u32, h: u32) -> Vec<u8> {
    let mut m = vec![0u8; (w * h) as usize];
    assert!(regions.rasterize(w as u16, h as u16, &mut m));
    m
}

/// Fraction of kept pixels inside the rectangle `[x0, x1) × [y0, y1)`.
fn kept_in(mask: &GrayImage, x0: u32, y0: u32, x1: u32, y1: u32) -> f64 {
    let mut kept = 0u32;
    for y in y0..y1 {
        for x in x0..x1 {
            kept += u32::from(mask.get_pixel(x, y)[0] != 0);
        }
    }
    f64::from(kept) / f64::from((x1 - x0) * (y1 - y0))
}

#[test]
fn sonosite_phased_cine_decodes_and_temporal_finds_the_fan() {
    let frames = ingest::read_any(&fixture("pydicom-sonosite-phased-ybr-cine.dcm")).unwrap();
    let Frames::Rgb(rgb) = &frames else {
        panic!("YBR JPEG should decode to RGB")
    };
    assert_eq!(rgb.len(), 30);
    assert_eq!(rgb[0].dimensions(), (320, 240));
    // YBR converted properly: the grey fan is grey, not tinted.
    let p = rgb[0].get_pixel(170, 120);
    assert!(
        p[0].abs_diff(p[1]) < 12 && p[2].abs_diff(p[1]) < 12,
        "{p:?}"
    );

    let luma = frames.to_luma();
    // Read off the max projection: apex (170, 16), edges at about ±0.745 rad,
    // far arc 186 px from the apex.
    let truth = Regions::one(Region::Fan(Fan {
        apex_x: 170.0,
        apex_y: 16.0,
        angle_left: -0.75,
        angle_right: 0.74,
        r_inner: 0.0,
        r_outer: 186.0,
        flat_top: None,
        clip: None,
    }));
    let truth = truth_mask(&truth, 320, 240);
    let no_overlay = vec![0u8; truth.len()];
    for method in Method::ALL {
        let mask = weak::label_clip(method, &luma);
        let s = score_mask("sonosite", mask.as_raw(), &truth, &no_overlay, 320, 240).unwrap();
        eprintln!("{method}: {s:?}");
        // The burned-in text top-left and the toolbar at the bottom go.
        assert!(
            kept_in(&mask, 0, 0, 60, 30) < 0.01,
            "{method} keeps the top-left text"
        );
        assert!(
            kept_in(&mask, 40, 226, 280, 240) < 0.01,
            "{method} keeps the toolbar"
        );
        if method == Method::Temporal {
            assert!(s.iou > 0.85, "temporal IoU {}", s.iou);
            assert!(s.boundary_px < 6.0, "temporal boundary {}", s.boundary_px);
        } else {
            assert!(s.iou > 0.4, "threshold IoU {}", s.iou);
        }
    }
}

#[test]
fn philips_linear_grey_decodes_and_labelers_drop_the_header() {
    let frames = ingest::read_any(&fixture("deid-philips-linear-grey.dcm")).unwrap();
    let Frames::Gray(gray) = &frames else {
        panic!("MONOCHROME2 should decode to grey")
    };
    assert_eq!(gray.len(), 1);
    assert_eq!(gray[0].dimensions(), (1024, 768));
    // The image area: columns 126..=896, rows 91..=708 (read off the frame).
    let truth = truth_mask(
        &Regions::one(Region::Rect(Rect::new(126.0, 91.0, 897.0, 709.0))),
        1024,
        768,
    );
    let no_overlay = vec![0u8; truth.len()];
    for method in Method::ALL {
        let mask = weak::label_clip(method, &frames.to_luma());
        let s = score_mask("philips", mask.as_raw(), &truth, &no_overlay, 1024, 768).unwrap();
        eprintln!("{method}: {s:?}");
        // The fake-PHI header bar (name, ID, DOB, clinic, date) is removed.
        assert!(
            kept_in(&mask, 0, 0, 1024, 22) < 0.001,
            "{method} keeps the PHI header"
        );
        // Whatever is kept lies in the image area (≥ 95 % precision).
        let kept: u64 = mask.as_raw().iter().map(|&v| u64::from(v != 0)).sum();
        let kept_true: u64 = mask
            .as_raw()
            .iter()
            .zip(&truth)
            .map(|(&m, &t)| u64::from(m != 0 && t != 0))
            .sum();
        assert!(
            kept > 0 && kept_true as f64 / kept as f64 > 0.95,
            "{method}: {kept_true}/{kept}"
        );
    }
}
