//! Cardiac scenes: apical four-chamber, parasternal long and short axis,
//! drawn in a heart-local frame, plus the chest wall of a cardiac window.

use super::{Anim, Blend, Driver, Prim, Scene, Shape};
use crate::synth::util::Pick;
use rand::Rng;

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

pub(super) fn four_chamber(seed: u64, depth: f32, rng: &mut impl Rng) -> Scene {
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

pub(super) fn long_axis(seed: u64, depth: f32, rng: &mut impl Rng) -> Scene {
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

pub(super) fn short_axis(seed: u64, depth: f32, rng: &mut impl Rng) -> Scene {
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
