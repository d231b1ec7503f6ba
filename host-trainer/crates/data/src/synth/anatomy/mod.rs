//! Anatomy: echogenicity (dB, 0 = a strong specular reflector, about -60 =
//! blood) and blood flow as functions of position in centimetres (`x`
//! lateral, `y` depth below the probe face) and of the cardiac and
//! respiratory phase.
//!
//! This module holds the scene model (primitives, motion drivers, the
//! physiological [`Phase`]), [`build`] and the probe-in-air scene;
//! [`posed`] freezes a scene at one instant and evaluates it,
//! [`cardiac`], [`abdomen`] and [`superficial`] build the other scenes, and
//! [`anechoic`] adds large fluid collections to them and builds the ocular
//! scene.

mod abdomen;
mod anechoic;
mod cardiac;
mod posed;
mod superficial;

pub(crate) use posed::PosedScene;

use super::util::Pick;
use abdomen::abdomen;
use cardiac::{four_chamber, long_axis, short_axis};
use rand::Rng;
use std::f32::consts::TAU;
use superficial::superficial;

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
    /// Globe through the closed lid: mostly anechoic.
    Ocular,
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
    let mut sc = match kind {
        SceneKind::FourChamber => four_chamber(seed, depth, rng),
        SceneKind::LongAxis => long_axis(seed, depth, rng),
        SceneKind::ShortAxis => short_axis(seed, depth, rng),
        SceneKind::Abdomen | SceneKind::Pelvis | SceneKind::Obstetric => {
            abdomen(kind, seed, depth, half_width, rng)
        }
        SceneKind::Vascular | SceneKind::SmallParts | SceneKind::LymphNode => {
            superficial(kind, seed, depth, half_width, rng)
        }
        SceneKind::Ocular => anechoic::ocular(seed, depth, half_width, rng),
        SceneKind::Air => air(seed, depth, rng),
    };
    // Fluid goes on top of everything else; below the chest wall of a
    // cardiac window, below the first few millimetres elsewhere.
    let top = match kind {
        SceneKind::FourChamber | SceneKind::LongAxis | SceneKind::ShortAxis => depth * 0.3,
        _ => depth * 0.12,
    };
    anechoic::fluid_collections(&mut sc, kind, depth, half_width, top, rng);
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
