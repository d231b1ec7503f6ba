//! Markers on and around the scan: orientation logo, calipers with their
//! measurements, the Doppler box outline, and the M-line / sample gate and
//! scales of an M-mode or spectral strip.

use super::place::region_bbox;
use super::{Align, Builder, grey};
use crate::synth::StripKind;
use crate::synth::beam::BeamGeom;
use crate::synth::draw::{self, Rgb};
use crate::synth::util::Pick;
use rand::Rng;

pub(super) fn orientation_logo(b: &mut Builder<'_>, rng: &mut impl Rng) {
    if !rng.chance(0.75) {
        return;
    }
    let pane = b.ctx.plan.panes[0];
    let bb = region_bbox(&pane.region, b.w, b.h);
    let r = b.style.scale * rng.uf(2.5, 5.0);
    let right = rng.chance(0.55);
    let kind = rng.ui(0, 4);
    let color: Rgb = if b.ctx.color {
        *rng.pick(&[
            [40, 200, 130],
            [60, 120, 220],
            [0, 190, 190],
            [230, 200, 60],
            grey(200),
        ])
    } else {
        grey(rng.ui(150, 240) as u8)
    };
    for attempt in 0..10 {
        let y = bb.1 + r + rng.uf(0.0, 20.0) + attempt as f32 * 4.0;
        let edge = if right {
            b.placer
                .sector_right((y - r) as i32 - 2, (y + r) as i32 + 2) as f32
        } else {
            b.placer.sector_left((y - r) as i32 - 2, (y + r) as i32 + 2) as f32
        };
        let edge = if edge < 0.0 || edge > b.w {
            if right { bb.2 } else { bb.0 }
        } else {
            edge
        };
        let d = rng.uf(6.0, 30.0) + r;
        let x = if right { edge + d } else { edge - d };
        let rect = [
            (x - r - 2.0) as i32,
            (y - r - 2.0) as i32,
            (x + r + 2.0) as i32,
            (y + r + 2.0) as i32,
        ];
        if !b.placer.free(rect, 1, false) {
            continue;
        }
        match kind {
            0 | 1 => draw::disc(&mut b.layer, x, y, r * 0.8, color),
            2 => {
                draw::disc(&mut b.layer, x, y, r, [90, 90, 100]);
                let s = (r * 1.2 / 7.0).max(0.8);
                draw::text(
                    &mut b.layer,
                    x - 2.5 * s,
                    y - 3.5 * s,
                    "P",
                    s,
                    grey(230),
                    true,
                );
            }
            3 => {
                draw::ring(&mut b.layer, x, y, r, 1.0, color);
                let s = (r * 1.1 / 7.0).max(0.8);
                let letter = *rng.pick(&["G", "V", "M"]);
                draw::text(
                    &mut b.layer,
                    x - 2.5 * s,
                    y - 3.5 * s,
                    letter,
                    s,
                    color,
                    false,
                );
            }
            _ => {
                draw::fill_rect(
                    &mut b.layer,
                    (x - r) as i32,
                    (y - r * 0.8) as i32,
                    (x + r) as i32,
                    (y + r * 0.8) as i32,
                    color,
                    1.0,
                );
                draw::fill_rect(
                    &mut b.layer,
                    (x - r * 0.4) as i32,
                    (y - r * 0.3) as i32,
                    (x + r * 0.5) as i32,
                    (y + r * 0.8) as i32,
                    grey(0),
                    1.0,
                );
            }
        }
        b.reserve(rect);
        return;
    }
}

pub(super) fn calipers(b: &mut Builder<'_>, rng: &mut impl Rng) -> bool {
    let (w, h) = (b.ctx.plan.width as i32, b.ctx.plan.height as i32);
    let inside = |b: &Builder<'_>, x: f32, y: f32| {
        let (xi, yi) = (x as i32, y as i32);
        xi >= 0 && yi >= 0 && xi < w && yi < h && b.ctx.sector[(yi * w + xi) as usize] != 0
    };
    let c = b.style.caliper;
    let arm = (b.style.scale * rng.uf(2.5, 4.5)).round();
    let mut drawn = 0;
    let px_cm = b.ctx.scan.panes[0].geom.depth_px() / b.ctx.scan.depth_cm;
    let mut labels = Vec::new();
    for m in 0..rng.ui(1, 2) {
        for _ in 0..60 {
            let (x, y) = (rng.uf(0.0, w as f32), rng.uf(0.0, h as f32));
            let ang = rng.uf(0.0, std::f32::consts::TAU);
            let len = rng.uf(25.0, 160.0) * h as f32 / 600.0;
            let (x2, y2) = (x + len * ang.cos(), y + len * ang.sin());
            if !(inside(b, x, y) && inside(b, x2, y2)) {
                continue;
            }
            draw::plus_mark(&mut b.layer, x.round() + 0.5, y.round() + 0.5, arm, 1.0, c);
            draw::plus_mark(
                &mut b.layer,
                x2.round() + 0.5,
                y2.round() + 0.5,
                arm,
                1.0,
                c,
            );
            if rng.chance(0.8) {
                let (ux, uy) = ((x2 - x) / len, (y2 - y) / len);
                let a = (x + ux * (arm + 3.0), y + uy * (arm + 3.0));
                let e = (x2 - ux * (arm + 3.0), y2 - uy * (arm + 3.0));
                draw::dashed_line(&mut b.layer, a, e, 1.0, rng.uf(2.0, 4.0), 1.0, c);
            }
            labels.push(format!(
                "{} {:.2} cm",
                if m == 0 { "+ Dist" } else { "x Dist" },
                len / px_cm
            ));
            drawn += 1;
            break;
        }
    }
    if drawn == 0 {
        return false;
    }
    // Measurement results in a free spot (top-left below the header, or bottom-left).
    let s = b.style.scale * 0.95;
    let mut y = if rng.chance(0.5) {
        b.ctx.plan.ui.header_h as f32 + 6.0
    } else {
        b.h * rng.uf(0.6, 0.8)
    };
    let x = b.style.margin + rng.uf(0.0, b.w * 0.15);
    for l in labels {
        b.text(x, y, &l, Align::Left, s, c, false, false);
        y += b.style.line_h;
    }
    true
}

pub(super) fn doppler_outline(b: &mut Builder<'_>, rng: &mut impl Rng) {
    let c = grey(rng.ui(170, 255) as u8);
    for pane in &b.ctx.scan.panes {
        let Some(d) = &pane.doppler else { continue };
        let g = pane.geom;
        match g {
            BeamGeom::Fan {
                apex_x,
                apex_y,
                a0,
                a1,
                r0,
                r1,
                ..
            } => {
                let (ua, ub) = (a0 + d.u0 * (a1 - a0), a0 + d.u1 * (a1 - a0));
                let (ra, rb) = (r0 + d.v0 * (r1 - r0), r0 + d.v1 * (r1 - r0));
                draw::arc(&mut b.layer, apex_x, apex_y, ra, ua, ub, 1.0, c);
                draw::arc(&mut b.layer, apex_x, apex_y, rb, ua, ub, 1.0, c);
                for a in [ua, ub] {
                    draw::line(
                        &mut b.layer,
                        (apex_x + ra * a.sin(), apex_y + ra * a.cos()),
                        (apex_x + rb * a.sin(), apex_y + rb * a.cos()),
                        1.0,
                        c,
                    );
                }
            }
            BeamGeom::Rect { .. } => {
                let (x0, y0) = g.xy(d.u0, d.v0);
                let (x1, y1) = g.xy(d.u1, d.v1);
                draw::rect_outline(
                    &mut b.layer,
                    x0 as i32,
                    y0 as i32,
                    x1 as i32,
                    y1 as i32,
                    1,
                    c,
                );
            }
        }
    }
}

pub(super) fn strip_marks(b: &mut Builder<'_>, rng: &mut impl Rng) {
    let Some(strip) = &b.ctx.scan.strip else {
        return;
    };
    let c = b.style.marker;
    let pane = &b.ctx.scan.panes[0];
    let g = pane.geom;
    // Cursor line through the fan.
    let lc = if b.ctx.color {
        *rng.pick(&[grey(220), [80, 230, 80], [230, 230, 80]])
    } else {
        grey(210)
    };
    let (a, e) = (g.xy(strip.line_u, 0.0), g.xy(strip.line_u, 1.0));
    draw::dashed_line(
        &mut b.layer,
        a,
        e,
        rng.uf(1.0, 4.0),
        rng.uf(2.0, 5.0),
        1.0,
        lc,
    );
    if strip.kind == StripKind::Spectral {
        // Sample volume gate.
        let v = rng.uf(0.35, 0.75);
        let (px, py) = g.xy(strip.line_u, v);
        let (qx, qy) = g.xy(strip.line_u, v + 0.03);
        let (dx, dy) = (qx - px, qy - py);
        let l = (dx * dx + dy * dy).sqrt().max(1e-3);
        let (nx, ny) = (-dy / l * 6.0, dx / l * 6.0);
        draw::line(
            &mut b.layer,
            (px - nx, py - ny),
            (px + nx, py + ny),
            1.5,
            lc,
        );
        draw::line(
            &mut b.layer,
            (qx - nx, qy - ny),
            (qx + nx, qy + ny),
            1.5,
            lc,
        );
        // Baseline across the strip.
        let y = strip.y0 as f32 + strip.baseline * (strip.y1 - strip.y0) as f32;
        draw::line(
            &mut b.layer,
            (strip.x0 as f32, y),
            (strip.x1 as f32, y),
            1.0,
            grey(rng.ui(120, 220) as u8),
        );
    }
    // Time marks above the strip, depth/velocity ticks beside it.
    let off = rng.uf(2.0, 5.0);
    let per_s = 1.0 / strip.dt;
    let spacing = per_s * *rng.pick(&[0.2f32, 0.5, 1.0]);
    let mut x = strip.x0 as f32 + rng.uf(0.0, spacing);
    while x < strip.x1 as f32 {
        draw::disc(
            &mut b.layer,
            x,
            strip.y0 as f32 - off - 1.0,
            rng.uf(0.8, 1.4),
            c,
        );
        x += spacing;
    }
    let right = rng.chance(0.7);
    let sx = if right {
        strip.x1 as f32 + off
    } else {
        strip.x0 as f32 - off
    };
    let n = rng.ui(4, 8);
    let s = b.style.scale * 0.85;
    for k in 0..=n {
        let y = strip.y0 as f32 + (strip.y1 - strip.y0) as f32 * k as f32 / n as f32;
        let l = if right { 5.0 } else { -5.0 };
        draw::line(&mut b.layer, (sx, y), (sx + l, y), 1.0, c);
        if strip.kind == StripKind::Spectral && k % 2 == 0 && rng.chance(0.8) {
            let yb = strip.y0 as f32 + strip.baseline * (strip.y1 - strip.y0) as f32;
            let v = ((yb - y) / (strip.y1 - strip.y0) as f32 * 160.0 * strip.direction).round();
            let t = b.style.text;
            b.text(
                sx + if right { 8.0 } else { -8.0 },
                y - 3.5 * s,
                &format!("{v:.0}"),
                if right { Align::Left } else { Align::Right },
                s,
                t,
                false,
                false,
            );
        }
    }
    if strip.kind == StripKind::Spectral {
        let t = b.style.text;
        b.text(
            if right { sx + 8.0 } else { sx - 8.0 },
            strip.y0 as f32 - 10.0 * s,
            "cm/s",
            if right { Align::Left } else { Align::Right },
            s,
            t,
            false,
            false,
        );
    }
}
