//! Everything a scanner burns into the picture besides the scan itself:
//! patient header, parameter columns, grey and colour bars, depth scales
//! hugging the sector edge, focus and orientation markers, calipers,
//! Doppler box outline, M-line and strip scales, toolbar, annotations and
//! the sweeping ECG. Static parts go to one layer; the clock, counters and
//! the ECG are drawn per frame.
//!
//! Submodules: [`place`] keeps text off the sector and off other text,
//! [`header`] draws the toolbar, patient header and parameter columns,
//! [`scales`] the grey / colour bars and depth scale, [`markers`] the
//! orientation logo, calipers, Doppler box and strip marks, [`labels`] the
//! pane labels, annotations and small icons, and [`ecg`] the sweeping ECG.

mod ecg;
mod header;
mod labels;
mod markers;
mod place;
mod scales;

use super::draw::{self, FrameSurface, Layer, Rgb};
use super::font;
use super::layout::Plan;
use super::phi::{self, ClockFmt};
use super::scan::{Scan, Timing};
use super::util::Pick;
use super::{Layout, ProbeKind};
use ecg::{Ecg, ecg};
use header::{header, left_column, right_column, toolbar};
use labels::{body_marker, bottom_text, corner_icons, dual_labels};
use markers::{calipers, doppler_outline, orientation_logo, strip_marks};
use place::Placer;
use rand::Rng;
use scales::{bars, depth_scale};

/// Inputs to the user-interface builder.
pub(crate) struct UiCtx<'a> {
    pub plan: &'a Plan,
    pub scan: &'a Scan,
    pub sector: &'a [u8],
    pub color: bool,
    pub seed: u64,
    pub probe_name: &'a str,
    pub preset: &'a str,
    /// A non-black scanner background around the image (part of the UI).
    pub panel: Option<Rgb>,
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
    if let Some(c) = ctx.panel {
        panel(&mut b.layer, ctx.sector, w, c);
    }
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

/// Fills everything outside the sector with the scanner's panel colour.
fn panel(layer: &mut Layer, sector: &[u8], w: u32, c: Rgb) {
    use draw::Surface;
    for (i, _) in sector.iter().enumerate().filter(|(_, s)| **s == 0) {
        layer.blend((i % w as usize) as i32, (i / w as usize) as i32, c, 1.0);
    }
}

impl Ui {
    /// No user interface at all (a bare probe stream, an image inside
    /// someone else's window).
    pub(crate) fn bare(w: u32, h: u32) -> Self {
        Self {
            layer: Layer::new(w, h),
            dynamic: Vec::new(),
            has_ecg: false,
            has_calipers: false,
            has_clock: false,
            bg: grey(0),
        }
    }

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
