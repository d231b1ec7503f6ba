//! A scene frozen at one instant ([`Scene::pose`]) and its evaluation:
//! echogenicity and blood flow at a point.

use super::{Blend, Phase, Scene, Shape};
use crate::synth::util::{lerp, smoothstep, vnoise};
use std::f32::consts::TAU;

#[derive(Clone, Copy, Debug)]
enum Posed {
    Ellipse {
        cx: f32,
        cy: f32,
        c: f32,
        s: f32,
        irx: f32,
        iry: f32,
        rm: f32,
    },
    Capsule {
        ax: f32,
        ay: f32,
        bx: f32,
        by: f32,
        r: f32,
    },
    Band {
        y0: f32,
        y1: f32,
        amp: f32,
        freq: f32,
        phase: f32,
        tilt: f32,
    },
    Boxed {
        x0: f32,
        y0: f32,
        x1: f32,
        y1: f32,
    },
}

#[derive(Clone, Copy, Debug)]
struct PosedPrim {
    shape: Posed,
    bbox: (f32, f32, f32, f32),
    level: f32,
    soft: f32,
    blend: Blend,
    wall: Option<(f32, f32)>,
    flow: Option<(f32, f32)>,
}

/// A scene frozen at one instant, ready for evaluation.
pub(crate) struct PosedScene<'a> {
    scene: &'a Scene,
    gx: f32,
    gy: f32,
    prims: Vec<PosedPrim>,
}
impl Scene {
    /// The scene at one instant.
    pub(crate) fn pose(&self, ph: &Phase) -> PosedScene<'_> {
        let g = ph.drive(self.global.driver);
        let g2 = ph.drive(self.global2.driver);
        let gx = self.global.dx * g + self.global2.dx * g2;
        let gy = self.global.dy * g + self.global2.dy * g2;
        let prims = self
            .prims
            .iter()
            .map(|p| {
                let d = ph.drive(p.anim.driver);
                let (mx, my, sc) = (p.anim.dx * d, p.anim.dy * d, 1.0 + p.anim.ds * d);
                let wall_t = p.wall.map_or(0.0, |w| w.0);
                let pad = p.soft + wall_t * 2.0 + 0.05;
                let (shape, bbox) = match p.shape {
                    Shape::Ellipse {
                        cx,
                        cy,
                        rx,
                        ry,
                        rot,
                    } => {
                        let (cx, cy, rx, ry) = (cx + mx, cy + my, rx * sc, ry * sc);
                        let rmax = rx.max(ry) + pad;
                        (
                            Posed::Ellipse {
                                cx,
                                cy,
                                c: rot.cos(),
                                s: rot.sin(),
                                irx: 1.0 / rx,
                                iry: 1.0 / ry,
                                rm: (rx * ry).sqrt(),
                            },
                            (cx - rmax, cy - rmax, cx + rmax, cy + rmax),
                        )
                    }
                    Shape::Capsule {
                        ax,
                        ay,
                        bx,
                        by,
                        r,
                        hinge,
                    } => {
                        let (ax, ay) = if hinge { (ax, ay) } else { (ax + mx, ay + my) };
                        let (bx, by) = (bx + mx, by + my);
                        let r = r * sc;
                        let e = r * 2.5 + p.soft;
                        (
                            Posed::Capsule { ax, ay, bx, by, r },
                            (
                                ax.min(bx) - e,
                                ay.min(by) - e,
                                ax.max(bx) + e,
                                ay.max(by) + e,
                            ),
                        )
                    }
                    Shape::Band {
                        y0,
                        y1,
                        amp,
                        freq,
                        phase,
                        tilt,
                    } => (
                        Posed::Band {
                            y0: y0 + my,
                            y1: y1 + my,
                            amp,
                            freq,
                            phase,
                            tilt,
                        },
                        (f32::MIN, f32::MIN, f32::MAX, f32::MAX),
                    ),
                    Shape::Boxed { x0, y0, x1, y1 } => (
                        Posed::Boxed {
                            x0: x0 + mx,
                            y0: y0 + my,
                            x1: x1 + mx,
                            y1: y1 + my,
                        },
                        (x0 + mx - pad, y0 + my - pad, x1 + mx + pad, y1 + my + pad),
                    ),
                };
                let flow = p.flow.map(|f| {
                    let v = f.steady + f.dia * ph.mitral + f.sys * ph.aortic.max(ph.pulse);
                    let power = (f.steady.abs()
                        + f.dia.abs() * ph.mitral
                        + f.sys.abs() * ph.aortic.max(ph.pulse))
                    .min(1.0);
                    (v, power)
                });
                PosedPrim {
                    shape,
                    bbox,
                    level: p.level,
                    soft: p.soft,
                    blend: p.blend,
                    wall: p.wall,
                    flow,
                }
            })
            .collect();
        PosedScene {
            scene: self,
            gx,
            gy,
            prims,
        }
    }
}

/// Signed distance (cm, negative inside) and normalised radius of a point.
#[inline]
fn shape_dist(s: &Posed, x: f32, y: f32) -> (f32, f32) {
    match *s {
        Posed::Ellipse {
            cx,
            cy,
            c,
            s,
            irx,
            iry,
            rm,
        } => {
            let (dx, dy) = (x - cx, y - cy);
            let qx = (dx * c + dy * s) * irx;
            let qy = (-dx * s + dy * c) * iry;
            let d = (qx * qx + qy * qy).sqrt();
            ((d - 1.0) * rm, d)
        }
        Posed::Capsule { ax, ay, bx, by, r } => {
            let (dx, dy) = (bx - ax, by - ay);
            let l2 = dx * dx + dy * dy;
            let t = if l2 > 0.0 {
                (((x - ax) * dx + (y - ay) * dy) / l2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let (qx, qy) = (ax + t * dx - x, ay + t * dy - y);
            let d = (qx * qx + qy * qy).sqrt();
            (d - r, d / r)
        }
        Posed::Band {
            y0,
            y1,
            amp,
            freq,
            phase,
            tilt,
        } => {
            let off = amp * (freq * x + phase).sin() + tilt * x;
            let (a, b) = (y0 + off, y1 + off);
            let mid = 0.5 * (a + b);
            let half = 0.5 * (b - a);
            let d = (y - mid).abs() - half;
            (d, (y - mid).abs() / half.max(1e-3))
        }
        Posed::Boxed { x0, y0, x1, y1 } => {
            let dx = (x0 - x).max(x - x1);
            let dy = (y0 - y).max(y - y1);
            (dx.max(dy), 0.0)
        }
    }
}

impl PosedScene<'_> {
    /// Echogenicity in dB at `(x, y)` cm.
    pub(crate) fn echo_db(&self, x: f32, y: f32) -> f32 {
        let sc = self.scene;
        let (x, y) = (x - self.gx, y - self.gy);
        let ts = sc.tex_scale;
        let mut l = sc.base;
        for st in &sc.striations {
            if y > st.y0 - 0.3 && y < st.y1 + 0.3 {
                let w = smoothstep(st.y0 - 0.3, st.y0 + 0.3, y)
                    * (1.0 - smoothstep(st.y1 - 0.3, st.y1 + 0.3, y));
                let along = y * st.angle.cos() - x * st.angle.sin();
                let wob = 0.6 * vnoise(sc.seed ^ 0x57, x * 0.8, y * 3.0);
                let v = 0.5 + 0.5 * (TAU * along / st.period + wob * 3.0).sin();
                let v2 = v * v;
                l += st.amp * w * (v2 * v2 * v2 - 0.1);
            }
        }
        for p in &self.prims {
            let (bx0, by0, bx1, by1) = p.bbox;
            if x < bx0 || x > bx1 || y < by0 || y > by1 {
                continue;
            }
            let (dist, _) = shape_dist(&p.shape, x, y);
            if p.blend != Blend::WallOnly {
                let w = if let Posed::Capsule { r, .. } = p.shape {
                    // Gaussian cross-section for thin bright lines.
                    let d = dist + r;
                    (-(d / r.max(1e-3)).powi(2))
                        .exp()
                        .max(smoothstep(p.soft, -p.soft, dist))
                } else {
                    smoothstep(p.soft, -p.soft, dist)
                };
                if w > 0.0 {
                    match p.blend {
                        Blend::Replace => l = lerp(l, p.level, w),
                        Blend::Max => {
                            if p.level > l {
                                l = lerp(l, p.level, w);
                            }
                        }
                        Blend::Add => l += p.level * w,
                        Blend::WallOnly => {}
                    }
                }
            }
            if let Some((t, db)) = p.wall {
                let d = (dist - 0.5 * t) / (0.5 * t + p.soft * 0.5);
                if d.abs() < 3.0 {
                    let w = (-d * d).exp();
                    if db > l {
                        l = lerp(l, db, w);
                    }
                }
            }
        }
        // Tissue heterogeneity on top of everything (irrelevant in blood).
        l + sc.tex_coarse * vnoise(sc.seed, x * 0.6 / ts, y * 0.6 / ts)
            + sc.tex_fine * vnoise(sc.seed ^ 0xF1E, x * 2.2 / ts, y * 2.2 / ts)
    }

    /// Blood flow at `(x, y)`: (velocity in Nyquist units, power 0..1).
    pub(crate) fn flow(&self, x: f32, y: f32) -> (f32, f32) {
        let (x, y) = (x - self.gx, y - self.gy);
        let mut out = (0.0, 0.0);
        for p in &self.prims {
            let Some((v, power)) = p.flow else { continue };
            let (bx0, by0, bx1, by1) = p.bbox;
            if x < bx0 || x > bx1 || y < by0 || y > by1 {
                continue;
            }
            let (dist, nr) = shape_dist(&p.shape, x, y);
            if dist < 0.0 {
                let prof = (1.0 - nr * nr).clamp(0.0, 1.0);
                out = (v * (0.35 + 0.65 * prof), power * (0.4 + 0.6 * prof));
            }
        }
        out
    }
}
