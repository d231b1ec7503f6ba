//! How the scanner's picture reaches us ([`Screen`]): the scanner's own
//! screen (as every other module draws it), that screen inside a desktop
//! application window, the image inside a phone app, or the bare probe
//! stream.
//!
//! Real frames come in all four, and a network that has only seen the first
//! treats a teal window or a grey scanner panel as "image" and keeps the
//! whole frame. So the scanner screen (`inner`) is generated as always, at
//! the size the window leaves for it, and then [`Composer`] pastes every
//! frame into the window (`outer`) and lays the window's widgets over it.
//! The window's pixels are overlay, like a scanner's header panel; the
//! sector is only the scan, moved to where the window shows it.
//!
//! [`app`] draws desktop windows, [`handheld`] phone apps, [`widgets`] the
//! buttons, bars and charts both use.

mod app;
mod handheld;
mod widgets;

use super::draw::{self, FrameSurface, Layer, Rgb, Surface};
use super::util::Pick;
use super::{Layout, Screen};
use rand::Rng;
use sonomask_core::{Rect, Region, Regions};

/// Where a window shows the scanner's picture.
pub(crate) struct View {
    /// `[x0, y0, x1, y1)` in window pixels.
    pub rect: [i32; 4],
    /// The picture keeps its own aspect, centred on black (video players);
    /// otherwise it fills the rectangle.
    pub letterbox: bool,
}

/// A handheld app's logo, drawn on or beside the image.
pub(crate) struct Badge {
    pub size: f32,
    pub color: Rgb,
    pub alpha: f32,
    pub right: bool,
    /// Inside the sector when it has room (the mask keeps it there).
    pub inside: bool,
}

/// A window part that changes from frame to frame.
pub(crate) enum Dyn {
    /// `"{prefix}{n}/{total}"` with `n` counting up from `start + 1`.
    Counter {
        x: f32,
        y: f32,
        scale: f32,
        color: Rgb,
        prefix: String,
        start: u32,
        total: u32,
    },
    /// A progress bar advancing by `step` per frame.
    Progress {
        r: [f32; 4],
        track: Rgb,
        fill: Rgb,
        knob: Option<Rgb>,
        start: f32,
        step: f32,
    },
}

/// One clip's screen: what kind, the window and where the scanner screen goes.
pub(crate) struct ScreenPlan {
    pub kind: Screen,
    /// The scanner screen's size (what `layout::plan` lays out).
    pub inner: (u32, u32),
    /// The frame's size.
    outer: (u32, u32),
    /// Top-left of the scanner screen in the frame; `None` until the
    /// sector is known (bare probe streams are placed around it).
    offset: Option<(i32, i32)>,
    /// Whether the scanner draws its own text, bars and markers.
    pub scanner_ui: bool,
    /// A non-black scanner background (grey or purple panel) around the image.
    pub panel: Option<Rgb>,
    window: Option<Layer>,
    dynamic: Vec<Dyn>,
    badge: Option<Badge>,
    /// The recording was converted to grey.
    pub grey: bool,
}

impl ScreenPlan {
    fn scanner(size: (u32, u32)) -> Self {
        Self {
            kind: Screen::Scanner,
            inner: size,
            outer: size,
            offset: Some((0, 0)),
            scanner_ui: true,
            panel: None,
            window: None,
            dynamic: Vec::new(),
            badge: None,
            grey: false,
        }
    }
}

/// Scanner UI backgrounds that are not black (Telemed-style purple-grey,
/// luma 50–70).
const PANELS: [Rgb; 6] = [
    [58, 54, 64],
    [62, 58, 70],
    [52, 52, 58],
    [66, 62, 72],
    [60, 60, 60],
    [48, 52, 60],
];

/// Picks the screen of a clip whose scanner would draw a `native`-sized
/// screen (`fixed`: the caller asked for exactly that frame size).
pub(crate) fn plan(
    layout: Layout,
    native: (u32, u32),
    fixed: bool,
    frames: usize,
    rng: &mut impl Rng,
) -> ScreenPlan {
    let single = matches!(
        layout,
        Layout::Cardiac | Layout::Curvilinear | Layout::Linear
    );
    let weights: [f32; 4] = if single {
        [0.63, 0.15, 0.12, 0.10]
    } else {
        [0.75, 0.25, 0.0, 0.0]
    };
    // Windows need room for their controls.
    let roomy = !fixed || native.0.min(native.1) >= 480;
    let kind = match rng.weighted(&weights) {
        1 if roomy => Screen::App,
        2 if roomy => Screen::Handheld,
        3 => Screen::Probe,
        _ => Screen::Scanner,
    };
    let frames = frames.min(u32::MAX as usize) as u32;
    let planned = match kind {
        Screen::Scanner => None,
        Screen::App => app_plan(native, fixed, frames, rng),
        Screen::Handheld => handheld_plan(native, fixed, rng),
        Screen::Probe => Some(probe_plan(native, rng)),
    };
    planned.unwrap_or_else(|| {
        // DICOM exports of high-resolution scanner screens.
        let size = if !fixed && rng.chance(0.07) {
            *rng.pick(&[(1280, 960), (1440, 1080), (2083, 1455)])
        } else {
            native
        };
        ScreenPlan::scanner(size)
    })
}

fn app_plan(
    native: (u32, u32),
    fixed: bool,
    frames: u32,
    rng: &mut impl Rng,
) -> Option<ScreenPlan> {
    const SIZES: [(u32, u32); 8] = [
        (852, 951),
        (776, 1080),
        (1202, 956),
        (1280, 960),
        (1357, 870),
        (1928, 1080),
        (1024, 768),
        (811, 612),
    ];
    let outer = if fixed {
        native
    } else {
        SIZES[rng.weighted(&[0.14, 0.12, 0.12, 0.14, 0.12, 0.1, 0.14, 0.12])]
    };
    let mut window = Layer::new(outer.0, outer.1);
    let mut dynamic = Vec::new();
    let view = app::window(&mut window, &mut dynamic, frames, rng)?;
    let (offset, inner) = fit_view(&view, rng)?;
    let scanner_ui = rng.chance(0.65);
    let panel = (scanner_ui && rng.chance(0.55)).then(|| *rng.pick(&PANELS));
    Some(ScreenPlan {
        kind: Screen::App,
        inner,
        outer,
        offset: Some(offset),
        scanner_ui,
        panel,
        window: Some(window),
        dynamic,
        badge: None,
        grey: rng.chance(0.12),
    })
}

fn handheld_plan(native: (u32, u32), fixed: bool, rng: &mut impl Rng) -> Option<ScreenPlan> {
    const SIZES: [(u32, u32); 6] = [
        (776, 1080),
        (608, 1080),
        (1080, 776),
        (1024, 768),
        (720, 1280),
        (1280, 800),
    ];
    let outer = if fixed {
        native
    } else {
        SIZES[rng.weighted(&[0.3, 0.2, 0.15, 0.15, 0.1, 0.1])]
    };
    let mut window = Layer::new(outer.0, outer.1);
    let (view, badge) = handheld::app(&mut window, rng)?;
    let (offset, inner) = fit_view(&view, rng)?;
    Some(ScreenPlan {
        kind: Screen::Handheld,
        inner,
        outer,
        offset: Some(offset),
        scanner_ui: false,
        panel: None,
        window: Some(window),
        dynamic: Vec::new(),
        badge: Some(badge),
        grey: rng.chance(0.2),
    })
}

/// A bare stream: a scanner screen somewhat larger or smaller than the
/// frame, without text; placed once the sector is known.
fn probe_plan(native: (u32, u32), rng: &mut impl Rng) -> ScreenPlan {
    let s = rng.uf(0.8, 1.3);
    let inner = (
        ((native.0 as f32 * s * rng.uf(0.95, 1.05)) as u32).clamp(64, 4096),
        ((native.1 as f32 * s * rng.uf(0.95, 1.05)) as u32).clamp(64, 4096),
    );
    ScreenPlan {
        kind: Screen::Probe,
        inner,
        outer: native,
        offset: None,
        scanner_ui: false,
        panel: None,
        window: None,
        dynamic: Vec::new(),
        badge: None,
        grey: false,
    }
}

/// The scanner screen's place and size inside `view`.
fn fit_view(view: &View, rng: &mut impl Rng) -> Option<((i32, i32), (u32, u32))> {
    let [x0, y0, x1, y1] = view.rect;
    let (rw, rh) = ((x1 - x0) as f32, (y1 - y0) as f32);
    let (iw, ih) = if view.letterbox {
        let aspect = rng.uf(1.05, 1.45);
        let iw = rw.min(rh * aspect);
        (iw, (iw / aspect).min(rh))
    } else {
        (rw, rh)
    };
    let (iw, ih) = (iw.floor() as i32, ih.floor() as i32);
    if iw < 160 || ih < 120 {
        return None;
    }
    let ox = x0 + (rw as i32 - iw) / 2;
    let oy = y0 + (rh as i32 - ih) / 2;
    Some(((ox, oy), (iw as u32, ih as u32)))
}

/// Bounding box `[x0, y0, x1, y1)` of the non-zero pixels of a mask.
fn bbox(mask: &[u8], w: u32) -> Option<[i32; 4]> {
    let w = w as usize;
    let mut b = [i32::MAX, i32::MAX, i32::MIN, i32::MIN];
    for (i, _) in mask.iter().enumerate().filter(|(_, m)| **m != 0) {
        let (x, y) = ((i % w) as i32, (i / w) as i32);
        b = [b[0].min(x), b[1].min(y), b[2].max(x + 1), b[3].max(y + 1)];
    }
    (b[0] < b[2]).then_some(b)
}

/// Where a bare stream's screen goes: sector centred, or pushed so that one
/// or two of its sides leave the frame (at most a quarter of its extent).
fn place_probe(b: [i32; 4], outer: (u32, u32), rng: &mut impl Rng) -> (i32, i32) {
    let (ow, oh) = (outer.0 as i32, outer.1 as i32);
    let (bw, bh) = (b[2] - b[0], b[3] - b[1]);
    let cut = |n: i32, rng: &mut dyn rand::RngCore| (n as f32 * rng.uf(0.04, 0.25)) as i32;
    let centre_x = (ow - bw) / 2 - b[0] + (ow as f32 * rng.uf(-0.04, 0.04)) as i32;
    let centre_y = (oh - bh) / 2 - b[1] + (oh as f32 * rng.uf(-0.04, 0.04)) as i32;
    let h_cut = rng.weighted(&[0.4, 0.3, 0.3]);
    let v_cut = rng.weighted(&[0.45, 0.4, 0.15]);
    let ox = match h_cut {
        1 => -b[0] - cut(bw, rng),
        2 => ow - b[2] + cut(bw, rng),
        _ => centre_x,
    };
    let oy = match v_cut {
        1 => oh - b[3] + cut(bh, rng),
        2 => -b[1] - cut(bh, rng),
        _ => centre_y,
    };
    (ox, oy)
}

/// `r` moved by `(dx, dy)` and cut to a `w × h` frame; `None` when nothing
/// of it is left.
fn shift(r: &Region, dx: f32, dy: f32, w: f32, h: f32, cut: bool) -> Option<Region> {
    let frame = Rect::new(0.0, 0.0, w, h);
    let moved = |c: Rect| Rect::new(c.x0 + dx, c.y0 + dy, c.x1 + dx, c.y1 + dy);
    let meet = |a: Rect, b: Rect| {
        let r = Rect::new(
            a.x0.max(b.x0),
            a.y0.max(b.y0),
            a.x1.min(b.x1),
            a.y1.min(b.y1),
        );
        (r.x1 > r.x0 && r.y1 > r.y0).then_some(r)
    };
    let out = match r {
        Region::Fan(f) => {
            let mut g = *f;
            g.apex_x += dx;
            g.apex_y += dy;
            g.flat_top = f.flat_top.map(|t| t + dy);
            g.clip = f.clip.map(moved);
            if cut {
                g.clip = Some(meet(g.clip.unwrap_or(frame), frame)?);
            }
            Region::Fan(g)
        }
        Region::Rect(q) => Region::Rect(meet(moved(*q), frame)?),
    };
    Some(out)
}

/// Pastes each scanner frame into the clip's window.
pub(crate) struct Composer {
    pub w: u32,
    pub h: u32,
    inner: (u32, u32),
    offset: (i32, i32),
    layer: draw::CompiledLayer,
    dynamic: Vec<Dyn>,
    /// The window's own overlay marks.
    mask: Vec<u8>,
    pub regions: Regions,
    pub sector: Vec<u8>,
}

impl Composer {
    /// `None` for the scanner's own screen (nothing to compose).
    pub(crate) fn new(
        plan: ScreenPlan,
        regions: &Regions,
        inner_sector: &[u8],
        rng: &mut impl Rng,
    ) -> Option<Self> {
        if plan.kind == Screen::Scanner {
            return None;
        }
        let (w, h) = plan.outer;
        let offset = plan.offset.unwrap_or_else(|| {
            bbox(inner_sector, plan.inner.0).map_or((0, 0), |b| place_probe(b, plan.outer, rng))
        });
        let cut = offset.0 < 0
            || offset.1 < 0
            || offset.0 + plan.inner.0 as i32 > w as i32
            || offset.1 + plan.inner.1 as i32 > h as i32;
        let mut out = Regions::new();
        for r in regions.iter() {
            if let Some(s) = shift(r, offset.0 as f32, offset.1 as f32, w as f32, h as f32, cut) {
                let _ = out.push(s);
            }
        }
        let mut sector = vec![0u8; (w * h) as usize];
        out.rasterize(w as u16, h as u16, &mut sector);
        let mut layer = plan.window.unwrap_or_else(|| Layer::new(w, h));
        if let Some(b) = &plan.badge {
            badge(&mut layer, b, &sector, w, rng);
        }
        let mut mask = vec![0u8; (w * h) as usize];
        layer.mark_mask(&mut mask);
        Some(Self {
            w,
            h,
            inner: plan.inner,
            offset,
            layer: layer.compile(),
            dynamic: plan.dynamic,
            mask,
            regions: out,
            sector,
        })
    }

    /// Frame `k`: the scanner frame `inner` (RGB) in its window; window
    /// pixels drawn now are marked in `mask`.
    pub(crate) fn frame(&self, k: usize, inner: &[u8], mask: &mut [u8]) -> Vec<u8> {
        let (w, h) = (self.w as i32, self.h as i32);
        let (iw, ih) = (self.inner.0 as i32, self.inner.1 as i32);
        let mut out = vec![0u8; (w * h * 3) as usize];
        let (ox, oy) = self.offset;
        let (x0, x1) = (ox.max(0), (ox + iw).min(w));
        if x1 > x0 {
            for y in oy.max(0)..(oy + ih).min(h) {
                let src = ((y - oy) * iw + (x0 - ox)) as usize * 3;
                let dst = (y * w + x0) as usize * 3;
                let n = (x1 - x0) as usize * 3;
                out[dst..dst + n].copy_from_slice(&inner[src..src + n]);
            }
        }
        self.layer.apply(&mut out);
        let mut s = FrameSurface {
            w,
            h,
            buf: &mut out,
            mask,
        };
        for d in &self.dynamic {
            d.draw(k, &mut s);
        }
        out
    }

    /// The frame's overlay: the window's marks plus the scanner's, moved.
    pub(crate) fn overlay(&self, inner_mask: &[u8], mask: &mut [u8]) {
        for (m, &c) in mask.iter_mut().zip(&self.mask) {
            *m |= c;
        }
        let (w, h) = (self.w as i32, self.h as i32);
        let (iw, ih) = (self.inner.0 as i32, self.inner.1 as i32);
        let (ox, oy) = self.offset;
        for y in oy.max(0)..(oy + ih).min(h) {
            for x in ox.max(0)..(ox + iw).min(w) {
                if inner_mask[((y - oy) * iw + (x - ox)) as usize] != 0 {
                    mask[(y * w + x) as usize] = 255;
                }
            }
        }
    }
}

impl Dyn {
    fn draw<S: Surface>(&self, k: usize, s: &mut S) {
        match self {
            Dyn::Counter {
                x,
                y,
                scale,
                color,
                prefix,
                start,
                total,
            } => {
                let n = (start + k as u32) % total.max(&1) + 1;
                let text = format!("{prefix}{n}/{total}");
                draw::text(s, *x, *y, &text, *scale, *color, false);
            }
            Dyn::Progress {
                r,
                track,
                fill,
                knob,
                start,
                step,
            } => widgets::progress(s, *r, *track, *fill, start + step * k as f32, *knob),
        }
    }
}

/// A surface that draws everything at a fixed opacity.
struct Faded<'a, S> {
    s: &'a mut S,
    a: f32,
}

impl<S: Surface> Surface for Faded<'_, S> {
    fn width(&self) -> i32 {
        self.s.width()
    }
    fn height(&self) -> i32 {
        self.s.height()
    }
    fn blend(&mut self, x: i32, y: i32, c: Rgb, a: f32) {
        self.s.blend(x, y, c, a * self.a);
    }
}

/// The app's logo: inside the sector near its top corner when it fits
/// there, otherwise beside the sector's top.
fn badge(layer: &mut Layer, b: &Badge, sector: &[u8], w: u32, rng: &mut impl Rng) {
    let Some(bb) = bbox(sector, w) else {
        return;
    };
    let size = b.size;
    let at = |x: f32, y: f32| {
        let (xi, yi) = (x as i32, y as i32);
        xi >= 0
            && yi >= 0
            && xi < w as i32
            && (yi as usize * w as usize + xi as usize) < sector.len()
            && sector[yi as usize * w as usize + xi as usize] != 0
    };
    let fits =
        |x: f32, y: f32| at(x, y) && at(x + size, y) && at(x, y + size) && at(x + size, y + size);
    let mut spot = None;
    if b.inside {
        let (bx0, by0, bx1, by1) = (bb[0] as f32, bb[1] as f32, bb[2] as f32, bb[3] as f32);
        'search: for j in 0..12 {
            let y = by0 + 6.0 + j as f32 * (by1 - by0) * 0.03;
            for i in 0..24 {
                let d = 6.0 + i as f32 * (bx1 - bx0) * 0.02;
                let x = if b.right { bx1 - d - size } else { bx0 + d };
                if fits(x, y) {
                    spot = Some((x, y));
                    break 'search;
                }
            }
        }
    }
    let (x, y) = spot.unwrap_or_else(|| {
        let x = if b.right {
            bb[2] as f32 + rng.uf(4.0, 16.0)
        } else {
            bb[0] as f32 - size - rng.uf(4.0, 16.0)
        };
        (
            x.clamp(2.0, (w as f32 - size - 2.0).max(2.0)),
            bb[1] as f32 + rng.uf(2.0, 20.0),
        )
    });
    let mut f = Faded {
        s: layer,
        a: b.alpha,
    };
    widgets::app_icon(&mut f, x, y, size, b.color, [40, 40, 48]);
}
