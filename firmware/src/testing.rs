//! Test helpers: a tiny threshold network as a slot image, synthetic fan
//! frames with known geometry, owned workspaces and a recording pin.

extern crate std;

use std::cell::Cell;
use std::rc::Rc;
use std::vec;
use std::vec::Vec;

use sonomask_core::blob::{ModelDesc, encode_into, sign_into};
use sonomask_core::engine::{Conv2d, Op, Shape};
use sonomask_core::quant::{QuantParams, Requant};
use sonomask_core::slot::slot_header;
use sonomask_core::{Fan, PixelFormat, Region, Regions};

use crate::pipeline::Workspace;

/// `real = luma / 255` (zero point -128), the trainer's input grid.
pub const INPUT_QUANT: QuantParams = QuantParams {
    scale: 1.0 / 255.0,
    zero_point: -128,
};

/// Owned parameters of the one-conv threshold network.
pub struct ThresholdNet {
    weights: Vec<u8>,
    bias: Vec<u8>,
    multiplier: Vec<u8>,
    shift: Vec<u8>,
    w: u16,
    h: u16,
}

impl ThresholdNet {
    /// One 3×3 convolution over a `w × h` luma thumbnail: logit =
    /// (3×3 mean luma − `threshold`) / 255 · 2, so probability ≥ 0.5 ⇔
    /// the local mean is at least `threshold`.
    pub fn new(w: u16, h: u16, threshold: u8) -> Self {
        // Weight 127 ⇔ 1/9: s_w = 1 / (9 · 127). acc = 127 Σ luma + bias,
        // real = acc · s_in · s_w = (Σ luma / 9 + bias / 1143) / 255.
        let bias = -1143 * i32::from(threshold);
        let rq = Requant::from_real((1.0 / 255.0) * (1.0 / (9.0 * 127.0)) / (2.0 / 255.0));
        Self {
            weights: vec![127u8; 9],
            bias: bias.to_le_bytes().to_vec(),
            multiplier: rq.multiplier.to_le_bytes().to_vec(),
            shift: vec![rq.shift as u8],
            w,
            h,
        }
    }

    fn ops(&self) -> [Op<'_>; 1] {
        [Op::Conv2d(Conv2d {
            input: 0,
            in_c: 1,
            out_c: 1,
            k: 3,
            stride: 1,
            relu: false,
            output: QuantParams::new(2.0 / 255.0, 0),
            weights: &self.weights,
            bias: &self.bias,
            multiplier: &self.multiplier,
            shift: &self.shift,
        })]
    }

    fn desc<'a>(&'a self, ops: &'a [Op<'a>]) -> ModelDesc<'a> {
        ModelDesc {
            arch: "test-threshold",
            input_shape: Shape::new(1, self.h, self.w),
            input_quant: INPUT_QUANT,
            provenance: [7; 32],
            arena_bytes: None,
            ops,
        }
    }

    /// The blob, unsigned or signed with `key`.
    pub fn blob(&self, key: Option<&ed25519_dalek::SigningKey>) -> Vec<u8> {
        let ops = self.ops();
        let desc = self.desc(&ops);
        let mut buf = vec![0u8; 4096];
        let n = match key {
            Some(k) => sign_into(&desc, k, &mut buf),
            None => encode_into(&desc, &mut buf),
        }
        .unwrap();
        buf.truncate(n);
        buf
    }
}

/// A slot image (header + blob) as flash would hold it.
pub fn slot(blob: &[u8]) -> Vec<u8> {
    let mut s = slot_header(blob.len()).unwrap().to_vec();
    s.extend_from_slice(blob);
    s.resize(s.len() + 64, 0xFF);
    s
}

/// Buffers for a [`Workspace`].
pub struct OwnedWorkspace {
    arena: Vec<u8>,
    input: Vec<i8>,
    logits: Vec<i8>,
    map: Vec<u8>,
    labels: Vec<u32>,
    points: Vec<(f32, f32)>,
}

impl OwnedWorkspace {
    /// Room for maps of up to `map_pixels` and an arena of `arena` bytes.
    pub fn new(map_pixels: usize, arena: usize) -> Self {
        Self {
            arena: vec![0; arena],
            input: vec![0; map_pixels],
            logits: vec![0; map_pixels],
            map: vec![0; map_pixels],
            // fit::scratch_len: w·h labels and (w+1)·h member counts.
            labels: vec![0; 3 * map_pixels],
            points: vec![(0.0, 0.0); 6 * map_pixels],
        }
    }

    pub fn ws(&mut self) -> Workspace<'_> {
        Workspace {
            arena: &mut self.arena,
            input: &mut self.input,
            logits: &mut self.logits,
            map: &mut self.map,
            labels: &mut self.labels,
            points: &mut self.points,
        }
    }
}

/// An output pin whose level the test can read.
#[derive(Clone, Default)]
pub struct FlagPin(pub Rc<Cell<bool>>);

impl embedded_hal::digital::ErrorType for FlagPin {
    type Error = core::convert::Infallible;
}

impl embedded_hal::digital::OutputPin for FlagPin {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        self.0.set(false);
        Ok(())
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        self.0.set(true);
        Ok(())
    }
}

/// splitmix64 for frame noise.
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Self {
        Noise(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A fan with its apex near the top, centred at `cx` (fraction of the width).
pub fn fan_regions(w: u16, h: u16, cx: f32, r: f32) -> Regions {
    let (fw, fh) = (f32::from(w), f32::from(h));
    Regions::one(Region::Fan(Fan {
        apex_x: cx * fw,
        apex_y: 0.04 * fh,
        angle_left: -0.7,
        angle_right: 0.7,
        r_inner: 0.0,
        r_outer: r * fh,
        flat_top: None,
        clip: None,
    }))
}

/// Whether [`frame`] puts its bright "text" (outside any fan) at `(x, y)`
/// of a `w × h` frame: no masked frame may keep one of these pixels.
pub fn is_text(w: u16, h: u16, x: u32, y: u32) -> bool {
    x < u32::from(w) / 8 && y < u32::from(h) / 12 && (x / 2 + y).is_multiple_of(3)
}

/// A frame: speckle (luma 60..220) inside `regions`, dark noise (1..12,
/// never 0, so kept pixels are the non-zero ones) outside, a bright "text" block in the top-left corner. RGB frames are
/// grey (R = G = B) unless `tint`.
pub fn frame(
    w: u16,
    h: u16,
    format: PixelFormat,
    regions: &Regions,
    seed: u64,
    tint: bool,
) -> Vec<u8> {
    let mut rng = Noise::new(seed);
    let bpp = format.bytes_per_pixel();
    let mut out = vec![0u8; w as usize * h as usize * bpp];
    for y in 0..h as u32 {
        for x in 0..w as u32 {
            let text = is_text(w, h, x, y);
            let v = if regions.contains_pixel(x, y) {
                60 + (rng.next() % 161) as u8
            } else if text {
                240
            } else {
                1 + (rng.next() % 12) as u8
            };
            let i = (y as usize * w as usize + x as usize) * bpp;
            match format {
                PixelFormat::Gray8 => out[i] = v,
                PixelFormat::Rgb888 => {
                    out[i..i + 3].copy_from_slice(&[v, v, v]);
                    if tint && v > 100 {
                        out[i] = v / 2;
                        out[i + 2] = v.saturating_add(30);
                    }
                }
            }
        }
    }
    out
}
