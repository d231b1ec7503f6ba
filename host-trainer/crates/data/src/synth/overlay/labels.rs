//! Free-standing labels and icons: dual-screen pane labels and counters,
//! bottom annotations, safety indices and scale bar, corner icons and the
//! body marker.

use super::place::region_bbox;
use super::{Align, Builder, DynText, grey};
use crate::synth::draw::{self, Rgb};
use crate::synth::phi;
use crate::synth::util::Pick;
use rand::Rng;

pub(super) fn dual_labels(b: &mut Builder<'_>, rng: &mut impl Rng) {
    let plan = b.ctx.plan;
    let s = b.style.scale * 0.9;
    let green: Rgb = if b.ctx.color {
        [40, 220, 60]
    } else {
        grey(200)
    };
    let hz = format!("{}Hz", b.ctx.scan.timing.fps.round() as i32);
    let total = rng.ui(60, 200) as u32;
    for (k, p) in plan.panes.iter().enumerate() {
        let bb = region_bbox(&p.region, b.w, b.h);
        let x = bb.2 - 4.0;
        let y = bb.1 + rng.uf(2.0, 10.0);
        let start = rng.ui(0, total as i32 - 1) as u32;
        let t = b.style.text;
        if p.frozen {
            b.text(
                x,
                y,
                &format!("{}/{}", start + 1, total),
                Align::Right,
                s,
                t,
                false,
                true,
            );
        } else {
            let sample = format!("{total}/{total}");
            let ok = b.dyn_text(
                x,
                y,
                Align::Right,
                s,
                t,
                DynText::Counter {
                    start,
                    total,
                    suffix: String::new(),
                },
                &sample,
            );
            if !ok {
                b.text(
                    x,
                    y,
                    &format!("{}/{}", start + 1, total),
                    Align::Right,
                    s,
                    t,
                    false,
                    true,
                );
            }
        }
        b.text(x, y + b.style.line_h, &hz, Align::Right, s, t, false, true);
        // Pane marker and focus arrows at the pane sides.
        if rng.chance(0.7) {
            draw::disc(&mut b.layer, bb.0 + 8.0 + k as f32, bb.1 + 6.0, 3.5, green);
        }
        if rng.chance(0.6) {
            for yy in [0.25f32, 0.5] {
                let y = bb.1 + (bb.3 - bb.1) * yy;
                let x = if k == 0 { bb.0 - 3.0 } else { bb.2 + 3.0 };
                let d = if k == 0 { -8.0 } else { 8.0 };
                draw::fill_convex(
                    &mut b.layer,
                    &[(x, y), (x + d, y - 5.0), (x + d, y + 5.0)],
                    green,
                );
            }
        }
        // Parameter line under each pane.
        if rng.chance(0.6) {
            let line = format!(
                "{}  {:.1} R{} G{} C{}",
                phi::digits(rng, 4),
                rng.uf(2.0, 7.5),
                rng.ui(5, 30),
                rng.ui(40, 80),
                rng.ui(1, 9)
            );
            let t = b.style.text;
            b.text(
                bb.0 + 6.0,
                bb.3 + 6.0,
                &line,
                Align::Left,
                s,
                t,
                false,
                false,
            );
        }
    }
}

pub(super) fn bottom_text(b: &mut Builder<'_>, rng: &mut impl Rng) {
    let s = b.style.scale;
    let bottom = match b.ctx.plan.ui.toolbar {
        Some(t) if t.y0 > 0 => t.y0 as f32 - 3.0,
        _ => b.h - 3.0,
    };
    if rng.chance(0.5) {
        let ann = phi::annotation(b.ctx.plan.probe, rng);
        let sc = s * rng.uf(1.0, 1.4);
        let c = if b.ctx.color && rng.chance(0.5) {
            [230, 215, 160]
        } else {
            b.style.text
        };
        let y = bottom - 7.0 * sc - rng.uf(0.0, 6.0);
        let allow = rng.chance(0.3);
        let x = b.w * rng.uf(0.3, 0.6);
        if !b.text(x, y, &ann, Align::Center, sc, c, false, allow) {
            b.text(b.style.margin, y, &ann, Align::Left, sc, c, false, false);
        }
    }
    if rng.chance(0.35) {
        let saf = phi::safety(rng).join("  ");
        let sc = s * 0.9;
        let t = b.style.text;
        b.text(
            b.w - b.style.margin,
            bottom - 7.0 * sc - 2.0,
            &saf,
            Align::Right,
            sc,
            t,
            false,
            false,
        );
    }
    if rng.chance(0.12) {
        // Scale bar.
        let y = bottom - rng.uf(14.0, 40.0);
        let x0 = b.w * rng.uf(0.1, 0.2);
        let x1 = x0 + b.w * rng.uf(0.2, 0.3);
        let r = [x0 as i32, y as i32 - 6, x1 as i32, y as i32 + 3];
        if b.placer.free(r, 2, false) {
            let c = b.style.text;
            draw::line(&mut b.layer, (x0, y), (x1, y), 1.0, c);
            draw::line(&mut b.layer, (x0, y - 6.0), (x0, y), 1.0, c);
            draw::line(&mut b.layer, (x1, y - 6.0), (x1, y), 1.0, c);
            draw::disc(
                &mut b.layer,
                x0 + (x1 - x0) * rng.uf(0.5, 0.9),
                y - 2.0,
                2.0,
                c,
            );
            b.reserve(r);
        }
    }
}

pub(super) fn corner_icons(b: &mut Builder<'_>, rng: &mut impl Rng) {
    let c: Rgb = if b.ctx.color {
        *rng.pick(&[[230, 190, 40], [0, 170, 170], grey(200)])
    } else {
        grey(200)
    };
    let s = b.style.scale;
    let y = b.ctx.plan.ui.header_h as f32 + rng.uf(4.0, 16.0);
    let x = if rng.chance(0.5) {
        b.style.margin
    } else {
        b.w * rng.uf(0.2, 0.3)
    };
    let sz = 5.0 * s;
    let r = [
        x as i32 - 1,
        y as i32 - 1,
        (x + sz * 1.6) as i32 + 1,
        (y + sz) as i32 + 1,
    ];
    if !b.placer.free(r, 2, false) {
        return;
    }
    if rng.chance(0.5) {
        for k in 0..3 {
            let yy = y + k as f32 * sz * 0.35;
            let pts: Vec<(f32, f32)> = (0..=8)
                .map(|i| (x + i as f32 * sz * 0.2, yy + (i as f32 * 1.6).sin() * 1.2))
                .collect();
            draw::polyline(&mut b.layer, &pts, 1.2, c, 1.0);
        }
    } else {
        draw::fill_rect(
            &mut b.layer,
            x as i32,
            y as i32,
            (x + sz * 1.3) as i32,
            (y + sz) as i32,
            c,
            1.0,
        );
        draw::text(
            &mut b.layer,
            x + sz * 0.25,
            y + sz * 0.15,
            "a",
            (sz * 0.7 / 7.0).max(0.8),
            grey(0),
            true,
        );
    }
    b.reserve(r);
}

pub(super) fn body_marker(b: &mut Builder<'_>, rng: &mut impl Rng) {
    let s = b.style.scale;
    let r = 10.0 * s * rng.uf(0.8, 1.3);
    let x = if rng.chance(0.5) {
        b.style.margin + r + rng.uf(0.0, 30.0)
    } else {
        b.w - b.style.margin - r - rng.uf(0.0, 30.0)
    };
    let y = b.h * rng.uf(0.7, 0.85);
    let rect = [
        (x - r - 3.0) as i32,
        (y - r - 3.0) as i32,
        (x + r + 3.0) as i32,
        (y + r * 1.6 + 3.0) as i32,
    ];
    if !b.placer.free(rect, 3, false) {
        return;
    }
    let c = grey(rng.ui(170, 230) as u8);
    draw::ring(&mut b.layer, x, y, r * 0.35, 1.0, c);
    let body = [
        (x - r * 0.5, y + r * 0.4),
        (x + r * 0.5, y + r * 0.4),
        (x + r * 0.6, y + r * 1.5),
        (x - r * 0.6, y + r * 1.5),
        (x - r * 0.5, y + r * 0.4),
    ];
    draw::polyline(&mut b.layer, &body, 1.0, c, 1.0);
    let a = rng.uf(0.0, std::f32::consts::PI);
    let (px, py) = (x + rng.uf(-0.3, 0.3) * r, y + r * 0.9);
    draw::line(
        &mut b.layer,
        (px - a.cos() * r * 0.4, py - a.sin() * r * 0.4),
        (px + a.cos() * r * 0.4, py + a.sin() * r * 0.4),
        2.5,
        b.style.marker,
    );
    b.reserve(rect);
}
