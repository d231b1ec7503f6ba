//! Desktop and phone widgets drawn around an embedded scanner screen:
//! rounded buttons with centred labels, drop-downs, progress bars, window
//! buttons, status-bar icons and small line charts. Everything goes through
//! [`Surface`], so whatever a widget touches is marked as overlay.

use crate::synth::draw::{self, Rgb, Surface};
use crate::synth::font;
use crate::synth::util::Pick;
use rand::Rng;

/// Signed distance from a pixel centre to a rounded rectangle (negative inside).
fn round_rect_sdf(px: f32, py: f32, r: [f32; 4], radius: f32) -> f32 {
    let (cx, cy) = (0.5 * (r[0] + r[2]), 0.5 * (r[1] + r[3]));
    let (hx, hy) = (0.5 * (r[2] - r[0]), 0.5 * (r[3] - r[1]));
    let rad = radius.min(hx).min(hy).max(0.0);
    let qx = ((px - cx).abs() - (hx - rad)).max(0.0);
    let qy = ((py - cy).abs() - (hy - rad)).max(0.0);
    let inner = ((px - cx).abs() - (hx - rad))
        .max((py - cy).abs() - (hy - rad))
        .min(0.0);
    (qx * qx + qy * qy).sqrt() + inner - rad
}

/// A filled rounded rectangle `[x0, x1) × [y0, y1)`, with a `t`-pixel
/// outline in `border` when given.
pub(super) fn round_rect<S: Surface>(
    s: &mut S,
    r: [f32; 4],
    radius: f32,
    fill: Rgb,
    border: Option<(Rgb, f32)>,
) {
    let (x0, y0) = (r[0].floor() as i32 - 1, r[1].floor() as i32 - 1);
    let (x1, y1) = (r[2].ceil() as i32 + 1, r[3].ceil() as i32 + 1);
    for y in y0.max(0)..y1.min(s.height()) {
        for x in x0.max(0)..x1.min(s.width()) {
            let d = round_rect_sdf(x as f32 + 0.5, y as f32 + 0.5, r, radius);
            let a = (0.5 - d).clamp(0.0, 1.0);
            if a <= 0.0 {
                continue;
            }
            s.blend(x, y, fill, a);
            if let Some((bc, t)) = border {
                let inside_border = (0.5 - (d + t)).clamp(0.0, 1.0);
                let b = a - inside_border;
                if b > 0.0 {
                    s.blend(x, y, bc, b);
                }
            }
        }
    }
}

/// `text` centred on `(cx, cy)`; returns its width.
pub(super) fn centred_text<S: Surface>(
    s: &mut S,
    cx: f32,
    cy: f32,
    text: &str,
    scale: f32,
    c: Rgb,
) -> f32 {
    let tw = font::text_width(text, scale);
    draw::text(s, cx - tw / 2.0, cy - 3.5 * scale, text, scale, c, false)
}

/// `text` cut to the characters that fit in `room` pixels at `scale`.
pub(super) fn fit(text: &str, room: f32, scale: f32) -> String {
    let n = ((room / scale + 1.0) / font::ADVANCE).floor().max(0.0) as usize;
    text.chars().take(n).collect()
}

/// A push button with a centred label (cut to fit).
#[allow(clippy::too_many_arguments)]
pub(super) fn button<S: Surface>(
    s: &mut S,
    r: [f32; 4],
    radius: f32,
    fill: Rgb,
    border: Rgb,
    label: &str,
    scale: f32,
    text: Rgb,
) {
    round_rect(s, r, radius, fill, Some((border, 1.0)));
    let lab = fit(label, r[2] - r[0] - 8.0, scale);
    centred_text(
        s,
        0.5 * (r[0] + r[2]),
        0.5 * (r[1] + r[3]),
        &lab,
        scale,
        text,
    );
}

/// A drop-down: a box with left-aligned text and a chevron at the right.
#[allow(clippy::too_many_arguments)]
pub(super) fn dropdown<S: Surface>(
    s: &mut S,
    r: [f32; 4],
    fill: Rgb,
    border: Rgb,
    label: &str,
    scale: f32,
    text: Rgb,
) {
    round_rect(s, r, 3.0, fill, Some((border, 1.0)));
    let h = r[3] - r[1];
    let lab = fit(label, r[2] - r[0] - h - 10.0, scale);
    draw::text(
        s,
        r[0] + 6.0,
        0.5 * (r[1] + r[3]) - 3.5 * scale,
        &lab,
        scale,
        text,
        false,
    );
    let (cx, cy, a) = (r[2] - h * 0.5, 0.5 * (r[1] + r[3]), h * 0.15);
    draw::polyline(
        s,
        &[
            (cx - a, cy - a * 0.5),
            (cx, cy + a * 0.5),
            (cx + a, cy - a * 0.5),
        ],
        1.5,
        text,
        1.0,
    );
}

/// A horizontal progress bar with a filled part and, optionally, a knob.
pub(super) fn progress<S: Surface>(
    s: &mut S,
    r: [f32; 4],
    track: Rgb,
    fill: Rgb,
    frac: f32,
    knob: Option<Rgb>,
) {
    draw::fill_rect(
        s,
        r[0] as i32,
        r[1] as i32,
        r[2] as i32,
        r[3] as i32,
        track,
        1.0,
    );
    let xf = r[0] + (r[2] - r[0]) * frac.clamp(0.0, 1.0);
    draw::fill_rect(
        s,
        r[0] as i32,
        r[1] as i32,
        xf as i32,
        r[3] as i32,
        fill,
        1.0,
    );
    if let Some(k) = knob {
        let h = r[3] - r[1];
        round_rect(
            s,
            [xf - h * 0.7, r[1] - 1.0, xf + h * 0.7, r[3] + 1.0],
            2.0,
            k,
            Some(([40, 40, 40], 1.0)),
        );
    }
}

/// Minimise, maximise and close glyphs right-aligned in a title bar.
pub(super) fn window_buttons<S: Surface>(s: &mut S, right: f32, y0: f32, th: f32, c: Rgb) {
    let a = (th * 0.22).max(3.0);
    let cy = y0 + th * 0.5;
    let step = th * 1.7;
    let (xc, xm, xn) = (right - step * 0.6, right - step * 1.6, right - step * 2.6);
    draw::line(s, (xc - a, cy - a), (xc + a, cy + a), 1.2, c);
    draw::line(s, (xc - a, cy + a), (xc + a, cy - a), 1.2, c);
    draw::rect_outline(
        s,
        (xm - a) as i32,
        (cy - a) as i32,
        (xm + a) as i32,
        (cy + a) as i32,
        1,
        c,
    );
    draw::line(s, (xn - a, cy), (xn + a, cy), 1.2, c);
}

/// A small app icon: a rounded square with a glyph, as title bars and
/// phone apps show them.
pub(super) fn app_icon<S: Surface>(s: &mut S, x: f32, y: f32, size: f32, c: Rgb, glyph: Rgb) {
    round_rect(s, [x, y, x + size, y + size], size * 0.25, c, None);
    let (cx, cy, r) = (x + size * 0.5, y + size * 0.5, size * 0.28);
    draw::polyline(
        s,
        &[
            (cx - r, cy),
            (cx - r * 0.4, cy),
            (cx - r * 0.1, cy - r),
            (cx + r * 0.2, cy + r),
            (cx + r * 0.5, cy),
            (cx + r, cy),
        ],
        (size * 0.08).max(1.0),
        glyph,
        1.0,
    );
}

/// A line chart in a box: axes, tick labels and one or two noisy traces
/// (the kind of plot tracking tools show under the video).
pub(super) fn chart<S: Surface>(
    s: &mut S,
    r: [f32; 4],
    bg: Rgb,
    fg: Rgb,
    trace: Rgb,
    scale: f32,
    rng: &mut impl Rng,
) {
    draw::fill_rect(
        s,
        r[0] as i32,
        r[1] as i32,
        r[2] as i32,
        r[3] as i32,
        bg,
        1.0,
    );
    let lm = 8.0 * font::ADVANCE * scale * 0.5;
    let (ax0, ay0, ax1, ay1) = (r[0] + lm, r[1] + 4.0, r[2] - 4.0, r[3] - 12.0 * scale);
    if ax1 - ax0 < 20.0 || ay1 - ay0 < 12.0 {
        return;
    }
    draw::rect_outline(s, ax0 as i32, ay0 as i32, ax1 as i32, ay1 as i32, 1, fg);
    let base = rng.ui(100, 400);
    for i in 0..4 {
        let y = ay0 + (ay1 - ay0) * (i as f32 + 0.5) / 4.0;
        draw::text(
            s,
            r[0] + 2.0,
            y - 3.5 * scale,
            &format!("{}", base + (3 - i) * 20),
            scale,
            fg,
            false,
        );
    }
    for i in 0..6 {
        let x = ax0 + (ax1 - ax0) * (i as f32 + 0.5) / 6.0;
        draw::text(
            s,
            x - 6.0 * scale,
            ay1 + 2.0,
            &format!("{}", base * 10 + i * 100),
            scale,
            fg,
            false,
        );
    }
    let n = ((ax1 - ax0) / 3.0) as usize;
    let mut v = 0.5f32;
    let pts: Vec<(f32, f32)> = (0..n.max(2))
        .map(|i| {
            v = (v + rng.uf(-0.08, 0.08)).clamp(0.1, 0.9);
            (
                ax0 + (ax1 - ax0) * i as f32 / (n.max(2) - 1) as f32,
                ay0 + (ay1 - ay0) * v,
            )
        })
        .collect();
    draw::polyline(s, &pts, 1.2, trace, 1.0);
    let xm = ax0 + (ax1 - ax0) * rng.uf(0.2, 0.8);
    draw::line(s, (xm, ay0), (xm, ay1), 1.0, fg);
}

/// A status-bar battery and signal icon pair ending at `right`.
pub(super) fn status_icons<S: Surface>(s: &mut S, right: f32, cy: f32, size: f32, c: Rgb) {
    let (bw, bh) = (size * 1.8, size * 0.9);
    let x1 = right;
    draw::rect_outline(
        s,
        (x1 - bw) as i32,
        (cy - bh / 2.0) as i32,
        x1 as i32,
        (cy + bh / 2.0) as i32,
        1,
        c,
    );
    draw::fill_rect(
        s,
        (x1 - bw + 2.0) as i32,
        (cy - bh / 2.0 + 2.0) as i32,
        (x1 - bw * 0.35) as i32,
        (cy + bh / 2.0 - 2.0) as i32,
        c,
        1.0,
    );
    for i in 0..4 {
        let x = x1 - bw - size * 0.6 - (3 - i) as f32 * size * 0.45;
        let hh = size * (0.3 + 0.2 * i as f32);
        draw::fill_rect(
            s,
            x as i32,
            (cy + bh / 2.0 - hh) as i32,
            (x + size * 0.3).ceil() as i32,
            (cy + bh / 2.0) as i32,
            c,
            1.0,
        );
    }
}
