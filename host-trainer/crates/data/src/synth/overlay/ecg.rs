//! The sweeping ECG trace: its placement and style (built once per clip)
//! and its per-frame drawing.

use super::place::region_bbox;
use super::{Align, Builder, Dynamic, grey};
use crate::synth::draw::{self, FrameSurface, Rgb};
use crate::synth::scan::Timing;
use crate::synth::util::{Pick, hash_normal};
use rand::Rng;

/// A sweeping (or scrolling) ECG trace, drawn per frame.
#[derive(Clone, Debug)]
pub(super) struct Ecg {
    x0: f32,
    x1: f32,
    base: f32,
    amp: f32,
    color: Rgb,
    width: f32,
    sweep: bool,
    gap: f32,
    px_per_s: f32,
    head_dot: bool,
    seed: u64,
}

pub(super) fn ecg(b: &mut Builder<'_>, rng: &mut impl Rng) -> bool {
    let plan = b.ctx.plan;
    let (ix0, _, ix1, _) = plan.image;
    let iw = (ix1 - ix0) as f32;
    let x0 = ix0 as f32 + rng.uf(0.0, 0.12) * iw;
    let x1 = ix1 as f32 - rng.uf(0.0, 0.12) * iw;
    let amp = b.h * rng.uf(0.035, 0.08);
    let bottom_limit = match plan.ui.toolbar {
        Some(t) if t.y0 > 0 => t.y0 as f32 - 4.0,
        _ => b.h - 4.0,
    } - amp * 0.4;
    let base = if let Some((_, sy0, _, sy1)) = plan.strip {
        if rng.chance(0.6) {
            sy1 as f32 - (sy1 - sy0) as f32 * rng.uf(0.08, 0.3)
        } else {
            (sy1 as f32 + amp * 1.2 + 4.0).min(bottom_limit)
        }
    } else {
        let bb = region_bbox(&plan.panes[0].region, b.w, b.h);
        if rng.chance(0.55) {
            // Across the lower arc of the fan.
            bb.3 - rng.uf(-0.02, 0.12) * b.h
        } else {
            (bb.3 + rng.uf(0.02, 0.09) * b.h).min(bottom_limit)
        }
    }
    .min(bottom_limit)
    .max(amp * 1.2);
    let color = if b.ctx.color {
        *rng.pick(&[
            [0, 230, 0],
            [60, 220, 60],
            [0, 255, 120],
            [40, 200, 40],
            [230, 230, 0],
            grey(220),
        ])
    } else {
        grey(rng.ui(160, 255) as u8)
    };
    let e = Ecg {
        x0,
        x1,
        base,
        amp,
        color,
        width: rng.uf(1.0, 2.0),
        sweep: rng.chance(0.75),
        gap: rng.uf(6.0, 20.0),
        px_per_s: rng.uf(60.0, 160.0) * b.h / 600.0,
        head_dot: rng.chance(0.4),
        seed: b.ctx.seed,
    };
    if rng.chance(0.4) {
        let s = b.style.scale * 0.85;
        let hr = b.ctx.scan.timing.hr.round();
        let c = e.color;
        b.text(
            x1 + 6.0,
            base - amp * 0.6,
            &format!("{hr:.0} bpm"),
            Align::Left,
            s,
            c,
            false,
            false,
        );
    }
    b.dynamic.push(Dynamic::Ecg(e));
    true
}

/// ECG voltage (R peak = 1) at cardiac phase `p` (QRS at integers).
fn ecg_wave(p: f32) -> f32 {
    let mut d = p.rem_euclid(1.0);
    if d > 0.5 {
        d -= 1.0;
    }
    let g = |c: f32, w: f32, a: f32| a * (-((d - c) / w).powi(2)).exp();
    g(-0.16, 0.03, 0.12)
        + g(-0.018, 0.008, -0.12)
        + g(0.0, 0.009, 1.0)
        + g(0.022, 0.01, -0.28)
        + g(0.3, 0.05, 0.25)
}

impl Ecg {
    pub(super) fn draw(&self, t: f32, timing: &Timing, s: &mut FrameSurface<'_>) {
        let w = self.x1 - self.x0;
        let y_at = |tau: f32| {
            let n = hash_normal(self.seed, (tau * 500.0) as i64 as u64) * 0.02;
            let wander = 0.05 * (tau * 0.9).sin();
            self.base - self.amp * (ecg_wave(timing.cycle(tau)) + n + wander)
        };
        let step = 1.5;
        let mut segs: Vec<Vec<(f32, f32)>> = vec![Vec::new(), Vec::new()];
        let head = (t * self.px_per_s).rem_euclid(w);
        let mut x = 0.0;
        while x <= w {
            let (seg, tau) = if !self.sweep {
                (0, t - (w - x) / self.px_per_s)
            } else if x <= head {
                (0, t - (head - x) / self.px_per_s)
            } else if x > head + self.gap {
                (1, t - (head - x + w) / self.px_per_s)
            } else {
                x += step;
                continue;
            };
            segs[seg].push((self.x0 + x, y_at(tau)));
            x += step;
        }
        for seg in &segs {
            draw::polyline(s, seg, self.width, self.color, 1.0);
        }
        if self.sweep
            && self.head_dot
            && let Some(&(hx, hy)) = segs[0].last()
        {
            draw::disc(s, hx, hy, self.width + 1.0, self.color);
        }
    }
}
