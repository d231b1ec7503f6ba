//! Superficial (linear-probe) scenes: vessels, lymph nodes and small parts
//! (thyroid, breast, tendon) under the body wall.

use super::abdomen::body_wall;
use super::{Anim, Blend, Driver, Prim, Scene, SceneKind, Shape};
use crate::synth::util::Pick;
use rand::Rng;

pub(super) fn superficial(
    kind: SceneKind,
    seed: u64,
    depth: f32,
    hw: f32,
    rng: &mut impl Rng,
) -> Scene {
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
        SceneKind::Vascular => vessels(&mut sc, depth, hw, scale, wall, fluid, rng),
        SceneKind::LymphNode => lymph_node(&mut sc, depth, hw, scale, wall, rng),
        _ => small_parts(&mut sc, depth, hw, scale, wall, fluid, rng),
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

/// An artery (pulsatile, with flow and posterior enhancement) and a
/// compressible vein beside it.
fn vessels(
    sc: &mut Scene,
    depth: f32,
    hw: f32,
    scale: f32,
    wall: f32,
    fluid: f32,
    rng: &mut impl Rng,
) {
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

/// A lymph node: dark cortex, bright hilum and a vascular tree from the
/// hilum for power Doppler.
fn lymph_node(sc: &mut Scene, depth: f32, hw: f32, scale: f32, wall: f32, rng: &mut impl Rng) {
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

/// Small parts, sometimes with a bone surface and its shadow.
fn small_parts(
    sc: &mut Scene,
    depth: f32,
    hw: f32,
    scale: f32,
    wall: f32,
    fluid: f32,
    rng: &mut impl Rng,
) {
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
