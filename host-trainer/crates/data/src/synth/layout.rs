//! Screen layout: where the scan regions sit on the screen and what room is
//! left for header, parameter columns, toolbar and bottom text.

use super::beam::BeamGeom;
use super::draw::Rgb;
use super::util::Pick;
use super::{ApexStyle, Layout, ProbeKind};
use rand::Rng;
use sonomask_core::{Fan, Rect, Region, Regions};

/// One scan region and its beam geometry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PanePlan {
    pub region: Region,
    pub geom: BeamGeom,
    pub frozen: bool,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Toolbar {
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
    pub color: Rgb,
}

/// Room for the user interface around the image area.
#[derive(Clone, Debug)]
pub(crate) struct Ui {
    pub scale: f32,
    pub line_h: i32,
    pub header_lines: i32,
    pub header_h: i32,
    pub header_panel: Option<Rgb>,
    pub toolbar: Option<Toolbar>,
    pub left_w: i32,
    pub right_w: i32,
    pub bottom_h: i32,
}

#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub layout: Layout,
    pub width: u32,
    pub height: u32,
    pub probe: ProbeKind,
    pub apex: Option<ApexStyle>,
    pub panes: Vec<PanePlan>,
    /// M-mode / spectral strip `[x0, x1) × [y0, y1)`.
    pub strip: Option<(u32, u32, u32, u32)>,
    /// Image area `(x0, y0, x1, y1)`.
    pub image: (i32, i32, i32, i32),
    pub ui: Ui,
}

impl Plan {
    pub(crate) fn regions(&self) -> Regions {
        let mut r = Regions::new();
        for p in &self.panes {
            let _ = r.push(p.region);
        }
        if let Some((x0, y0, x1, y1)) = self.strip {
            let _ = r.push(Region::Rect(Rect::new(
                x0 as f32, y0 as f32, x1 as f32, y1 as f32,
            )));
        }
        r
    }
}

/// Zoomed views: with some probability (its own random stream, so clips
/// that do not zoom keep their pixels), a curvilinear screen or a dual
/// screen of fans shows its scan zoomed in, the fan larger than the box
/// that displays it, so the box is filled edge to edge and the sector is a
/// rectangle although the probe is curved: the Aloka dual pelvis screen
/// of the real development set, and any scanner's zoom or write-zoom.
/// Without these, every curved probe's sector is a fan and a network
/// learns "curved probe → fan" where the screen shows a filled box.
pub(crate) fn zoom(plan: &mut Plan, rng: &mut impl Rng) {
    let p = match (plan.layout, plan.probe) {
        (Layout::Dual, ProbeKind::Curvilinear | ProbeKind::Phased) => 0.35,
        (Layout::Curvilinear, _) => 0.12,
        _ => 0.0,
    };
    if !rng.chance(p) {
        return;
    }
    // The same insets for every pane: a scanner's panes are alike.
    let top = rng.uf(0.0, 0.03);
    let bottom = rng.uf(0.0, 0.10);
    let width = rng.uf(0.55, 0.9);
    let (ha, lead, inner, outer) = (
        rng.uf(0.35, 0.7),
        rng.uf(1.0, 1.3),
        rng.uf(0.5, 0.95),
        rng.uf(1.01, 1.2),
    );
    let shift = rng.uf(-0.03, 0.03);
    let image = plan.image;
    for pane in &mut plan.panes {
        let Region::Fan(fan) = pane.region else {
            continue;
        };
        let (x0, y0, x1, y1) = match (plan.layout, fan.clip) {
            (Layout::Dual, Some(c)) => (c.x0, c.y0.max(image.1 as f32), c.x1, c.y1),
            _ => {
                let half = 0.5 * width * (image.2 - image.0) as f32;
                (
                    fan.apex_x - half,
                    image.1 as f32,
                    fan.apex_x + half,
                    image.3 as f32,
                )
            }
        };
        let h = y1 - y0;
        let b = Rect::new(
            x0.round(),
            (y0 + top * h).round(),
            x1.round(),
            (y1 - bottom * h).round(),
        );
        if b.width() < 16.0 || b.height() < 16.0 {
            continue;
        }
        let apex_x = 0.5 * (b.x0 + b.x1) + shift * b.width();
        let half = (apex_x - b.x0).max(b.x1 - apex_x);
        let d_top = half / ha.tan() * lead;
        let apex_y = b.y0 - d_top;
        let r0 = d_top * inner;
        let far = half.hypot(b.y1 - apex_y);
        pane.region = Region::Rect(b);
        pane.geom = BeamGeom::Fan {
            apex_x,
            apex_y,
            a0: -ha,
            a1: ha,
            r0,
            r1: far * outer,
            cartesian: 0.3,
        };
    }
    if plan
        .panes
        .iter()
        .all(|p| matches!(p.region, Region::Rect(_)))
    {
        plan.apex = None;
    }
}

/// A realistic screen size.
pub(crate) fn pick_size(rng: &mut impl Rng) -> (u32, u32) {
    const SIZES: [(u32, u32); 7] = [
        (640, 480),
        (800, 600),
        (1024, 768),
        (720, 540),
        (960, 720),
        (768, 576),
        (880, 660),
    ];
    SIZES[rng.weighted(&[0.3, 0.33, 0.25, 0.03, 0.04, 0.03, 0.02])]
}

fn ui(layout: Layout, w: u32, h: u32, rng: &mut impl Rng) -> Ui {
    let (wf, hf) = (w as f32, h as f32);
    let scale = (hf / 480.0) * rng.uf(1.25, 1.75);
    let line_h = (7.0 * scale + rng.uf(3.0, 6.0) * scale / 1.5).round() as i32;
    let header_lines = *rng.pick(&[0, 1, 1, 2, 2, 2]);
    let header_panel = if header_lines > 0 && rng.chance(0.2) {
        Some(*rng.pick(&[
            [26, 50, 92],
            [20, 42, 74],
            [42, 44, 50],
            [34, 38, 46],
            [30, 58, 100],
        ]))
    } else {
        None
    };
    let header_h = if header_lines == 0 {
        rng.ui(2, 8)
    } else {
        header_lines * line_h + rng.ui(4, 10)
    };
    let cardiac = matches!(layout, Layout::Cardiac | Layout::Mmode);
    let toolbar = if rng.chance(if cardiac { 0.3 } else { 0.15 }) {
        let th = (hf * rng.uf(0.04, 0.065)).round() as i32;
        let full = rng.chance(0.5);
        let (x0, x1) = if full {
            (0, w as i32)
        } else {
            let tw = wf * rng.uf(0.55, 0.9);
            let x0 = (wf - tw) * rng.uf(0.2, 0.8);
            (x0 as i32, (x0 + tw) as i32)
        };
        let color = *rng.pick(&[
            [60, 60, 64],
            [48, 52, 60],
            [72, 72, 76],
            [34, 44, 62],
            [84, 86, 90],
        ]);
        if rng.chance(0.2) {
            Some(Toolbar {
                x0,
                y0: 0,
                x1,
                y1: th,
                color,
            })
        } else {
            let y1 = h as i32 - rng.ui(0, 3);
            Some(Toolbar {
                x0,
                y0: y1 - th,
                x1,
                y1,
                color,
            })
        }
    } else {
        None
    };
    let header_h = match toolbar {
        Some(t) if t.y0 == 0 => header_h + t.y1 + 2,
        _ => header_h,
    };
    let bottom_tb = toolbar.filter(|t| t.y0 > 0).map_or(0, |t| t.y1 - t.y0 + 4);
    Ui {
        scale,
        line_h,
        header_lines,
        header_h,
        header_panel,
        toolbar,
        left_w: (wf * rng.uf(0.05, 0.16)) as i32,
        right_w: (wf * rng.uf(0.05, 0.15)) as i32,
        bottom_h: (hf * rng.uf(0.02, 0.09)) as i32 + bottom_tb,
    }
}

/// A phased-array fan whose apex sits at the top of `area`.
fn phased(
    area: (f32, f32, f32, f32),
    rng: &mut impl Rng,
    clip_allowed: bool,
) -> (Fan, BeamGeom, ApexStyle) {
    let (x0, y0, x1, y1) = area;
    let (iw, ih) = (x1 - x0, y1 - y0);
    let ha = rng.uf(0.58, 0.80);
    let asym = rng.uf(-0.05, 0.05);
    let (a0, a1) = (-ha + asym, ha + asym);
    let apex_x = 0.5 * (x0 + x1) + rng.uf(-0.04, 0.04) * iw;
    let apex_y = y0 + rng.uf(-0.01, 0.03) * ih;
    let by_h = y1 - apex_y;
    let by_w = (apex_x - x0).min(x1 - apex_x) / a0.abs().max(a1.abs()).sin();
    let mut r1 = by_h * rng.uf(0.86, 1.0);
    let mut clip = None;
    if r1 > by_w {
        if clip_allowed && rng.chance(0.4) {
            clip = Some(Rect::new(x0, y0.min(apex_y), x1, y1));
        } else {
            r1 = by_w * rng.uf(0.96, 1.0);
        }
    }
    if clip_allowed && rng.chance(0.15) {
        r1 = by_h * rng.uf(1.03, 1.15);
        clip = Some(Rect::new(
            x0.min(apex_x - r1),
            y0.min(apex_y),
            x1.max(apex_x + r1),
            y1,
        ));
    }
    let scale = ih / 400.0;
    let style = *rng.pick(&[
        ApexStyle::Pointed,
        ApexStyle::Pointed,
        ApexStyle::Flat,
        ApexStyle::Flat,
        ApexStyle::Arc,
    ]);
    let (flat_top, r_inner) = match style {
        ApexStyle::Pointed => (None, 0.0),
        ApexStyle::Flat => (Some(apex_y + rng.uf(5.0, 20.0) * scale.max(0.6)), 0.0),
        ApexStyle::Arc => (None, rng.uf(6.0, 20.0) * scale.max(0.6)),
    };
    let fan = Fan {
        apex_x,
        apex_y,
        angle_left: a0,
        angle_right: a1,
        r_inner,
        r_outer: r1,
        flat_top,
        clip,
    };
    let geom = BeamGeom::Fan {
        apex_x,
        apex_y,
        a0,
        a1,
        r0: 0.0,
        r1,
        cartesian: 1.0,
    };
    (fan, geom, style)
}

/// A curvilinear fan: virtual apex far above, inner arc = probe face at the
/// top of `area`. `avail` is the horizontal room the fan may use.
fn curvilinear(
    area: (f32, f32, f32, f32),
    avail: (f32, f32),
    clip: Option<Rect>,
    rng: &mut impl Rng,
) -> (Fan, BeamGeom) {
    let (x0, y0, x1, y1) = area;
    let (iw, ih) = (x1 - x0, y1 - y0);
    let mut ha = rng.uf(0.40, 0.64);
    let apex_x = 0.5 * (x0 + x1) + rng.uf(-0.03, 0.03) * iw;
    let r0 = ih * rng.uf(0.2, 0.45);
    let top = y0 + rng.uf(0.0, 0.03) * ih;
    let apex_y = top - r0 * ha.cos();
    let depth = (y1 - (apex_y + r0)) * rng.uf(0.86, 1.0);
    let r1 = r0 + depth;
    if clip.is_none() {
        let room = (apex_x - avail.0).min(avail.1 - apex_x);
        if r1 * ha.sin() > room {
            ha = (room / r1).clamp(0.2, 0.99).asin().max(0.34);
        }
    }
    // Keep the top corners inside the area after narrowing.
    let fan = Fan {
        apex_x,
        apex_y,
        angle_left: -ha,
        angle_right: ha,
        r_inner: r0,
        r_outer: r1,
        flat_top: None,
        clip: clip.or_else(|| {
            let room = (apex_x - avail.0).min(avail.1 - apex_x);
            (r1 * ha.sin() > room)
                .then(|| Rect::new(avail.0, y0.min(apex_y + r0 * ha.cos()), avail.1, y1 + 1.0))
        }),
    };
    let geom = BeamGeom::Fan {
        apex_x,
        apex_y,
        a0: -ha,
        a1: ha,
        r0,
        r1,
        cartesian: 0.3,
    };
    (fan, geom)
}

fn linear(area: (f32, f32, f32, f32), rng: &mut impl Rng) -> (Rect, BeamGeom) {
    let (x0, y0, x1, y1) = area;
    let (iw, ih) = (x1 - x0, y1 - y0);
    let rw = (iw * rng.uf(0.72, 1.0)).round();
    let rh = (ih * rng.uf(0.7, 1.0)).round();
    let rx = (x0 + (iw - rw) * rng.uf(0.2, 0.8)).round();
    let ry = (y0 + rng.uf(0.0, 0.04) * ih).round();
    let r = Rect::new(rx, ry, rx + rw, ry + rh);
    (
        r,
        BeamGeom::Rect {
            x0: r.x0,
            y0: r.y0,
            x1: r.x1,
            y1: r.y1,
        },
    )
}

pub(crate) fn plan(layout: Layout, w: u32, h: u32, rng: &mut impl Rng) -> Plan {
    let ui = ui(layout, w, h, rng);
    let (wf, hf) = (w as f32, h as f32);
    let image = (
        ui.left_w,
        ui.header_h + rng.ui(2, 10),
        w as i32 - ui.right_w,
        h as i32 - ui.bottom_h,
    );
    let area = (
        image.0 as f32,
        image.1 as f32,
        image.2 as f32,
        image.3 as f32,
    );
    let mut panes = Vec::new();
    let mut strip = None;
    let mut apex = None;
    let probe;
    match layout {
        Layout::Cardiac => {
            probe = ProbeKind::Phased;
            let (fan, geom, style) = phased(area, rng, true);
            apex = Some(style);
            panes.push(PanePlan {
                region: Region::Fan(fan),
                geom,
                frozen: false,
            });
        }
        Layout::Curvilinear => {
            probe = ProbeKind::Curvilinear;
            let avail = if rng.chance(0.35) {
                (wf * 0.01, wf * 0.99)
            } else {
                (area.0, area.2)
            };
            let (fan, geom) = curvilinear(area, avail, None, rng);
            panes.push(PanePlan {
                region: Region::Fan(fan),
                geom,
                frozen: false,
            });
        }
        Layout::Linear => {
            probe = ProbeKind::Linear;
            let (r, geom) = linear(area, rng);
            panes.push(PanePlan {
                region: Region::Rect(r),
                geom,
                frozen: false,
            });
        }
        Layout::Dual => {
            probe = *rng.pick(&[
                ProbeKind::Curvilinear,
                ProbeKind::Curvilinear,
                ProbeKind::Linear,
                ProbeKind::Linear,
                ProbeKind::Phased,
            ]);
            let gap = if rng.chance(0.55) {
                0.0
            } else {
                rng.ui(1, 10) as f32
            };
            // Dual screens use nearly the full width.
            let (x0, x1) = (
                (wf * rng.uf(0.02, 0.06)).round(),
                (wf * rng.uf(0.94, 0.99)).round(),
            );
            let pw = ((x1 - x0 - gap) / 2.0).floor();
            let frozen = rng.ui(0, 2);
            for k in 0..2 {
                let px0 = x0 + k as f32 * (pw + gap);
                let pa = (px0, area.1, px0 + pw, area.3);
                let (region, geom) = match probe {
                    ProbeKind::Curvilinear => {
                        let clip = Rect::new(pa.0, pa.1, pa.2, pa.3);
                        let (fan, geom) = curvilinear(pa, (pa.0, pa.2), Some(clip), rng);
                        (Region::Fan(fan), geom)
                    }
                    ProbeKind::Linear => {
                        let (mut r, _) = linear(pa, rng);
                        if gap == 0.0 || rng.chance(0.5) {
                            // Panes filled edge to edge, as most scanners show them.
                            r = Rect::new(pa.0, r.y0, pa.2, r.y1);
                        }
                        // Both panes share the same depth and width.
                        if let Some(PanePlan {
                            region: Region::Rect(first),
                            ..
                        }) = panes.first()
                        {
                            r = Rect::new(
                                px0 + (first.x0 - x0),
                                first.y0,
                                px0 + (first.x0 - x0) + first.width(),
                                first.y1,
                            );
                        }
                        (
                            Region::Rect(r),
                            BeamGeom::Rect {
                                x0: r.x0,
                                y0: r.y0,
                                x1: r.x1,
                                y1: r.y1,
                            },
                        )
                    }
                    ProbeKind::Phased => {
                        let (mut fan, geom, style) = phased(pa, rng, false);
                        fan.clip = Some(Rect::new(pa.0, pa.1.min(fan.apex_y), pa.2, pa.3));
                        apex = Some(style);
                        (Region::Fan(fan), geom)
                    }
                };
                panes.push(PanePlan {
                    region,
                    geom,
                    frozen: frozen == k + 1,
                });
            }
        }
        Layout::Mmode => {
            probe = if rng.chance(0.7) {
                ProbeKind::Phased
            } else {
                ProbeKind::Curvilinear
            };
            let fh = (area.3 - area.1) * rng.uf(0.34, 0.5);
            let fw = (area.2 - area.0) * rng.uf(0.45, 0.75);
            let cx = area.0 + (area.2 - area.0) * rng.uf(0.3, 0.5);
            let fa = (cx - fw / 2.0, area.1, cx + fw / 2.0, area.1 + fh);
            let (region, geom, bottom) = if probe == ProbeKind::Phased {
                let (fan, geom, style) = phased(fa, rng, false);
                apex = Some(style);
                (Region::Fan(fan), geom, fan.apex_y + fan.r_outer)
            } else {
                let (fan, geom) = curvilinear(fa, (fa.0, fa.2), None, rng);
                (Region::Fan(fan), geom, fan.apex_y + fan.r_outer)
            };
            panes.push(PanePlan {
                region,
                geom,
                frozen: false,
            });
            let sy0 = (bottom + rng.uf(6.0, 30.0)).ceil() as u32;
            let sy1 = (area.3 - rng.uf(0.0, 0.03) * hf).round() as u32;
            let sx0 = (area.0 + rng.uf(0.0, 0.05) * wf).round() as u32;
            let sx1 = (area.2 - rng.uf(0.0, 0.05) * wf).round() as u32;
            if sy1 > sy0 + 40 && sx1 > sx0 + 100 {
                strip = Some((sx0, sy0, sx1, sy1));
            }
        }
    }
    Plan {
        layout,
        width: w,
        height: h,
        probe,
        apex,
        panes,
        strip,
        image,
        ui,
    }
}
