//! Colour and power Doppler boxes inside a scan region: flow sampled on a
//! coarse grid (Doppler resolution is poorer than B-mode), noisy and
//! flickering from frame to frame, wrapped (aliased) past the Nyquist
//! velocity, and painted over the grey image.

use super::DopplerKind;
use super::anatomy::PosedScene;
use super::beam::Pane;
use super::draw::Rgb;
use super::util::{Fast, lerp};

pub(crate) struct DopplerBox {
    pub kind: DopplerKind,
    /// Box in beam coordinates.
    pub u0: f32,
    pub u1: f32,
    pub v0: f32,
    pub v1: f32,
    du: usize,
    dv: usize,
    xy: Vec<(f32, f32)>,
    vel: Vec<f32>,
    power: Vec<f32>,
    colors: Vec<Option<Rgb>>,
    pix: Vec<(u32, u32)>,
    threshold: f32,
    vel_noise: f32,
    clutter: f32,
}

fn ramp(stops: &[(f32, Rgb)], t: f32) -> Rgb {
    let t = t.clamp(0.0, 1.0);
    for w in stops.windows(2) {
        let ((t0, c0), (t1, c1)) = (w[0], w[1]);
        if t <= t1 {
            let f = (t - t0) / (t1 - t0);
            return [0, 1, 2].map(|k| lerp(f32::from(c0[k]), f32::from(c1[k]), f).round() as u8);
        }
    }
    stops[stops.len() - 1].1
}

/// Velocity colour map (red towards the probe, blue away), `v` in -1..1.
pub(crate) fn velocity_color(v: f32) -> Rgb {
    if v >= 0.0 {
        ramp(
            &[
                (0.0, [90, 0, 0]),
                (0.35, [190, 20, 10]),
                (0.75, [255, 110, 20]),
                (1.0, [255, 235, 120]),
            ],
            v,
        )
    } else {
        ramp(
            &[
                (0.0, [0, 10, 100]),
                (0.35, [10, 50, 215]),
                (0.75, [40, 150, 255]),
                (1.0, [160, 240, 255]),
            ],
            -v,
        )
    }
}

/// Power Doppler colour map (dark red through orange to yellow).
pub(crate) fn power_color(p: f32) -> Rgb {
    ramp(
        &[
            (0.0, [110, 15, 0]),
            (0.35, [205, 60, 0]),
            (0.7, [255, 150, 10]),
            (1.0, [255, 245, 150]),
        ],
        p,
    )
}

impl DopplerBox {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        kind: DopplerKind,
        pane: &Pane,
        width: u32,
        (u0, u1): (f32, f32),
        (v0, v1): (f32, f32),
        cell_px: f32,
        threshold: f32,
        vel_noise: f32,
        clutter: f32,
    ) -> Self {
        let g = pane.geom;
        let (xa, ya) = g.xy(u0, 0.5 * (v0 + v1));
        let (xb, yb) = g.xy(u1, 0.5 * (v0 + v1));
        let wide = ((xb - xa).powi(2) + (yb - ya).powi(2)).sqrt();
        let deep = (v1 - v0) * g.depth_px();
        let du = ((wide / cell_px) as usize).clamp(4, 400);
        let dv = ((deep / cell_px) as usize).clamp(4, 400);
        let cmpp = pane.cm_per_px();
        let mut xy = Vec::with_capacity(du * dv);
        for j in 0..dv {
            for i in 0..du {
                let u = u0 + (u1 - u0) * (i as f32 + 0.5) / du as f32;
                let v = v0 + (v1 - v0) * (j as f32 + 0.5) / dv as f32;
                xy.push(g.scene(u, v, cmpp));
            }
        }
        let mut pix = Vec::new();
        for (p, u, v) in pane.pixel_uv(width) {
            if u >= u0 && u < u1 && v >= v0 && v < v1 {
                let i = (((u - u0) / (u1 - u0)) * du as f32) as usize;
                let j = (((v - v0) / (v1 - v0)) * dv as f32) as usize;
                pix.push((p, (j.min(dv - 1) * du + i.min(du - 1)) as u32));
            }
        }
        let n = du * dv;
        Self {
            kind,
            u0,
            u1,
            v0,
            v1,
            du,
            dv,
            xy,
            vel: vec![0.0; n],
            power: vec![0.0; n],
            colors: vec![None; n],
            pix,
            threshold,
            vel_noise,
            clutter,
        }
    }

    pub(crate) fn update(&mut self, posed: &PosedScene<'_>, fast: &mut Fast) {
        for (k, &(x, y)) in self.xy.iter().enumerate() {
            let (v, p) = posed.flow(x, y);
            self.vel[k] = v;
            self.power[k] = p;
        }
        let (du, dv) = (self.du, self.dv);
        for j in 0..dv {
            for i in 0..du {
                let k = j * du + i;
                // Blooming: the displayed power is a local maximum-ish blur.
                let mut acc = 0.0;
                let mut wsum = 0.0;
                for (dj, di, w) in [
                    (0i32, 0i32, 2.0f32),
                    (-1, 0, 1.0),
                    (1, 0, 1.0),
                    (0, -1, 1.0),
                    (0, 1, 1.0),
                ] {
                    let (jj, ii) = (j as i32 + dj, i as i32 + di);
                    if jj >= 0 && ii >= 0 && (jj as usize) < dv && (ii as usize) < du {
                        acc += self.power[jj as usize * du + ii as usize] * w;
                        wsum += w;
                    }
                }
                let p = (acc / wsum).max(self.power[k] * 0.8);
                let r = fast.normals4();
                let flicker = 1.0 + 0.45 * r[0];
                let clutter = fast.unit() < self.clutter;
                self.colors[k] = if p * flicker > self.threshold || clutter {
                    Some(match self.kind {
                        DopplerKind::Color => {
                            let mut v = if clutter && p <= 0.0 {
                                0.3 * r[2]
                            } else {
                                self.vel[k] + self.vel_noise * r[1]
                            };
                            // Aliasing wraps past the Nyquist velocity.
                            v = (v + 1.0).rem_euclid(2.0) - 1.0;
                            velocity_color(v)
                        }
                        DopplerKind::Power => {
                            power_color((p * flicker * 0.9 + 0.1 * r[3]).clamp(0.05, 1.0))
                        }
                    })
                } else {
                    None
                };
            }
        }
    }

    /// Paints the flow colours over an RGB frame.
    pub(crate) fn apply(&self, rgb: &mut [u8]) {
        for &(p, k) in &self.pix {
            if let Some(c) = self.colors[k as usize] {
                let i = p as usize * 3;
                rgb[i..i + 3].copy_from_slice(&c);
            }
        }
    }
}
