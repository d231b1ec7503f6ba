//! A desktop application window around the scanner screen, as in screen
//! recordings and screenshots of de-identification, tracking and viewer
//! tools: a title bar, flat or gradient backgrounds of any brightness
//! (teal, grey, white, dark blue), labelled buttons, drop-downs, a frame
//! counter and a progress bar, side panels and line charts.
//!
//! Three arrangements, each seen in real captures: controls stacked above
//! and below the video (portrait tools), a control panel at the left with
//! the video and plots at the right, and a dark media player.

use super::widgets::{self, button, chart, dropdown, window_buttons};
use super::{Dyn, View};
use crate::synth::draw::{self, Layer, Rgb};
use crate::synth::font;
use crate::synth::phi;
use crate::synth::util::Pick;
use rand::Rng;

/// Colours of one window.
struct Theme {
    bg: Rgb,
    /// Bottom colour of a vertical gradient background.
    bg2: Option<Rgb>,
    text: Rgb,
    title_bg: Rgb,
    title_text: Rgb,
    button: Rgb,
    button_border: Rgb,
    button_text: Rgb,
    accent: Rgb,
}

fn luma(c: Rgb) -> f32 {
    0.299 * f32::from(c[0]) + 0.587 * f32::from(c[1]) + 0.114 * f32::from(c[2])
}

fn shade(c: Rgb, d: i32) -> Rgb {
    c.map(|v| (i32::from(v) + d).clamp(0, 255) as u8)
}

fn theme(rng: &mut impl Rng) -> Theme {
    let bg: Rgb = *rng.pick(&[
        [42, 72, 78],
        [47, 79, 79],
        [38, 52, 58],
        [240, 240, 240],
        [230, 232, 236],
        [252, 252, 252],
        [24, 38, 60],
        [16, 30, 50],
        [32, 32, 36],
        [45, 45, 48],
        [120, 124, 130],
        [200, 204, 210],
    ]);
    let dark = luma(bg) < 128.0;
    let bg2 = rng.chance(0.3).then(|| {
        shade(
            bg,
            if dark {
                rng.ui(10, 40)
            } else {
                -rng.ui(10, 40)
            },
        )
    });
    let text = if dark {
        [rng.ui(215, 255) as u8; 3]
    } else {
        [rng.ui(0, 40) as u8; 3]
    };
    let title_bg = *rng.pick(&[[0, 0, 0], [255, 255, 255], shade(bg, -12), [32, 32, 32]]);
    let title_text = if luma(title_bg) < 128.0 {
        [230; 3]
    } else {
        [20; 3]
    };
    let button: Rgb = if dark {
        *rng.pick(&[
            [222, 238, 228],
            [225, 225, 225],
            [200, 220, 245],
            [70, 74, 82],
        ])
    } else {
        *rng.pick(&[
            [225, 235, 250],
            [215, 235, 215],
            [245, 225, 205],
            [236, 233, 220],
            [253, 253, 253],
        ])
    };
    let button_text = if luma(button) < 128.0 {
        [235; 3]
    } else {
        [15; 3]
    };
    Theme {
        bg,
        bg2,
        text,
        title_bg,
        title_text,
        button,
        button_border: shade(button, -70),
        button_text,
        accent: *rng.pick(&[[190, 140, 10], [60, 160, 80], [40, 120, 215], [200, 60, 50]]),
    }
}

/// Everything a window's builder needs.
struct Win<'a, R: Rng> {
    layer: &'a mut Layer,
    dynamic: &'a mut Vec<Dyn>,
    rng: &'a mut R,
    t: Theme,
    w: f32,
    h: f32,
    /// UI unit: 1 at an 800-pixel short side.
    u: f32,
    /// Text scale of the 5×7 font.
    ts: f32,
    frames: u32,
}

impl<R: Rng> Win<'_, R> {
    fn background(&mut self) {
        let (w, h) = (self.w as i32, self.h as i32);
        match self.t.bg2 {
            Some(b2) => draw::gradient_bar(self.layer, 0, 0, w, h, &[self.t.bg, b2]),
            None => draw::fill_rect(self.layer, 0, 0, w, h, self.t.bg, 1.0),
        }
    }

    /// Title bar; returns its height.
    fn title_bar(&mut self) -> f32 {
        let th = (30.0 * self.u).round().max(14.0);
        draw::fill_rect(
            self.layer,
            0,
            0,
            self.w as i32,
            th as i32,
            self.t.title_bg,
            1.0,
        );
        let icon = th * 0.6;
        let mut x = th * 0.3;
        if self.rng.chance(0.7) {
            let c = *self
                .rng
                .pick(&[[0, 120, 215], [60, 160, 200], [230, 120, 30]]);
            widgets::app_icon(self.layer, x, (th - icon) / 2.0, icon, c, [255; 3]);
            x += icon + th * 0.3;
        }
        let title = *self.rng.pick(&[
            "Advanced Methods Window",
            "Figure 1",
            "Ultrasound Viewer",
            "DICOM Viewer - Study",
            "Video Player",
            "Remove Video Parts",
            "Echo Review",
            "Untitled - Capture",
        ]);
        let title = if self.rng.chance(0.35) {
            format!("{title} - {}", phi::patient_name(self.rng))
        } else {
            title.to_string()
        };
        let s = self.ts * 0.9;
        draw::text(
            self.layer,
            x,
            (th - 7.0 * s) / 2.0,
            &widgets::fit(&title, self.w * 0.6, s),
            s,
            self.t.title_text,
            false,
        );
        window_buttons(self.layer, self.w, 0.0, th, self.t.title_text);
        th
    }

    fn button(&mut self, r: [f32; 4], label: &str) {
        let rad = self.rng.uf(0.0, 6.0) * self.u;
        button(
            self.layer,
            r,
            rad,
            self.t.button,
            self.t.button_border,
            label,
            self.ts,
            self.t.button_text,
        );
    }

    /// A light frame a few pixels wide just outside the video.
    fn video_border(&mut self, v: [i32; 4]) {
        if self.rng.chance(0.55) {
            let t = (self.rng.uf(1.0, 4.0) * self.u).round().max(1.0) as i32;
            let c = *self
                .rng
                .pick(&[[240, 240, 240], [255, 255, 255], [160, 160, 160]]);
            draw::rect_outline(self.layer, v[0] - t, v[1] - t, v[2] + t, v[3] + t, t, c);
        }
    }

    /// The "Frame: k" counter and the progress bar under the video.
    fn frame_bar(&mut self, x0: f32, x1: f32, y: f32) -> f32 {
        let s = self.ts * 0.75;
        let start = self.rng.ui(0, 5000) as u32;
        let total = start + self.frames + self.rng.ui(10, 30_000) as u32;
        self.dynamic.push(Dyn::Counter {
            x: x0 + 4.0,
            y,
            scale: s,
            color: self.t.text,
            prefix: "Frame: ".into(),
            start,
            total,
        });
        let bh = (14.0 * self.u).max(6.0);
        let by = y + 10.0 * s + 8.0 * self.u;
        let fill = self.t.accent;
        self.dynamic.push(Dyn::Progress {
            r: [x0, by, x1, by + bh],
            track: shade(fill, -60),
            fill,
            knob: self.rng.chance(0.7).then_some([200, 200, 205]),
            start: start as f32 / total as f32,
            step: 1.0 / total as f32,
        });
        by + bh - y
    }
}

/// Controls above and below the video, full width (portrait tools).
fn stacked<R: Rng>(win: &mut Win<'_, R>, top: f32) -> Option<View> {
    let (w, h, u) = (win.w, win.h, win.u);
    let m = (12.0 * u).round();
    let row = (32.0 * u).round();
    let gap = (8.0 * u).round();
    let mut y = top + gap;
    let n_top = win.rng.ui(0, 3);
    for _ in 0..n_top {
        match win.rng.ui(0, 2) {
            0 => {
                let label = *win
                    .rng
                    .pick(&["Select Method", "Input Video", "Settings", "Preview"]);
                widgets::centred_text(win.layer, w / 2.0, y + row / 2.0, label, win.ts, win.t.text);
            }
            1 => {
                let label =
                    *win.rng
                        .pick(&["Remove Video Parts", "Crop", "Anonymise", "Mask Region"]);
                let (fill, border, text) = (shade(win.t.bg, 20), shade(win.t.bg, 60), win.t.text);
                dropdown(
                    win.layer,
                    [m, y, w - m, y + row],
                    fill,
                    border,
                    label,
                    win.ts,
                    text,
                );
            }
            _ => {
                let label = *win
                    .rng
                    .pick(&["Load Video", "Open File", "Import", "Browse"]);
                let x1 = w - m - win.rng.uf(0.0, 0.06) * w;
                win.button([m, y, x1, y + row], label);
            }
        }
        y += row + gap;
    }
    let v_top = y + gap;
    // Bottom block, bottom-up.
    let mut yb = h - gap;
    for _ in 0..win.rng.ui(0, 2) {
        let r = [m, yb - row, w - m - win.rng.uf(0.0, 0.06) * w, yb];
        if win.rng.chance(0.5) {
            let label = *win.rng.pick(&["Remove Parts", "Save", "Export", "Run"]);
            win.button(r, label);
        } else {
            let label = *win.rng.pick(&["Output Path", "Output", "Destination"]);
            draw::text(
                win.layer,
                m,
                yb - row / 2.0 - 3.5 * win.ts,
                label,
                win.ts,
                win.t.text,
                false,
            );
            let x0 = w * win.rng.uf(0.4, 0.55);
            win.button([x0, r[1], r[2], r[3]], "Browse");
        }
        yb -= row + gap;
    }
    let bar_h = 10.0 * win.ts * 0.75 + 8.0 * u + (14.0 * u).max(6.0);
    let bar_y = yb - bar_h - gap;
    let (vx0, vx1) = (m.max(4.0), w - m - win.rng.uf(0.0, 0.06) * w);
    let v_bottom = bar_y - gap;
    if v_bottom - v_top < 0.4 * h || vx1 - vx0 < 0.6 * w {
        return None;
    }
    win.frame_bar(vx0, vx1, bar_y);
    Some(View {
        rect: [vx0 as i32, v_top as i32, vx1 as i32, v_bottom as i32],
        letterbox: false,
    })
}

/// A control panel at the left; the video and plots at the right.
fn side_panel<R: Rng>(win: &mut Win<'_, R>, top: f32) -> Option<View> {
    let (w, h, u) = (win.w, win.h, win.u);
    let mut top = top;
    if win.rng.chance(0.6) {
        // Icon toolbar.
        let tb = (40.0 * u).round();
        let c = win.t.text;
        for i in 0..win.rng.ui(5, 9) {
            let (x, y, s) = (10.0 * u + i as f32 * tb, top + tb * 0.25, tb * 0.5);
            match i % 4 {
                0 => draw::fill_convex(
                    win.layer,
                    &[
                        (x, y + s * 0.5),
                        (x + s * 0.5, y),
                        (x + s, y + s * 0.5),
                        (x + s, y + s),
                        (x, y + s),
                    ],
                    c,
                ),
                1 => draw::line(
                    win.layer,
                    (x, y + s / 2.0),
                    (x + s, y + s / 2.0),
                    2.0 * u.max(0.7),
                    c,
                ),
                2 => draw::ring(win.layer, x + s * 0.4, y + s * 0.4, s * 0.3, 1.5, c),
                _ => draw::rect_outline(
                    win.layer,
                    x as i32,
                    y as i32,
                    (x + s) as i32,
                    (y + s) as i32,
                    2,
                    c,
                ),
            }
        }
        top += tb;
    }
    let pw = (w * win.rng.uf(0.2, 0.3)).round();
    let panel = shade(win.t.bg, if luma(win.t.bg) < 128.0 { 14 } else { -10 });
    draw::fill_rect(win.layer, 0, top as i32, pw as i32, h as i32, panel, 1.0);
    let row = (26.0 * u).round();
    let gap = (4.0 * u).round().max(2.0);
    let mut y = top + gap;
    let labels = [
        "Create Project",
        "Train model",
        "Apply corrections",
        "Reduce jitter",
        "Save annotation as...",
        "Discard annotations",
        "Trace: line",
        "Freeze axes",
        "Refresh UI",
        "Keyboard shortcuts",
        "Remove layer",
        "Swap layers",
    ];
    let pastels: [Rgb; 5] = [
        [204, 222, 246],
        [214, 240, 214],
        [250, 222, 204],
        [236, 232, 216],
        [226, 228, 232],
    ];
    while y + row < h - gap {
        let fill = *win.rng.pick(&pastels);
        for _ in 0..win.rng.ui(1, 5) {
            if y + row >= h - gap {
                break;
            }
            if win.rng.chance(0.25) {
                let s = win.ts * 0.8;
                draw::text(win.layer, 6.0, y, "annotation_layer:", s, [30; 3], false);
                y += 9.0 * s;
                dropdown(
                    win.layer,
                    [6.0, y, pw - 6.0, y + row],
                    [250; 3],
                    [150; 3],
                    "iteration-4",
                    s,
                    [20; 3],
                );
            } else {
                let label = *win.rng.pick(&labels);
                button(
                    win.layer,
                    [4.0, y, pw - 4.0, y + row],
                    2.0,
                    fill,
                    shade(fill, -40),
                    label,
                    win.ts * 0.8,
                    [30; 3],
                );
            }
            y += row + gap;
        }
        draw::fill_rect(
            win.layer,
            4,
            (y + 2.0) as i32,
            (pw - 4.0) as i32,
            (y + 3.0) as i32,
            [60; 3],
            1.0,
        );
        draw::fill_rect(
            win.layer,
            4,
            (y + 5.0) as i32,
            (pw - 4.0) as i32,
            (y + 6.0) as i32,
            [60; 3],
            1.0,
        );
        y += 10.0 * u + 6.0;
    }
    let x0 = pw + 10.0 * u;
    let x1 = w - 10.0 * u;
    // Frame information line.
    let s = win.ts * 0.8;
    let start = win.rng.ui(0, 20_000) as u32;
    let total = start + win.frames + win.rng.ui(100, 40_000) as u32;
    win.dynamic.push(Dyn::Counter {
        x: x0,
        y: top + 4.0 * u,
        scale: s,
        color: win.t.text,
        prefix: "Frame ".into(),
        start,
        total,
    });
    let vy0 = top + 8.0 * u + 9.0 * s;
    let vh = (h - vy0) * win.rng.uf(0.55, 0.95);
    let vy1 = vy0 + vh;
    if win.rng.chance(0.7) && h - vy1 > 60.0 * u {
        let n = win.rng.ui(1, 2);
        let ch = (h - vy1 - 8.0 * u) / n as f32;
        for i in 0..n {
            let cy = vy1 + 6.0 * u + i as f32 * ch;
            let trace = *win
                .rng
                .pick(&[[120, 200, 170], [230, 120, 80], [60, 110, 200]]);
            chart(
                win.layer,
                [x0 + 40.0 * u, cy, x1, cy + ch - 4.0 * u],
                [255; 3],
                [20; 3],
                trace,
                s,
                win.rng,
            );
        }
    }
    if x1 - x0 < 0.45 * w || vh < 0.35 * h {
        return None;
    }
    Some(View {
        rect: [x0 as i32, vy0 as i32, x1 as i32, vy1 as i32],
        letterbox: true,
    })
}

/// A media player: the video large in the middle, transport controls under it.
fn player<R: Rng>(win: &mut Win<'_, R>, top: f32) -> Option<View> {
    let (w, h, u) = (win.w, win.h, win.u);
    let side = if win.rng.chance(0.4) {
        w * win.rng.uf(0.18, 0.26)
    } else {
        0.0
    };
    if side > 0.0 {
        // A file list: names, dates and IDs, all of it patient data.
        let s = win.ts * 0.8;
        let c = shade(win.t.text, -30);
        let mut y = top + 8.0 * u;
        while y < h - 20.0 * s {
            let line = match win.rng.ui(0, 2) {
                0 => phi::patient_name(win.rng),
                1 => format!("{} {}", phi::date(win.rng), phi::mrn(win.rng)),
                _ => format!("IMG_{}.dcm", phi::digits(win.rng, 4)),
            };
            draw::text(
                win.layer,
                w - side + 6.0,
                y,
                &widgets::fit(&line, side - 12.0, s),
                s,
                c,
                false,
            );
            y += 12.0 * s;
        }
        draw::fill_rect(
            win.layer,
            (w - side) as i32,
            top as i32,
            (w - side + 1.0) as i32,
            h as i32,
            shade(win.t.bg, 40),
            1.0,
        );
    }
    let bar = (44.0 * u).round();
    let (x0, x1) = (8.0 * u, w - side - 8.0 * u);
    let (y0, y1) = (top + 8.0 * u, h - bar - 6.0 * u);
    let cy = h - bar / 2.0;
    let c = win.t.text;
    let r = bar * 0.22;
    draw::fill_convex(
        win.layer,
        &[
            (x0 + 6.0 * u, cy - r),
            (x0 + 6.0 * u + 1.6 * r, cy),
            (x0 + 6.0 * u, cy + r),
        ],
        c,
    );
    let s = win.ts * 0.75;
    let px0 = x0 + 6.0 * u + 3.0 * r;
    let px1 = x1 - font::text_width("00:00:00 / 00:00:00", s) - 10.0 * u;
    let total = win.frames + win.rng.ui(100, 5000) as u32;
    let start = win.rng.ui(0, (total - win.frames) as i32) as u32;
    let fill = win.t.accent;
    win.dynamic.push(Dyn::Progress {
        r: [px0, cy - 3.0 * u, px1, cy + 3.0 * u],
        track: shade(win.t.bg, 50),
        fill,
        knob: Some([230; 3]),
        start: start as f32 / total as f32,
        step: 1.0 / total as f32,
    });
    win.dynamic.push(Dyn::Counter {
        x: px1 + 8.0 * u,
        y: cy - 3.5 * s,
        scale: s,
        color: c,
        prefix: String::new(),
        start,
        total,
    });
    if x1 - x0 < 0.5 * w || y1 - y0 < 0.5 * h {
        return None;
    }
    Some(View {
        rect: [x0 as i32, y0 as i32, x1 as i32, y1 as i32],
        letterbox: true,
    })
}

/// Draws a window of `w × h` into `layer` (dynamic parts into `dynamic`)
/// and returns where the video goes, or `None` when the window is too
/// small for its controls.
pub(super) fn window(
    layer: &mut Layer,
    dynamic: &mut Vec<Dyn>,
    frames: u32,
    rng: &mut impl Rng,
) -> Option<View> {
    let (w, h) = (layer.w as f32, layer.h as f32);
    let u = (w.min(h) / 800.0).clamp(0.45, 1.8);
    let mut t = theme(rng);
    let style = rng.weighted(&[0.45, 0.35, 0.2]);
    if style == 2 && luma(t.bg) > 128.0 {
        // Players are dark.
        t.bg = [rng.ui(10, 40) as u8; 3];
        t.bg2 = None;
        t.text = [225; 3];
    }
    let mut win = Win {
        layer,
        dynamic,
        rng,
        t,
        w,
        h,
        u,
        ts: (2.2 * u).max(1.0),
        frames,
    };
    win.background();
    let top = win.title_bar();
    let view = match style {
        0 => stacked(&mut win, top),
        1 => side_panel(&mut win, top),
        _ => player(&mut win, top),
    }?;
    if !view.letterbox {
        win.video_border(view.rect);
    }
    // The video itself is drawn by the scanner; keep the window off it.
    let [x0, y0, x1, y1] = view.rect;
    win.layer.clear(x0, y0, x1, y1);
    Some(view)
}
