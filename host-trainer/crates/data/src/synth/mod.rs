//! Synthetic ultrasound ("echo") clips with exact ground truth.
//!
//! Each clip imitates a real scanner screen: one of five layouts (phased
//! cardiac fan, curvilinear fan, linear rectangle, dual screen, fan above an
//! M-mode / spectral strip), B-mode images formed from moving anatomy with
//! Rayleigh speckle, attenuation, TGC and gain (some clips dark, some nearly
//! black, some bright), colour or power Doppler boxes, and everything
//! scanners burn in around and over the image: patient header, clock,
//! parameter columns, grey and colour bars, depth dots hugging the sector
//! edge, focus and orientation markers, calipers, toolbar, annotations and a
//! sweeping ECG, optionally JPEG-compressed. About a third of the clips
//! show that picture the way other tools pass it on ([`Screen`]): inside a
//! desktop application window, inside a phone app, or as the bare probe
//! stream, sometimes cropped.
//!
//! Ground truth per clip: `sector` (exactly [`Regions::rasterize`] of
//! `meta.regions`) and `overlay` (every pixel drawn as annotation or PHI in
//! any frame, inside or outside the sector).
//!
//! A clip depends only on `(cfg.seed, index, cfg.size, cfg.layouts,
//! cfg.frames)`, so clips can be generated in parallel and any one
//! regenerated alone.

mod anatomy;
mod beam;
mod doppler;
mod draw;
mod font;
mod layout;
mod overlay;
mod phi;
mod scan;
mod screen;
mod strip;
mod util;

#[cfg(test)]
mod tests;

use image::{GrayImage, RgbImage};
use serde::{Deserialize, Serialize};
use sonomask_core::Regions;
use std::fmt;
use std::str::FromStr;
use util::Pick;

/// Screen layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Phased-array fan (flat or pointed apex), usually with an ECG.
    Cardiac,
    /// Curvilinear fan: apex far above the image, inner arc = probe face.
    Curvilinear,
    /// Linear-array rectangle.
    Linear,
    /// Two panes side by side, each its own fan or rectangle.
    Dual,
    /// A smaller fan above an M-mode or spectral Doppler strip.
    Mmode,
}

impl Layout {
    pub const ALL: [Layout; 5] = [
        Layout::Cardiac,
        Layout::Curvilinear,
        Layout::Linear,
        Layout::Dual,
        Layout::Mmode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Cardiac => "cardiac",
            Layout::Curvilinear => "curvilinear",
            Layout::Linear => "linear",
            Layout::Dual => "dual",
            Layout::Mmode => "mmode",
        }
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown layout name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown layout {0:?} (expected one of cardiac, curvilinear, linear, dual, mmode)")]
pub struct ParseLayoutError(pub String);

impl FromStr for Layout {
    type Err = ParseLayoutError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        Layout::ALL
            .into_iter()
            .find(|l| l.as_str() == t || (t == "m-mode" && *l == Layout::Mmode))
            .ok_or_else(|| ParseLayoutError(s.to_string()))
    }
}

/// How the scanner's picture reaches us.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Screen {
    /// The scanner's own screen (video out, DICOM export).
    #[default]
    Scanner,
    /// A desktop application window around the scanner screen (screen
    /// recordings and screenshots of viewers and tools); the window is
    /// overlay.
    App,
    /// A phone or tablet app of a handheld probe: image in the middle,
    /// bars above and below, a logo that may sit inside the sector.
    Handheld,
    /// The bare probe stream: the sector on black without any text,
    /// sometimes cut by the frame edges.
    Probe,
}

/// Transducer family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeKind {
    Phased,
    Curvilinear,
    Linear,
}

/// How a phased-array fan's apex is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApexStyle {
    Pointed,
    /// Cut by a horizontal line (`Fan::flat_top`).
    Flat,
    /// Cut by a small arc (`Fan::r_inner` > 0).
    Arc,
}

/// Overall image brightness class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Brightness {
    /// Probe in air: only the face reverberation and far-field noise.
    NearBlack,
    Dark,
    Normal,
    Bright,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DopplerKind {
    /// Velocity (red/blue) colour flow.
    Color,
    /// Power (orange) Doppler.
    Power,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StripKind {
    Mmode,
    Spectral,
}

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynthConfig {
    pub seed: u64,
    pub clips: usize,
    /// Frames per clip.
    pub frames: usize,
    /// Fixed frame size, or `None` for a per-clip realistic size
    /// (640×480 … 1024×768).
    pub size: Option<(u32, u32)>,
    /// Layouts to cycle through (empty = all five).
    pub layouts: Vec<Layout>,
}

/// Parses `WxH` with 64 ≤ W, H ≤ 4096.
pub fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{s:?}: expected WxH, e.g. 800x600"))?;
    let parse = |v: &str| v.trim().parse::<u32>().map_err(|e| format!("{s:?}: {e}"));
    let (w, h) = (parse(w)?, parse(h)?);
    if !(64..=4096).contains(&w) || !(64..=4096).contains(&h) {
        return Err(format!("{s:?}: width and height must be within 64..=4096"));
    }
    Ok((w, h))
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            clips: 100,
            frames: 16,
            size: None,
            layouts: Layout::ALL.to_vec(),
        }
    }
}

/// Everything that describes one clip, including its ground-truth regions.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct ClipMeta {
    pub id: String,
    pub layout: Layout,
    /// How the picture is shown: scanner screen, app window, phone app or bare stream.
    #[serde(default)]
    pub screen: Screen,
    /// This clip's own seed.
    pub seed: u64,
    pub width: u32,
    pub height: u32,
    pub frames: usize,
    /// False when every pixel has R = G = B (store as 8-bit grey).
    pub color: bool,
    /// The scan regions; `sector` is exactly their rasterisation.
    pub regions: Regions,
    /// Whether a phased-array apex is truncated (flat line or small arc).
    pub flat_apex: bool,
    pub apex: Option<ApexStyle>,
    pub probe: ProbeKind,
    pub probe_name: String,
    pub preset: String,
    /// What is imaged (four_chamber, abdomen, lymph_node, air, ...).
    pub anatomy: String,
    pub depth_cm: f32,
    pub fps: f32,
    pub heart_rate_bpm: f32,
    pub brightness: Brightness,
    pub near_black: bool,
    pub has_ecg: bool,
    pub has_doppler: bool,
    pub doppler: Option<DopplerKind>,
    pub strip: Option<StripKind>,
    pub has_calipers: bool,
    pub has_toolbar: bool,
    pub has_header_panel: bool,
    pub has_clock: bool,
    /// Indices into `regions` of panes frozen for the whole clip (dual screen).
    pub frozen_regions: Vec<usize>,
    /// JPEG quality the frames went through, if any.
    pub jpeg_quality: Option<u8>,
}

/// One generated clip.
pub struct SynthClip {
    pub meta: ClipMeta,
    pub frames: Vec<RgbImage>,
    /// 255 inside the scan regions.
    pub sector: GrayImage,
    /// 255 where any frame carries text, ECG, markers, bars, logos,
    /// calipers, toolbar or Doppler-box outline (inside or outside the sector).
    pub overlay: GrayImage,
}

fn anatomy_name(k: anatomy::SceneKind) -> &'static str {
    use anatomy::SceneKind::*;
    match k {
        FourChamber => "four_chamber",
        LongAxis => "long_axis",
        ShortAxis => "short_axis",
        Abdomen => "abdomen",
        Pelvis => "pelvis",
        Obstetric => "obstetric",
        Vascular => "vascular",
        SmallParts => "small_parts",
        LymphNode => "lymph_node",
        Ocular => "ocular",
        Air => "air",
    }
}

fn to_grey(rgb: &mut [u8]) {
    for p in rgb.chunks_exact_mut(3) {
        let y = ((299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2]) + 500)
            / 1000) as u8;
        p.fill(y);
    }
}

/// Compresses and decompresses a frame as a scanner's JPEG export would.
fn jpeg_roundtrip(rgb: Vec<u8>, w: u32, h: u32, quality: u8, color: bool) -> Vec<u8> {
    use image::codecs::jpeg::JpegEncoder;
    use image::{ExtendedColorType, ImageEncoder};
    let mut buf = Vec::new();
    let enc = JpegEncoder::new_with_quality(&mut buf, quality);
    let res = if color {
        enc.write_image(&rgb, w, h, ExtendedColorType::Rgb8)
    } else {
        let g: Vec<u8> = rgb.chunks_exact(3).map(|p| p[0]).collect();
        enc.write_image(&g, w, h, ExtendedColorType::L8)
    };
    if res.is_err() {
        return rgb;
    }
    match image::load_from_memory_with_format(&buf, image::ImageFormat::Jpeg) {
        Ok(img) if img.width() == w && img.height() == h => img.to_rgb8().into_raw(),
        _ => rgb,
    }
}

/// The layout of clip `index`: a seed-dependent rotation through `layouts`,
/// so every layout is equally represented.
fn layout_of(cfg: &SynthConfig, index: usize) -> Layout {
    let layouts: &[Layout] = if cfg.layouts.is_empty() {
        &Layout::ALL
    } else {
        &cfg.layouts
    };
    let offset = (util::mix(cfg.seed, 0x1A70) % layouts.len() as u64) as usize;
    layouts[(index + offset) % layouts.len()]
}

/// Clip `index` of the dataset described by `cfg`; depends only on
/// `(cfg.seed, index, cfg.size, cfg.layouts, cfg.frames)`. Same inputs →
/// identical pixels.
pub fn generate_clip(cfg: &SynthConfig, index: usize) -> SynthClip {
    let layout = layout_of(cfg, index);
    let seed = util::mix(cfg.seed, index as u64 + 1);
    let n_frames = cfg.frames.max(1);
    let mut rng = util::rng_for(seed, 1);
    let native = cfg.size.unwrap_or_else(|| layout::pick_size(&mut rng));
    let native = (native.0.clamp(64, 4096), native.1.clamp(64, 4096));
    // The screen has its own random stream, so the scanner screens of
    // `Screen::Scanner` clips are the same as before screens existed.
    let mut screen_rng = util::rng_for(seed, 6);
    let screen_plan = screen::plan(
        layout,
        native,
        cfg.size.is_some(),
        n_frames,
        &mut screen_rng,
    );
    let kind = screen_plan.kind;
    let scanner_ui = screen_plan.scanner_ui;
    let (w, h) = screen_plan.inner;
    let mut plan = layout::plan(layout, w, h, &mut rng);
    layout::zoom(&mut plan, &mut util::rng_for(seed, 7));
    let regions = plan.regions();
    let n = (w * h) as usize;
    let mut sector = vec![0u8; n];
    regions.rasterize(w as u16, h as u16, &mut sector);

    let mut scan_rng = util::rng_for(seed, 2);
    let mut scan = scan::build(&plan, seed, n_frames, &mut scan_rng);

    let mut ui_rng = util::rng_for(seed, 3);
    let inner_color = scan.doppler.is_some() || ui_rng.chance(0.45);
    let probe_name = phi::probe_name(plan.probe, &mut ui_rng);
    let preset = phi::preset(plan.probe, &mut ui_rng);
    let ui = if screen_plan.scanner_ui {
        overlay::build(
            &overlay::UiCtx {
                plan: &plan,
                scan: &scan,
                sector: &sector,
                color: inner_color,
                seed,
                probe_name: &probe_name,
                preset: &preset,
                panel: screen_plan.panel,
            },
            &mut ui_rng,
        )
    } else {
        overlay::Ui::bare(w, h)
    };
    let jpeg_quality = ui_rng.chance(0.35).then(|| ui_rng.ui(60, 90) as u8);
    // Windows are coloured unless the recording went grey; a colour scan
    // stays colour.
    let color = match kind {
        Screen::Scanner | Screen::Probe => inner_color,
        Screen::App | Screen::Handheld => inner_color || !screen_plan.grey,
    };
    let composer = screen::Composer::new(screen_plan, &regions, &sector, &mut screen_rng);
    let (out_w, out_h) = composer.as_ref().map_or((w, h), |c| (c.w, c.h));

    let mut overlay_mask = vec![0u8; n];
    ui.layer.mark_mask(&mut overlay_mask);
    let mut out_mask = vec![0u8; (out_w * out_h) as usize];
    let layer = ui.layer.compile();
    let mut grey = vec![0u8; n];
    let mut frames = Vec::with_capacity(n_frames);
    for k in 0..n_frames {
        grey.fill(ui.bg[0]);
        scan.render(k, &mut grey, w);
        let mut rgb: Vec<u8> = grey.iter().flat_map(|&g| [g, g, g]).collect();
        scan.paint_doppler(&mut rgb);
        layer.apply(&mut rgb);
        {
            let mut surf = draw::FrameSurface {
                w: w as i32,
                h: h as i32,
                buf: &mut rgb,
                mask: &mut overlay_mask,
            };
            ui.draw_dynamic(k, &scan.timing, &mut surf);
        }
        if let Some(c) = &composer {
            rgb = c.frame(k, &rgb, &mut out_mask);
        }
        if !color {
            to_grey(&mut rgb);
        }
        if let Some(q) = jpeg_quality {
            rgb = jpeg_roundtrip(rgb, out_w, out_h, q, color);
        }
        frames.push(RgbImage::from_raw(out_w, out_h, rgb).expect("frame buffer has w*h*3 bytes"));
    }
    let (regions, sector, overlay_mask) = match composer {
        Some(c) => {
            c.overlay(&overlay_mask, &mut out_mask);
            (c.regions, c.sector, out_mask)
        }
        None => (regions, sector, overlay_mask),
    };
    let (w, h) = (out_w, out_h);

    let frozen_regions = plan
        .panes
        .iter()
        .enumerate()
        .filter(|(_, p)| p.frozen)
        .map(|(i, _)| i)
        .collect();
    let meta = ClipMeta {
        id: format!("clip{index:04}"),
        layout,
        screen: kind,
        seed,
        width: w,
        height: h,
        frames: n_frames,
        color,
        regions,
        flat_apex: matches!(plan.apex, Some(ApexStyle::Flat | ApexStyle::Arc)),
        apex: plan.apex,
        probe: plan.probe,
        probe_name,
        preset,
        anatomy: anatomy_name(scan.scene_kind).to_string(),
        depth_cm: scan.depth_cm,
        fps: scan.timing.fps,
        heart_rate_bpm: scan.timing.hr,
        brightness: scan.brightness,
        near_black: scan.brightness == Brightness::NearBlack,
        has_ecg: ui.has_ecg,
        has_doppler: scan.doppler.is_some(),
        doppler: scan.doppler,
        strip: scan.strip.as_ref().map(|s| s.kind),
        has_calipers: ui.has_calipers,
        has_toolbar: scanner_ui && plan.ui.toolbar.is_some(),
        has_header_panel: scanner_ui && plan.ui.header_panel.is_some(),
        has_clock: ui.has_clock,
        frozen_regions,
        jpeg_quality,
    };
    SynthClip {
        meta,
        frames,
        sector: GrayImage::from_raw(w, h, sector).expect("mask has w*h bytes"),
        overlay: GrayImage::from_raw(w, h, overlay_mask).expect("mask has w*h bytes"),
    }
}

/// Writes a one-line label with its top-left corner at `(x, y)` in the
/// contact sheets' built-in font; returns its width in pixels.
pub fn draw_label(img: &mut RgbImage, x: f32, y: f32, text: &str, color: [u8; 3]) -> f32 {
    draw::text(img, x, y, text, 1.0, color, false)
}

/// A grid of first-frame thumbnails, `columns` wide, each `thumb_width`
/// pixels wide with its sector outline in yellow and its id underneath.
pub fn contact_sheet(clips: &[&SynthClip], columns: usize, thumb_width: u32) -> RgbImage {
    let columns = columns.max(1);
    let tw = thumb_width.max(16);
    let rows = clips.len().div_ceil(columns).max(1);
    let th_max = clips
        .iter()
        .map(|c| (tw * c.meta.height).div_ceil(c.meta.width.max(1)))
        .max()
        .unwrap_or(tw * 3 / 4);
    let (pad, label_h) = (4u32, 12u32);
    let (cell_w, cell_h) = (tw + pad, th_max + label_h + pad);
    let mut sheet = RgbImage::from_pixel(
        columns as u32 * cell_w + pad,
        rows as u32 * cell_h + pad,
        image::Rgb([40, 40, 44]),
    );
    for (i, clip) in clips.iter().enumerate() {
        let (cx, cy) = (
            (i % columns) as u32 * cell_w + pad,
            (i / columns) as u32 * cell_h + pad,
        );
        let (w, h) = (clip.meta.width, clip.meta.height);
        let th = (tw * h).div_ceil(w.max(1)).max(1);
        let Some(first) = clip.frames.first() else {
            continue;
        };
        let mut thumb =
            image::imageops::resize(first, tw, th, image::imageops::FilterType::Triangle);
        let s = clip.sector.as_raw();
        let inside = |x: i64, y: i64| {
            x >= 0
                && y >= 0
                && x < i64::from(w)
                && y < i64::from(h)
                && s[(y as u32 * w + x as u32) as usize] != 0
        };
        for y in 0..i64::from(h) {
            for x in 0..i64::from(w) {
                if inside(x, y)
                    && !(inside(x - 1, y)
                        && inside(x + 1, y)
                        && inside(x, y - 1)
                        && inside(x, y + 1))
                {
                    let (tx, ty) = (
                        (x as u32 * tw / w).min(tw - 1),
                        (y as u32 * th / h).min(th - 1),
                    );
                    thumb.put_pixel(tx, ty, image::Rgb([255, 230, 0]));
                }
            }
        }
        image::imageops::replace(&mut sheet, &thumb, i64::from(cx), i64::from(cy));
        let label = match clip.meta.screen {
            Screen::Scanner => format!("{} {}", clip.meta.id, clip.meta.layout),
            s => format!("{} {} {s:?}", clip.meta.id, clip.meta.layout),
        };
        draw::text(
            &mut sheet,
            cx as f32,
            (cy + th + 2) as f32,
            &label,
            1.0,
            [220, 220, 220],
            false,
        );
    }
    sheet
}
