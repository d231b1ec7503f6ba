//! Everything a scanner burns into the picture besides the scan itself:
//! patient header, parameter columns, grey and colour bars, depth scales
//! hugging the sector edge, focus and orientation markers, calipers,
//! Doppler box outline, M-line and strip scales, toolbar, annotations and
//! the sweeping ECG. Static parts go to one layer; the clock, counters and
//! the ECG are drawn per frame.

use super::DopplerKind;
use super::doppler::{power_color, velocity_color};
use super::draw::{self, FrameSurface, Layer, Rgb};
use super::font;
use super::layout::Plan;
use super::phi::{self, ClockFmt};
use super::scan::{Scan, Timing};
use super::util::{Pick, hash_normal};
use super::{Layout, ProbeKind, StripKind};
use rand::Rng;
use sonomask_core::Region;

/// Inputs to the user-interface builder.
pub(crate) struct UiCtx<'a> {
    pub plan: &'a Plan,
    pub scan: &'a Scan,
    pub sector: &'a [u8],
    pub color: bool,
    pub seed: u64,
    pub probe_name: &'a str,
    pub preset: &'a str,
}

#[derive(Clone, Debug)]
enum DynText {
    Clock {
        fmt: ClockFmt,
        secs0: f64,
        prefix: String,
        suffix: String,
    },
    Counter {
        start: u32,
        total: u32,
        suffix: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Align {
    Left,
    Right,
    Center,
}

#[derive(Clone, Debug)]
struct Ecg {
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

#[derive(Clone, Debug)]
enum Dynamic {
    Text {
        x: f32,
        y: f32,
        align: Align,
        scale: f32,
        color: Rgb,
        text: DynText,
    },
    Ecg(Ecg),
}

/// The built user interface of one clip.
pub(crate) struct Ui {
    pub layer: Layer,
    dynamic: Vec<Dynamic>,
    pub has_ecg: bool,
    pub has_calipers: bool,
    pub has_clock: bool,
    pub bg: Rgb,
}

/// Colours and sizes of one clip's UI.
struct Style {
    text: Rgb,
    dim: Rgb,
    accent: Rgb,
    marker: Rgb,
    caliper: Rgb,
    scale: f32,
    line_h: f32,
    margin: f32,
    gap: i32,
}

/// Keeps text off the sector (unless allowed) and off other text.
struct Placer {
    w: i32,
    h: i32,
    rows: Vec<(i32, i32)>,
    boxes: Vec<[i32; 4]>,
}

impl Placer {
    fn new(sector: &[u8], w: u32, h: u32) -> Self {
        let rows = sector
            .chunks_exact(w as usize)
            .map(|row| {
                let first = row.iter().position(|&v| v != 0);
                let last = row.iter().rposition(|&v| v != 0);
                match (first, last) {
                    (Some(a), Some(b)) => (a as i32, b as i32),
                    _ => (i32::MAX, i32::MIN),
                }
            })
            .collect();
        Self {
            w: w as i32,
            h: h as i32,
            rows,
            boxes: Vec::new(),
        }
    }

    fn hits_sector(&self, r: [i32; 4], gap: i32) -> bool {
        for y in (r[1] - gap).max(0)..(r[3] + gap).min(self.h) {
            let (a, b) = self.rows[y as usize];
            if a <= b && r[2] + gap > a && r[0] - gap <= b {
                return true;
            }
        }
        false
    }

    fn hits_boxes(&self, r: [i32; 4]) -> bool {
        self.boxes
            .iter()
            .any(|b| r[0] < b[2] + 2 && r[2] + 2 > b[0] && r[1] < b[3] + 1 && r[3] + 1 > b[1])
    }

    fn free(&self, r: [i32; 4], gap: i32, allow_sector: bool) -> bool {
        r[0] >= 0
            && r[1] >= 0
            && r[2] <= self.w
            && r[3] <= self.h
            && !self.hits_boxes(r)
            && (allow_sector || !self.hits_sector(r, gap))
    }

    /// Leftmost sector pixel over rows `y0..y1` (or the frame width).
    fn sector_left(&self, y0: i32, y1: i32) -> i32 {
        (y0.max(0)..y1.min(self.h))
            .map(|y| self.rows[y as usize].0)
            .min()
            .unwrap_or(i32::MAX)
            .min(self.w)
    }

    fn sector_right(&self, y0: i32, y1: i32) -> i32 {
        (y0.max(0)..y1.min(self.h))
            .map(|y| self.rows[y as usize].1)
            .max()
            .unwrap_or(i32::MIN)
            .max(-1)
    }
}

struct Builder<'a> {
    ctx: &'a UiCtx<'a>,
    layer: Layer,
    placer: Placer,
    style: Style,
    dynamic: Vec<Dynamic>,
    w: f32,
    h: f32,
    /// Long header fields are cut with "..." where they do not fit.
    truncate: bool,
}

fn bbox(x: f32, y: f32, text: &str, align: Align, scale: f32) -> [i32; 4] {
    let tw = font::text_width(text, scale);
    let x0 = match align {
        Align::Left => x,
        Align::Right => x - tw,
        Align::Center => x - tw / 2.0,
    };
    [
        x0.floor() as i32,
        y.floor() as i32,
        (x0 + tw).ceil() as i32 + 1,
        (y + font::text_height(scale)).ceil() as i32 + 1,
    ]
}

impl Builder<'_> {
    /// Draws a line of text if it fits (truncating it scanner-style with
    /// "..." when it does not); returns whether anything was drawn.
    #[allow(clippy::too_many_arguments)]
    fn text(
        &mut self,
        x: f32,
        y: f32,
        text: &str,
        align: Align,
        scale: f32,
        color: Rgb,
        bold: bool,
        allow_sector: bool,
    ) -> bool {
        let mut s = text.to_string();
        loop {
            if s.trim().is_empty() {
                return false;
            }
            let r = bbox(x, y, &s, align, scale);
            if self.placer.free(r, self.style.gap, allow_sector) {
                let tw = font::text_width(&s, scale);
                let x0 = match align {
                    Align::Left => x,
                    Align::Right => x - tw,
                    Align::Center => x - tw / 2.0,
                };
                draw::text(&mut self.layer, x0, y, &s, scale, color, bold);
                self.placer.boxes.push(r);
                return true;
            }
            let n = s.chars().count();
            if !self.truncate || n <= 12 || align == Align::Center {
                return false;
            }
            let keep: String = s
                .trim_end_matches("...")
                .chars()
                .take(n.saturating_sub(5))
                .collect();
            s = format!("{keep}...");
        }
    }

    fn reserve(&mut self, r: [i32; 4]) {
        self.placer.boxes.push(r);
    }

    #[allow(clippy::too_many_arguments)]
    fn dyn_text(
        &mut self,
        x: f32,
        y: f32,
        align: Align,
        scale: f32,
        color: Rgb,
        text: DynText,
        sample: &str,
    ) -> bool {
        let r = bbox(x, y, sample, align, scale);
        if !self.placer.free(r, self.style.gap, false) {
            return false;
        }
        self.reserve(r);
        self.dynamic.push(Dynamic::Text {
            x,
            y,
            align,
            scale,
            color,
            text,
        });
        true
    }
}

fn grey(v: u8) -> Rgb {
    [v, v, v]
}

fn style(ctx: &UiCtx<'_>, rng: &mut impl Rng) -> Style {
    let ui = &ctx.plan.ui;
    let white = grey(rng.ui(200, 255) as u8);
    let (text, accent, marker, caliper) = if ctx.color {
        (
            *rng.pick(&[
                white,
                white,
                white,
                [230, 222, 170],
                [180, 225, 235],
                [120, 235, 120],
                [235, 235, 120],
            ]),
            *rng.pick(&[
                [0, 165, 160],
                [240, 170, 40],
                [90, 200, 255],
                [235, 215, 90],
                white,
            ]),
            *rng.pick(&[white, white, [80, 230, 80], [230, 230, 80], grey(170)]),
            *rng.pick(&[[250, 250, 40], [60, 240, 60], [80, 220, 255], white]),
        )
    } else {
        (
            white,
            grey(rng.ui(150, 255) as u8),
            grey(rng.ui(150, 255) as u8),
            grey(rng.ui(190, 255) as u8),
        )
    };
    let dim = [0, 1, 2].map(|k| (f32::from(text[k]) * rng.uf(0.6, 0.85)) as u8);
    Style {
        text,
        dim,
        accent,
        marker,
        caliper,
        scale: ui.scale,
        line_h: ui.line_h as f32,
        margin: rng.uf(3.0, 12.0),
        gap: rng.ui(2, 8),
    }
}

pub(crate) fn build(ctx: &UiCtx<'_>, rng: &mut impl Rng) -> Ui {
    let plan = ctx.plan;
    let (w, h) = (plan.width, plan.height);
    let style = style(ctx, rng);
    let mut b = Builder {
        ctx,
        layer: Layer::new(w, h),
        placer: Placer::new(ctx.sector, w, h),
        style,
        dynamic: Vec::new(),
        w: w as f32,
        h: h as f32,
        truncate: false,
    };
    let bg = if rng.chance(0.2) {
        grey(rng.ui(1, 6) as u8)
    } else {
        grey(0)
    };
    toolbar(&mut b, rng);
    b.truncate = true;
    let has_clock = header(&mut b, rng);
    b.truncate = false;
    if plan.layout == Layout::Dual {
        dual_labels(&mut b, rng);
    }
    orientation_logo(&mut b, rng);
    let right = rng.chance(0.65);
    let left = !right || rng.chance(0.6);
    if right {
        right_column(&mut b, rng);
    }
    if left {
        left_column(&mut b, rng);
    }
    bars(&mut b, rng);
    depth_scale(&mut b, rng);
    if plan.strip.is_some() {
        strip_marks(&mut b, rng);
    }
    doppler_outline(&mut b, rng);
    let has_calipers = rng.chance(0.3) && calipers(&mut b, rng);
    bottom_text(&mut b, rng);
    if rng.chance(0.3) {
        corner_icons(&mut b, rng);
    }
    if rng.chance(0.15) {
        body_marker(&mut b, rng);
    }
    let p_ecg = match (plan.layout, plan.probe) {
        (Layout::Cardiac, _) => 0.75,
        (Layout::Mmode, ProbeKind::Phased) => 0.85,
        (Layout::Mmode, _) => 0.3,
        _ => 0.06,
    };
    let has_ecg = rng.chance(p_ecg) && ecg(&mut b, rng);
    Ui {
        layer: b.layer,
        dynamic: b.dynamic,
        has_ecg,
        has_calipers,
        has_clock,
        bg,
    }
}

fn toolbar(b: &mut Builder<'_>, rng: &mut impl Rng) {
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
fn header(b: &mut Builder<'_>, rng: &mut impl Rng) -> bool {
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

fn right_column(b: &mut Builder<'_>, rng: &mut impl Rng) {
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

fn left_column(b: &mut Builder<'_>, rng: &mut impl Rng) {
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

/// Grey bar and, with Doppler, the colour bar.
fn bars(b: &mut Builder<'_>, rng: &mut impl Rng) {
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
fn depth_scale(b: &mut Builder<'_>, rng: &mut impl Rng) {
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
                super::beam::BeamGeom::Fan { r0, .. } => r0,
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
                super::beam::BeamGeom::Fan { apex_y, r0, .. } => {
                    (apex_y + r0, apex_y + r0 + geom.depth_px())
                }
                super::beam::BeamGeom::Rect { y0, y1, .. } => (y0, y1),
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
            super::beam::BeamGeom::Fan { apex_y, r0, .. } => {
                apex_y + r0 + geom.depth_px() * rng.uf(0.25, 0.7)
            }
            super::beam::BeamGeom::Rect { y0, y1, .. } => y0 + (y1 - y0) * rng.uf(0.25, 0.7),
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

/// Bounding box (x0, y0, x1, y1) of a region, clamped to the frame.
fn region_bbox(r: &Region, w: f32, h: f32) -> (f32, f32, f32, f32) {
    match *r {
        Region::Rect(rc) => (rc.x0, rc.y0, rc.x1, rc.y1),
        Region::Fan(f) => {
            let mut bb = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
            for i in 0..=32 {
                let a = f.angle_left + (f.angle_right - f.angle_left) * i as f32 / 32.0;
                for r in [f.r_inner, f.r_outer] {
                    let (x, y) = (f.apex_x + r * a.sin(), f.apex_y + r * a.cos());
                    bb = (bb.0.min(x), bb.1.min(y), bb.2.max(x), bb.3.max(y));
                }
            }
            if let Some(c) = f.clip {
                bb = (
                    bb.0.max(c.x0),
                    bb.1.max(c.y0),
                    bb.2.min(c.x1),
                    bb.3.min(c.y1),
                );
            }
            (bb.0.max(0.0), bb.1.max(0.0), bb.2.min(w), bb.3.min(h))
        }
    }
}

fn orientation_logo(b: &mut Builder<'_>, rng: &mut impl Rng) {
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

fn calipers(b: &mut Builder<'_>, rng: &mut impl Rng) -> bool {
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

fn doppler_outline(b: &mut Builder<'_>, rng: &mut impl Rng) {
    let c = grey(rng.ui(170, 255) as u8);
    for pane in &b.ctx.scan.panes {
        let Some(d) = &pane.doppler else { continue };
        let g = pane.geom;
        match g {
            super::beam::BeamGeom::Fan {
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
            super::beam::BeamGeom::Rect { .. } => {
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

fn strip_marks(b: &mut Builder<'_>, rng: &mut impl Rng) {
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

fn dual_labels(b: &mut Builder<'_>, rng: &mut impl Rng) {
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

fn bottom_text(b: &mut Builder<'_>, rng: &mut impl Rng) {
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

fn corner_icons(b: &mut Builder<'_>, rng: &mut impl Rng) {
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

fn body_marker(b: &mut Builder<'_>, rng: &mut impl Rng) {
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

fn ecg(b: &mut Builder<'_>, rng: &mut impl Rng) -> bool {
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
    fn draw(&self, t: f32, timing: &Timing, s: &mut FrameSurface<'_>) {
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

impl Ui {
    /// Draws the per-frame parts (clock, counters, ECG) of frame `k`.
    pub(crate) fn draw_dynamic(&self, k: usize, timing: &Timing, s: &mut FrameSurface<'_>) {
        let t = timing.time(k);
        for d in &self.dynamic {
            match d {
                Dynamic::Text {
                    x,
                    y,
                    align,
                    scale,
                    color,
                    text,
                } => {
                    let txt = match text {
                        DynText::Clock {
                            fmt,
                            secs0,
                            prefix,
                            suffix,
                        } => {
                            format!(
                                "{prefix}{}{suffix}",
                                phi::clock(*fmt, secs0 + k as f64 / f64::from(timing.fps))
                            )
                        }
                        DynText::Counter {
                            start,
                            total,
                            suffix,
                        } => format!("{}/{total}{suffix}", (start + k as u32) % total + 1),
                    };
                    let tw = font::text_width(&txt, *scale);
                    let x0 = match align {
                        Align::Left => *x,
                        Align::Right => x - tw,
                        Align::Center => x - tw / 2.0,
                    };
                    draw::text(s, x0, *y, &txt, *scale, *color, false);
                }
                Dynamic::Ecg(e) => e.draw(t, timing, s),
            }
        }
    }
}
