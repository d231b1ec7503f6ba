//! What the scanner images and how: anatomy per region, acquisition
//! settings (gain, TGC, dynamic range, noise, speckle decorrelation), timing
//! (frame rate, heart rate, breathing), Doppler boxes and the time-motion
//! strip.

use super::anatomy::{self, Phase, Scene, SceneKind};
use super::beam::{Acq, Pane};
use super::doppler::DopplerBox;
use super::layout::Plan;
use super::strip::{Strip, Waveform};
use super::util::{Pick, mix};
use super::{Brightness, DopplerKind, Layout, ProbeKind, StripKind};
use rand::Rng;

/// Frame timing and physiology clocks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timing {
    pub fps: f32,
    pub hr: f32,
    pub cycle0: f32,
    pub breath0: f32,
    pub breath_period: f32,
    /// Acquisition time of frame 0 (seconds since the strip/ECG started).
    pub t_base: f32,
}

impl Timing {
    pub(crate) fn time(&self, k: usize) -> f32 {
        self.t_base + k as f32 / self.fps
    }
    pub(crate) fn cycle(&self, t: f32) -> f32 {
        self.cycle0 + t * self.hr / 60.0
    }
    pub(crate) fn phase(&self, t: f32) -> Phase {
        Phase::at(self.cycle(t), self.breath0 + t / self.breath_period)
    }
}

pub(crate) struct Scan {
    pub panes: Vec<Pane>,
    pub scenes: Vec<Scene>,
    pub strip: Option<Strip>,
    pub brightness: Brightness,
    pub depth_cm: f32,
    pub doppler: Option<DopplerKind>,
    pub timing: Timing,
    pub scene_kind: SceneKind,
}

fn scene_kind(layout: Layout, probe: ProbeKind, rng: &mut impl Rng) -> SceneKind {
    use SceneKind::*;
    match (layout, probe) {
        // M-mode with a curvilinear probe: fetal heart.
        (Layout::Mmode, ProbeKind::Curvilinear) => [Obstetric, Air][rng.weighted(&[0.95, 0.05])],
        (_, ProbeKind::Phased) => {
            [FourChamber, LongAxis, ShortAxis, Air][rng.weighted(&[0.46, 0.3, 0.21, 0.03])]
        }
        (_, ProbeKind::Curvilinear) => {
            [Abdomen, Pelvis, Obstetric, Air][rng.weighted(&[0.46, 0.2, 0.22, 0.12])]
        }
        (_, ProbeKind::Linear) => [Vascular, SmallParts, LymphNode, Ocular, Air]
            [rng.weighted(&[0.3, 0.3, 0.22, 0.1, 0.08])],
    }
}

fn acquisition(probe: ProbeKind, brightness: Brightness, depth_cm: f32, rng: &mut impl Rng) -> Acq {
    let dr = rng.uf(45.0, 70.0);
    let gamma = rng.uf(1.0, 1.6);
    let white = rng.uf(225.0, 255.0);
    // Where reference tissue lands on the grey scale. Measured on real
    // frames (`examples/sector_stats.rs`): the median clip has ~40 % of its
    // sector darker than luma 20 and a median luma near 30, so most clips
    // are scanned with low gain; the earlier 0.28..0.75 made every sector
    // bright speckle and taught the network "bright = inside".
    let target = match brightness {
        Brightness::NearBlack => rng.uf(0.35, 0.5),
        Brightness::Dark => rng.uf(0.05, 0.16),
        Brightness::Normal => rng.uf(0.14, 0.32),
        Brightness::Bright => rng.uf(0.3, 0.55),
    };
    // Reference tissue (-20 dB) shows at `target` of full white.
    let gain = target.powf(1.0 / gamma) * dr - dr + 20.0;
    let (atten, lateral_db, lateral_pow) = match probe {
        ProbeKind::Phased => (rng.uf(0.6, 1.8), rng.uf(3.0, 14.0), rng.uf(2.0, 5.0)),
        ProbeKind::Curvilinear => (rng.uf(0.5, 1.4), rng.uf(0.0, 5.0), 4.0),
        ProbeKind::Linear => (
            rng.uf(1.5, 4.0) * 4.0 / depth_cm.max(2.0),
            rng.uf(0.0, 3.0),
            6.0,
        ),
    };
    // Under-compensated TGC leaves the far field dark, as often on real scanners.
    let tgc_comp = rng.uf(0.3, 1.0);
    let mut tgc_knots = [0.0; 8];
    for k in &mut tgc_knots {
        *k = rng.uf(-3.0, 3.0);
    }
    if rng.chance(0.2) {
        let i = rng.ui(2, 7) as usize;
        tgc_knots[i] -= rng.uf(5.0, 12.0);
    }
    // Acoustic shadows (ribs, bowel gas, bone, calcification) run from
    // their source to the far edge of the image: dark stripes inside the
    // sector that the network must keep.
    let mut shadows = Vec::new();
    let n_shadows = match probe {
        ProbeKind::Phased if rng.chance(0.5) => rng.ui(1, 2),
        ProbeKind::Curvilinear if rng.chance(0.4) => rng.ui(1, 3),
        ProbeKind::Linear if rng.chance(0.25) => rng.ui(1, 2),
        _ => 0,
    };
    for _ in 0..n_shadows {
        let uc = if probe == ProbeKind::Phased {
            if rng.chance(0.5) {
                rng.uf(0.0, 0.2)
            } else {
                rng.uf(0.8, 1.0)
            }
        } else {
            rng.uf(0.05, 0.95)
        };
        shadows.push((
            uc,
            rng.uf(0.03, 0.13),
            rng.uf(0.02, 0.5),
            -rng.uf(15.0, 40.0),
        ));
    }
    // Far-field noise as displayed (dB below white), then back to input level.
    let far_noise = match brightness {
        Brightness::NearBlack => -dr * rng.uf(0.8, 0.98),
        _ => -dr * rng.uf(0.75, 1.2),
    };
    let mut acq = Acq {
        gain,
        dr,
        gamma,
        white,
        atten,
        tgc_comp,
        tgc_knots,
        lateral_db,
        lateral_pow,
        noise_db: 0.0,
        focus: rng.uf(0.25, 0.7),
        focus_db: rng.uf(0.0, 4.0),
        shadows,
        rho: match probe {
            ProbeKind::Phased => rng.uf(0.15, 0.6),
            _ => rng.uf(0.45, 0.85),
        },
        // Haze low enough that blood, fluid and shadows stay near black
        // (real anechoic regions are luma 0..15), not the grey fog of the
        // earlier -34..-20 dB.
        clutter_db: match (brightness, probe) {
            (Brightness::NearBlack, _) => -200.0,
            (_, ProbeKind::Phased) => rng.uf(-46.0, -30.0),
            _ => rng.uf(-54.0, -38.0),
        },
        clutter_fall: rng.uf(4.0, 20.0),
        near_dark: if probe == ProbeKind::Phased {
            rng.uf(6.0, 20.0)
        } else {
            rng.uf(0.0, 6.0)
        },
        near_cm: rng.uf(1.5, 4.0),
    };
    let tgc_far = atten * tgc_comp * depth_cm + tgc_knots[7];
    acq.noise_db = far_noise - tgc_far - gain;
    acq
}

fn depth_for(probe: ProbeKind, rng: &mut impl Rng) -> f32 {
    match probe {
        ProbeKind::Phased => rng.uf(12.0, 20.0).round(),
        ProbeKind::Curvilinear => rng.uf(9.0, 22.0).round(),
        ProbeKind::Linear => (rng.uf(2.5, 7.0) * 2.0).round() / 2.0,
    }
}

pub(crate) fn build(plan: &Plan, seed: u64, frames: usize, rng: &mut impl Rng) -> Scan {
    let probe = plan.probe;
    let kind = scene_kind(plan.layout, probe, rng);
    let brightness = if kind == SceneKind::Air {
        Brightness::NearBlack
    } else {
        [Brightness::Dark, Brightness::Normal, Brightness::Bright][rng.weighted(&[0.33, 0.5, 0.17])]
    };
    let depth_cm = depth_for(probe, rng);
    // Heart rate and frame rate: 16 frames cover roughly half to one cycle.
    let hr = rng.uf(52.0, 110.0);
    let step = rng.uf(0.035, 0.08);
    let fps = (hr / 60.0 / step).clamp(12.0, 80.0);
    let timing = Timing {
        fps,
        hr,
        cycle0: rng.uf(0.0, 1.0),
        breath0: rng.uf(0.0, 1.0),
        breath_period: rng.uf(3.0, 6.0),
        t_base: rng.uf(8.0, 60.0),
    };
    let acq = acquisition(probe, brightness, depth_cm, rng);
    let lines = match probe {
        ProbeKind::Phased => rng.ui(96, 160),
        _ => rng.ui(112, 200),
    } as usize;
    let mut panes = Vec::new();
    let mut scenes = Vec::new();
    for (k, pp) in plan.panes.iter().enumerate() {
        let cm_per_px = depth_cm / pp.geom.depth_px();
        let half_cm = pp.geom.half_width_px() * cm_per_px;
        let scene_kind = if k > 0 && kind != SceneKind::Air && rng.chance(0.3) {
            scene_kind(plan.layout, probe, rng)
        } else {
            kind
        };
        let scene_kind = if scene_kind == SceneKind::Air && kind != SceneKind::Air {
            kind
        } else {
            scene_kind
        };
        scenes.push(anatomy::build(
            scene_kind,
            mix(seed, 100 + k as u64),
            depth_cm,
            half_cm,
            rng,
        ));
        let mut pane = Pane::new(
            pp.geom,
            pp.region,
            plan.width,
            plan.height,
            depth_cm,
            lines,
            acq.clone(),
            mix(seed, 200 + k as u64),
        );
        pane.frozen = pp.frozen;
        panes.push(pane);
    }
    // Doppler.
    let p_doppler = match (plan.layout, kind) {
        (_, SceneKind::Air) => 0.0,
        (Layout::Cardiac, _) => 0.35,
        (Layout::Curvilinear, _) => 0.2,
        (Layout::Linear, _) => 0.45,
        (Layout::Dual, _) => 0.15,
        (Layout::Mmode, _) => 0.1,
    };
    let mut doppler = None;
    if rng.chance(p_doppler) {
        let dk = if probe == ProbeKind::Linear && (kind == SceneKind::LymphNode || rng.chance(0.4))
        {
            DopplerKind::Power
        } else {
            DopplerKind::Color
        };
        let k = rng.ui(0, panes.len() as i32 - 1) as usize;
        let pane = &panes[k];
        let (uw, vh, uc, vc) = match probe {
            ProbeKind::Phased => (
                rng.uf(0.3, 0.55),
                rng.uf(0.3, 0.5),
                rng.uf(0.38, 0.62),
                rng.uf(0.45, 0.62),
            ),
            ProbeKind::Curvilinear => (
                rng.uf(0.25, 0.5),
                rng.uf(0.25, 0.45),
                rng.uf(0.3, 0.7),
                rng.uf(0.3, 0.6),
            ),
            ProbeKind::Linear => (
                rng.uf(0.3, 0.75),
                rng.uf(0.3, 0.7),
                rng.uf(0.3, 0.7),
                rng.uf(0.3, 0.5),
            ),
        };
        let u0 = (uc - uw / 2.0).max(0.02);
        let u1 = (uc + uw / 2.0).min(0.98);
        let v0 = (vc - vh / 2.0).max(0.03);
        let v1 = (vc + vh / 2.0).min(0.97);
        let cell = if dk == DopplerKind::Power {
            rng.uf(2.5, 5.0)
        } else {
            rng.uf(3.5, 7.0)
        } * plan.height as f32
            / 600.0;
        let bx = DopplerBox::new(
            dk,
            pane,
            plan.width,
            (u0, u1),
            (v0, v1),
            cell,
            rng.uf(0.12, 0.3),
            rng.uf(0.06, 0.22),
            rng.uf(0.0, 0.006),
        );
        panes[k].doppler = Some(bx);
        doppler = Some(dk);
    }
    // Time-motion strip.
    let mut strip = plan.strip.map(|(x0, y0, x1, y1)| {
        let sk = if rng.chance(0.55) {
            StripKind::Mmode
        } else {
            StripKind::Spectral
        };
        let w = (x1 - x0) as f32;
        let dt = rng.uf(1.5, 4.5) / w;
        let head0 = (timing.time(0) / dt).floor() as i64;
        let head1 = (timing.time(frames.saturating_sub(1)) / dt).floor() as i64;
        let j_range = (head0 - i64::from(x1 - x0) - 2, head1 + 1);
        let positive = rng.chance(0.6);
        let baseline = if positive {
            rng.uf(0.62, 0.8)
        } else {
            rng.uf(0.2, 0.38)
        };
        let room = if positive { baseline } else { 1.0 - baseline } * 2.0;
        let waveform = if rng.chance(0.5) {
            Waveform::Arterial {
                diastolic: rng.uf(0.0, 0.35),
            }
        } else {
            Waveform::Inflow {
                a_ratio: rng.uf(0.4, 1.1),
            }
        };
        Strip::new(
            sk,
            (x0, y0, x1, y1),
            dt,
            rng.chance(0.6),
            rng.uf(0.4, 0.6),
            baseline,
            if positive { 1.0 } else { -1.0 },
            room * rng.uf(0.55, 0.88),
            waveform,
            rng.uf(-10.0, 4.0),
            mix(seed, 300),
            j_range,
        )
    });
    if let Some(s) = strip.as_mut() {
        s.mmode_gain = rng.uf(0.0, 8.0);
    }
    Scan {
        panes,
        scenes,
        strip,
        brightness,
        depth_cm,
        doppler,
        timing,
        scene_kind: kind,
    }
}

impl Scan {
    /// Renders frame `k`'s scan content into a grey buffer.
    pub(crate) fn render(&mut self, k: usize, grey: &mut [u8], width: u32) {
        let t = self.timing.time(k);
        let ph = self.timing.phase(t);
        for (pane, scene) in self.panes.iter_mut().zip(&self.scenes) {
            pane.render(scene, &ph);
            pane.scan_convert(grey);
        }
        if let Some(strip) = self.strip.as_mut() {
            let timing = self.timing;
            let clock = move |t: f32| timing.phase(t);
            let cycle = move |t: f32| timing.cycle(t);
            strip.render(
                t,
                grey,
                width,
                &self.panes[0],
                &self.scenes[0],
                &clock,
                &cycle,
            );
        }
    }

    /// Paints Doppler colour over an RGB frame.
    pub(crate) fn paint_doppler(&self, rgb: &mut [u8]) {
        for p in &self.panes {
            if let Some(d) = &p.doppler {
                d.apply(rgb);
            }
        }
    }
}
