//! The paper's starting point, checked on every run: on the acceptance
//! dataset (`sonomask synth --clips 100 --seed 7`, default layouts, sizes and
//! frame count) the simple threshold labeler scores pixel accuracy in
//! [0.72, 0.92] and the temporal labeler beats it by at least 2 points.
//!
//! The band's top is what thresholding scores on real frames: 0.785 on the
//! real development set (`datasets/real-dev`, 10 clips then: `bash
//! scripts/real-dev.sh` then `sonomask weak-label --method threshold` and
//! `eval`), 0.905 on the 14 unseen-scanner frames of issue 17, 0.92 on the
//! paper's echo. Its bottom is lower than any of those because about a third
//! of the synthetic clips now show screens other than the scanner's own (app
//! windows, handheld apps, bare probe streams, frames up to 2083×1455),
//! whose bright chrome a threshold keeps: 0.7385 on this set when the band
//! was set. (It used to be [0.89, 0.95], met by sectors far brighter than
//! real ones — 1 % of in-sector pixels below luma 20 against about 40 % on
//! real frames — on which "bright = inside" was nearly right.)
//!
//! Runs in memory (no PNG round trip: PNG is lossless and grey clips are
//! stored as the luma of their equal RGB channels, so the numbers are the
//! ones `sonomask eval` prints for the same data).

use rayon::prelude::*;
use sonomask_data::dataset::rgb_to_luma;
use sonomask_data::evaluate::{self, ClipScore};
use sonomask_data::synth::{self, SynthConfig};
use sonomask_data::weak::{self, Method};

fn scores(cfg: &SynthConfig, method: Method) -> evaluate::Summary {
    let rows: Vec<ClipScore> = (0..cfg.clips)
        .into_par_iter()
        .map(|i| {
            let clip = synth::generate_clip(cfg, i);
            let luma: Vec<_> = if clip.meta.color {
                clip.frames.iter().map(rgb_to_luma).collect()
            } else {
                clip.frames
                    .iter()
                    .map(|f| image::DynamicImage::ImageRgb8(f.clone()).into_luma8())
                    .collect()
            };
            let mask = weak::label_clip(method, &luma);
            let (w, h) = clip.sector.dimensions();
            evaluate::score_mask(
                &clip.meta.id,
                mask.as_raw(),
                clip.sector.as_raw(),
                clip.overlay.as_raw(),
                w,
                h,
            )
            .unwrap()
        })
        .collect();
    evaluate::summarise(rows)
}

#[test]
fn threshold_lands_near_the_paper_and_temporal_beats_it() {
    let cfg = SynthConfig {
        seed: 7,
        clips: 100,
        frames: 16,
        ..SynthConfig::default()
    };
    let t = scores(&cfg, Method::Threshold);
    let m = scores(&cfg, Method::Temporal);
    eprintln!(
        "threshold: accuracy {:.4} dice {:.4} phi_leak {:.4}; temporal: accuracy {:.4} dice {:.4} phi_leak {:.4}",
        t.pixel_accuracy, t.dice, t.phi_leak, m.pixel_accuracy, m.dice, m.phi_leak
    );
    assert!(
        (0.72..=0.92).contains(&t.pixel_accuracy),
        "threshold accuracy {:.4} outside [0.72, 0.92]",
        t.pixel_accuracy
    );
    assert!(
        m.pixel_accuracy >= t.pixel_accuracy + 0.02,
        "temporal {:.4} does not beat threshold {:.4} by 2 points",
        m.pixel_accuracy,
        t.pixel_accuracy
    );
}
