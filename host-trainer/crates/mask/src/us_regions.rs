//! The DICOM Sequence of Ultrasound Regions (0018,6011) as a prior on, and a
//! cross-check of, the fitted keep mask.
//!
//! Scanners declare the rectangles that hold image data (2D, M-mode,
//! spectral Doppler) and those that hold waveforms (ECG) or graphics (grey
//! and colour bars). The declared image rectangles bound where scan data can
//! be, so each fitted region is clipped to the image rectangle it overlaps
//! most (plus a small margin); a fit that keeps much outside every image
//! rectangle, or that misses a declared image rectangle, disagrees with the
//! scanner and fails closed. Pieces stacked inside one image rectangle (a
//! linear image the map broke at its dark near field) are joined into
//! their bounding rectangle; pieces side by side in one fail closed. The declaration is not trusted blindly: it is
//! ignored when it does not fit the frame (a file downscaled after export
//! keeps the original coordinates), and it never creates a region the
//! model did not find. Region Data Type and Spatial Format values are those
//! of PS3.3 C.8.5.5.1.

use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;
use serde::Serialize;
use sonomask_core::geometry::MAX_REGIONS;
use sonomask_core::{Rect, Region, Regions};

/// One item of the Sequence of Ultrasound Regions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct UsRegion {
    /// Region Spatial Format (0018,6012): 1 2D, 2 M-mode, 3 spectral,
    /// 4 waveform, 5 graphics, 0 none.
    pub spatial_format: u16,
    /// Region Data Type (0018,6014): 1 tissue, 2 colour flow, 3/4 PW/CW
    /// Doppler, 0x0A ECG trace, 0x0D grey bar, 0x0E colour bar, …
    pub data_type: u16,
    /// Region Location Min X0 / Min Y0 / Max X1 / Max Y1 (inclusive).
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl UsRegion {
    /// Whether the region holds scan data (2D, M-mode or spectral).
    pub fn holds_scan_data(&self) -> bool {
        matches!(self.spatial_format, 1..=3)
    }

    /// The region as a half-open rectangle grown by `margin` pixels.
    pub fn rect(&self, margin: f32) -> Rect {
        Rect::new(
            self.x0 as f32 - margin,
            self.y0 as f32 - margin,
            self.x1 as f32 + 1.0 + margin,
            self.y1 as f32 + 1.0 + margin,
        )
    }

    fn area(&self) -> u64 {
        u64::from(self.x1.saturating_sub(self.x0) + 1)
            * u64::from(self.y1.saturating_sub(self.y0) + 1)
    }
}

/// The regions a file declares; malformed items (missing or inverted
/// coordinates) are left out.
pub fn read(obj: &DefaultDicomObject) -> Vec<UsRegion> {
    let Some(seq) = obj
        .element_opt(tags::SEQUENCE_OF_ULTRASOUND_REGIONS)
        .ok()
        .flatten()
    else {
        return Vec::new();
    };
    let Some(items) = seq.items() else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let int = |tag| -> Option<u32> {
                item.element_opt(tag)
                    .ok()
                    .flatten()
                    .and_then(|e| e.to_int::<u32>().ok())
            };
            let r = UsRegion {
                spatial_format: u16::try_from(int(tags::REGION_SPATIAL_FORMAT)?).ok()?,
                data_type: u16::try_from(int(tags::REGION_DATA_TYPE)?).ok()?,
                x0: int(tags::REGION_LOCATION_MIN_X0)?,
                y0: int(tags::REGION_LOCATION_MIN_Y0)?,
                x1: int(tags::REGION_LOCATION_MAX_X1)?,
                y1: int(tags::REGION_LOCATION_MAX_Y1)?,
            };
            (r.x0 <= r.x1 && r.y0 <= r.y1).then_some(r)
        })
        .collect()
}

/// Pixels of slack around a declared rectangle (scanners round their
/// coordinates; the fit's edge sits within a pixel or two).
pub const MARGIN: f32 = 2.0;

/// A declared image rectangle smaller than this fraction of the frame is not
/// required to be kept (an inset, a tiny preview).
pub const MIN_REQUIRED_AREA: f64 = 0.01;

/// A declared image rectangle counts as missed when less than this fraction
/// of it is kept. A fan covers about half of its bounding box or more (a
/// 60° sector 52 %, 90° 56 %), and scanners declare boxes around the image,
/// so a fit keeping less than a third of a declared box has lost part of
/// the scan.
pub const MIN_COVERAGE: f64 = 0.35;

/// A fitted rectangle spanning at least this fraction of a declared image
/// rectangle's width and height is grown to that rectangle. Scanners that
/// declare the image tightly (the Aloka dual screen) get their dark top
/// rows back; those that declare a box around image and ruler (the
/// Philips EPIQ: its image spans 77 % of the declared width) keep the fit.
pub const FILL_FRACTION: f32 = 0.9;

/// What the declaration said about a fit.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PriorReport {
    /// Regions the file declares (all kinds).
    pub declared: usize,
    /// Whether the image rectangles were used to clip and check the fit.
    pub used: bool,
    /// Why they were not used, when declared but not used.
    pub ignored_because: Option<String>,
    /// Fraction of the fitted keep area outside every image rectangle.
    pub outside_fraction: f64,
    /// Image rectangles (indices into the declaration) the fit misses or
    /// covers less than [`MIN_COVERAGE`] of.
    pub missed: Vec<usize>,
    /// Image rectangles holding more than one fitted region that could not
    /// be joined (pieces side by side, not stacked): one scan region split
    /// in pieces (a dual screen or a strip is declared as separate regions).
    pub split: Vec<usize>,
}

fn raster(regions: &Regions, w: u16, h: u16) -> Vec<u8> {
    let mut m = vec![0u8; w as usize * h as usize];
    regions.rasterize(w, h, &mut m);
    m
}

fn count_in(mask: &[u8], w: u16, rect: &Rect) -> u64 {
    let (x0, y0) = (rect.x0.max(0.0) as usize, rect.y0.max(0.0) as usize);
    let x1 = (rect.x1.max(0.0) as usize).min(w as usize);
    let y1 = (rect.y1.max(0.0) as usize).min(mask.len() / (w as usize).max(1));
    let mut n = 0u64;
    for y in y0..y1 {
        let row = &mask[y * w as usize..(y + 1) * w as usize];
        n += row[x0.min(x1)..x1].iter().filter(|&&v| v != 0).count() as u64;
    }
    n
}

fn intersect(a: &Rect, b: &Rect) -> Rect {
    Rect::new(
        a.x0.max(b.x0),
        a.y0.max(b.y0),
        a.x1.min(b.x1),
        a.y1.min(b.y1),
    )
}

/// Clips `fitted` to the declared image rectangles and cross-checks it (see
/// the module documentation). Returns the clipped regions and the report;
/// with nothing usable declared the regions come back unchanged.
pub fn apply(fitted: &Regions, declared: &[UsRegion], w: u16, h: u16) -> (Regions, PriorReport) {
    let mut report = PriorReport {
        declared: declared.len(),
        ..PriorReport::default()
    };
    let image: Vec<(usize, &UsRegion)> = declared
        .iter()
        .enumerate()
        .filter(|(_, r)| r.holds_scan_data())
        .collect();
    if declared.is_empty() {
        return (fitted.clone(), report);
    }
    if image.is_empty() {
        report.ignored_because = Some("no 2D, M-mode or spectral region is declared".into());
        return (fitted.clone(), report);
    }
    // Scanners round: a maximum up to MARGIN pixels past the frame is the
    // frame's edge; farther out the coordinates belong to another size.
    let slack = MARGIN as u32;
    if let Some((i, r)) = image
        .iter()
        .find(|(_, r)| r.x1 >= u32::from(w) + slack || r.y1 >= u32::from(h) + slack)
    {
        report.ignored_because = Some(format!(
            "region {i} ({},{})-({},{}) lies outside the {w}x{h} frame (rescaled after export?)",
            r.x0, r.y0, r.x1, r.y1
        ));
        return (fitted.clone(), report);
    }
    report.used = true;
    let image: Vec<(usize, UsRegion)> = image
        .into_iter()
        .map(|(i, r)| {
            let mut r = *r;
            r.x1 = r.x1.min(u32::from(w) - 1);
            r.y1 = r.y1.min(u32::from(h) - 1);
            (i, r)
        })
        .collect();

    // Cross-check the fit as it came from the model.
    let mask = raster(fitted, w, h);
    let kept = mask.iter().filter(|&&v| v != 0).count() as u64;
    let mut union = vec![0u8; mask.len()];
    for (_, r) in &image {
        let rect = r.rect(MARGIN);
        let (x0, y0) = (rect.x0.max(0.0) as usize, rect.y0.max(0.0) as usize);
        let (x1, y1) = (
            (rect.x1 as usize).min(w as usize),
            (rect.y1 as usize).min(h as usize),
        );
        for y in y0..y1 {
            union[y * w as usize + x0..y * w as usize + x1].fill(1);
        }
    }
    let inside = mask
        .iter()
        .zip(&union)
        .filter(|&(&m, &u)| m != 0 && u != 0)
        .count() as u64;
    report.outside_fraction = if kept == 0 {
        0.0
    } else {
        1.0 - inside as f64 / kept as f64
    };
    let frame_area = f64::from(w) * f64::from(h);
    for (i, r) in &image {
        let area = r.area();
        if area as f64 / frame_area >= MIN_REQUIRED_AREA
            && (count_in(&mask, w, &r.rect(0.0)) as f64) < MIN_COVERAGE * area as f64
        {
            report.missed.push(*i);
        }
    }

    // Clip each fitted region to the image rectangle it overlaps most, or,
    // when it covers several declared image rectangles (a dual screen whose
    // touching panes the map joined), to each of them: one region per pane,
    // never one that spans the gap between them.
    let mut clipped = Regions::new();
    // The declared image that owns each region of `clipped`, if any.
    let mut owned: Vec<Option<usize>> = Vec::new();
    for region in fitted.iter() {
        let own = raster(&Regions::one(*region), w, h);
        let covered: Vec<&(usize, UsRegion)> = image
            .iter()
            .filter(|(_, r)| {
                let area = r.area();
                area as f64 / frame_area >= MIN_REQUIRED_AREA
                    && count_in(&own, w, &r.rect(0.0)) as f64 >= MIN_COVERAGE * area as f64
            })
            .collect();
        let best = image
            .iter()
            .map(|(i, r)| (count_in(&own, w, &r.rect(MARGIN)), i, r))
            .max_by_key(|(n, _, _)| *n)
            .filter(|(n, _, _)| *n > 0)
            .map(|(_, i, r)| (*i, *r));
        let targets: Vec<(usize, UsRegion)> =
            if covered.len() >= 2 && clipped.len() + covered.len() <= MAX_REGIONS {
                covered.into_iter().copied().collect()
            } else {
                best.into_iter().collect()
            };
        if targets.is_empty() {
            // Capacity is the same as the input's.
            if clipped.push(*region).is_ok() {
                owned.push(None);
            }
            continue;
        }
        for (i, r) in targets {
            let b = r.rect(MARGIN);
            let out = match region {
                Region::Fan(f) => {
                    let mut f = *f;
                    f.clip = Some(f.clip.map_or(b, |c| intersect(&c, &b)));
                    Region::Fan(f)
                }
                Region::Rect(rect) => {
                    let c = intersect(rect, &b);
                    let d = r.rect(0.0);
                    // Already over most of the declared image both ways:
                    // the rest is scan the map missed at its dark edges.
                    if c.width() >= FILL_FRACTION * d.width()
                        && c.height() >= FILL_FRACTION * d.height()
                    {
                        Region::Rect(d)
                    } else {
                        Region::Rect(c)
                    }
                }
            };
            if clipped.push(out).is_err() {
                break;
            }
            owned.push(Some(i));
        }
    }
    let clipped = join_stacked_pieces(clipped, &owned, &image, w, h, &mut report);
    (clipped, report)
}

/// A piece narrower than this fraction of the pieces' joint width is beside
/// the others (a second pane), not above or below them.
pub const STACKED_WIDTH: f32 = 0.8;

/// Declared images that own more than one region: pieces stacked one above
/// the other, each about as wide as all of them together, are one image
/// the map broke at a dark band (a linear probe's black near field under
/// its bright probe-face rows): they become their joint bounding
/// rectangle, clipped to the declaration. Any other split is reported
/// (`PriorReport::split`), and the clip fails closed.
fn join_stacked_pieces(
    clipped: Regions,
    owned: &[Option<usize>],
    image: &[(usize, UsRegion)],
    w: u16,
    h: u16,
    report: &mut PriorReport,
) -> Regions {
    let mut out = Regions::new();
    let mut done: Vec<usize> = Vec::new();
    for (k, region) in clipped.iter().enumerate() {
        let Some(i) = owned.get(k).copied().flatten() else {
            let _ = out.push(*region);
            continue;
        };
        if done.contains(&i) {
            continue;
        }
        let pieces: Vec<Region> = clipped
            .iter()
            .zip(owned)
            .filter(|(_, o)| **o == Some(i))
            .map(|(r, _)| *r)
            .collect();
        if pieces.len() < 2 {
            let _ = out.push(*region);
            continue;
        }
        done.push(i);
        let boxes: Vec<Rect> = pieces
            .iter()
            .filter_map(|r| raster_box(&Regions::one(*r), w, h))
            .collect();
        let joint = boxes.iter().copied().reduce(|a, b| {
            Rect::new(
                a.x0.min(b.x0),
                a.y0.min(b.y0),
                a.x1.max(b.x1),
                a.y1.max(b.y1),
            )
        });
        let declared = image
            .iter()
            .find(|(j, _)| *j == i)
            .map(|(_, r)| r.rect(MARGIN));
        match (joint, declared) {
            (Some(joint), Some(d))
                if boxes.len() == pieces.len()
                    && boxes
                        .iter()
                        .all(|b| b.width() >= STACKED_WIDTH * joint.width()) =>
            {
                let _ = out.push(Region::Rect(intersect(&joint, &d)));
            }
            _ => {
                report.split.push(i);
                for r in pieces {
                    let _ = out.push(r);
                }
            }
        }
    }
    out
}

/// The bounding rectangle of what `regions` rasterise to, in pixel edges;
/// `None` when they cover nothing.
fn raster_box(regions: &Regions, w: u16, h: u16) -> Option<Rect> {
    let m = raster(regions, w, h);
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for (y, row) in m.chunks_exact(w as usize).enumerate() {
        if let (Some(a), Some(b)) = (
            row.iter().position(|&v| v != 0),
            row.iter().rposition(|&v| v != 0),
        ) {
            x0 = x0.min(a);
            x1 = x1.max(b + 1);
            y0 = y0.min(y);
            y1 = y + 1;
        }
    }
    (x0 < x1).then(|| Rect::new(x0 as f32, y0 as f32, x1 as f32, y1 as f32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(sf: u16, x0: u32, y0: u32, x1: u32, y1: u32) -> UsRegion {
        UsRegion {
            spatial_format: sf,
            data_type: 1,
            x0,
            y0,
            x1,
            y1,
        }
    }

    #[test]
    fn clips_to_the_declared_rectangle_and_measures_the_overspill() {
        // A rectangle fit that spills 10 px above the declared region.
        let fitted = Regions::one(Region::Rect(Rect::new(20.0, 10.0, 80.0, 90.0)));
        let declared = [region(1, 20, 20, 79, 89), region(4, 0, 92, 99, 99)];
        let (clipped, rep) = apply(&fitted, &declared, 100, 100);
        assert!(rep.used && rep.missed.is_empty(), "{rep:?}");
        // 8 of the 80 spilled rows lie beyond the 2 px margin.
        assert!((rep.outside_fraction - 8.0 / 80.0).abs() < 1e-9, "{rep:?}");
        let Region::Rect(r) = clipped.iter().next().unwrap() else {
            panic!()
        };
        // It spans the whole declared box, so it becomes that box.
        assert_eq!((r.x0, r.y0, r.x1, r.y1), (20.0, 20.0, 80.0, 90.0));
        // One that spans under 90 % of it is only clipped (2 px margin).
        let fitted = Regions::one(Region::Rect(Rect::new(30.0, 10.0, 80.0, 90.0)));
        let (clipped, _) = apply(&fitted, &declared, 100, 100);
        let Region::Rect(r) = clipped.iter().next().unwrap() else {
            panic!()
        };
        assert_eq!((r.x0, r.y0, r.x1, r.y1), (30.0, 18.0, 80.0, 90.0));
    }

    #[test]
    fn a_fit_across_touching_panes_becomes_one_region_per_pane() {
        // The map joined a dual screen's panes: one rectangle over both,
        // missing the left pane's first 20 columns.
        let fitted = Regions::one(Region::Rect(Rect::new(20.0, 10.0, 100.0, 90.0)));
        let panes = [region(1, 0, 10, 49, 89), region(1, 50, 10, 99, 89)];
        let (clipped, rep) = apply(&fitted, &panes, 100, 100);
        assert!(
            rep.used && rep.missed.is_empty() && rep.split.is_empty(),
            "{rep:?}"
        );
        let rects: Vec<(f32, f32)> = clipped
            .iter()
            .map(|r| match r {
                Region::Rect(r) => (r.x0, r.x1),
                Region::Fan(_) => panic!("{r:?}"),
            })
            .collect();
        // Each pane keeps what the fit covers of it, nothing of the other
        // (the 2 px margin aside); the right one, covered whole, is its
        // declared box.
        assert_eq!(rects, [(20.0, 52.0), (50.0, 100.0)]);
        // A fit covering one pane and a sliver of the other stays one region.
        let fitted = Regions::one(Region::Rect(Rect::new(0.0, 10.0, 60.0, 90.0)));
        let (clipped, _) = apply(&fitted, &panes, 100, 100);
        assert_eq!(clipped.len(), 1);
    }

    #[test]
    fn missed_panes_and_unusable_declarations() {
        let fitted = Regions::one(Region::Rect(Rect::new(0.0, 0.0, 50.0, 100.0)));
        let panes = [region(1, 0, 0, 49, 99), region(1, 50, 0, 99, 99)];
        let (_, rep) = apply(&fitted, &panes, 100, 100);
        assert_eq!(rep.missed, [1]);
        // Coordinates past the frame: ignored, regions unchanged.
        let (same, rep) = apply(&fitted, &[region(1, 0, 0, 199, 99)], 100, 100);
        assert!(!rep.used && rep.ignored_because.is_some());
        assert_eq!(same, fitted);
        // One past the frame's edge is the edge.
        let (_, rep) = apply(&fitted, &[region(1, 0, 0, 49, 100)], 100, 100);
        assert!(rep.used, "{rep:?}");
        // Two fitted pieces side by side inside one declared image: split.
        let mut two = Regions::one(Region::Rect(Rect::new(0.0, 0.0, 20.0, 100.0)));
        two.push(Region::Rect(Rect::new(30.0, 0.0, 50.0, 100.0)))
            .unwrap();
        let (_, rep) = apply(&two, &panes[..1], 100, 100);
        assert_eq!(rep.split, [0]);
        let (_, rep) = apply(&fitted, &panes[..1], 100, 100);
        assert!(rep.split.is_empty());
        // Only an ECG strip declared: ignored.
        let (_, rep) = apply(&fitted, &[region(4, 0, 0, 99, 9)], 100, 100);
        assert!(!rep.used && rep.ignored_because.is_some());
        // Nothing declared: nothing to say.
        let (_, rep) = apply(&fitted, &[], 100, 100);
        assert!(!rep.used && rep.ignored_because.is_none());
    }

    #[test]
    fn stacked_pieces_of_one_declared_image_are_joined() {
        // A linear image the map broke at its black near field: the bright
        // probe-face rows as one rectangle, the tissue below as a fan-cut
        // piece, both inside one declared box wider than the image (as the
        // Philips EPIQ declares it).
        let declared = [region(1, 0, 0, 99, 99)];
        let mut pieces = Regions::one(Region::Rect(Rect::new(20.0, 10.0, 80.0, 20.0)));
        let fan = sonomask_core::Fan {
            apex_x: 50.0,
            apex_y: -200.0,
            angle_left: -0.2,
            angle_right: 0.2,
            r_inner: 0.0,
            r_outer: 290.0,
            flat_top: Some(35.0),
            clip: Some(Rect::new(22.0, 0.0, 79.0, 100.0)),
        };
        pieces.push(Region::Fan(fan)).unwrap();
        let (joined, rep) = apply(&pieces, &declared, 100, 100);
        assert!(rep.split.is_empty(), "{rep:?}");
        assert_eq!(joined.len(), 1);
        let Some(Region::Rect(r)) = joined.iter().next() else {
            panic!("{joined:?}")
        };
        assert_eq!((r.x0, r.y0, r.x1, r.y1), (20.0, 10.0, 80.0, 90.0));
        // A narrow piece beside a wide one is not stacked: split.
        let mut beside = Regions::one(Region::Rect(Rect::new(10.0, 10.0, 80.0, 50.0)));
        beside
            .push(Region::Rect(Rect::new(82.0, 10.0, 98.0, 90.0)))
            .unwrap();
        let (_, rep) = apply(&beside, &declared, 100, 100);
        assert_eq!(rep.split, [0]);
    }
}
