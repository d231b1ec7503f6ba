//! Abdominal, pelvic and obstetric scenes, and the body wall (skin, fat,
//! fascia, muscle) they share with the superficial scenes.

use super::{Anim, Blend, Driver, Prim, Scene, SceneKind, Shape, Striation};
use crate::synth::util::Pick;
use rand::Rng;

/// Skin, fat with septa, fascia, muscle: the body wall of abdominal and
/// superficial scans. Returns the depth where it ends.
pub(super) fn body_wall(sc: &mut Scene, scale: f32, hw: f32, rng: &mut impl Rng) -> f32 {
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
    // Subcutaneous fat is often nearly anechoic: the dark band under the
    // bright skin line seen on real frames.
    let fat_lvl = rng.uf(-56.0, -24.0);
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

pub(super) fn abdomen(
    kind: SceneKind,
    seed: u64,
    depth: f32,
    hw: f32,
    rng: &mut impl Rng,
) -> Scene {
    let mut sc = Scene::new(seed, rng.uf(-26.0, -18.0));
    sc.tex_coarse = rng.uf(4.0, 8.0);
    sc.tex_fine = rng.uf(2.0, 4.0);
    let wall = body_wall(&mut sc, rng.uf(0.8, 1.4), hw, rng);
    let fluid = rng.uf(-72.0, -62.0);
    match kind {
        SceneKind::Abdomen => upper_abdomen(&mut sc, depth, hw, wall, fluid, rng),
        SceneKind::Pelvis | SceneKind::Obstetric => {
            pelvis(kind, &mut sc, depth, hw, wall, fluid, rng)
        }
        _ => unreachable!("abdomen() called with {kind:?}"),
    }
    sc
}

/// Liver with vessels; kidney or gallbladder; diaphragm.
fn upper_abdomen(sc: &mut Scene, depth: f32, hw: f32, wall: f32, fluid: f32, rng: &mut impl Rng) {
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

/// Pelvic and obstetric contents: a fetal head and spine, or the uterus or
/// prostate, behind a fluid space.
fn pelvis(
    kind: SceneKind,
    sc: &mut Scene,
    depth: f32,
    hw: f32,
    wall: f32,
    fluid: f32,
    rng: &mut impl Rng,
) {
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
