//! The grey bar and Doppler colour bar, and the depth scale (dots, ticks
//! or ruler, depth label, focus marker).

use super::place::region_bbox;
use super::{Align, Builder, grey};
use crate::synth::DopplerKind;
use crate::synth::beam::BeamGeom;
use crate::synth::doppler::{power_color, velocity_color};
use crate::synth::draw::{self, Rgb};
use crate::synth::util::Pick;
use rand::Rng;
use sonomask_core::Region;

/// Grey bar and, with Doppler, the colour bar.
pub(super) fn bars(b: &mut Builder<'_>, rng: &mut impl Rng) {
    let (w, h) = (b.w, b.h);
    let bw = (w * rng.uf(0.008, 0.016)).round().max(5.0) as i32;
    let bh = (h * rng.uf(0.18, 0.34)) as i32;
    let doppler = b.ctx.scan.doppler;
    let n_bars = if doppler.is_some() {
        2
    } else {
        i32::from(rng.chance(0.75))
    };
    let on_left = rng.chance(0.3);
    let mut y = (b.ctx.plan.ui.header_h as f32 + h * rng.uf(0.08, 0.3)) as i32;
    for k in 0..n_bars {
        let colour = doppler.is_some() && k == 0;
        // Try a few positions until one is free of text and sector.
        let mut placed = false;
        for attempt in 0..12 {
            let x0 = if on_left {
                rng.ui(0, (w * 0.04) as i32) + attempt * 3
            } else {
                (w - b.style.margin) as i32 - bw - rng.ui(0, (w * 0.04) as i32) - attempt * 3
            };
            let yy = y + attempt * 6;
            let r = [x0 - 2, yy - 14, x0 + bw + 2, yy + bh + 14];
            if !b.placer.free(r, 2, false) {
                continue;
            }
            if colour {
                let stops: Vec<Rgb> = match doppler {
                    Some(DopplerKind::Power) => {
                        (0..=8).map(|i| power_color(1.0 - i as f32 / 8.0)).collect()
                    }
                    _ => (0..=16)
                        .map(|i| velocity_color(1.0 - i as f32 / 8.0))
                        .collect(),
                };
                draw::gradient_bar(&mut b.layer, x0, yy, x0 + bw, yy + bh, &stops);
                if doppler == Some(DopplerKind::Color) {
                    draw::fill_rect(
                        &mut b.layer,
                        x0 - 2,
                        yy + bh / 2,
                        x0 + bw + 2,
                        yy + bh / 2 + 1,
                        grey(200),
                        1.0,
                    );
                }
            } else {
                let stops = if rng.chance(0.85) {
                    [grey(rng.ui(220, 255) as u8), grey(0)]
                } else {
                    [grey(0), grey(240)]
                };
                draw::gradient_bar(&mut b.layer, x0, yy, x0 + bw, yy + bh, &stops);
                if rng.chance(0.3) {
                    draw::rect_outline(
                        &mut b.layer,
                        x0 - 1,
                        yy - 1,
                        x0 + bw + 1,
                        yy + bh + 1,
                        1,
                        grey(120),
                    );
                }
            }
            b.reserve(r);
            let s = b.style.scale * 0.8;
            let (t, a) = (
                b.style.text,
                if on_left { Align::Left } else { Align::Right },
            );
            let lx = if on_left { x0 as f32 } else { (x0 + bw) as f32 };
            if colour && rng.chance(0.8) {
                let v = rng.uf(10.0, 90.0);
                let (top, bot) = match doppler {
                    Some(DopplerKind::Power) => ("PWR".to_string(), "PWR".to_string()),
                    _ => (format!("+{v:.1}"), format!("-{v:.1}")),
                };
                b.text(lx, yy as f32 - 9.0 * s - 2.0, &top, a, s, t, false, false);
                b.text(lx, (yy + bh + 3) as f32, &bot, a, s, t, false, false);
            } else if rng.chance(0.3) {
                let label = *rng.pick(&["M3", "G2", "0", "V1", "C4"]);
                b.text(lx, yy as f32 - 9.0 * s - 2.0, label, a, s, t, false, false);
            }
            placed = true;
            break;
        }
        if placed {
            y += bh + 40;
        }
    }
}

/// Depth scale: dots or ticks just outside a fan edge or beside a
/// rectangle, or a ruler further out; depth label; focus marker.
pub(super) fn depth_scale(b: &mut Builder<'_>, rng: &mut impl Rng) {
    if !rng.chance(0.88) {
        return;
    }
    let plan = b.ctx.plan;
    let pane = plan.panes[rng.ui(0, plan.panes.len() as i32 - 1) as usize];
    let depth = b.ctx.scan.depth_cm;
    let geom = pane.geom;
    let px_cm = geom.depth_px() / depth;
    let c = b.style.marker;
    let off = rng.uf(2.0, 6.0);
    let minor = rng.uf(0.8, 1.5);
    let major = minor + rng.uf(0.6, 1.4);
    let ticks = rng.chance(0.4);
    let tick_len = rng.uf(3.0, 7.0);
    let half_cm = depth <= 8.0 && rng.chance(0.5);
    let step = if half_cm { 0.5 } else { 1.0 };
    let major_every = if depth <= 8.0 { 1.0 } else { 5.0 };
    let n = (depth / step).floor() as i32;
    let mut end = None;
    let hug = rng.chance(0.75);
    match pane.region {
        Region::Fan(f) if hug => {
            let right = rng.chance(0.5);
            let a = if right { f.angle_right } else { f.angle_left };
            let (ex, ey) = (a.sin(), a.cos());
            let (nx, ny) = if right {
                (a.cos(), -a.sin())
            } else {
                (-a.cos(), a.sin())
            };
            let r0 = match geom {
                BeamGeom::Fan { r0, .. } => r0,
                _ => 0.0,
            };
            for k in 0..=n {
                let d = k as f32 * step;
                let r = r0 + d * px_cm;
                let is_major = (d / major_every).fract() == 0.0;
                let rad = if is_major { major } else { minor };
                let (px, py) = (f.apex_x + r * ex, f.apex_y + r * ey);
                if let Some(cl) = f.clip
                    && (py > cl.y1 || px < cl.x0 - 8.0 || px > cl.x1 + 8.0)
                {
                    continue;
                }
                if py > b.h || py < 0.0 {
                    continue;
                }
                if ticks {
                    let l = if is_major { tick_len * 1.6 } else { tick_len };
                    draw::line(
                        &mut b.layer,
                        (px + nx * off, py + ny * off),
                        (px + nx * (off + l), py + ny * (off + l)),
                        1.0,
                        c,
                    );
                } else {
                    draw::disc(
                        &mut b.layer,
                        px + nx * (off + rad),
                        py + ny * (off + rad),
                        rad,
                        c,
                    );
                }
                end = Some((px + nx * (off + 8.0), py + ny * (off + 4.0), right));
            }
        }
        _ => {
            // A vertical ruler beside the region (hugging a rectangle edge, or further out).
            let (top, bottom) = match geom {
                BeamGeom::Fan { apex_y, r0, .. } => (apex_y + r0, apex_y + r0 + geom.depth_px()),
                BeamGeom::Rect { y0, y1, .. } => (y0, y1),
            };
            let bb = region_bbox(&pane.region, b.w, b.h);
            let right = rng.chance(0.6);
            let dist = if matches!(pane.region, Region::Rect(_)) && hug {
                off
            } else {
                rng.uf(8.0, 30.0)
            };
            let x = if right { bb.2 + dist } else { bb.0 - dist };
            let x = x.clamp(2.0, b.w - 3.0);
            for k in 0..=n {
                let d = k as f32 * step;
                let y = top + d * px_cm;
                if y > bottom + 1.0 || y > b.h - 1.0 {
                    break;
                }
                let is_major = (d / major_every).fract() == 0.0;
                let dir = if right { 1.0 } else { -1.0 };
                if ticks {
                    let l = if is_major { tick_len * 1.6 } else { tick_len };
                    draw::line(
                        &mut b.layer,
                        (x, y),
                        (x + dir * l, y),
                        rng.uf(1.0, 2.0).round(),
                        c,
                    );
                } else if is_major && rng.chance(0.5) {
                    let r = major + 0.5;
                    draw::fill_convex(
                        &mut b.layer,
                        &[(x, y - r), (x + r, y), (x, y + r), (x - r, y)],
                        c,
                    );
                } else {
                    draw::disc(&mut b.layer, x, y, if is_major { major } else { minor }, c);
                }
                end = Some((x + dir * 10.0, y, right));
            }
            b.reserve([
                (x - 8.0) as i32,
                top as i32,
                (x + 8.0) as i32,
                bottom as i32,
            ]);
        }
    }
    if let Some((x, y, right)) = end
        && rng.chance(0.7)
    {
        {
            let label = if depth.fract() == 0.0 && rng.chance(0.6) {
                format!("{depth:.0}cm")
            } else {
                format!("{depth:.1}cm")
            };
            let s = b.style.scale * 0.9;
            let (t, a) = (b.style.text, if right { Align::Left } else { Align::Right });
            b.text(
                x,
                (y - 3.5 * s).min(b.h - 8.0 * s),
                &label,
                a,
                s,
                t,
                false,
                false,
            );
        }
    }
    // Focus marker beside the region at the focal depth.
    if rng.chance(0.5) {
        let bb = region_bbox(&pane.region, b.w, b.h);
        let focus_y = match geom {
            BeamGeom::Fan { apex_y, r0, .. } => apex_y + r0 + geom.depth_px() * rng.uf(0.25, 0.7),
            BeamGeom::Rect { y0, y1, .. } => y0 + (y1 - y0) * rng.uf(0.25, 0.7),
        };
        let left = rng.chance(0.5);
        let row_edge = if left {
            b.placer.sector_left(focus_y as i32 - 6, focus_y as i32 + 6) as f32
        } else {
            b.placer
                .sector_right(focus_y as i32 - 6, focus_y as i32 + 6) as f32
        };
        let edge = if row_edge.abs() > 1e6 || row_edge < 0.0 {
            if left { bb.0 } else { bb.2 }
        } else {
            row_edge
        };
        let sz = rng.uf(4.0, 7.0);
        let d = rng.uf(3.0, 14.0);
        let pts = if left {
            let x = edge - d;
            [
                (x, focus_y),
                (x - sz * 1.3, focus_y - sz),
                (x - sz * 1.3, focus_y + sz),
            ]
        } else {
            let x = edge + d + 1.0;
            [
                (x, focus_y),
                (x + sz * 1.3, focus_y - sz),
                (x + sz * 1.3, focus_y + sz),
            ]
        };
        draw::fill_convex(&mut b.layer, &pts, b.style.marker);
    }
}
