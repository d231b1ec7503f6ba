//! A phone or tablet app for a handheld probe: status bar, app bar with the
//! preset (and a patient line, sometimes hidden under a white redaction
//! blob), the image in the middle with a depth ruler beside it, a parameter
//! line and a tool bar of icons with labels. Most such apps are black
//! around the image; some are navy or light.

use super::widgets::{self, round_rect, status_icons};
use super::{Badge, View};
use crate::synth::draw::{self, Layer, Rgb};
use crate::synth::phi;
use crate::synth::util::Pick;
use rand::Rng;

/// Draws the app into `layer` and returns where the image goes and the
/// logo badge to put on it.
pub(super) fn app(layer: &mut Layer, rng: &mut impl Rng) -> Option<(View, Badge)> {
    let (w, h) = (layer.w as f32, layer.h as f32);
    let portrait = h > w;
    let u = (w.min(h) / 720.0).clamp(0.45, 1.8);
    let ts = (2.0 * u).max(1.0);
    let bg: Rgb = match rng.weighted(&[0.55, 0.15, 0.12, 0.18]) {
        0 => [0; 3],
        1 => [18, 20, 24],
        2 => [26, 34, 50],
        _ => [244, 244, 246],
    };
    let light = bg[0] > 128;
    let fg: Rgb = if light { [30; 3] } else { [225; 3] };
    let accent: Rgb = *rng.pick(&[
        [0, 150, 200],
        [40, 180, 160],
        [250, 140, 30],
        [90, 120, 240],
    ]);
    if bg != [0; 3] {
        draw::fill_rect(layer, 0, 0, w as i32, h as i32, bg, 1.0);
    }
    // Status bar.
    let sb = (26.0 * u).round();
    let s = ts * 0.8;
    let clock = format!("{}:{:02}", rng.ui(1, 12), rng.ui(0, 59));
    draw::text(layer, 12.0 * u, (sb - 7.0 * s) / 2.0, &clock, s, fg, false);
    status_icons(layer, w - 10.0 * u, sb / 2.0, 10.0 * u, fg);
    // App bar.
    let ab = (52.0 * u).round();
    let y0 = sb;
    draw::polyline(
        layer,
        &[
            (20.0 * u, y0 + ab * 0.35),
            (12.0 * u, y0 + ab * 0.5),
            (20.0 * u, y0 + ab * 0.65),
        ],
        2.0 * u.max(0.6),
        fg,
        1.0,
    );
    let title = *rng.pick(&[
        "Abdomen", "MSK", "Lung", "Cardiac", "Vascular", "Bladder", "OB/GYN", "Nerve",
    ]);
    widgets::centred_text(layer, w / 2.0, y0 + ab * 0.5, title, ts * 1.1, fg);
    draw::ring(
        layer,
        w - 24.0 * u,
        y0 + ab * 0.5,
        8.0 * u,
        2.0 * u.max(0.6),
        fg,
    );
    let mut top = y0 + ab;
    if rng.chance(0.6) {
        // Patient line, redacted by hand with a white blob in some recordings.
        let s = ts * 0.85;
        let line = format!("{}  {}", phi::patient_name(rng), phi::date(rng));
        let tw = draw::text(layer, 12.0 * u, top + 4.0 * u, &line, s, fg, false);
        if rng.chance(0.5) {
            let pad = 4.0 * u;
            let x0 = 12.0 * u - pad + rng.uf(-4.0, 4.0) * u;
            let bw = tw * rng.uf(0.5, 1.1) + 2.0 * pad;
            round_rect(
                layer,
                [
                    x0,
                    top,
                    x0 + bw,
                    top + 7.0 * s + 8.0 * u + rng.uf(0.0, 8.0) * u,
                ],
                rng.uf(2.0, 10.0) * u,
                [rng.ui(240, 255) as u8; 3],
                None,
            );
        }
        top += 7.0 * s + 12.0 * u;
    }
    // Tool bar: under the image in portrait, at the right in landscape.
    let labels = [
        "Freeze", "Save", "Gain", "Depth", "Mode", "Exam", "Measure", "Clip",
    ];
    let n = rng.ui(4, 6) as usize;
    let tool_h = if portrait {
        (h * rng.uf(0.12, 0.18)).round()
    } else {
        0.0
    };
    let tool_w = if portrait {
        0.0
    } else {
        (w * rng.uf(0.12, 0.18)).round()
    };
    for i in 0..n {
        let (cx, cy, cell) = if portrait {
            let cell = w / n as f32;
            (cell * (i as f32 + 0.5), h - tool_h * 0.55, cell)
        } else {
            let cell = (h - top) / n as f32;
            (w - tool_w * 0.5, top + cell * (i as f32 + 0.4), cell)
        };
        let r = (cell * 0.18).min(22.0 * u);
        let c = if i == n / 2 && rng.chance(0.5) {
            accent
        } else {
            fg
        };
        match rng.ui(0, 2) {
            0 => draw::ring(layer, cx, cy - r * 0.3, r, 2.0 * u.max(0.6), c),
            1 => draw::rect_outline(
                layer,
                (cx - r) as i32,
                (cy - r * 1.3) as i32,
                (cx + r) as i32,
                (cy + r * 0.7) as i32,
                2,
                c,
            ),
            _ => draw::disc(layer, cx, cy - r * 0.3, r, c),
        }
        widgets::centred_text(
            layer,
            cx,
            cy + r * 1.2 + 5.0 * u,
            labels[(i * 3 + n) % labels.len()],
            ts * 0.7,
            fg,
        );
    }
    let bottom = h - tool_h - 4.0 * u;
    let right = w - tool_w;
    let mut v_bottom = bottom;
    if rng.chance(0.6) {
        let s = ts * 0.75;
        let line = format!(
            "Gain {}%  Depth {} cm  MI {:.1}  TIS {:.1}",
            rng.ui(20, 90),
            rng.ui(3, 20),
            rng.uf(0.2, 1.3),
            rng.uf(0.0, 0.9)
        );
        let line = widgets::fit(&line, right - 16.0 * u, s);
        v_bottom -= 7.0 * s + 10.0 * u;
        draw::text(layer, 8.0 * u, v_bottom + 5.0 * u, &line, s, fg, false);
    }
    let v = [0, (top + 4.0 * u) as i32, right as i32, v_bottom as i32];
    if (v[2] - v[0]) < 200 || (v[3] - v[1]) < 160 {
        return None;
    }
    // The scan draws the image area (black around its sector).
    layer.clear(v[0], v[1], v[2], v[3]);
    if rng.chance(0.6) {
        // Depth ruler along one side of the image.
        let left = rng.chance(0.5);
        let x = if left {
            v[0] as f32 + 10.0 * u
        } else {
            v[2] as f32 - 10.0 * u
        };
        let (ry0, ry1) = (v[1] as f32 + 6.0 * u, v[3] as f32 - 6.0 * u);
        draw::line(layer, (x, ry0), (x, ry1), 1.0, fg);
        let n = rng.ui(4, 8);
        for i in 0..=n {
            let y = ry0 + (ry1 - ry0) * i as f32 / n as f32;
            let d = if left { 6.0 * u } else { -6.0 * u };
            draw::line(layer, (x, y), (x + d, y), 1.0, fg);
            let s = ts * 0.7;
            let lab = format!("{}", i * 2);
            let tx = if left {
                x + d + 2.0
            } else {
                x + d - 2.0 - 6.0 * s * lab.len() as f32
            };
            draw::text(layer, tx, y - 3.5 * s, &lab, s, fg, false);
        }
    }
    let badge = Badge {
        size: rng.uf(26.0, 48.0) * u,
        color: *rng.pick(&[[255, 255, 255], accent, [200, 200, 200]]),
        alpha: rng.uf(0.5, 1.0),
        right: rng.chance(0.5),
        inside: rng.chance(0.5),
    };
    Some((
        View {
            rect: v,
            letterbox: false,
        },
        badge,
    ))
}
