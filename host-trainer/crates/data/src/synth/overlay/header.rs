//! The toolbar, the patient header (name, ID, institution, date, clock) and
//! the parameter columns beside the image.

use super::{Align, Builder, DynText, grey};
use crate::synth::draw;
use crate::synth::font;
use crate::synth::phi;
use crate::synth::util::Pick;
use rand::Rng;

pub(super) fn toolbar(b: &mut Builder<'_>, rng: &mut impl Rng) {
    let Some(tb) = b.ctx.plan.ui.toolbar else {
        return;
    };
    let (x0, y0, x1, y1) = (tb.x0, tb.y0, tb.x1, tb.y1);
    draw::fill_rect(&mut b.layer, x0, y0, x1, y1, tb.color, 1.0);
    let light = tb.color.map(|c| c.saturating_add(40));
    let dark = tb.color.map(|c| c.saturating_sub(25));
    draw::fill_rect(&mut b.layer, x0, y0, x1, y0 + 1, light, 1.0);
    let labels = phi::toolbar_labels(rng);
    let n = labels.len() as i32;
    let bw = (x1 - x0) / n;
    let th = y1 - y0;
    let scale = (th as f32 / 7.0 * 0.45).clamp(0.9, 2.2);
    for (i, lab) in labels.iter().enumerate() {
        let bx0 = x0 + i as i32 * bw;
        if rng.chance(0.6) {
            draw::rect_outline(&mut b.layer, bx0 + 2, y0 + 3, bx0 + bw - 2, y1 - 3, 1, dark);
        }
        draw::fill_rect(
            &mut b.layer,
            bx0 + bw - 1,
            y0 + 2,
            bx0 + bw,
            y1 - 2,
            light,
            1.0,
        );
        let ty = y0 as f32 + (th as f32 - 7.0 * scale) / 2.0;
        let mut tx = bx0 as f32 + 6.0;
        if rng.chance(0.5) {
            // A small icon before the label.
            let s = th as f32 * 0.45;
            let c = grey(rng.ui(150, 230) as u8);
            match rng.ui(0, 2) {
                0 => draw::rect_outline(
                    &mut b.layer,
                    tx as i32,
                    (ty + 1.0) as i32,
                    (tx + s) as i32,
                    (ty + s) as i32,
                    1,
                    c,
                ),
                1 => draw::fill_convex(
                    &mut b.layer,
                    &[(tx, ty + s), (tx + s * 0.5, ty), (tx + s, ty + s)],
                    c,
                ),
                _ => draw::ring(&mut b.layer, tx + s * 0.5, ty + s * 0.5, s * 0.45, 1.0, c),
            }
            tx += s + 4.0;
        }
        // Labels that do not fit their button are cut, as on real toolbars.
        let room = (bx0 + bw) as f32 - 4.0 - tx;
        let fit = ((room / scale + 1.0) / font::ADVANCE).floor().max(0.0) as usize;
        let lab: String = lab.chars().take(fit).collect();
        draw::text(
            &mut b.layer,
            tx,
            ty,
            &lab,
            scale,
            grey(rng.ui(170, 235) as u8),
            false,
        );
    }
    b.reserve([x0, y0, x1, y1]);
}

/// Header with patient data, institution, date and clock. Returns whether a
/// clock is shown.
pub(super) fn header(b: &mut Builder<'_>, rng: &mut impl Rng) -> bool {
    let ui = b.ctx.plan.ui.clone();
    let s = b.style.scale;
    let lh = b.style.line_h;
    let m = b.style.margin;
    let top = match ui.toolbar {
        Some(t) if t.y0 == 0 => (t.y1 + 2) as f32,
        _ => 0.0,
    };
    if let Some(panel) = ui.header_panel {
        let ph = top as i32 + ui.header_lines * ui.line_h + rng.ui(3, 8);
        draw::fill_rect(&mut b.layer, 0, top as i32, b.w as i32, ph, panel, 1.0);
        if rng.chance(0.5) {
            draw::fill_rect(
                &mut b.layer,
                0,
                ph,
                b.w as i32,
                ph + 1,
                panel.map(|c| c.saturating_add(50)),
                1.0,
            );
        }
    }
    let scale = if ui.header_panel.is_some() {
        s * rng.uf(0.8, 1.0)
    } else {
        s
    };
    let y = |i: i32| top + 3.0 + i as f32 * lh;
    let (text, dim, accent) = (b.style.text, b.style.dim, b.style.accent);
    let fmt = phi::clock_fmt(rng);
    let secs0 = f64::from(rng.ui(6 * 3600, 20 * 3600)) + f64::from(rng.uf(0.0, 1.0));
    let date = phi::date(rng);
    let name = phi::patient_name(rng);
    let id = phi::mrn(rng);
    let inst = phi::institution(rng);
    let w = b.w;
    let mut clock = false;
    let sample = phi::clock(fmt, 43_200.0 + 3_333.0);
    match ui.header_lines {
        0 => {
            // Point-of-care style: preset top-left, clock bottom-right (maybe).
            b.text(
                m,
                y(0),
                b.ctx.preset,
                Align::Left,
                scale,
                text,
                false,
                false,
            );
            if rng.chance(0.5) {
                let yb = b.h - ui.bottom_h as f32 * 0.5 - 4.0 * scale;
                clock = b.dyn_text(
                    w - m,
                    yb.min(b.h - 8.0 * scale),
                    Align::Right,
                    scale * 0.9,
                    dim,
                    DynText::Clock {
                        fmt,
                        secs0,
                        prefix: String::new(),
                        suffix: String::new(),
                    },
                    &sample,
                );
            }
        }
        1 => {
            let sc = scale * rng.uf(0.8, 1.0);
            let line = match rng.ui(0, 2) {
                0 => format!("{name}  {id}"),
                1 => format!("{name}   {}", phi::dob(rng)),
                _ => name.clone(),
            };
            b.text(m, y(0), &line, Align::Left, sc, text, false, false);
            b.text(
                w * rng.uf(0.4, 0.55),
                y(0),
                &inst,
                Align::Left,
                sc,
                text,
                false,
                false,
            );
            let suffix = format!("  {date}");
            let sample = format!("{sample}{suffix}");
            clock = b.dyn_text(
                w - m,
                y(0),
                Align::Right,
                sc,
                text,
                DynText::Clock {
                    fmt,
                    secs0,
                    prefix: String::new(),
                    suffix,
                },
                &sample,
            );
        }
        _ => match rng.ui(0, 2) {
            0 => {
                // Name / MRN left, clock + date and institution centre, accession right.
                b.text(m, y(0), &name, Align::Left, scale, text, false, false);
                b.text(m, y(1), &id, Align::Left, scale, text, false, false);
                let cx = w * rng.uf(0.42, 0.52);
                let suffix = format!(" {date}");
                clock = b.dyn_text(
                    cx,
                    y(0),
                    Align::Left,
                    scale,
                    text,
                    DynText::Clock {
                        fmt,
                        secs0,
                        prefix: String::new(),
                        suffix: suffix.clone(),
                    },
                    &format!("{sample}{suffix}"),
                );
                b.text(cx, y(1), &inst, Align::Left, scale, text, false, false);
                if rng.chance(0.6) {
                    b.text(
                        w - m,
                        y(0),
                        &phi::digits(rng, 9),
                        Align::Right,
                        scale,
                        text,
                        false,
                        false,
                    );
                }
            }
            1 => {
                // Vendor | preset, ID + institution, safety and date/clock right.
                let vendor = phi::vendor(rng);
                b.text(m, y(0), &vendor, Align::Left, scale, accent, true, false);
                b.text(
                    m + font::text_width(&vendor, scale) + 20.0 * scale,
                    y(0),
                    b.ctx.preset,
                    Align::Left,
                    scale,
                    text,
                    false,
                    false,
                );
                b.text(
                    m + w * 0.1,
                    y(1),
                    &format!("{id}  {name}"),
                    Align::Left,
                    scale,
                    text,
                    false,
                    false,
                );
                b.text(
                    w * 0.45,
                    y(1),
                    &inst,
                    Align::Left,
                    scale,
                    text,
                    false,
                    false,
                );
                let saf = phi::safety(rng);
                let sx = w * rng.uf(0.68, 0.74);
                for (i, l) in saf.iter().take(2).enumerate() {
                    b.text(sx, y(i as i32), l, Align::Left, scale, text, false, false);
                }
                b.text(w - m, y(0), &date, Align::Right, scale, text, false, false);
                clock = b.dyn_text(
                    w - m,
                    y(1),
                    Align::Right,
                    scale,
                    text,
                    DynText::Clock {
                        fmt,
                        secs0,
                        prefix: String::new(),
                        suffix: String::new(),
                    },
                    &sample,
                );
            }
            _ => {
                // Institution block left, clock centre, date right.
                b.text(
                    m,
                    y(0),
                    &inst.to_uppercase(),
                    Align::Left,
                    scale,
                    text,
                    false,
                    false,
                );
                b.text(m, y(1), &id, Align::Left, scale, text, false, false);
                clock = b.dyn_text(
                    w * 0.5,
                    y(1),
                    Align::Center,
                    scale,
                    text,
                    DynText::Clock {
                        fmt,
                        secs0,
                        prefix: String::new(),
                        suffix: String::new(),
                    },
                    &sample,
                );
                if rng.chance(0.5) {
                    b.text(
                        w * 0.5,
                        y(0),
                        &phi::vendor(rng),
                        Align::Center,
                        scale,
                        accent,
                        true,
                        false,
                    );
                }
                b.text(w - m, y(0), &date, Align::Right, scale, text, false, false);
                b.text(w - m, y(1), &name, Align::Right, scale, dim, false, false);
            }
        },
    }
    clock
}

fn column_lines(b: &Builder<'_>, rng: &mut impl Rng) -> Vec<String> {
    let ctx = b.ctx;
    let fps = ctx.scan.timing.fps;
    let mut lines = vec![ctx.preset.to_string(), ctx.probe_name.to_string()];
    lines.extend(phi::params(
        ctx.plan.probe,
        ctx.scan.depth_cm,
        fps,
        ctx.scan.doppler.is_some(),
        rng,
    ));
    lines
}

pub(super) fn right_column(b: &mut Builder<'_>, rng: &mut impl Rng) {
    let s = b.style.scale * rng.uf(0.85, 1.0);
    let lh = b.style.line_h * s / b.style.scale;
    let x = b.w - b.style.margin;
    let mut y = b.ctx.plan.ui.header_h as f32 + rng.uf(2.0, 14.0) * s;
    let allow = rng.chance(0.1);
    let (text, accent) = (b.style.text, b.style.accent);
    if rng.chance(0.5) {
        let v = phi::vendor(rng);
        b.text(x, y, &v, Align::Right, s * 1.1, accent, true, false);
        y += lh * 1.2;
    }
    let mut lines = if rng.chance(0.5) {
        column_lines(b, rng)
    } else {
        vec![b.ctx.probe_name.to_string(), b.ctx.preset.to_string()]
    };
    if rng.chance(0.7) {
        lines.extend(phi::safety(rng));
    }
    let limit = b.h * rng.uf(0.35, 0.65);
    for l in lines {
        if y > limit {
            break;
        }
        b.text(x, y, &l, Align::Right, s, text, false, allow);
        y += lh;
    }
}

pub(super) fn left_column(b: &mut Builder<'_>, rng: &mut impl Rng) {
    let s = b.style.scale * rng.uf(0.85, 1.05);
    let lh = b.style.line_h * s / b.style.scale;
    let x = b.style.margin;
    let mut y = b.ctx.plan.ui.header_h as f32 + rng.uf(2.0, 14.0) * s;
    let allow = rng.chance(0.12);
    let text = b.style.text;
    let lines = column_lines(b, rng);
    let limit = b.h * rng.uf(0.4, 0.7);
    for (i, l) in lines.iter().enumerate() {
        if y > limit {
            break;
        }
        b.text(
            x,
            y,
            l,
            Align::Left,
            if i == 0 { s * 1.1 } else { s },
            text,
            i == 0 && rng.chance(0.4),
            allow,
        );
        y += lh;
    }
}
