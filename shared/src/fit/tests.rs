//! Round trips, robustness and bad-input tests of the map fits.
extern crate std;
use super::mode::{MODE_CANDIDATES, from_order_key, mode_1d, order_key};
use super::ransac::capped_sum;
use super::score::{MemberCounts, iou, iou_scan};
use super::*;
use crate::geometry::Rect;
use crate::metrics::{boundary_scratch_len, mean_boundary_distance};
use std::vec;
use std::vec::Vec;

const W: u16 = 640;
const H: u16 = 480;

fn raster(r: &Regions, w: u16, h: u16) -> Vec<u8> {
    let mut m = vec![0u8; w as usize * h as usize];
    assert!(r.rasterize(w, h, &mut m));
    m
}

fn boundary_distance(a: &[u8], b: &[u8], w: u16, h: u16) -> f64 {
    let (w, h) = (w as usize, h as usize);
    let mut s = vec![0.0f32; boundary_scratch_len(w, h)];
    mean_boundary_distance(a, b, w, h, &mut s).unwrap()
}

fn fit_map(map: &[u8], mw: usize, mh: usize, opts: &FitOptions) -> Result<Regions, FitError> {
    let need = scratch_len(mw, mh);
    let mut labels = vec![0u32; need.labels];
    let mut points = vec![(0.0f32, 0.0f32); need.points];
    let mut s = FitScratch {
        labels: &mut labels,
        points: &mut points,
    };
    fit_regions_from_map(map, mw, mh, opts, &mut s)
}

fn fit_one(map: &[u8], mw: usize, mh: usize, opts: &FitOptions) -> Result<Region, FitError> {
    let need = scratch_len(mw, mh);
    let mut labels = vec![0u32; need.labels];
    let mut points = vec![(0.0f32, 0.0f32); need.points];
    let mut s = FitScratch {
        labels: &mut labels,
        points: &mut points,
    };
    fit_region_from_map(map, mw, mh, opts, &mut s)
}

/// Rasterises `truth`, fits it back at scale 1 and returns the fit and
/// the mean boundary distance between the two masks.
fn round_trip(truth: Region) -> (Region, f64) {
    round_trip_with(truth, &FitOptions::full_res(W, H))
}

fn round_trip_with(truth: Region, opts: &FitOptions) -> (Region, f64) {
    let m = raster(&Regions::one(truth), W, H);
    let fitted = fit_one(&m, W as usize, H as usize, opts).unwrap();
    let d = boundary_distance(&raster(&Regions::one(fitted), W, H), &m, W, H);
    (fitted, d)
}

fn phased() -> Fan {
    Fan {
        apex_x: 318.3,
        apex_y: 30.6,
        angle_left: -0.62,
        angle_right: 0.55,
        r_inner: 0.0,
        r_outer: 420.0,
        flat_top: None,
        clip: None,
    }
}

fn flat_clipped() -> Fan {
    Fan {
        apex_x: 320.0,
        apex_y: 20.0,
        angle_left: -0.75,
        angle_right: 0.75,
        r_inner: 0.0,
        r_outer: 520.0,
        flat_top: Some(45.0),
        clip: Some(Rect::new(0.0, 0.0, 640.0, 480.0)),
    }
}

fn curvilinear() -> Fan {
    Fan {
        apex_x: 321.0,
        apex_y: -200.0,
        angle_left: -0.6,
        angle_right: 0.6,
        r_inner: 260.0,
        r_outer: 650.0,
        flat_top: None,
        clip: None,
    }
}

fn fan_of(r: Region) -> Fan {
    match r {
        Region::Fan(f) => f,
        Region::Rect(r) => panic!("expected a fan, got {r:?}"),
    }
}

#[test]
fn round_trip_pointed_phased_fan() {
    let (fit, d) = round_trip(Region::Fan(phased()));
    let f = fan_of(fit);
    assert!(d < 0.5, "boundary distance {d}, {f:?}");
    assert!(
        (f.apex_x - 318.3).abs() < 1.0 && (f.apex_y - 30.6).abs() < 1.0,
        "{f:?}"
    );
    assert!((f.r_outer - 420.0).abs() < 1.0, "{f:?}");
    assert!(
        f.flat_top.is_none() && f.r_inner == 0.0 && f.clip.is_none(),
        "{f:?}"
    );
}

#[test]
fn round_trip_flat_top_with_clip() {
    let (fit, d) = round_trip(Region::Fan(flat_clipped()));
    let f = fan_of(fit);
    assert!(d < 0.5, "boundary distance {d}, {f:?}");
    assert!(f.flat_top.is_some_and(|t| (t - 45.0).abs() < 0.5), "{f:?}");
    assert_eq!(f.clip, Some(Rect::new(0.0, 0.0, 640.0, 480.0)));
    assert!((f.r_outer - 520.0).abs() < 2.0, "{f:?}");
}

#[test]
fn round_trip_curvilinear_inner_arc() {
    let (fit, d) = round_trip(Region::Fan(curvilinear()));
    let f = fan_of(fit);
    assert!(d < 0.5, "boundary distance {d}, {f:?}");
    assert!(
        (f.r_inner - 260.0).abs() < 2.0 && f.flat_top.is_none(),
        "{f:?}"
    );
    assert!((f.r_outer - 650.0).abs() < 2.0, "{f:?}");
}

#[test]
fn round_trip_rectangle() {
    let truth = Rect::new(100.4, 80.5, 540.6, 400.2);
    let (fit, d) = round_trip(Region::Rect(truth));
    assert!(matches!(fit, Region::Rect(_)), "{fit:?}");
    assert!(d < 0.5, "boundary distance {d}");
    // A rectangle over the whole frame: every side clipped.
    let (fit, d) = round_trip(Region::Rect(Rect::new(0.0, 0.0, 640.0, 480.0)));
    assert_eq!(fit, Region::Rect(Rect::new(0.0, 0.0, 640.0, 480.0)));
    assert_eq!(d, 0.0);
}

/// A linear image whose top corners are dark maps as a trapezoid: a fan
/// opening 0.4 rad with its apex 1.3 fan heights above its flat top. It is
/// fitted as the rectangle it was cut from (its bounding box), not as a
/// far-apex fan; a curvilinear fan of the same opening and apex height,
/// whose curved top is its probe face, stays a fan, while one whose "arc"
/// is nearly straight (apex 3 heights above it) is a rectangle again.
#[test]
fn a_narrow_far_apex_trapezoid_is_a_rectangle() {
    let trapezoid = Fan {
        apex_x: 320.0,
        apex_y: -400.0,
        angle_left: -0.2,
        angle_right: 0.2,
        r_inner: 0.0,
        r_outer: 800.0,
        flat_top: Some(80.0),
        clip: None,
    };
    let m = raster(&Regions::one(Region::Fan(trapezoid)), W, H);
    let fitted = fit_one(&m, W as usize, H as usize, &FitOptions::full_res(W, H)).unwrap();
    let Region::Rect(r) = fitted else {
        panic!("{fitted:?}")
    };
    // The box: apex_x ± 800 sin 0.2 = 320 ± 158.9, rows 80 to 400.
    let near = |a: f32, b: f32| (a - b).abs() < 3.0;
    assert!(
        near(r.x0, 161.1) && near(r.x1, 478.9) && near(r.y0, 80.0) && near(r.y1, 400.0),
        "{r:?}"
    );
    let mut narrow_curvilinear = curvilinear();
    narrow_curvilinear.angle_left = -0.2;
    narrow_curvilinear.angle_right = 0.2;
    let (fit, _) = round_trip(Region::Fan(narrow_curvilinear));
    assert!(matches!(fit, Region::Fan(_)), "{fit:?}");
    let flat_arc = Fan {
        apex_x: 320.0,
        apex_y: -1100.0,
        angle_left: -0.14,
        angle_right: 0.14,
        r_inner: 1200.0,
        r_outer: 1520.0,
        flat_top: None,
        clip: None,
    };
    let m = raster(&Regions::one(Region::Fan(flat_arc)), W, H);
    let fitted = fit_one(&m, W as usize, H as usize, &FitOptions::full_res(W, H)).unwrap();
    assert!(matches!(fitted, Region::Rect(_)), "{fitted:?}");
}

/// Forty random sectors — phased (some with a flat top), curvilinear,
/// apex above or inside the frame, edges up to ±1.1 rad and often cut
/// by the frame sides or bottom — all round-trip within 0.5 px. Their
/// edges are drawn independently, so most are a little asymmetric, which
/// no scanner draws: the free fit alone is held to them, without the
/// symmetric preference (tested below).
#[test]
fn random_fans_round_trip() {
    let opts = FitOptions {
        symmetric_fans: false,
        ..FitOptions::full_res(W, H)
    };
    let mut rng = TestRng(99);
    for k in 0..40 {
        let mut u = || rng.unit();
        let mut f = Fan {
            apex_x: 120.0 + 400.0 * u(),
            apex_y: -40.0 + 90.0 * u(),
            angle_left: -1.1 + 0.8 * u(),
            angle_right: 0.3 + 0.8 * u(),
            r_inner: 0.0,
            r_outer: 250.0 + 350.0 * u(),
            flat_top: None,
            clip: None,
        };
        match k % 3 {
            1 => f.flat_top = Some(f.apex_y.max(0.0) + 5.0 + 35.0 * u()),
            2 => {
                f.apex_y = -300.0 + 200.0 * u();
                f.r_inner = -f.apex_y + 20.0 + 60.0 * u();
                f.r_outer = f.r_inner + 250.0 + 250.0 * u();
            }
            _ => {}
        }
        let (fit, d) = round_trip_with(Region::Fan(f), &opts);
        assert!(d < 0.5, "#{k}: boundary distance {d}\n{f:?}\n{fit:?}");
    }
}

/// A symmetric phased fan whose map is pulled in along its left edge over
/// the middle of its depth (a dark chamber against the edge, which the
/// network leaves out): the free two-line fit moves that edge in, the
/// symmetric preference mirrors the intact right edge about the far arc's
/// centre and keeps the sector whole.
#[test]
fn a_dent_along_one_edge_keeps_the_symmetric_fan() {
    let truth = Fan {
        apex_x: 320.0,
        apex_y: 10.0,
        angle_left: -0.7,
        angle_right: 0.7,
        r_inner: 0.0,
        r_outer: 430.0,
        flat_top: None,
        clip: None,
    };
    let mut m = raster(&Regions::one(Region::Fan(truth)), W, H);
    // Clear a band 40 px wide inside the left edge, from 30 % to 90 % of
    // the depth.
    for y in 0..H as usize {
        for x in 0..W as usize {
            let (dx, dy) = (x as f32 + 0.5 - 320.0, y as f32 + 0.5 - 10.0);
            let (r, a) = (libm::sqrtf(dx * dx + dy * dy), libm::atan2f(dx, dy));
            let from_edge = (a - truth.angle_left) * r;
            if r > 0.3 * 430.0 && r < 0.9 * 430.0 && from_edge < 40.0 {
                m[y * W as usize + x] = 0;
            }
        }
    }
    let fit = |symmetric_fans| {
        let opts = FitOptions {
            symmetric_fans,
            ..FitOptions::full_res(W, H)
        };
        fan_of(fit_one(&m, W as usize, H as usize, &opts).unwrap())
    };
    let (sym, free) = (fit(true), fit(false));
    assert!(
        (sym.angle_left + 0.7).abs() < 0.02 && (sym.angle_right - 0.7).abs() < 0.02,
        "{sym:?}"
    );
    assert!(
        (sym.apex_x - 320.0).abs() < 3.0 && (sym.apex_y - 10.0).abs() < 5.0,
        "{sym:?}"
    );
    // Without the preference the dent moves the left edge in: the free
    // fan's apex slides down the right edge.
    assert!(free.apex_x - 320.0 > 10.0, "{free:?}");
}

/// A tiny LCG so the tests need no dependencies.
struct TestRng(u64);
impl TestRng {
    fn unit(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Coarse map: an 80×64 probability map of a 640×480 frame (8 × 7.5 px
/// per map pixel), each value the fan's area fraction from 4×4
/// supersamples plus ±20 of uniform noise, as a network might output.
/// Edge samples then carry up to ~0.1 map px of interpolation error,
/// about 1 px at full resolution, so the tolerance here is 1.0 px rather
/// than 0.5 (measured: ~0.05).
#[test]
fn coarse_map_upscaled() {
    let (mw, mh) = (80usize, 64usize);
    let opts = FitOptions::upscaled(mw, mh, W, H);
    let mut rng = TestRng(5);
    for truth in [
        Region::Fan(phased()),
        Region::Fan(curvilinear()),
        Region::Fan(flat_clipped()),
    ] {
        let mut map = vec![0u8; mw * mh];
        for (i, v) in map.iter_mut().enumerate() {
            let (mx, my) = ((i % mw) as f32, (i / mw) as f32);
            let mut hits = 0;
            for k in 0..16 {
                let x = (mx + (k % 4) as f32 * 0.25 + 0.125) * opts.scale_x;
                let y = (my + (k / 4) as f32 * 0.25 + 0.125) * opts.scale_y;
                hits += u32::from(truth.contains(x, y));
            }
            *v = ((hits * 255 / 16) as f32 + 40.0 * (rng.unit() - 0.5)).clamp(0.0, 255.0) as u8;
        }
        let fit = fit_one(&map, mw, mh, &opts).unwrap();
        let d = boundary_distance(
            &raster(&Regions::one(fit), W, H),
            &raster(&Regions::one(truth), W, H),
            W,
            H,
        );
        assert!(d < 1.0, "boundary distance {d}: {fit:?} vs {truth:?}");
        assert!(matches!(fit, Region::Fan(_)));
    }
}

/// 25 % of every point set is uniform clutter over the frame; the
/// inliers carry ±0.3 px of noise.
#[test]
fn edge_points_with_outliers() {
    let truth = phased();
    let mut rng = TestRng(7);
    let mut sets: [Vec<(f32, f32)>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for i in 0..120 {
        let t = i as f32 / 120.0;
        let (r, a) = (20.0 + 390.0 * t, truth.angle_left + t * truth.opening());
        let on = [truth.angle_left, truth.angle_right, a];
        let rad = [r, r, truth.r_outer];
        for (k, set) in sets.iter_mut().enumerate() {
            let (dx, dy) = (rng.unit() - 0.5, rng.unit() - 0.5);
            set.push(if i % 4 == 3 {
                (rng.unit() * 640.0, rng.unit() * 480.0)
            } else {
                (
                    truth.apex_x + rad[k] * libm::sinf(on[k]) + 0.6 * dx,
                    truth.apex_y + rad[k] * libm::cosf(on[k]) + 0.6 * dy,
                )
            });
        }
    }
    let pts = EdgePoints {
        left: &sets[0],
        right: &sets[1],
        arc: &sets[2],
        top: &[],
    };
    let f = fit_fan_from_edge_points(&pts, 1.5, 3).unwrap();
    assert!((f.apex_x - truth.apex_x).abs() < 1.0, "{f:?}");
    assert!((f.apex_y - truth.apex_y).abs() < 1.0, "{f:?}");
    assert!((f.angle_left - truth.angle_left).abs() < 0.005, "{f:?}");
    assert!((f.angle_right - truth.angle_right).abs() < 0.005, "{f:?}");
    assert!((f.r_outer - truth.r_outer).abs() < 1.0, "{f:?}");
    assert!(f.flat_top.is_none() && f.r_inner == 0.0);
}

/// The temporal labeler's failure modes on one map: static text (holes)
/// inside the fan, blobs stuck to its edges and arc, an ECG trace running
/// from the frame border across the left edge, and loose specks.
fn noisy_map(truth: &Fan) -> Vec<u8> {
    let mut m = raster(&Regions::one(Region::Fan(*truth)), W, H);
    let mut set = |x: i32, y: i32, v: u8| {
        if (0..W as i32).contains(&x) && (0..H as i32).contains(&y) {
            m[y as usize * W as usize + x as usize] = v;
        }
    };
    for (bx, by) in [(280, 120), (330, 200), (300, 330)] {
        for y in by..by + 12 {
            for x in bx..bx + 40 {
                set(x, y, 0);
            }
        }
    }
    // Blobs of radius 9 centred on the boundary: 4 on each edge, 4 on the arc.
    for k in 0..4 {
        let r = 90.0 + 70.0 * k as f32;
        let a = truth.angle_left + truth.opening() * (0.15 + 0.23 * k as f32);
        for (cr, ca) in [
            (r, truth.angle_left),
            (r, truth.angle_right),
            (truth.r_outer, a),
        ] {
            let cx = (truth.apex_x + cr * libm::sinf(ca)) as i32;
            let cy = (truth.apex_y + cr * libm::cosf(ca)) as i32;
            for dy in -9..=9 {
                for dx in -9..=9 {
                    if dx * dx + dy * dy <= 81 {
                        set(cx + dx, cy + dy, 255);
                    }
                }
            }
        }
    }
    for x in 0..240 {
        let y = 300 + (8.0 * libm::sinf(x as f32 * 0.2)) as i32;
        for t in 0..3 {
            set(x, y + t, 255);
        }
    }
    let mut rng = TestRng(11);
    for _ in 0..400 {
        set(
            (rng.unit() * 640.0) as i32,
            (rng.unit() * 480.0) as i32,
            255,
        );
    }
    m
}

#[test]
fn robust_to_text_blobs_traces_and_specks() {
    let truth = phased();
    let map = noisy_map(&truth);
    let fit = fit_one(&map, W as usize, H as usize, &FitOptions::full_res(W, H)).unwrap();
    let t = raster(&Regions::one(Region::Fan(truth)), W, H);
    let d = boundary_distance(&raster(&Regions::one(fit), W, H), &t, W, H);
    assert!(d < 0.5, "boundary distance {d}: {fit:?}");
}

#[test]
fn deterministic_for_a_seed() {
    let map = noisy_map(&phased());
    let mut opts = FitOptions::full_res(W, H);
    let a = fit_one(&map, W as usize, H as usize, &opts).unwrap();
    let b = fit_one(&map, W as usize, H as usize, &opts).unwrap();
    assert_eq!(a, b);
    opts.seed = 12345;
    let c = fit_one(&map, W as usize, H as usize, &opts).unwrap();
    let d = boundary_distance(
        &raster(&Regions::one(a), W, H),
        &raster(&Regions::one(c), W, H),
        W,
        H,
    );
    assert!(d < 0.5, "seeds disagree by {d}");
}

fn multi_round_trip(truth: &Regions) -> (Regions, f64) {
    let m = raster(truth, W, H);
    let fit = fit_map(&m, W as usize, H as usize, &FitOptions::full_res(W, H)).unwrap();
    let d = boundary_distance(&raster(&fit, W, H), &m, W, H);
    (fit, d)
}

#[test]
fn dual_pane_gives_two_fans() {
    let pane = |x: f32| {
        Region::Fan(Fan {
            apex_x: x,
            apex_y: 20.0,
            angle_left: -0.5,
            angle_right: 0.5,
            r_inner: 0.0,
            r_outer: 300.0,
            flat_top: None,
            clip: None,
        })
    };
    let mut truth = Regions::one(pane(160.0));
    truth.push(pane(480.0)).unwrap();
    let (fit, d) = multi_round_trip(&truth);
    assert_eq!(fit.len(), 2, "{fit:?}");
    assert!(fit.iter().all(|r| matches!(r, Region::Fan(_))), "{fit:?}");
    assert!(d < 0.5, "boundary distance {d}: {fit:?}");
}

#[test]
fn fan_above_strip_gives_fan_and_rect() {
    let mut truth = Regions::one(Region::Fan(Fan {
        apex_x: 320.0,
        apex_y: 10.0,
        angle_left: -0.6,
        angle_right: 0.6,
        r_inner: 0.0,
        r_outer: 250.0,
        flat_top: None,
        clip: None,
    }));
    truth
        .push(Region::Rect(Rect::new(0.0, 290.0, 640.0, 480.0)))
        .unwrap();
    let (fit, d) = multi_round_trip(&truth);
    assert_eq!(fit.len(), 2, "{fit:?}");
    // Largest first: the strip, then the fan.
    assert_eq!(
        fit.regions[0],
        Region::Rect(Rect::new(0.0, 290.0, 640.0, 480.0))
    );
    assert!(matches!(fit.regions[1], Region::Fan(_)), "{fit:?}");
    assert!(d < 0.5, "boundary distance {d}: {fit:?}");
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let map = [255u8; 12];
    let opts = FitOptions::full_res(4, 3);
    // 4·3 labels and 5·3 member counts.
    let mut labels = [0u32; 27];
    let mut points = [(0.0f32, 0.0f32); 22];
    let mut s = FitScratch {
        labels: &mut labels,
        points: &mut points,
    };
    assert!(fit_region_from_map(&map, 4, 3, &opts, &mut s).is_ok());
    assert_eq!(
        fit_region_from_map(&map, 4, 4, &opts, &mut s),
        Err(FitError::BadMapSize)
    );
    assert_eq!(
        fit_region_from_map(&map, 0, 3, &opts, &mut s),
        Err(FitError::BadMapSize)
    );
    assert_eq!(
        fit_region_from_map(&map, usize::MAX, 2, &opts, &mut s),
        Err(FitError::BadMapSize)
    );
    for bad in [
        FitOptions {
            scale_x: f32::NAN,
            ..opts
        },
        FitOptions {
            scale_y: 0.0,
            ..opts
        },
        FitOptions { full_w: 0, ..opts },
        FitOptions {
            min_area_frac: f32::NAN,
            ..opts
        },
        FitOptions {
            min_area_frac: 1.5,
            ..opts
        },
    ] {
        assert_eq!(
            fit_regions_from_map(&map, 4, 3, &bad, &mut s),
            Err(FitError::BadParameter)
        );
    }
    let mut short = FitScratch {
        labels: &mut labels[..26],
        points: &mut points,
    };
    assert_eq!(
        fit_region_from_map(&map, 4, 3, &opts, &mut short),
        Err(FitError::ScratchTooSmall)
    );
    let mut short = FitScratch {
        labels: &mut labels,
        points: &mut points[..21],
    };
    assert_eq!(
        fit_region_from_map(&map, 4, 3, &opts, &mut short),
        Err(FitError::ScratchTooSmall)
    );
    assert_eq!(scratch_len(usize::MAX, 2).labels, usize::MAX);

    let e = EdgePoints::default();
    assert_eq!(
        fit_fan_from_edge_points(&e, 1.0, 0),
        Err(FitError::TooFewPoints)
    );
    assert_eq!(
        fit_fan_from_edge_points(&e, f32::NAN, 0),
        Err(FitError::BadParameter)
    );
    let nan = [(f32::NAN, 1.0); 8];
    let inf = [(f32::INFINITY, f32::NEG_INFINITY); 8];
    let e = EdgePoints {
        left: &nan,
        right: &inf,
        arc: &nan,
        top: &inf,
    };
    assert!(fit_fan_from_edge_points(&e, 1.0, 0).is_err());
}

#[test]
fn empty_and_tiny_maps_are_empty() {
    let zero = vec![0u8; 64 * 48];
    assert_eq!(
        fit_one(&zero, 64, 48, &FitOptions::full_res(64, 48)),
        Err(FitError::EmptyMap)
    );
    assert_eq!(
        fit_map(&zero, 64, 48, &FitOptions::full_res(64, 48)),
        Err(FitError::EmptyMap)
    );
    // Below the threshold, or a speck below the minimum area.
    let mut m = vec![100u8; 64 * 48];
    assert_eq!(
        fit_one(&m, 64, 48, &FitOptions::full_res(64, 48)),
        Err(FitError::EmptyMap)
    );
    m.fill(0);
    m[100] = 255;
    assert_eq!(
        fit_one(&m, 64, 48, &FitOptions::full_res(64, 48)),
        Err(FitError::EmptyMap)
    );
}

/// Random maps, single pixels, lines: any result is fine, no panic.
#[test]
fn garbage_maps_do_not_panic() {
    let (w, h) = (64usize, 48usize);
    let opts = FitOptions {
        min_area_frac: 0.0,
        ..FitOptions::upscaled(w, h, 640, 480)
    };
    let mut rng = TestRng(3);
    let mut m = vec![0u8; w * h];
    for density in [0.02f32, 0.3, 0.5, 0.9, 1.0] {
        for v in m.iter_mut() {
            *v = if rng.unit() < density {
                (rng.unit() * 255.0) as u8
            } else {
                0
            };
        }
        let _ = fit_map(&m, w, h, &opts);
    }
    m.fill(0);
    m[w + 1] = 255;
    let _ = fit_map(&m, w, h, &opts);
    for y in 0..h {
        m[y * w + 5] = 255;
    }
    let _ = fit_map(&m, w, h, &opts);
    let _ = fit_map(&[255], 1, 1, &opts);
    let _ = fit_map(&[255; 7], 7, 1, &opts);
}

/// A `mw × mh` coarse map of `truth` (16 sub-samples per map pixel).
fn coarse_map(truth: &Regions, mw: usize, mh: usize, opts: &FitOptions) -> Vec<u8> {
    (0..mw * mh)
        .map(|i| {
            let (mx, my) = ((i % mw) as f32, (i / mw) as f32);
            let hits: u32 = (0..16)
                .map(|k| {
                    let x = (mx + (k % 4) as f32 * 0.25 + 0.125) * opts.scale_x;
                    let y = (my + (k / 4) as f32 * 0.25 + 0.125) * opts.scale_y;
                    u32::from(truth.iter().any(|r| r.contains(x, y)))
                })
                .sum();
            (hits * 255 / 16) as u8
        })
        .collect()
}

/// Dual-screen panes whose clip rectangles touch label as one component;
/// the fit cuts it at the seam and gives each pane its own clipped fan.
#[test]
fn touching_dual_panes_are_cut_at_the_seam() {
    let (mw, mh) = (80usize, 64usize);
    let opts = FitOptions::upscaled(mw, mh, W, H);
    let pane = |x: f32, clip: Rect| {
        Region::Fan(Fan {
            apex_x: x,
            apex_y: -60.0,
            angle_left: -0.55,
            angle_right: 0.55,
            r_inner: 110.0,
            r_outer: 520.0,
            flat_top: None,
            clip: Some(clip),
        })
    };
    let mut truth = Regions::one(pane(165.0, Rect::new(20.0, 40.0, 320.0, 470.0)));
    truth
        .push(pane(475.0, Rect::new(320.0, 40.0, 630.0, 470.0)))
        .unwrap();
    let map = coarse_map(&truth, mw, mh, &opts);
    let fit = fit_map(&map, mw, mh, &opts).unwrap();
    assert_eq!(fit.len(), 2, "{fit:?}");
    // Each pane shows one straight edge, so its apex comes from the arcs:
    // within a map pixel (8 px) is what the coarse map supports.
    let d = boundary_distance(&raster(&fit, W, H), &raster(&truth, W, H), W, H);
    assert!(d < 6.0, "boundary distance {d}: {fit:?}");
    for (r, seam) in fit.iter().zip([320.0f32, 320.0]) {
        let Region::Fan(f) = r else { panic!("{r:?}") };
        let clip = f.clip.expect("cut at the seam");
        assert!(clip.x0 == seam || clip.x1 == seam, "{clip:?}");
    }
}

/// A wide curvilinear fan cut by vertical pane sides well inside the frame
/// (a dual screen's left pane): both sides are straight, neither touches
/// the frame border, and the top and bottom are arcs. The fit must find
/// the cut fan, not the rectangle around it.
#[test]
fn fan_cut_by_vertical_sides_inside_the_frame_stays_a_fan() {
    let (mw, mh) = (80usize, 64usize);
    let opts = FitOptions::upscaled(mw, mh, W, H);
    let truth = Regions::one(Region::Fan(Fan {
        apex_x: 180.0,
        apex_y: -120.0,
        angle_left: -0.55,
        angle_right: 0.55,
        r_inner: 190.0,
        r_outer: 560.0,
        flat_top: None,
        clip: Some(Rect::new(30.0, 0.0, 320.0, H as f32)),
    }));
    let map = coarse_map(&truth, mw, mh, &opts);
    let fit = fit_map(&map, mw, mh, &opts).unwrap();
    assert_eq!(fit.len(), 1, "{fit:?}");
    let Region::Fan(f) = fit.iter().next().unwrap() else {
        panic!("{fit:?}")
    };
    let clip = f.clip.expect("cut at the sides");
    assert!(
        (clip.x0 - 30.0).abs() < 8.0 && (clip.x1 - 320.0).abs() < 8.0,
        "{clip:?}"
    );
    let d = boundary_distance(&raster(&fit, W, H), &raster(&truth, W, H), W, H);
    assert!(d < 6.0, "boundary distance {d}: {fit:?}");
}

/// A fan whose coarse map runs into the strip below it through a blurred
/// bridge: one component, cut between fan and strip.
#[test]
fn fan_bridged_to_strip_is_cut_between_them() {
    let (mw, mh) = (80usize, 64usize);
    let opts = FitOptions::upscaled(mw, mh, W, H);
    let mut truth = Regions::one(Region::Fan(Fan {
        apex_x: 300.0,
        apex_y: 30.0,
        angle_left: -0.7,
        angle_right: 0.7,
        r_inner: 0.0,
        r_outer: 190.0,
        flat_top: None,
        clip: None,
    }));
    truth
        .push(Region::Rect(Rect::new(100.0, 240.0, 600.0, 460.0)))
        .unwrap();
    let mut map = coarse_map(&truth, mw, mh, &opts);
    // The network's blur: a 6-pixel-wide bridge from the arc to the strip.
    for my in 24..31 {
        for mx in 35..41 {
            map[my * mw + mx] = 200;
        }
    }
    let fit = fit_map(&map, mw, mh, &opts).unwrap();
    assert_eq!(fit.len(), 2, "{fit:?}");
    assert!(fit.iter().any(|r| matches!(r, Region::Fan(_))), "{fit:?}");
    assert!(fit.iter().any(|r| matches!(r, Region::Rect(_))), "{fit:?}");
    let d = boundary_distance(&raster(&fit, W, H), &raster(&truth, W, H), W, H);
    assert!(d < 4.0, "boundary distance {d}: {fit:?}");
}

/// The scored IoU (prepared regions, scan bounded to the component and the
/// regions) is the full scan's, bit for bit: random fans (flat tops, inner
/// arcs, clips, apexes outside the map) and rectangles against the
/// component of a random fan's coarse map, alone and in pairs.
#[test]
fn bounded_iou_equals_full_scan() {
    let (mw, mh) = (80usize, 64usize);
    let opts = FitOptions::upscaled(mw, mh, W, H);
    let mut rng = TestRng(7);
    let fan = |rng: &mut TestRng| {
        let mut u = || rng.unit();
        let mut f = Fan {
            apex_x: -100.0 + 840.0 * u(),
            apex_y: -300.0 + 400.0 * u(),
            angle_left: -1.4 + 1.3 * u(),
            angle_right: 0.05 + 1.3 * u(),
            r_inner: 0.0,
            r_outer: 50.0 + 600.0 * u(),
            flat_top: None,
            clip: None,
        };
        if u() < 0.3 {
            f.flat_top = Some(f.apex_y + 60.0 * u());
        }
        if u() < 0.3 {
            f.r_inner = f.r_outer * 0.5 * u();
        }
        if u() < 0.4 {
            f.clip = Some(Rect::new(
                300.0 * u(),
                200.0 * u(),
                340.0 + 300.0 * u(),
                280.0 + 200.0 * u(),
            ));
        }
        Region::Fan(f)
    };
    let (mut compared, mut pruned) = (0, 0);
    for _ in 0..20 {
        let truth = Regions::one(fan(&mut rng));
        let map = coarse_map(&truth, mw, mh, &opts);
        let mut labels = vec![0u32; scratch_len(mw, mh).labels];
        let mut points = vec![(0.0f32, 0.0f32); scratch_len(mw, mh).points];
        let mut s = FitScratch {
            labels: &mut labels,
            points: &mut points,
        };
        let Ok(comps) = components::<1>(&map, mw, mh, &opts, &mut s) else {
            continue;
        };
        let c = comps[0];
        for k in 0..30 {
            let a = if k % 4 == 3 {
                let mut u = || rng.unit();
                Region::Rect(Rect::new(
                    640.0 * u() - 50.0,
                    480.0 * u() - 50.0,
                    640.0 * u() + 50.0,
                    480.0 * u() + 50.0,
                ))
            } else {
                fan(&mut rng)
            };
            let b = fan(&mut rng);
            for regions in [&[a][..], &[a, b][..]] {
                let (labels, counts) = labels.split_at_mut(mw * mh);
                let counts = MemberCounts::fill(labels, &c, mw, counts);
                let fast = iou(regions, labels, &counts, &c, mw, &opts, |_| true);
                let full = iou_scan(regions, labels, &c, mw, &opts, c.win);
                assert_eq!(fast.to_bits(), full.to_bits(), "{regions:?}");
                // Cut short only where the score could not have won.
                for bar in [0.05, 0.3, full - 1e-6, full, 0.6, 0.9] {
                    let s = iou(regions, labels, &counts, &c, mw, &opts, |b| b > bar);
                    if s == f32::NEG_INFINITY {
                        assert!(full <= bar, "{full} > {bar} was cut short: {regions:?}");
                        pruned += 1;
                    } else {
                        assert_eq!(s.to_bits(), full.to_bits(), "{regions:?}");
                    }
                }
                compared += 1;
            }
        }
    }
    assert!(compared >= 300, "only {compared} comparisons");
    assert!(pruned >= 300, "the bound cut only {pruned} scans short");
}

/// [`mode_1d`] as it was before its window table and pruning: a binary
/// search per bound per candidate, every candidate's cost summed. The
/// fast version must give the same bits and draw the same random numbers.
fn mode_1d_reference(
    n: usize,
    val: impl Fn(usize) -> Option<f32>,
    tol: f32,
    rng: &mut Rng,
) -> Option<(f32, usize)> {
    let cache: Vec<f32> = (0..n)
        .map(|i| val(i).filter(|v| v.is_finite()).unwrap_or(f32::NAN))
        .collect();
    let mut sorted: Vec<f32> = cache.iter().copied().filter(|v| !v.is_nan()).collect();
    sorted.sort_unstable_by(f32::total_cmp);
    let m = sorted.len();
    let near = |c: f32| {
        let lo = sorted.partition_point(|&v| v < c - tol);
        let hi = sorted.partition_point(|&v| v <= c + tol);
        &sorted[lo..hi.max(lo)]
    };
    let tol2 = tol * tol;
    let cost = |c: f32| -> f32 {
        let near = near(c);
        let inside: f32 = near.iter().map(|&v| ((v - c) * (v - c)).min(tol2)).sum();
        inside + (m - near.len()) as f32 * tol2
    };
    let mut best: Option<(f32, f32)> = None;
    for k in 0..n.min(MODE_CANDIDATES) {
        let i = if n <= MODE_CANDIDATES {
            k
        } else {
            rng.below(n)
        };
        let c = cache[i];
        if c.is_nan() {
            continue;
        }
        let cc = cost(c);
        if best.is_none_or(|(bc, _)| cc < bc) {
            best = Some((cc, c));
        }
    }
    let mut mode = best?.1;
    let mut count = 0;
    for _ in 0..3 {
        let near = near(mode);
        if near.is_empty() {
            break;
        }
        mode = near.iter().sum::<f32>() / near.len() as f32;
        count = near.len();
    }
    Some((mode, count))
}

#[test]
fn mode_matches_the_plain_search() {
    let mut rng = TestRng(2026);
    for case in 0..400 {
        let n = [0, 1, 2, 5, 40, 64, 65, 80, 200, 512][case % 10];
        // A cluster, spread values, repeats, gaps and infinities.
        let centre = 400.0 * rng.unit();
        let vals: Vec<Option<f32>> = (0..n)
            .map(|_| match (8.0 * rng.unit()) as u32 {
                0 => None,
                1 => Some(f32::INFINITY),
                2 => Some((centre + 0.5).round()),
                3 | 4 => Some(600.0 * rng.unit() - 100.0),
                _ => Some(centre + 3.0 * (rng.unit() - 0.5)),
            })
            .collect();
        let tol = 0.25 + 4.0 * rng.unit();
        let seed = case as u64;
        let (mut a, mut b) = (Rng(seed), Rng(seed));
        let fast = mode_1d(n, |i| vals[i], tol, &mut a);
        let slow = mode_1d_reference(n, |i| vals[i], tol, &mut b);
        let bits = |r: Option<(f32, usize)>| r.map(|(v, k)| (v.to_bits(), k));
        assert_eq!(bits(fast), bits(slow), "case {case}: n {n} tol {tol}");
        assert_eq!(a.0, b.0, "case {case}: the random draws differ");
    }
}

#[test]
fn order_keys_sort_as_total_cmp() {
    let mut rng = TestRng(3);
    let mut v: Vec<f32> = (0..500).map(|_| 1e4 * (rng.unit() - 0.5)).collect();
    v.extend([0.0, -0.0, f32::MIN, f32::MAX, 1e-40, -1e-40]);
    for &x in &v {
        assert_eq!(from_order_key(order_key(x)).to_bits(), x.to_bits());
    }
    let mut a = v.clone();
    a.sort_unstable_by(f32::total_cmp);
    v.sort_unstable_by_key(|&x| order_key(x));
    assert_eq!(
        a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
}

#[test]
fn capped_sums_are_the_plain_sums_or_could_not_win() {
    let mut rng = TestRng(17);
    for n in [0, 1, 15, 16, 17, 100, 333] {
        let xs: Vec<f32> = (0..n).map(|_| 3.0 * rng.unit()).collect();
        let full: f32 = xs.iter().map(|&x| x * x).sum();
        let extra = 0.5 * rng.unit();
        assert_eq!(
            capped_sum(&xs, |x| x * x, extra, None).map(f32::to_bits),
            Some(full.to_bits())
        );
        for stop in [0.0, 0.25 * full, full + extra, full + extra + 1.0, f32::NAN] {
            match capped_sum(&xs, |x| x * x, extra, Some(stop)) {
                Some(s) => assert_eq!(s.to_bits(), full.to_bits()),
                None => assert!(
                    !(full + extra < stop),
                    "{full} + {extra} < {stop} was dropped"
                ),
            }
        }
    }
}

#[test]
fn parts_from_counts_match_the_pixel_scan() {
    use super::split::{Cut, parts, parts_by_pixels};
    let mut rng = TestRng(23);
    let (mw, mh) = (40usize, 30usize);
    let opts = FitOptions::upscaled(mw, mh, 640, 480);
    let mut compared = 0;
    for _ in 0..60 {
        // A few overlapping boxes, then speckle: holes, gaps and islands.
        let mut map = vec![0u8; mw * mh];
        for _ in 0..4 {
            let (x0, y0) = (
                (rng.unit() * mw as f32) as usize,
                (rng.unit() * mh as f32) as usize,
            );
            let (bw, bh) = (
                1 + (rng.unit() * 20.0) as usize,
                1 + (rng.unit() * 16.0) as usize,
            );
            for y in y0..(y0 + bh).min(mh) {
                for x in x0..(x0 + bw).min(mw) {
                    map[y * mw + x] = 255;
                }
            }
        }
        for v in map.iter_mut() {
            if rng.unit() < 0.08 {
                *v = 255 - *v;
            }
        }
        let need = scratch_len(mw, mh);
        let mut labels = vec![0u32; need.labels];
        let mut points = vec![(0.0f32, 0.0f32); need.points];
        let comps = {
            let mut scratch = FitScratch {
                labels: &mut labels,
                points: &mut points,
            };
            components::<MAX_REGIONS>(&map, mw, mh, &opts, &mut scratch)
        };
        let Ok(comps) = comps else { continue };
        for c in &comps {
            let (l, counts) = labels.split_at_mut(mw * mh);
            let counts = MemberCounts::fill(l, c, mw, counts);
            let cuts = (c.x0..=c.x1 + 1)
                .map(Cut::Column)
                .chain((c.y0.max(1)..=c.y1 + 1).map(Cut::Row));
            for cut in cuts {
                let fast = std::format!("{:?}", parts(&counts, c, mw, cut));
                let slow = std::format!("{:?}", parts_by_pixels(l, c, mw, cut));
                assert_eq!(fast, slow, "{cut:?}");
                compared += 1;
            }
        }
    }
    assert!(compared > 1000, "only {compared} cuts compared");
}
