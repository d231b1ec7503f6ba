//! Large anechoic (fluid) structures and the ocular scene.
//!
//! Real sectors are often mostly black *inside*: heart chambers, the globe,
//! a full bladder, cysts, ascites or effusions, shadows. A network that only
//! ever saw bright speckle inside the sector learns "bright = inside" and
//! cuts those regions out of the mask. So the structures here are big, near
//! black (about -64 … -78 dB, below blood) and deliberately placed so that
//! many touch or cross the edge of the field of view: the sector boundary
//! must stay defined by the beam geometry, not by where tissue is bright.
//! Speckle and the clutter haze still show faintly over them, as on a
//! scanner.

use super::{Blend, Prim, Scene, SceneKind, Shape};
use crate::synth::util::Pick;
use rand::Rng;

/// How likely a scene of `kind` gets extra fluid collections.
fn chance(kind: SceneKind) -> f32 {
    match kind {
        SceneKind::Abdomen => 0.6,
        SceneKind::Pelvis => 0.35,
        SceneKind::Obstetric => 0.5,
        SceneKind::Vascular => 0.3,
        SceneKind::SmallParts => 0.5,
        SceneKind::LymphNode => 0.3,
        SceneKind::FourChamber | SceneKind::LongAxis | SceneKind::ShortAxis => 0.3,
        SceneKind::Ocular | SceneKind::Air => 0.0,
    }
}

/// Adds 1–3 large fluid collections (gallbladder, cyst, ascites, pleural or
/// pericardial effusion, amniotic pocket) to a scene `depth` cm deep and
/// `hw` cm wide on each side of the centre line; `top` is where the body
/// wall ends. Some reach past the lateral or far edge of the field.
pub(super) fn fluid_collections(
    sc: &mut Scene,
    kind: SceneKind,
    depth: f32,
    hw: f32,
    top: f32,
    rng: &mut impl Rng,
) {
    if !rng.chance(chance(kind)) {
        return;
    }
    let hw = hw.max(1.0);
    for _ in 0..rng.ui(1, 3) {
        let level = rng.uf(-78.0, -64.0);
        // Size relative to the field, so a linear 4 cm field and a 20 cm
        // abdominal one both get structures filling a good part of the image.
        let rx = hw * rng.uf(0.25, 0.8);
        let ry = (depth * rng.uf(0.1, 0.35)).max(0.3);
        let (cx, cy) = match rng.weighted(&[0.45, 0.3, 0.25]) {
            // Inside the field.
            0 => (rng.uf(-0.6, 0.6) * hw, rng.uf(top + ry * 0.6, depth * 0.85)),
            // Across a lateral edge.
            1 => (
                hw * rng.uf(0.7, 1.2) * if rng.chance(0.5) { 1.0 } else { -1.0 },
                rng.uf(top + ry * 0.5, depth * 0.9),
            ),
            // Free fluid or effusion through the far field.
            _ => (rng.uf(-0.7, 0.7) * hw, depth * rng.uf(0.8, 1.05)),
        };
        let mut p = Prim::new(
            Shape::Ellipse {
                cx,
                cy,
                rx,
                ry,
                rot: rng.uf(-0.35, 0.35),
            },
            level,
            rng.uf(0.05, 0.3) * hw.min(3.0),
            Blend::Replace,
        );
        if rng.chance(0.6) {
            p = p.wall(rng.uf(0.05, 0.15), rng.uf(-16.0, -6.0));
        }
        sc.push(p);
        // Posterior acoustic enhancement below fluid.
        if rng.chance(0.6) {
            sc.push(Prim::new(
                Shape::Boxed {
                    x0: cx - rx * 0.6,
                    y0: cy + ry * 0.8,
                    x1: cx + rx * 0.6,
                    y1: depth * 2.0,
                },
                rng.uf(2.0, 6.0),
                0.6,
                Blend::Add,
            ));
        }
    }
}

/// Ocular scan (linear probe through the closed lid): a thin lid, the
/// anechoic globe (about 24 mm) filling most of the field, the lens capsule,
/// bright retrobulbar fat and the dark stripe of the optic nerve down to the
/// far field.
pub(super) fn ocular(seed: u64, depth: f32, hw: f32, rng: &mut impl Rng) -> Scene {
    let mut sc = Scene::new(seed, rng.uf(-24.0, -14.0));
    sc.tex_coarse = rng.uf(4.0, 7.0);
    let lid = rng.uf(0.25, 0.55);
    sc.push(Prim::new(
        Shape::Band {
            y0: -1.0,
            y1: lid,
            amp: 0.02,
            freq: 2.0,
            phase: rng.uf(0.0, 6.0),
            tilt: 0.0,
        },
        rng.uf(-30.0, -20.0),
        0.04,
        Blend::Replace,
    ));
    // Globe radius about 1.2 cm, scaled down a little on shallow fields so
    // the back wall usually stays visible.
    let r = rng.uf(1.1, 1.3) * (depth / 4.0).clamp(0.7, 1.2);
    let cx = rng.uf(-0.35, 0.35) * hw.max(1.0);
    let cy = lid + r + rng.uf(0.05, 0.2);
    sc.push(
        Prim::new(
            Shape::Ellipse {
                cx,
                cy,
                rx: r * rng.uf(1.0, 1.08),
                ry: r,
                rot: 0.0,
            },
            rng.uf(-80.0, -68.0),
            0.05,
            Blend::Replace,
        )
        .wall(0.08, rng.uf(-12.0, -4.0)),
    );
    // Lens: only its capsule echoes.
    sc.push(
        Prim::new(
            Shape::Ellipse {
                cx,
                cy: cy - r + 0.35,
                rx: rng.uf(0.4, 0.5),
                ry: rng.uf(0.15, 0.22),
                rot: 0.0,
            },
            -70.0,
            0.03,
            Blend::WallOnly,
        )
        .wall(0.04, rng.uf(-14.0, -6.0)),
    );
    // Optic nerve: a hypoechoic stripe behind the globe, slightly oblique.
    let tilt = rng.uf(-0.25, 0.25);
    sc.push(Prim::new(
        Shape::Capsule {
            ax: cx,
            ay: cy + r + 0.1,
            bx: cx + tilt * depth,
            by: depth * 1.5,
            r: rng.uf(0.18, 0.28),
            hinge: false,
        },
        rng.uf(-52.0, -42.0),
        0.08,
        Blend::Replace,
    ));
    sc
}
