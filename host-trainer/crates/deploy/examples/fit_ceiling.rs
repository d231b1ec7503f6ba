//! How well can any 80×64 network do once its map goes through the shared
//! fit? Feeds each clip's true sector, area-averaged to the net's input size
//! (a perfect network's output), through the same fit `predict` uses and
//! scores the result against the truth, per layout.
//!
//! `cargo run --release -p sonomask-deploy --example fit_ceiling -- DATASET`

use std::collections::BTreeMap;

use sonomask_data::dataset::Dataset;
use sonomask_data::evaluate::score_mask;
use sonomask_data::frames::area_average;
use sonomask_deploy::maps::{DEFAULT_KEEP_LEVEL, mask_from_map, probability_to_u8};

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: fit_ceiling DATASET"))?;
    let data = Dataset::open(&dir)?;
    let (w, h) = (80, 64);
    let mut by_layout: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for c in data.clips() {
        let truth = data.load_sector(&c.id)?;
        let prob: Vec<f32> =
            area_average(truth.as_raw(), c.width as usize, c.height as usize, w, h)
                .into_iter()
                .map(|v| v / 255.0)
                .collect();
        let map = probability_to_u8(&prob);
        let mask = mask_from_map(&map, w, h, c.width, c.height, DEFAULT_KEEP_LEVEL)?;
        let overlay = data.load_overlay(&c.id)?;
        let s = score_mask(&c.id, &mask, &truth, &overlay, c.width, c.height)?;
        let layout = data.load_meta(&c.id)?["layout"]
            .as_str()
            .unwrap_or("?")
            .to_string();
        by_layout.entry(layout).or_default().push(s.pixel_accuracy);
        if s.pixel_accuracy < 0.99 {
            println!("{} {:.4}", c.id, s.pixel_accuracy);
        }
    }
    let all: Vec<f64> = by_layout.values().flatten().copied().collect();
    println!("all {:.4}", all.iter().sum::<f64>() / all.len() as f64);
    for (l, v) in by_layout {
        println!(
            "{l} {:.4} ({} clips)",
            v.iter().sum::<f64>() / v.len() as f64,
            v.len()
        );
    }
    Ok(())
}
