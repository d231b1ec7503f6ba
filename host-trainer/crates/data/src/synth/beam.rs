//! B-mode image formation for one scan region: anatomy sampled along beams,
//! multiplicative Rayleigh speckle (complex Gaussian field, correlated
//! axially and between neighbouring beams, partly decorrelating from frame
//! to frame), attenuation, time-gain compensation, electronic noise, log
//! compression, then scan conversion (bilinear) onto the frame pixels.

use super::anatomy::{Phase, Scene};
use super::util::{Fast, db_to_amp, smoothstep, vnoise};
use sonomask_core::{Region, Regions};

/// Beam geometry of one scan region.
#[derive(Clone, Copy, Debug)]
pub(crate) enum BeamGeom {
    Fan {
        apex_x: f32,
        apex_y: f32,
        a0: f32,
        a1: f32,
        r0: f32,
        r1: f32,
        cartesian: f32,
    },
    Rect {
        x0: f32,
        y0: f32,
        x1: f32,
        y1: f32,
    },
}

impl BeamGeom {
    /// Beam coordinates `(u, v)` (lateral, depth; both 0..1) of a point.
    pub(crate) fn uv(&self, x: f32, y: f32) -> (f32, f32) {
        match *self {
            BeamGeom::Fan {
                apex_x,
                apex_y,
                a0,
                a1,
                r0,
                r1,
                ..
            } => {
                let (dx, dy) = (x - apex_x, y - apex_y);
                let r = (dx * dx + dy * dy).sqrt();
                let a = dx.atan2(dy);
                ((a - a0) / (a1 - a0), (r - r0) / (r1 - r0))
            }
            BeamGeom::Rect { x0, y0, x1, y1 } => ((x - x0) / (x1 - x0), (y - y0) / (y1 - y0)),
        }
    }

    /// Pixel position of beam coordinates.
    pub(crate) fn xy(&self, u: f32, v: f32) -> (f32, f32) {
        match *self {
            BeamGeom::Fan {
                apex_x,
                apex_y,
                a0,
                a1,
                r0,
                r1,
                ..
            } => {
                let a = a0 + u * (a1 - a0);
                let r = r0 + v * (r1 - r0);
                (apex_x + r * a.sin(), apex_y + r * a.cos())
            }
            BeamGeom::Rect { x0, y0, x1, y1 } => (x0 + u * (x1 - x0), y0 + v * (y1 - y0)),
        }
    }

    /// Image depth in pixels (probe face to far field).
    pub(crate) fn depth_px(&self) -> f32 {
        match *self {
            BeamGeom::Fan { r0, r1, .. } => r1 - r0,
            BeamGeom::Rect { y0, y1, .. } => y1 - y0,
        }
    }

    /// Scene position (cm) of beam coordinates, given the pixel size.
    pub(crate) fn scene(&self, u: f32, v: f32, cm_per_px: f32) -> (f32, f32) {
        match *self {
            BeamGeom::Fan {
                a0,
                a1,
                r0,
                r1,
                cartesian,
                ..
            } => {
                let a = a0 + u * (a1 - a0);
                let r = r0 + v * (r1 - r0);
                // Curvilinear probes keep skin layers parallel to the face.
                let x = r * a.sin();
                let y_polar = r - r0;
                let y_cart = r * a.cos() - r0;
                (
                    x * cm_per_px,
                    (y_polar + (y_cart - y_polar) * cartesian) * cm_per_px,
                )
            }
            BeamGeom::Rect { x0, x1, y0, y1 } => {
                let x = (u - 0.5) * (x1 - x0);
                (x * cm_per_px, v * (y1 - y0) * cm_per_px)
            }
        }
    }

    /// Lateral half-width of the field at the far end, in pixels.
    pub(crate) fn half_width_px(&self) -> f32 {
        match *self {
            BeamGeom::Fan { a0, a1, r1, .. } => r1 * a0.abs().max(a1.abs()).sin(),
            BeamGeom::Rect { x0, x1, .. } => 0.5 * (x1 - x0),
        }
    }
}

/// Acquisition and display settings of one scan region.
#[derive(Clone, Debug)]
pub(crate) struct Acq {
    /// Overall gain (dB added before display mapping).
    pub gain: f32,
    /// Displayed dynamic range (dB).
    pub dr: f32,
    pub gamma: f32,
    /// Brightest displayed grey.
    pub white: f32,
    /// Two-way attenuation (dB/cm) and how much of it TGC gives back.
    pub atten: f32,
    pub tgc_comp: f32,
    /// Random TGC slider offsets (dB) at 8 depths.
    pub tgc_knots: [f32; 8],
    /// Lateral fall-off at the edges (dB) and its exponent.
    pub lateral_db: f32,
    pub lateral_pow: f32,
    /// Electronic noise level (dB, same scale as echogenicity).
    pub noise_db: f32,
    /// Focal zone: depth fraction and gain (dB).
    pub focus: f32,
    pub focus_db: f32,
    /// Rib / lung shadows: (u centre, half width, start depth fraction, dB).
    pub shadows: Vec<(f32, f32, f32, f32)>,
    /// Speckle correlation between frames.
    pub rho: f32,
    /// Reverberation / side-lobe clutter haze: level (dB) at the probe face
    /// and how much it falls off over the full depth.
    pub clutter_db: f32,
    pub clutter_fall: f32,
    /// Clutter suppression (dB) over the first `near_cm` centimetres.
    pub near_dark: f32,
    pub near_cm: f32,
}

impl Acq {
    fn tgc_db(&self, v: f32, depth_cm: f32) -> f32 {
        let t = v.clamp(0.0, 1.0) * 7.0;
        let i = (t.floor() as usize).min(6);
        let f = t - i as f32;
        self.atten * self.tgc_comp * v * depth_cm
            + self.tgc_knots[i] * (1.0 - f)
            + self.tgc_knots[i + 1] * f
    }

    /// Display value (0..=255) of a displayed level in dB (0 = white).
    fn lut(&self) -> Vec<u8> {
        (0..LUT_N)
            .map(|k| {
                let d = LUT_MIN + k as f32 / LUT_STEPS;
                let x = ((d + self.dr) / self.dr).clamp(0.0, 1.0);
                (x.powf(self.gamma) * self.white).round().clamp(0.0, 255.0) as u8
            })
            .collect()
    }
}

const LUT_MIN: f32 = -120.0;
const LUT_STEPS: f32 = 4.0;
const LUT_N: usize = 4 * 160;

/// One pixel's bilinear source in the beam grid.
#[derive(Clone, Copy)]
struct PixRef {
    pix: u32,
    g: u32,
    wu: u16,
    wv: u16,
}

/// Renders one fan or rectangle frame after frame.
pub(crate) struct Pane {
    pub geom: BeamGeom,
    pub depth_cm: f32,
    pub frozen: bool,
    nu: usize,
    nv: usize,
    cu: usize,
    /// Coarse grid: scene positions (cm) and static beam modifiers (dB).
    coarse_xy: Vec<(f32, f32)>,
    coarse_db: Vec<f32>,
    clutter: Vec<f32>,
    /// Full grid: bilinear source in the coarse grid, per column / row.
    col_map: Vec<(u32, f32)>,
    row_map: Vec<(u32, f32)>,
    tgc: Vec<f32>,
    noise_amp: f32,
    acq: Acq,
    lut: Vec<u8>,
    pix: Vec<PixRef>,
    zr: Vec<f32>,
    zi: Vec<f32>,
    fast: Fast,
    pub grid: Vec<u8>,
    rendered: bool,
    echo: Vec<f32>,
    speck: Vec<f32>,
    tmp_r: Vec<f32>,
    tmp_i: Vec<f32>,
    pub doppler: Option<super::doppler::DopplerBox>,
}

impl Pane {
    /// `region` must be the region whose rasterisation this pane fills.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        geom: BeamGeom,
        region: Region,
        width: u32,
        height: u32,
        depth_cm: f32,
        lines: usize,
        acq: Acq,
        seed: u64,
    ) -> Self {
        let depth_px = geom.depth_px();
        let nu = lines.max(16);
        let nv = ((depth_px * 0.55) as usize).clamp(64, 640);
        let cu = (nu / 2).max(8);
        let cv = (nv / 3).max(16);
        let cm_per_px = depth_cm / depth_px;
        let mut coarse_xy = Vec::with_capacity(cu * cv);
        let mut coarse_db = Vec::with_capacity(cu * cv);
        let mut clutter = Vec::with_capacity(cu * cv);
        for j in 0..cv {
            let v = j as f32 / (cv - 1) as f32;
            for i in 0..cu {
                let u = i as f32 / (cu - 1) as f32;
                coarse_xy.push(geom.scene(u, v, cm_per_px));
                let lat = (2.0 * u - 1.0).abs().powf(acq.lateral_pow);
                let mut db = -acq.atten * v * depth_cm - acq.lateral_db * lat;
                db += acq.focus_db * (-((v - acq.focus) / 0.12).powi(2)).exp();
                for &(uc, hw, v0, sdb) in &acq.shadows {
                    let w = smoothstep(hw + 0.04, hw - 0.03, (u - uc).abs())
                        * smoothstep(v0, v0 + 0.08, v);
                    db += sdb * w;
                }
                coarse_db.push(db);
                let blotch = 5.0 * vnoise(seed ^ 0xC1u64, u * 5.0, v * 7.0);
                let c = acq.clutter_db - acq.clutter_fall * v + blotch - acq.lateral_db * lat * 0.5;
                // The first centimetres are quieter (dark near field) after the ring-down.
                let near = acq.near_dark * smoothstep(acq.near_cm / depth_cm, 0.0, v);
                clutter.push(db_to_amp(c - near - acq.atten * v * depth_cm * 0.5));
            }
        }
        let map = |n: usize, m: usize| -> Vec<(u32, f32)> {
            (0..n)
                .map(|k| {
                    let f = k as f32 / (n - 1) as f32 * (m - 1) as f32;
                    let i0 = (f.floor() as usize).min(m - 2);
                    (i0 as u32, f - i0 as f32)
                })
                .collect()
        };
        let col_map = map(nu, cu);
        let row_map = map(nv, cv);
        let tgc = (0..nv)
            .map(|j| acq.tgc_db(j as f32 / (nv - 1) as f32, depth_cm))
            .collect();

        let mut mask = vec![0u8; (width * height) as usize];
        Regions::one(region).rasterize(width as u16, height as u16, &mut mask);
        let mut pix = Vec::new();
        for (idx, &m) in mask.iter().enumerate() {
            if m == 0 {
                continue;
            }
            let (x, y) = (
                (idx as u32 % width) as f32 + 0.5,
                (idx as u32 / width) as f32 + 0.5,
            );
            let (u, v) = geom.uv(x, y);
            let fu = u.clamp(0.0, 1.0) * (nu - 1) as f32;
            let fv = v.clamp(0.0, 1.0) * (nv - 1) as f32;
            let i0 = (fu.floor() as usize).min(nu - 2);
            let j0 = (fv.floor() as usize).min(nv - 2);
            pix.push(PixRef {
                pix: idx as u32,
                g: (j0 * nu + i0) as u32,
                wu: ((fu - i0 as f32) * 256.0).round() as u16,
                wv: ((fv - j0 as f32) * 256.0).round() as u16,
            });
        }
        let mut fast = Fast::new(seed);
        let n = nu * nv;
        let mut zr = vec![0f32; n];
        let mut zi = vec![0f32; n];
        for k in 0..n {
            let g = fast.normals4();
            zr[k] = g[0];
            zi[k] = g[1];
        }
        let lut = acq.lut();
        Self {
            geom,
            depth_cm,
            frozen: false,
            nu,
            nv,
            cu,
            coarse_xy,
            coarse_db,
            clutter,
            col_map,
            row_map,
            tgc,
            noise_amp: db_to_amp(acq.noise_db),
            acq,
            lut,
            pix,
            zr,
            zi,
            fast,
            grid: vec![0; n],
            rendered: false,
            echo: vec![0.0; cu * cv],
            speck: vec![0.0; n],
            tmp_r: vec![0.0; n],
            tmp_i: vec![0.0; n],
            doppler: None,
        }
    }

    pub(crate) fn cm_per_px(&self) -> f32 {
        self.depth_cm / self.geom.depth_px()
    }

    /// Forms this frame's image in the beam grid.
    pub(crate) fn render(&mut self, scene: &Scene, phase: &Phase) {
        if self.frozen && self.rendered {
            return;
        }
        let posed = scene.pose(phase);
        for (k, &(x, y)) in self.coarse_xy.iter().enumerate() {
            self.echo[k] = db_to_amp(posed.echo_db(x, y) + self.coarse_db[k]) + self.clutter[k];
        }
        if let Some(d) = self.doppler.as_mut() {
            d.update(&posed, &mut self.fast);
        }
        let (nu, nv) = (self.nu, self.nv);
        // Speckle: partial decorrelation from the previous frame.
        if self.rendered {
            let rho = self.acq.rho;
            let s = (1.0 - rho * rho).sqrt();
            for k in (0..nu * nv).step_by(2) {
                let g = self.fast.normals4();
                self.zr[k] = rho * self.zr[k] + s * g[0];
                self.zi[k] = rho * self.zi[k] + s * g[1];
                if k + 1 < nu * nv {
                    self.zr[k + 1] = rho * self.zr[k + 1] + s * g[2];
                    self.zi[k + 1] = rho * self.zi[k + 1] + s * g[3];
                }
            }
        }
        // Axial smoothing (pulse length), then lateral (beam width) with magnitude.
        for j in 0..nv {
            let jm = j.saturating_sub(1);
            let jp = (j + 1).min(nv - 1);
            for i in 0..nu {
                let k = j * nu + i;
                self.tmp_r[k] = self.zr[k] + 0.6 * (self.zr[jm * nu + i] + self.zr[jp * nu + i]);
                self.tmp_i[k] = self.zi[k] + 0.6 * (self.zi[jm * nu + i] + self.zi[jp * nu + i]);
            }
        }
        // Normalise so the mean amplitude is about one.
        let norm = 1.0 / ((1.0f32 + 2.0 * 0.36) * (1.0 + 2.0 * 0.16) * 0.785).sqrt();
        for j in 0..nv {
            let row = j * nu;
            for i in 0..nu {
                let im = if i > 0 { i - 1 } else { i };
                let ip = if i + 1 < nu { i + 1 } else { i };
                let r = self.tmp_r[row + i] + 0.4 * (self.tmp_r[row + im] + self.tmp_r[row + ip]);
                let q = self.tmp_i[row + i] + 0.4 * (self.tmp_i[row + im] + self.tmp_i[row + ip]);
                self.speck[row + i] = (r * r + q * q).sqrt() * norm;
            }
        }
        let gain = self.acq.gain;
        let cu = self.cu;
        let lut = &self.lut;
        let to_db = 20.0 / std::f32::consts::LN_10;
        for j in 0..nv {
            let (cj, fv) = self.row_map[j];
            let base = gain + self.tgc[j] - LUT_MIN;
            let row0 = cj as usize * cu;
            let row1 = row0 + cu;
            for i in 0..nu {
                let (ci, fu) = self.col_map[i];
                let ci = ci as usize;
                let e0 = self.echo[row0 + ci] * (1.0 - fu) + self.echo[row0 + ci + 1] * fu;
                let e1 = self.echo[row1 + ci] * (1.0 - fu) + self.echo[row1 + ci + 1] * fu;
                let e = e0 * (1.0 - fv) + e1 * fv;
                let n = self.fast.normals4();
                let noise = self.noise_amp * (n[0] * n[0] + n[1] * n[1]).sqrt();
                let a = e * self.speck[j * nu + i] + noise;
                let d = a.max(1e-12).ln() * to_db + base;
                let idx = (d * LUT_STEPS) as isize;
                self.grid[j * nu + i] = lut[idx.clamp(0, LUT_N as isize - 1) as usize];
            }
        }
        self.rendered = true;
    }

    /// Writes the pane into a grey frame buffer (one byte per pixel).
    pub(crate) fn scan_convert(&self, out: &mut [u8]) {
        let nu = self.nu;
        let g = &self.grid;
        for p in &self.pix {
            let i = p.g as usize;
            let (wu, wv) = (u32::from(p.wu), u32::from(p.wv));
            let top = u32::from(g[i]) * (256 - wu) + u32::from(g[i + 1]) * wu;
            let bot = u32::from(g[i + nu]) * (256 - wu) + u32::from(g[i + nu + 1]) * wu;
            out[p.pix as usize] = ((top * (256 - wv) + bot * wv + 32768) >> 16) as u8;
        }
    }

    /// Pixel indices of this pane with their beam coordinates, for Doppler boxes.
    pub(crate) fn pixel_uv(&self, width: u32) -> impl Iterator<Item = (u32, f32, f32)> + '_ {
        self.pix.iter().map(move |p| {
            let (x, y) = ((p.pix % width) as f32 + 0.5, (p.pix / width) as f32 + 0.5);
            let (u, v) = self.geom.uv(x, y);
            (p.pix, u, v)
        })
    }

    /// Grey value of echogenicity `echo_db` times speckle amplitude
    /// `speckle`, plus noise `noise` (in units of the noise level), at
    /// depth fraction `v` on the centre beam: used by the M-mode strip.
    pub(crate) fn shade(&self, echo_db: f32, speckle: f32, noise: f32, v: f32) -> u8 {
        let v = v.clamp(0.0, 1.0);
        let j = ((v * (self.nv - 1) as f32) as usize).min(self.nv - 1);
        let e = db_to_amp(echo_db - self.acq.atten * v * self.depth_cm);
        let clutter = db_to_amp(
            self.acq.clutter_db
                - self.acq.clutter_fall * v
                - self.acq.atten * v * self.depth_cm * 0.5,
        );
        let a = (e + clutter) * speckle + self.noise_amp * noise;
        let d = 20.0 * a.max(1e-12).log10() + self.tgc[j] + self.acq.gain;
        let idx = ((d - LUT_MIN) * LUT_STEPS) as isize;
        self.lut[idx.clamp(0, LUT_N as isize - 1) as usize]
    }
}
