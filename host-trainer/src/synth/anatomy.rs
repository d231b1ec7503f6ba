//! Anatomy: echogenicity (dB, 0 = a strong specular reflector, about -60 =
//! blood) and blood flow as functions of position in centimetres (`x`
//! lateral, `y` depth below the probe face) and of the cardiac and
//! respiratory phase.

use super::util::{Pick, lerp, smoothstep, vnoise};
use rand::Rng;
use std::f32::consts::TAU;

/// What drives a primitive's motion.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Driver {
    Static,
    /// Ventricular contraction (0 at end-diastole, 1 at end-systole).
    Contract,
    /// Atrial filling (largest at end-systole).
    Fill,
    /// Mitral / tricuspid opening (early and atrial diastolic filling).
    Mitral,
    /// Aortic / pulmonary valve opening (ejection).
    Aortic,
    /// Breathing, -1..1.
    Breath,
    /// Arterial pressure pulse.
    Pulse,
}

/// The physiological state at one instant.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Phase {
    pub contract: f32,
    pub fill: f32,
    pub mitral: f32,
    pub aortic: f32,
    pub breath: f32,
    pub pulse: f32,
}

fn bump(x: f32, c: f32, w: f32) -> f32 {
    // Periodic Gaussian bump on the unit circle.
    let mut d = (x - c).rem_euclid(1.0);
    if d > 0.5 {
        d -= 1.0;
    }
    (-(d / w) * (d / w)).exp()
}

impl Phase {
    /// `cycle`: cardiac phase in cycles (QRS at integer values);
    /// `breath`: respiratory phase in cycles.
    pub(crate) fn at(cycle: f32, breath: f32) -> Self {
        let p = cycle.rem_euclid(1.0);
        let contract = if (0.05..0.45).contains(&p) {
            0.5 - 0.5 * (TAU * (p - 0.05) / 0.4).cos()
        } else {
            0.0
        };
        Self {
            contract,
            fill: 0.5 + 0.5 * (TAU * (p - 0.45)).cos(),
            mitral: (bump(p, 0.58, 0.07) + 0.3 * bump(p, 0.75, 0.08) + 0.7 * bump(p, 0.9, 0.04))
                .min(1.0),
            aortic: if (0.08..0.40).contains(&p) {
                (std::f32::consts::PI * (p - 0.08) / 0.32).sin().sqrt()
            } else {
                0.0
            },
            breath: (TAU * breath).sin(),
            pulse: bump(p, 0.18, 0.07) + 0.25 * bump(p, 0.42, 0.05),
        }
    }

    fn drive(&self, d: Driver) -> f32 {
        match d {
            Driver::Static => 0.0,
            Driver::Contract => self.contract,
            Driver::Fill => self.fill,
            Driver::Mitral => self.mitral,
            Driver::Aortic => self.aortic,
            Driver::Breath => self.breath,
            Driver::Pulse => self.pulse,
        }
    }
}

/// How a primitive moves: translation `(dx, dy)` and relative scale `ds`,
/// times its driver's value.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Anim {
    pub driver: Driver,
    pub dx: f32,
    pub dy: f32,
    pub ds: f32,
}

impl Anim {
    pub(crate) const NONE: Anim = Anim {
        driver: Driver::Static,
        dx: 0.0,
        dy: 0.0,
        ds: 0.0,
    };
    pub(crate) fn new(driver: Driver, dx: f32, dy: f32, ds: f32) -> Self {
        Self { driver, dx, dy, ds }
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Shape {
    Ellipse {
        cx: f32,
        cy: f32,
        rx: f32,
        ry: f32,
        rot: f32,
    },
    /// A thick segment; with `hinge` only the end `b` moves.
    Capsule {
        ax: f32,
        ay: f32,
        bx: f32,
        by: f32,
        r: f32,
        hinge: bool,
    },
    /// A depth band between `y0` and `y1` whose boundaries undulate.
    Band {
        y0: f32,
        y1: f32,
        amp: f32,
        freq: f32,
        phase: f32,
        tilt: f32,
    },
    /// An axis-aligned box (shadows below bones, enhancement below fluid).
    Boxed { x0: f32, y0: f32, x1: f32, y1: f32 },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Blend {
    /// Replace the level inside.
    Replace,
    /// Raise to the level where it is brighter.
    Max,
    /// Add the level (dB).
    Add,
    /// Only the wall is drawn.
    WallOnly,
}

/// Blood flow in a primitive: velocity (positive = towards the probe, in
/// units of the Nyquist velocity) during diastole and during systole.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Flow {
    pub dia: f32,
    pub sys: f32,
    /// Steady (venous) component.
    pub steady: f32,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Prim {
    pub shape: Shape,
    pub level: f32,
    pub soft: f32,
    pub blend: Blend,
    pub anim: Anim,
    /// Bright boundary: (thickness cm, level dB).
    pub wall: Option<(f32, f32)>,
    pub flow: Option<Flow>,
}

impl Prim {
    pub(crate) fn new(shape: Shape, level: f32, soft: f32, blend: Blend) -> Self {
        Self {
            shape,
            level,
            soft,
            blend,
            anim: Anim::NONE,
            wall: None,
            flow: None,
        }
    }
    pub(crate) fn anim(mut self, a: Anim) -> Self {
        self.anim = a;
        self
    }
    pub(crate) fn wall(mut self, t: f32, db: f32) -> Self {
        self.wall = Some((t, db));
        self
    }
    pub(crate) fn flow(mut self, dia: f32, sys: f32, steady: f32) -> Self {
        self.flow = Some(Flow { dia, sys, steady });
        self
    }
}

/// Fibrillar texture (muscle, tendon): thin bright lines along `angle`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Striation {
    pub y0: f32,
    pub y1: f32,
    pub period: f32,
    pub angle: f32,
    pub amp: f32,
}

/// A whole scene.
#[derive(Clone, Debug)]
pub(crate) struct Scene {
    pub seed: u64,
    pub base: f32,
    /// Amplitude (dB) of the coarse and fine texture noise.
    pub tex_coarse: f32,
    pub tex_fine: f32,
    pub tex_scale: f32,
    pub prims: Vec<Prim>,
    pub striations: Vec<Striation>,
    /// Whole-scene motion (breathing, probe drift).
    pub global: Anim,
    pub global2: Anim,
}

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
    pub(crate) fn new(seed: u64, base: f32) -> Self {
        Self {
            seed,
            base,
            tex_coarse: 6.0,
            tex_fine: 3.0,
            tex_scale: 1.0,
            prims: Vec::new(),
            striations: Vec::new(),
            global: Anim::NONE,
            global2: Anim::NONE,
        }
    }

    pub(crate) fn push(&mut self, p: Prim) {
        self.prims.push(p);
    }

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

/// The kinds of anatomy a clip shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SceneKind {
    FourChamber,
    LongAxis,
    ShortAxis,
    Abdomen,
    Pelvis,
    Obstetric,
    Vascular,
    SmallParts,
    LymphNode,
    /// Probe in air: nothing but reverberation.
    Air,
}

/// Builds a scene of `kind` for a field `depth` cm deep and `half_width` cm
/// wide on each side of the centre line at the bottom.
pub(crate) fn build(
    kind: SceneKind,
    seed: u64,
    depth: f32,
    half_width: f32,
    rng: &mut impl Rng,
) -> Scene {
    match kind {
        SceneKind::FourChamber => four_chamber(seed, depth, rng),
        SceneKind::LongAxis => long_axis(seed, depth, rng),
        SceneKind::ShortAxis => short_axis(seed, depth, rng),
        SceneKind::Abdomen | SceneKind::Pelvis | SceneKind::Obstetric => {
            abdomen(kind, seed, depth, half_width, rng)
        }
        SceneKind::Vascular | SceneKind::SmallParts | SceneKind::LymphNode => {
            superficial(kind, seed, depth, half_width, rng)
        }
        SceneKind::Air => air(seed, depth, rng),
    }
}

/// A point in heart-local coordinates, rotated by `rot` about `(0, pivot)`
/// and scaled by `s`, then shifted by `(ox, oy)`.
struct Frame2 {
    s: f32,
    c: f32,
    sn: f32,
    pivot: f32,
    ox: f32,
    oy: f32,
}

impl Frame2 {
    fn p(&self, x: f32, y: f32) -> (f32, f32) {
        let (x, y) = (x * self.s, (y - self.pivot) * self.s);
        (
            x * self.c - y * self.sn + self.ox,
            x * self.sn + y * self.c + self.pivot * self.s + self.oy,
        )
    }
    fn rot(&self) -> f32 {
        self.sn.atan2(self.c)
    }
    fn ellipse(&self, x: f32, y: f32, rx: f32, ry: f32, rot: f32) -> Shape {
        let (cx, cy) = self.p(x, y);
        Shape::Ellipse {
            cx,
            cy,
            rx: rx * self.s,
            ry: ry * self.s,
            rot: rot + self.rot(),
        }
    }
    fn capsule(&self, a: (f32, f32), b: (f32, f32), r: f32, hinge: bool) -> Shape {
        let (ax, ay) = self.p(a.0, a.1);
        let (bx, by) = self.p(b.0, b.1);
        Shape::Capsule {
            ax,
            ay,
            bx,
            by,
            r: r * self.s,
            hinge,
        }
    }
    /// A local displacement vector in scene coordinates.
    fn v(&self, dx: f32, dy: f32) -> (f32, f32) {
        let (dx, dy) = (dx * self.s, dy * self.s);
        (dx * self.c - dy * self.sn, dx * self.sn + dy * self.c)
    }
    fn anim(&self, d: Driver, dx: f32, dy: f32, ds: f32) -> Anim {
        let (x, y) = self.v(dx, dy);
        Anim::new(d, x, y, ds)
    }
}

fn heart_frame(depth: f32, rng: &mut impl Rng, pivot: f32) -> Frame2 {
    let s = (depth / 16.0) * rng.uf(0.82, 1.12);
    let rot = rng.uf(-0.22, 0.22);
    Frame2 {
        s,
        c: rot.cos(),
        sn: rot.sin(),
        pivot,
        ox: rng.uf(-0.8, 0.8) * s,
        oy: rng.uf(-0.6, 1.0) * s,
    }
}

/// Chest wall and the dark near field of a cardiac window.
fn chest_wall(sc: &mut Scene, rng: &mut impl Rng) {
    let wall_end = rng.uf(0.3, 0.9);
    sc.push(Prim::new(
        Shape::Band {
            y0: -1.0,
            y1: wall_end,
            amp: 0.1,
            freq: 0.7,
            phase: rng.uf(0.0, 6.0),
            tilt: 0.0,
        },
        rng.uf(-34.0, -22.0),
        0.25,
        Blend::Replace,
    ));
    sc.push(Prim::new(
        Shape::Band {
            y0: wall_end,
            y1: wall_end + rng.uf(1.0, 2.5),
            amp: 0.3,
            freq: 0.5,
            phase: rng.uf(0.0, 6.0),
            tilt: 0.0,
        },
        rng.uf(-56.0, -42.0),
        0.5,
        Blend::Replace,
    ));
}

fn four_chamber(seed: u64, depth: f32, rng: &mut impl Rng) -> Scene {
    let mut sc = Scene::new(seed, rng.uf(-38.0, -30.0));
    sc.tex_coarse = 5.0;
    let f = heart_frame(depth, rng, 8.0);
    let myo = rng.uf(-20.0, -12.0);
    let blood = rng.uf(-68.0, -58.0);
    // Myocardial envelope and pericardium.
    sc.push(
        Prim::new(f.ellipse(0.3, 8.4, 5.1, 7.4, 0.0), myo, 0.9, Blend::Replace).anim(f.anim(
            Driver::Contract,
            0.0,
            -0.15,
            -0.03,
        )),
    );
    chest_wall(&mut sc, rng);
    // Ventricles (LV on the right of the screen).
    let lv_ds = -rng.uf(0.14, 0.26);
    sc.push(
        Prim::new(
            f.ellipse(1.75, 6.6, 1.9, 4.0, 0.06),
            blood,
            0.3,
            Blend::Replace,
        )
        .anim(f.anim(Driver::Contract, -0.1, -0.35, lv_ds))
        .flow(0.7, -0.8, 0.2),
    );
    sc.push(
        Prim::new(
            f.ellipse(-2.05, 7.0, 1.4, 3.3, -0.15),
            blood,
            0.3,
            Blend::Replace,
        )
        .anim(f.anim(Driver::Contract, 0.1, -0.3, lv_ds * 0.8))
        .flow(0.5, -0.6, -0.15),
    );
    // Atria.
    sc.push(
        Prim::new(
            f.ellipse(1.9, 12.7, 1.8, 1.8, 0.1),
            blood,
            0.3,
            Blend::Replace,
        )
        .anim(f.anim(Driver::Fill, 0.0, 0.1, 0.12))
        .flow(0.4, 0.0, 0.15),
    );
    sc.push(
        Prim::new(
            f.ellipse(-2.0, 12.4, 1.6, 1.8, -0.1),
            blood,
            0.3,
            Blend::Replace,
        )
        .anim(f.anim(Driver::Fill, 0.0, 0.1, 0.12))
        .flow(0.35, 0.0, 0.12),
    );
    // Septum, lateral walls, valves.
    let bright = rng.uf(-8.0, -2.0);
    sc.push(
        Prim::new(
            f.capsule((-0.05, 3.3), (-0.25, 10.4), 0.32, false),
            myo + 6.0,
            0.2,
            Blend::Max,
        )
        .anim(f.anim(Driver::Contract, 0.1, -0.2, 0.15)),
    );
    sc.push(
        Prim::new(
            f.capsule((3.9, 5.0), (3.7, 10.3), 0.45, false),
            bright - 6.0,
            0.2,
            Blend::Max,
        )
        .anim(f.anim(Driver::Contract, -0.35, -0.2, 0.0)),
    );
    sc.push(
        Prim::new(
            f.capsule((-3.6, 5.4), (-3.9, 10.1), 0.35, false),
            bright - 8.0,
            0.2,
            Blend::Max,
        )
        .anim(f.anim(Driver::Contract, 0.3, -0.2, 0.0)),
    );
    let mv = f.v(-0.3, -1.6);
    let mv2 = f.v(0.9, -1.1);
    sc.push(
        Prim::new(
            f.capsule((0.55, 10.5), (1.6, 10.2), 0.13, true),
            bright,
            0.1,
            Blend::Max,
        )
        .anim(Anim::new(Driver::Mitral, mv.0, mv.1, 0.0)),
    );
    sc.push(
        Prim::new(
            f.capsule((2.95, 10.55), (2.0, 10.3), 0.12, true),
            bright,
            0.1,
            Blend::Max,
        )
        .anim(Anim::new(Driver::Mitral, mv2.0, mv2.1, 0.0)),
    );
    let tv = f.v(0.2, -1.4);
    let tv2 = f.v(-0.8, -1.0);
    sc.push(
        Prim::new(
            f.capsule((-0.5, 10.3), (-1.5, 10.05), 0.12, true),
            bright,
            0.1,
            Blend::Max,
        )
        .anim(Anim::new(Driver::Mitral, tv.0, tv.1, 0.0)),
    );
    sc.push(
        Prim::new(
            f.capsule((-3.5, 10.2), (-2.5, 10.0), 0.12, true),
            bright,
            0.1,
            Blend::Max,
        )
        .anim(Anim::new(Driver::Mitral, tv2.0, tv2.1, 0.0)),
    );
    // Interatrial septum (often drops out) and the bright pericardium below.
    sc.push(Prim::new(
        f.capsule((0.0, 10.8), (0.15, 13.9), 0.18, false),
        myo - 2.0,
        0.1,
        Blend::Max,
    ));
    sc.push(
        Prim::new(
            f.capsule((-4.2, 14.9), (4.4, 14.6), 0.45, false),
            rng.uf(-4.0, 2.0),
            0.3,
            Blend::Max,
        )
        .anim(f.anim(Driver::Contract, 0.0, -0.3, 0.0)),
    );
    // Papillary muscle.
    sc.push(
        Prim::new(
            f.ellipse(2.4, 7.6, 0.45, 0.9, 0.3),
            myo,
            0.25,
            Blend::Replace,
        )
        .anim(f.anim(Driver::Contract, -0.2, -0.4, 0.1)),
    );
    sc.global = Anim::new(
        Driver::Contract,
        rng.uf(-0.2, 0.2),
        rng.uf(-0.15, 0.05),
        0.0,
    );
    sc.global2 = Anim::new(Driver::Breath, rng.uf(-0.1, 0.1), rng.uf(0.0, 0.2), 0.0);
    sc
}

fn long_axis(seed: u64, depth: f32, rng: &mut impl Rng) -> Scene {
    let mut sc = Scene::new(seed, rng.uf(-38.0, -30.0));
    let f = heart_frame(depth * 1.15, rng, 6.0);
    let myo = rng.uf(-20.0, -12.0);
    let blood = rng.uf(-68.0, -58.0);
    let bright = rng.uf(-8.0, -2.0);
    sc.push(
        Prim::new(f.ellipse(0.0, 6.5, 6.8, 4.3, 0.0), myo, 1.0, Blend::Replace).anim(f.anim(
            Driver::Contract,
            0.0,
            -0.1,
            -0.02,
        )),
    );
    chest_wall(&mut sc, rng);
    // RV (anterior), LV, aortic root, LA.
    sc.push(
        Prim::new(
            f.ellipse(0.6, 3.1, 4.0, 0.95, -0.08),
            blood,
            0.3,
            Blend::Replace,
        )
        .anim(f.anim(Driver::Contract, 0.0, 0.1, -0.2)),
    );
    sc.push(
        Prim::new(
            f.ellipse(-1.0, 6.3, 4.3, 1.9, -0.1),
            blood,
            0.3,
            Blend::Replace,
        )
        .anim(f.anim(Driver::Contract, 0.2, -0.25, -rng.uf(0.14, 0.24)))
        .flow(0.6, -0.7, 0.18),
    );
    sc.push(
        Prim::new(
            f.ellipse(3.7, 4.8, 1.6, 1.05, 0.0),
            blood,
            0.25,
            Blend::Replace,
        )
        .wall(0.25, bright)
        .flow(0.0, -0.9, -0.1),
    );
    sc.push(
        Prim::new(
            f.ellipse(3.9, 8.0, 1.9, 1.6, 0.0),
            blood,
            0.3,
            Blend::Replace,
        )
        .anim(f.anim(Driver::Fill, 0.0, 0.1, 0.12))
        .flow(0.3, 0.0, 0.1),
    );
    // Septum, posterior wall, pericardium, valves.
    sc.push(
        Prim::new(
            f.capsule((-4.5, 4.5), (2.3, 4.1), 0.45, false),
            myo + 3.0,
            0.35,
            Blend::Max,
        )
        .anim(f.anim(Driver::Contract, 0.0, 0.15, 0.2)),
    );
    sc.push(
        Prim::new(
            f.capsule((-4.6, 8.7), (1.8, 8.6), 0.5, false),
            myo + 4.0,
            0.35,
            Blend::Max,
        )
        .anim(f.anim(Driver::Contract, 0.0, -0.45, 0.2)),
    );
    sc.push(
        Prim::new(
            f.capsule((-5.2, 9.7), (5.5, 9.9), 0.35, false),
            rng.uf(-6.0, 0.0),
            0.3,
            Blend::Max,
        )
        .anim(f.anim(Driver::Contract, 0.0, -0.35, 0.0)),
    );
    let mv = f.v(-1.2, -0.6);
    sc.push(
        Prim::new(
            f.capsule((2.2, 5.9), (2.0, 7.3), 0.13, true),
            bright,
            0.1,
            Blend::Max,
        )
        .anim(Anim::new(Driver::Mitral, mv.0, mv.1, 0.0)),
    );
    let mv2 = f.v(-1.0, 0.5);
    sc.push(
        Prim::new(
            f.capsule((2.2, 8.5), (2.1, 7.5), 0.12, true),
            bright,
            0.1,
            Blend::Max,
        )
        .anim(Anim::new(Driver::Mitral, mv2.0, mv2.1, 0.0)),
    );
    let av = f.v(0.9, -0.5);
    sc.push(
        Prim::new(
            f.capsule((2.3, 4.3), (3.2, 4.9), 0.1, true),
            bright,
            0.1,
            Blend::Max,
        )
        .anim(Anim::new(Driver::Aortic, av.0, av.1, 0.0)),
    );
    // Descending aorta behind the LA.
    sc.push(
        Prim::new(
            f.ellipse(2.2, 10.8, 0.75, 0.7, 0.0),
            blood,
            0.2,
            Blend::Replace,
        )
        .wall(0.2, bright - 4.0),
    );
    sc.global = Anim::new(
        Driver::Contract,
        rng.uf(-0.15, 0.15),
        rng.uf(-0.2, 0.0),
        0.0,
    );
    sc.global2 = Anim::new(Driver::Breath, rng.uf(-0.1, 0.1), rng.uf(0.0, 0.2), 0.0);
    sc
}

fn short_axis(seed: u64, depth: f32, rng: &mut impl Rng) -> Scene {
    let mut sc = Scene::new(seed, rng.uf(-38.0, -30.0));
    let f = heart_frame(depth * 1.1, rng, 7.0);
    let myo = rng.uf(-18.0, -10.0);
    let blood = rng.uf(-68.0, -58.0);
    sc.push(Prim::new(
        f.ellipse(0.0, 7.0, 4.3, 4.0, 0.0),
        -26.0,
        1.0,
        Blend::Replace,
    ));
    chest_wall(&mut sc, rng);
    let ds = -rng.uf(0.15, 0.25);
    // Myocardial ring then cavity.
    sc.push(
        Prim::new(f.ellipse(0.6, 7.2, 3.1, 3.0, 0.0), myo, 0.3, Blend::Replace).anim(f.anim(
            Driver::Contract,
            0.0,
            -0.15,
            ds * 0.4,
        )),
    );
    sc.push(
        Prim::new(
            f.ellipse(0.6, 7.2, 2.1, 2.0, 0.0),
            blood,
            0.25,
            Blend::Replace,
        )
        .anim(f.anim(Driver::Contract, 0.0, -0.15, ds))
        .flow(0.5, -0.5, 0.2),
    );
    sc.push(
        Prim::new(
            f.ellipse(-2.6, 4.9, 2.4, 1.0, -0.6),
            blood,
            0.3,
            Blend::Replace,
        )
        .anim(f.anim(Driver::Contract, 0.0, 0.0, ds * 0.7)),
    );
    sc.push(
        Prim::new(
            f.ellipse(-0.2, 8.4, 0.5, 0.5, 0.0),
            myo + 3.0,
            0.2,
            Blend::Replace,
        )
        .anim(f.anim(Driver::Contract, 0.3, -0.5, 0.2)),
    );
    sc.push(
        Prim::new(
            f.ellipse(1.6, 8.4, 0.5, 0.55, 0.0),
            myo + 3.0,
            0.2,
            Blend::Replace,
        )
        .anim(f.anim(Driver::Contract, -0.3, -0.5, 0.2)),
    );
    sc.push(
        Prim::new(
            f.capsule((-3.5, 10.6), (4.0, 10.4), 0.45, false),
            rng.uf(-4.0, 2.0),
            0.3,
            Blend::Max,
        )
        .anim(f.anim(Driver::Contract, 0.0, -0.35, 0.0)),
    );
    sc.global = Anim::new(
        Driver::Contract,
        rng.uf(-0.15, 0.15),
        rng.uf(-0.2, 0.0),
        0.0,
    );
    sc.global2 = Anim::new(Driver::Breath, rng.uf(-0.1, 0.1), rng.uf(0.0, 0.2), 0.0);
    sc
}

/// Skin, fat with septa, fascia, muscle: the body wall of abdominal and
/// superficial scans. Returns the depth where it ends.
fn body_wall(sc: &mut Scene, scale: f32, hw: f32, rng: &mut impl Rng) -> f32 {
    let skin = rng.uf(0.08, 0.18) * scale;
    sc.push(Prim::new(
        Shape::Band {
            y0: -1.0,
            y1: skin,
            amp: 0.0,
            freq: 0.0,
            phase: 0.0,
            tilt: 0.0,
        },
        rng.uf(-8.0, -2.0),
        0.05 * scale,
        Blend::Replace,
    ));
    let fat_end = skin + rng.uf(0.4, 2.0) * scale;
    let fat_lvl = rng.uf(-34.0, -24.0);
    let tilt = rng.uf(-0.05, 0.05);
    let ph = rng.uf(0.0, 6.0);
    sc.push(Prim::new(
        Shape::Band {
            y0: skin,
            y1: fat_end,
            amp: 0.1 * scale,
            freq: 0.6 / scale,
            phase: ph,
            tilt,
        },
        fat_lvl,
        0.05 * scale,
        Blend::Replace,
    ));
    for _ in 0..rng.ui(2, 7) {
        let y = rng.uf(skin, fat_end);
        let x = rng.uf(-hw, hw);
        let len = rng.uf(0.5, 2.5) * scale;
        let a = rng.uf(-0.3, 0.3);
        sc.push(Prim::new(
            Shape::Capsule {
                ax: x,
                ay: y,
                bx: x + len * a.cos(),
                by: y + len * a.sin(),
                r: 0.04 * scale,
                hinge: false,
            },
            rng.uf(-16.0, -8.0),
            0.02,
            Blend::Max,
        ));
    }
    let mus_end = fat_end + rng.uf(0.6, 2.0) * scale;
    let fascia = rng.uf(-8.0, -2.0);
    sc.push(Prim::new(
        Shape::Band {
            y0: fat_end,
            y1: mus_end,
            amp: 0.1 * scale,
            freq: 0.6 / scale,
            phase: ph,
            tilt,
        },
        rng.uf(-24.0, -16.0),
        0.05 * scale,
        Blend::Replace,
    ));
    for y in [fat_end, mus_end] {
        sc.push(Prim::new(
            Shape::Band {
                y0: y - 0.04 * scale,
                y1: y + 0.04 * scale,
                amp: 0.1 * scale,
                freq: 0.6 / scale,
                phase: ph,
                tilt,
            },
            fascia,
            0.05 * scale,
            Blend::Max,
        ));
    }
    sc.striations.push(Striation {
        y0: fat_end,
        y1: mus_end,
        period: rng.uf(0.12, 0.3) * scale,
        angle: rng.uf(-0.15, 0.15),
        amp: rng.uf(4.0, 10.0),
    });
    mus_end
}

fn abdomen(kind: SceneKind, seed: u64, depth: f32, hw: f32, rng: &mut impl Rng) -> Scene {
    let mut sc = Scene::new(seed, rng.uf(-26.0, -18.0));
    sc.tex_coarse = rng.uf(4.0, 8.0);
    sc.tex_fine = rng.uf(2.0, 4.0);
    let wall = body_wall(&mut sc, rng.uf(0.8, 1.4), hw, rng);
    let fluid = rng.uf(-72.0, -62.0);
    match kind {
        SceneKind::Abdomen => {
            // Liver with vessels; kidney or gallbladder; diaphragm.
            for _ in 0..rng.ui(3, 9) {
                let r = rng.uf(0.15, 0.7);
                let x = rng.uf(-hw * 0.8, hw * 0.8);
                let y = rng.uf(wall + 1.5, depth * 0.8);
                let mut p = Prim::new(
                    Shape::Ellipse {
                        cx: x,
                        cy: y,
                        rx: r * rng.uf(1.0, 2.5),
                        ry: r,
                        rot: rng.uf(-0.6, 0.6),
                    },
                    fluid,
                    0.06,
                    Blend::Replace,
                )
                .anim(Anim::new(Driver::Pulse, 0.0, 0.0, rng.uf(0.0, 0.06)))
                .flow(0.0, rng.uf(-0.6, 0.6), rng.uf(-0.4, 0.4));
                if rng.chance(0.5) {
                    p = p.wall(0.1, rng.uf(-10.0, -4.0));
                }
                sc.push(p);
            }
            if rng.chance(0.5) {
                let (x, y) = (
                    rng.uf(-hw * 0.5, hw * 0.5),
                    rng.uf(depth * 0.45, depth * 0.7),
                );
                let (rx, ry, rot) = (rng.uf(2.2, 3.4), rng.uf(1.3, 2.0), rng.uf(-0.4, 0.4));
                sc.push(
                    Prim::new(
                        Shape::Ellipse {
                            cx: x,
                            cy: y,
                            rx,
                            ry,
                            rot,
                        },
                        rng.uf(-30.0, -22.0),
                        0.2,
                        Blend::Replace,
                    )
                    .wall(0.15, -8.0),
                );
                sc.push(Prim::new(
                    Shape::Ellipse {
                        cx: x,
                        cy: y,
                        rx: rx * 0.55,
                        ry: ry * 0.4,
                        rot,
                    },
                    rng.uf(-10.0, -4.0),
                    0.35,
                    Blend::Replace,
                ));
            } else if rng.chance(0.6) {
                let (x, y) = (rng.uf(-hw * 0.5, hw * 0.5), rng.uf(wall + 2.0, depth * 0.5));
                let (rx, ry) = (rng.uf(1.5, 3.5), rng.uf(0.9, 1.6));
                sc.push(
                    Prim::new(
                        Shape::Ellipse {
                            cx: x,
                            cy: y,
                            rx,
                            ry,
                            rot: rng.uf(-0.5, 0.5),
                        },
                        fluid,
                        0.1,
                        Blend::Replace,
                    )
                    .wall(0.12, -6.0),
                );
                sc.push(Prim::new(
                    Shape::Boxed {
                        x0: x - rx * 0.6,
                        y0: y + ry,
                        x1: x + rx * 0.6,
                        y1: depth * 2.0,
                    },
                    5.0,
                    0.6,
                    Blend::Add,
                ));
            }
            if rng.chance(0.7) {
                // Diaphragm: an arc of bright segments with dimmer tissue below.
                let yc = rng.uf(depth * 0.65, depth * 0.95);
                let curv = rng.uf(0.01, 0.05);
                let n = 8;
                for i in 0..n {
                    let x0 = -hw * 1.3 + 2.6 * hw * i as f32 / n as f32;
                    let x1 = -hw * 1.3 + 2.6 * hw * (i + 1) as f32 / n as f32;
                    let (y0, y1) = (
                        yc - curv * x0 * x0 + 0.3 * x0 * 0.1,
                        yc - curv * x1 * x1 + 0.3 * x1 * 0.1,
                    );
                    sc.push(Prim::new(
                        Shape::Capsule {
                            ax: x0,
                            ay: y0,
                            bx: x1,
                            by: y1,
                            r: 0.18,
                            hinge: false,
                        },
                        rng.uf(-4.0, 2.0),
                        0.1,
                        Blend::Max,
                    ));
                }
                sc.push(Prim::new(
                    Shape::Band {
                        y0: yc + 0.6,
                        y1: depth * 3.0,
                        amp: 0.0,
                        freq: 0.0,
                        phase: 0.0,
                        tilt: 0.0,
                    },
                    -6.0,
                    1.5,
                    Blend::Add,
                ));
            }
            sc.global = Anim::new(Driver::Breath, rng.uf(-0.3, 0.3), rng.uf(0.2, 0.7), 0.0);
        }
        SceneKind::Pelvis | SceneKind::Obstetric => {
            // A large fluid space (bladder or amniotic fluid) with posterior enhancement.
            let (x, y) = (
                rng.uf(-hw * 0.3, hw * 0.3),
                rng.uf(wall + 2.0, depth * 0.45),
            );
            let (rx, ry) = (rng.uf(2.5, hw.max(3.0) * 0.8), rng.uf(1.5, 3.5));
            sc.push(
                Prim::new(
                    Shape::Ellipse {
                        cx: x,
                        cy: y,
                        rx,
                        ry,
                        rot: rng.uf(-0.2, 0.2),
                    },
                    fluid,
                    0.25,
                    Blend::Replace,
                )
                .wall(0.15, -8.0),
            );
            sc.push(Prim::new(
                Shape::Boxed {
                    x0: x - rx * 0.7,
                    y0: y + ry * 0.8,
                    x1: x + rx * 0.7,
                    y1: depth * 2.0,
                },
                rng.uf(3.0, 8.0),
                0.8,
                Blend::Add,
            ));
            if kind == SceneKind::Obstetric {
                // Fetal head: bright skull ring, midline echo.
                let (hx, hy) = (x + rng.uf(-1.0, 1.0), y + ry * rng.uf(0.3, 1.0));
                let (hr, hr2, rot) = (rng.uf(2.0, 3.5), rng.uf(1.6, 2.8), rng.uf(-0.8, 0.8));
                sc.push(
                    Prim::new(
                        Shape::Ellipse {
                            cx: hx,
                            cy: hy,
                            rx: hr,
                            ry: hr2,
                            rot,
                        },
                        rng.uf(-36.0, -28.0),
                        0.15,
                        Blend::Replace,
                    )
                    .wall(0.3, rng.uf(-4.0, 2.0)),
                );
                let (c, s) = (rot.cos(), rot.sin());
                sc.push(Prim::new(
                    Shape::Capsule {
                        ax: hx - c * hr * 0.8,
                        ay: hy - s * hr * 0.8,
                        bx: hx + c * hr * 0.8,
                        by: hy + s * hr * 0.8,
                        r: 0.06,
                        hinge: false,
                    },
                    -12.0,
                    0.05,
                    Blend::Max,
                ));
                // Spine: a row of bright dots.
                let ang = rng.uf(-0.4, 0.4);
                for i in 0..10 {
                    let t = i as f32 * 0.55 + hr + 0.8;
                    let (px, py) = (hx + t * (rot + ang).cos(), hy + t * (rot + ang).sin() + 0.8);
                    sc.push(Prim::new(
                        Shape::Ellipse {
                            cx: px,
                            cy: py,
                            rx: 0.2,
                            ry: 0.15,
                            rot: 0.0,
                        },
                        -2.0,
                        0.05,
                        Blend::Max,
                    ));
                }
                sc.global = Anim::new(Driver::Breath, rng.uf(-0.15, 0.15), rng.uf(0.05, 0.2), 0.0);
            } else {
                // Uterus or prostate behind the bladder.
                sc.push(Prim::new(
                    Shape::Ellipse {
                        cx: x + rng.uf(-1.0, 1.0),
                        cy: y + ry + rng.uf(1.5, 3.0),
                        rx: rng.uf(2.0, 4.0),
                        ry: rng.uf(1.5, 2.5),
                        rot: rng.uf(-0.3, 0.3),
                    },
                    rng.uf(-22.0, -14.0),
                    0.5,
                    Blend::Replace,
                ));
                sc.global = Anim::new(Driver::Breath, rng.uf(-0.1, 0.1), rng.uf(0.05, 0.2), 0.0);
            }
        }
        _ => unreachable!("abdomen() called with {kind:?}"),
    }
    sc
}

fn superficial(kind: SceneKind, seed: u64, depth: f32, hw: f32, rng: &mut impl Rng) -> Scene {
    let mut sc = Scene::new(seed, rng.uf(-24.0, -14.0));
    let scale = depth / 4.5;
    sc.tex_scale = scale.max(0.4) * 0.5;
    sc.tex_coarse = rng.uf(4.0, 8.0);
    let wall = body_wall(&mut sc, scale * rng.uf(0.5, 0.9), hw, rng);
    let fluid = rng.uf(-72.0, -62.0);
    // Lobules (fat, glandular tissue, muscle bellies) and oblique ligaments.
    for _ in 0..rng.ui(3, 12) {
        let r = rng.uf(0.2, 0.9) * scale;
        sc.push(Prim::new(
            Shape::Ellipse {
                cx: rng.uf(-hw, hw),
                cy: rng.uf(wall, depth),
                rx: r * rng.uf(1.2, 3.0),
                ry: r,
                rot: rng.uf(-0.4, 0.4),
            },
            sc.base + rng.uf(-14.0, 6.0),
            r * rng.uf(0.2, 0.6),
            Blend::Replace,
        ));
    }
    for _ in 0..rng.ui(0, 5) {
        let (x, y) = (rng.uf(-hw, hw), rng.uf(wall, depth));
        let (len, ang) = (rng.uf(0.5, 2.0) * scale, rng.uf(-0.8, 0.8));
        sc.push(Prim::new(
            Shape::Capsule {
                ax: x,
                ay: y,
                bx: x + len * ang.cos(),
                by: y + len * ang.sin(),
                r: 0.03 * scale,
                hinge: false,
            },
            rng.uf(-14.0, -6.0),
            0.02,
            Blend::Max,
        ));
    }
    match kind {
        SceneKind::Vascular => {
            let y = rng.uf(wall + 0.5, depth * 0.6).min(depth * 0.7);
            let r = rng.uf(0.25, 0.45) * scale.max(0.7);
            let x = rng.uf(-hw * 0.5, hw * 0.5);
            let elong = if rng.chance(0.5) {
                rng.uf(2.0, 6.0)
            } else {
                1.0
            };
            sc.push(
                Prim::new(
                    Shape::Ellipse {
                        cx: x,
                        cy: y,
                        rx: r * elong,
                        ry: r,
                        rot: rng.uf(-0.1, 0.1),
                    },
                    fluid,
                    0.04,
                    Blend::Replace,
                )
                .wall(0.08, rng.uf(-8.0, -2.0))
                .anim(Anim::new(Driver::Pulse, 0.0, 0.0, rng.uf(0.05, 0.12)))
                .flow(
                    0.1,
                    rng.uf(0.6, 1.3) * if rng.chance(0.5) { 1.0 } else { -1.0 },
                    0.15,
                ),
            );
            // Vein beside it, compressible, changes with breathing.
            sc.push(
                Prim::new(
                    Shape::Ellipse {
                        cx: x + rng.uf(-1.5, 1.5) * scale,
                        cy: y - r * rng.uf(0.5, 1.5),
                        rx: r * rng.uf(1.0, 2.5) * elong.min(2.0),
                        ry: r * 0.6,
                        rot: 0.0,
                    },
                    fluid + 4.0,
                    0.06,
                    Blend::Replace,
                )
                .anim(Anim::new(Driver::Breath, 0.0, 0.0, 0.2))
                .flow(0.0, 0.0, rng.uf(-0.5, -0.2)),
            );
            sc.push(Prim::new(
                Shape::Boxed {
                    x0: x - r * elong,
                    y0: y + r,
                    x1: x + r * elong,
                    y1: depth * 2.0,
                },
                4.0,
                0.3,
                Blend::Add,
            ));
        }
        SceneKind::LymphNode => {
            let (x, y) = (
                rng.uf(-hw * 0.3, hw * 0.3),
                rng.uf(wall + 0.6, depth * 0.55),
            );
            let (rx, ry, rot) = (
                rng.uf(0.35, 0.6) * hw,
                rng.uf(0.5, 1.0) * scale,
                rng.uf(-0.2, 0.2),
            );
            sc.push(
                Prim::new(
                    Shape::Ellipse {
                        cx: x,
                        cy: y,
                        rx,
                        ry,
                        rot,
                    },
                    rng.uf(-40.0, -30.0),
                    0.1,
                    Blend::Replace,
                )
                .wall(0.05, -12.0),
            );
            sc.push(Prim::new(
                Shape::Ellipse {
                    cx: x + rx * 0.1,
                    cy: y,
                    rx: rx * 0.5,
                    ry: ry * 0.35,
                    rot,
                },
                rng.uf(-16.0, -8.0),
                0.25,
                Blend::Replace,
            ));
            // A vascular tree from the hilum for power Doppler.
            let hx = x + rx * 0.1;
            let seg = (rx + ry) * rng.uf(0.06, 0.1);
            let mut branches: Vec<(f32, f32, f32, f32)> = Vec::new();
            for _ in 0..rng.ui(2, 4) {
                branches.push((hx, y + ry * 0.1, rng.uf(0.0, std::f32::consts::TAU), 1.0));
            }
            let mut n = 0;
            while let Some((bx, by, a, wgt)) = branches.pop() {
                let (ex, ey) = (bx + seg * a.cos(), by + seg * a.sin() * 0.7);
                let (dx, dy) = ((ex - x) / rx, (ey - y) / ry);
                if dx * dx + dy * dy > 0.95 || n > 160 {
                    continue;
                }
                n += 1;
                sc.push(
                    Prim::new(
                        Shape::Capsule {
                            ax: bx,
                            ay: by,
                            bx: ex,
                            by: ey,
                            r: 0.035 * scale * wgt.max(0.5),
                            hinge: false,
                        },
                        -45.0,
                        0.02,
                        Blend::Max,
                    )
                    .flow(0.0, rng.uf(0.4, 1.0) * wgt, rng.uf(0.2, 0.5) * wgt),
                );
                branches.push((ex, ey, a + rng.uf(-0.45, 0.45), wgt * 0.93));
                if rng.chance(0.3) {
                    branches.push((ex, ey, a + rng.uf(-1.3, 1.3), wgt * 0.8));
                }
            }
        }
        _ => {
            // Thyroid / breast / tendon: a homogeneous organ with nodules.
            let top = wall + rng.uf(0.0, 0.5) * scale;
            sc.push(Prim::new(
                Shape::Band {
                    y0: top,
                    y1: top + rng.uf(1.0, 2.5) * scale,
                    amp: 0.2 * scale,
                    freq: 0.8,
                    phase: rng.uf(0.0, 6.0),
                    tilt: 0.0,
                },
                rng.uf(-16.0, -8.0),
                0.15,
                Blend::Replace,
            ));
            for _ in 0..rng.ui(1, 4) {
                let r = rng.uf(0.15, 0.6) * scale;
                sc.push(Prim::new(
                    Shape::Ellipse {
                        cx: rng.uf(-hw * 0.8, hw * 0.8),
                        cy: rng.uf(top, depth * 0.8),
                        rx: r * rng.uf(1.0, 1.8),
                        ry: r,
                        rot: rng.uf(-0.5, 0.5),
                    },
                    if rng.chance(0.5) {
                        fluid
                    } else {
                        rng.uf(-36.0, -26.0)
                    },
                    0.05,
                    Blend::Replace,
                ));
            }
            if rng.chance(0.4) {
                // A bone surface with its acoustic shadow.
                let y = rng.uf(depth * 0.6, depth * 0.85);
                let x0 = rng.uf(-hw * 1.2, 0.0);
                let x1 = rng.uf(0.2 * hw, hw * 1.2);
                let xm = 0.5 * (x0 + x1);
                let ym = y - rng.uf(0.05, 0.3) * scale;
                let y1 = y + rng.uf(-0.3, 0.3) * scale;
                sc.push(Prim::new(
                    Shape::Boxed {
                        x0,
                        y0: ym.max(y.min(y1)) + 0.1 * scale,
                        x1,
                        y1: depth * 2.0,
                    },
                    -45.0,
                    0.35 * scale,
                    Blend::Add,
                ));
                sc.push(Prim::new(
                    Shape::Capsule {
                        ax: x0,
                        ay: y,
                        bx: xm,
                        by: ym,
                        r: 0.07 * scale,
                        hinge: false,
                    },
                    rng.uf(0.0, 6.0),
                    0.03,
                    Blend::Max,
                ));
                sc.push(Prim::new(
                    Shape::Capsule {
                        ax: xm,
                        ay: ym,
                        bx: x1,
                        by: y1,
                        r: 0.07 * scale,
                        hinge: false,
                    },
                    rng.uf(0.0, 6.0),
                    0.03,
                    Blend::Max,
                ));
            }
        }
    }
    sc.global = Anim::new(
        Driver::Breath,
        rng.uf(-0.05, 0.05) * scale,
        rng.uf(-0.05, 0.05) * scale,
        0.0,
    );
    sc.global2 = Anim::new(Driver::Pulse, 0.0, rng.uf(0.0, 0.03) * scale, 0.0);
    sc
}

/// Probe in air: reverberation lines parallel to the face and nothing else.
fn air(seed: u64, depth: f32, rng: &mut impl Rng) -> Scene {
    let mut sc = Scene::new(seed, -140.0);
    sc.tex_coarse = 0.0;
    sc.tex_fine = 0.0;
    let spacing = rng.uf(0.04, 0.09) * depth.clamp(2.0, 20.0).sqrt() * 1.4;
    let first = rng.uf(-2.0, 2.0);
    let decay = rng.uf(7.0, 16.0);
    for k in 0..6 {
        let y = spacing * (k as f32 + 0.3);
        let t = spacing * rng.uf(0.12, 0.3);
        sc.push(Prim::new(
            Shape::Band {
                y0: y - t,
                y1: y + t,
                amp: 0.0,
                freq: 0.0,
                phase: 0.0,
                tilt: 0.0,
            },
            first - decay * k as f32,
            t * 0.5,
            Blend::Max,
        ));
    }
    sc
}
