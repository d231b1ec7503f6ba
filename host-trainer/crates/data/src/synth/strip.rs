//! The time-motion strip under a small fan: M-mode (echoes along one beam
//! over time) or spectral Doppler (velocity spectrum over time). Columns are
//! a function of their acquisition time only, so the strip scrolls (or is
//! swept by an erase bar) as frames advance.

use super::StripKind;
use super::anatomy::{Phase, Scene};
use super::beam::Pane;
use super::util::{hash_normal, mix, smoothstep};

/// Spectral waveform families.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Waveform {
    /// Systolic peak with forward diastolic flow (carotid, LVOT when inverted).
    Arterial { diastolic: f32 },
    /// Early (E) and atrial (A) filling waves (mitral inflow).
    Inflow { a_ratio: f32 },
}

pub(crate) struct Strip {
    pub kind: StripKind,
    /// Pixel bounds `[x0, x1) × [y0, y1)`.
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
    /// Seconds per column.
    pub dt: f32,
    /// Sweep with an erase bar (true) or scroll (false).
    pub sweep: bool,
    pub gap: u32,
    /// M-mode: the beam (u) of the M-line in the fan.
    pub line_u: f32,
    /// Spectral: baseline position (fraction of the height from the top),
    /// sign of the flow, envelope peak (fraction of the half height).
    pub baseline: f32,
    pub direction: f32,
    pub peak: f32,
    pub waveform: Waveform,
    pub spectral_gain: f32,
    /// Extra M-mode gain (dB): operators usually run M-mode hotter than 2D.
    pub mmode_gain: f32,
    pub seed: u64,
    j_min: i64,
    cache: Vec<Option<Vec<u8>>>,
}

impl Strip {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        kind: StripKind,
        bounds: (u32, u32, u32, u32),
        dt: f32,
        sweep: bool,
        line_u: f32,
        baseline: f32,
        direction: f32,
        peak: f32,
        waveform: Waveform,
        spectral_gain: f32,
        seed: u64,
        j_range: (i64, i64),
    ) -> Self {
        let (x0, y0, x1, y1) = bounds;
        let n = (j_range.1 - j_range.0 + 1).max(1) as usize;
        Self {
            kind,
            x0,
            y0,
            x1,
            y1,
            dt,
            sweep,
            gap: 6 + (seed % 10) as u32,
            line_u,
            baseline,
            direction,
            peak,
            waveform,
            spectral_gain,
            mmode_gain: 0.0,
            seed,
            j_min: j_range.0,
            cache: vec![None; n],
        }
    }

    pub(crate) fn width(&self) -> u32 {
        self.x1 - self.x0
    }

    fn height(&self) -> usize {
        (self.y1 - self.y0) as usize
    }

    /// Envelope (fraction of the half height) at cardiac phase `p`.
    fn envelope(&self, p: f32) -> f32 {
        let p = p.rem_euclid(1.0);
        let e = match self.waveform {
            Waveform::Arterial { diastolic } => {
                let rise = smoothstep(0.05, 0.13, p);
                let sys = rise * (-(p - 0.13).max(0.0) / 0.08).exp();
                let notch = 0.1 * (-((p - 0.36) / 0.035).powi(2)).exp();
                let dia = diastolic
                    * (0.55
                        + 0.45 * smoothstep(0.05, 0.13, p) * (-(p - 0.13).max(0.0) / 0.45).exp());
                (sys * (1.0 - diastolic) + notch).max(0.0) + dia
            }
            Waveform::Inflow { a_ratio } => {
                let e = (-((p - 0.6) / 0.085).powi(2)).exp();
                let a = a_ratio * (-((p - 0.9) / 0.06).powi(2)).exp();
                e + a
            }
        };
        e * self.peak
    }

    fn column(
        &mut self,
        j: i64,
        pane: &Pane,
        scene: &Scene,
        clock: &dyn Fn(f32) -> Phase,
        cycle: &dyn Fn(f32) -> f32,
    ) -> &[u8] {
        let slot = (j - self.j_min).clamp(0, self.cache.len() as i64 - 1) as usize;
        if self.cache[slot].is_none() {
            let t = j as f32 * self.dt;
            let h = self.height();
            let mut col = vec![0u8; h];
            match self.kind {
                StripKind::Mmode => {
                    let posed = scene.pose(&clock(t));
                    let cmpp = pane.cm_per_px();
                    let band = (j.div_euclid(9)) as u64;
                    let f = (j.rem_euclid(9)) as f32 / 9.0;
                    for (r, out) in col.iter_mut().enumerate() {
                        let v = r as f32 / (h - 1).max(1) as f32;
                        let (x, y) = pane.geom.scene(self.line_u, v, cmpp);
                        let e = posed.echo_db(x, y);
                        // Speckle that persists along time (horizontal streaks).
                        let rr = (r / 2) as u64;
                        let s = |b: u64| {
                            let a = hash_normal(self.seed, (rr << 32) | b);
                            let q = hash_normal(self.seed ^ 0xABCD, (rr << 32) | b);
                            (a * a + q * q).sqrt()
                        };
                        let sp = (s(band) * (1.0 - f) + s(band + 1) * f) * 0.8;
                        let n = hash_normal(self.seed ^ 0x77, ((r as u64) << 32) ^ j as u64).abs();
                        *out = pane.shade(e + self.mmode_gain, sp, n, v);
                    }
                }
                StripKind::Spectral => {
                    let p = cycle(t);
                    let env = self.envelope(p);
                    let half = h as f32 * 0.5;
                    let base = self.baseline * h as f32;
                    for (r, out) in col.iter_mut().enumerate() {
                        let vel = (base - r as f32 - 0.5) / half * self.direction;
                        let k = mix(
                            self.seed,
                            (((r / 2) as u64) << 32) ^ (j.div_euclid(2) as u64),
                        );
                        let a = hash_normal(k, 1);
                        let q = hash_normal(k, 2);
                        let ray = (a * a + q * q) * 0.5;
                        let mut lev = if vel > 0.0 && vel < env {
                            let x = vel / env.max(1e-3);
                            (0.05 + 0.95 * x * x * x * x) * ray
                        } else if vel < 0.0 && -vel < env * 0.3 {
                            0.03 * ray
                        } else {
                            0.004 * ray
                        };
                        // Bright wall-motion clutter hugging the baseline.
                        lev += 0.25 * (-((vel * half) / 2.5).powi(2)).exp() * ray;
                        let d = 20.0 * lev.max(1e-6).log10() + self.spectral_gain;
                        *out = (((d + 40.0) / 40.0).clamp(0.0, 1.0).powf(1.3) * 250.0) as u8;
                    }
                }
            }
            self.cache[slot] = Some(col);
        }
        self.cache[slot].as_deref().unwrap_or(&[])
    }

    /// The newest column index at time `t`.
    pub(crate) fn head(&self, t: f32) -> i64 {
        (t / self.dt).floor() as i64
    }

    /// Draws the strip at time `t` into a grey frame buffer.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn render(
        &mut self,
        t: f32,
        out: &mut [u8],
        width: u32,
        pane: &Pane,
        scene: &Scene,
        clock: &dyn Fn(f32) -> Phase,
        cycle: &dyn Fn(f32) -> f32,
    ) {
        let w = i64::from(self.width());
        let (x0, y0, y1) = (self.x0, self.y0, self.y1);
        let head = self.head(t);
        let c = head.rem_euclid(w);
        for x in 0..w {
            let j = if self.sweep {
                if x <= c {
                    Some(head - (c - x))
                } else if x <= c + i64::from(self.gap) {
                    None
                } else {
                    Some(head - (c - x + w))
                }
            } else {
                Some(head - (w - 1 - x))
            };
            let px = x0 + x as u32;
            match j {
                Some(j) => {
                    let col = self.column(j, pane, scene, clock, cycle);
                    for (r, &g) in col.iter().enumerate() {
                        out[((y0 + r as u32) * width + px) as usize] = g;
                    }
                }
                None => {
                    for y in y0..y1 {
                        out[(y * width + px) as usize] = 0;
                    }
                }
            }
        }
    }
}
