//! Throughput of the data side: synthetic frames/s and weak-labeler frames/s.
//! Run with `cargo bench -p sonomask-data --bench throughput`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sonomask_data::dataset::rgb_to_luma;
use sonomask_data::synth::{self, Layout, SynthConfig};
use sonomask_data::weak::{self, Method};

fn cfg(layout: Layout) -> SynthConfig {
    SynthConfig {
        seed: 7,
        clips: 1,
        frames: 8,
        size: Some((800, 600)),
        layouts: vec![layout],
    }
}

fn bench_synth(c: &mut Criterion) {
    let mut g = c.benchmark_group("synth_800x600");
    g.sample_size(10);
    for layout in [Layout::Cardiac, Layout::Linear] {
        let cfg = cfg(layout);
        g.throughput(Throughput::Elements(cfg.frames as u64));
        g.bench_function(layout.to_string(), |b| {
            b.iter(|| synth::generate_clip(&cfg, 0))
        });
    }
    g.finish();
}

fn bench_labelers(c: &mut Criterion) {
    let clip = synth::generate_clip(&cfg(Layout::Cardiac), 0);
    let luma: Vec<_> = clip.frames.iter().map(rgb_to_luma).collect();
    let mut g = c.benchmark_group("weak_label_800x600");
    g.sample_size(10);
    g.throughput(Throughput::Elements(luma.len() as u64));
    for m in Method::ALL {
        g.bench_function(m.name(), |b| b.iter(|| weak::label_clip(m, &luma)));
    }
    g.finish();
}

criterion_group!(benches, bench_synth, bench_labelers);
criterion_main!(benches);
