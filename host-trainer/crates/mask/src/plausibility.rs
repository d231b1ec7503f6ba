//! Whether a clip's keep regions are believable enough to emit; anything
//! else fails closed (the clip goes out fully black and to review).
//!
//! The fit already guarantees geometrically valid fans and rectangles; what
//! is left to judge is the amount kept and the agreement with what the
//! file itself declares. The limits are deliberately loose: a real scan
//! region covers roughly 15–75 % of a frame on every layout we have seen
//! (synthetic and `../shared/realdata`), and a mask outside them is far
//! more likely a failed prediction than an unusual screen.

use sonomask_core::Regions;

use super::us_regions::{MIN_COVERAGE, PriorReport};

/// Below this fraction of the frame the mask has lost the scan region.
pub const MIN_KEEP_FRACTION: f64 = 0.03;
/// Above this fraction the mask keeps the overlays too.
pub const MAX_KEEP_FRACTION: f64 = 0.90;
/// More than this fraction of the kept area outside every declared image
/// region means the fit and the scanner disagree.
pub const MAX_OUTSIDE_DECLARED: f64 = 0.25;

/// `Ok` when the regions may be emitted, else the reason (for people).
pub fn check(regions: &Regions, kept_fraction: f64, prior: &PriorReport) -> Result<(), String> {
    if regions.is_empty() || !regions.is_valid() {
        return Err("the fit returned no valid region".into());
    }
    // NaN fails too.
    if kept_fraction.is_nan() || kept_fraction < MIN_KEEP_FRACTION {
        return Err(format!(
            "keeps only {:.1}% of the frame (at least {:.0}% expected)",
            100.0 * kept_fraction,
            100.0 * MIN_KEEP_FRACTION
        ));
    }
    if kept_fraction > MAX_KEEP_FRACTION {
        return Err(format!(
            "keeps {:.1}% of the frame: overlays would survive (at most {:.0}% expected)",
            100.0 * kept_fraction,
            100.0 * MAX_KEEP_FRACTION
        ));
    }
    if prior.used && prior.outside_fraction > MAX_OUTSIDE_DECLARED {
        return Err(format!(
            "{:.0}% of the kept area lies outside the file's Sequence of Ultrasound Regions",
            100.0 * prior.outside_fraction
        ));
    }
    if prior.used && !prior.missed.is_empty() {
        return Err(format!(
            "keeps under {:.0}% of declared ultrasound region(s) {:?}",
            100.0 * MIN_COVERAGE,
            prior.missed
        ));
    }
    if prior.used && !prior.split.is_empty() {
        return Err(format!(
            "the scan in declared ultrasound region(s) {:?} came out in pieces",
            prior.split
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonomask_core::{Rect, Region};

    #[test]
    fn limits() {
        let r = Regions::one(Region::Rect(Rect::new(10.0, 10.0, 50.0, 50.0)));
        let ok = PriorReport::default();
        assert!(check(&r, 0.4, &ok).is_ok());
        assert!(check(&r, 0.01, &ok).unwrap_err().contains("only 1.0%"));
        assert!(check(&r, f64::NAN, &ok).is_err());
        assert!(check(&r, 0.95, &ok).unwrap_err().contains("overlays"));
        assert!(check(&Regions::new(), 0.4, &ok).is_err());
        let outside = PriorReport {
            used: true,
            outside_fraction: 0.3,
            ..PriorReport::default()
        };
        assert!(
            check(&r, 0.4, &outside)
                .unwrap_err()
                .contains("Ultrasound Regions")
        );
        // Not used: its numbers do not count.
        let unused = PriorReport {
            used: false,
            ..outside.clone()
        };
        assert!(check(&r, 0.4, &unused).is_ok());
        let missed = PriorReport {
            used: true,
            missed: vec![1],
            ..PriorReport::default()
        };
        assert!(check(&r, 0.4, &missed).unwrap_err().contains("[1]"));
        let split = PriorReport {
            used: true,
            split: vec![0],
            ..PriorReport::default()
        };
        assert!(check(&r, 0.4, &split).unwrap_err().contains("pieces"));
    }
}
