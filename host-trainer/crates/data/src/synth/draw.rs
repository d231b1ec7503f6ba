//! Anti-aliased drawing primitives onto RGB surfaces that also record which
//! pixels they touched (the overlay ground truth).

use super::font;

pub(crate) type Rgb = [u8; 3];

/// Coverage from which a drawn pixel counts as overlay in the ground truth.
pub(crate) const MASK_ALPHA: f32 = 0.2;

/// Something to draw on: blends a colour with a coverage into a pixel.
pub(crate) trait Surface {
    fn width(&self) -> i32;
    fn height(&self) -> i32;
    /// Blends `c` with coverage `a` (0..=1) into `(x, y)`; outside is ignored.
    fn blend(&mut self, x: i32, y: i32, c: Rgb, a: f32);
}

/// A transparent RGBA layer (straight alpha), composited over frames.
pub(crate) struct Layer {
    pub w: i32,
    pub h: i32,
    rgb: Vec<Rgb>,
    alpha: Vec<f32>,
}

/// A layer reduced to its non-transparent pixels, for fast compositing.
pub(crate) struct CompiledLayer {
    /// (pixel index, colour, alpha in 1/256).
    entries: Vec<(u32, Rgb, u16)>,
}

impl Layer {
    pub(crate) fn new(w: u32, h: u32) -> Self {
        let n = (w * h) as usize;
        Self {
            w: w as i32,
            h: h as i32,
            rgb: vec![[0; 3]; n],
            alpha: vec![0.0; n],
        }
    }

    /// Adds this layer's visible pixels to an overlay mask.
    pub(crate) fn mark_mask(&self, mask: &mut [u8]) {
        for (m, &a) in mask.iter_mut().zip(&self.alpha) {
            if a >= MASK_ALPHA {
                *m = 255;
            }
        }
    }

    /// Makes `[x0, x1) × [y0, y1)` transparent again (a window's hole for
    /// the picture it shows).
    pub(crate) fn clear(&mut self, x0: i32, y0: i32, x1: i32, y1: i32) {
        for y in y0.max(0)..y1.min(self.h) {
            for x in x0.max(0)..x1.min(self.w) {
                self.alpha[(y * self.w + x) as usize] = 0.0;
            }
        }
    }

    pub(crate) fn compile(&self) -> CompiledLayer {
        let entries = self
            .alpha
            .iter()
            .enumerate()
            .filter(|&(_, &a)| a > 1.0 / 512.0)
            .map(|(i, &a)| (i as u32, self.rgb[i], (a * 256.0).round().min(256.0) as u16))
            .collect();
        CompiledLayer { entries }
    }
}

impl CompiledLayer {
    /// Composites over an RGB buffer of the same size.
    pub(crate) fn apply(&self, buf: &mut [u8]) {
        for &(i, c, a) in &self.entries {
            let p = &mut buf[i as usize * 3..i as usize * 3 + 3];
            let a = u32::from(a);
            for k in 0..3 {
                p[k] = ((u32::from(c[k]) * a + u32::from(p[k]) * (256 - a) + 128) >> 8) as u8;
            }
        }
    }
}

impl Surface for Layer {
    fn width(&self) -> i32 {
        self.w
    }
    fn height(&self) -> i32 {
        self.h
    }
    fn blend(&mut self, x: i32, y: i32, c: Rgb, a: f32) {
        if x < 0 || y < 0 || x >= self.w || y >= self.h || a <= 0.0 {
            return;
        }
        let a = a.min(1.0);
        let i = (y * self.w + x) as usize;
        let old_a = self.alpha[i];
        let new_a = a + old_a * (1.0 - a);
        let old = self.rgb[i];
        let mut out = [0u8; 3];
        for k in 0..3 {
            let v = (f32::from(c[k]) * a + f32::from(old[k]) * old_a * (1.0 - a)) / new_a;
            out[k] = v.round().clamp(0.0, 255.0) as u8;
        }
        self.rgb[i] = out;
        self.alpha[i] = new_a;
    }
}

impl Surface for image::RgbImage {
    fn width(&self) -> i32 {
        image::RgbImage::width(self) as i32
    }
    fn height(&self) -> i32 {
        image::RgbImage::height(self) as i32
    }
    fn blend(&mut self, x: i32, y: i32, c: Rgb, a: f32) {
        if x < 0 || y < 0 || x >= Surface::width(self) || y >= Surface::height(self) || a <= 0.0 {
            return;
        }
        let a = a.min(1.0);
        let p = self.get_pixel_mut(x as u32, y as u32);
        for (v, &ck) in p.0.iter_mut().zip(&c) {
            *v = (f32::from(ck) * a + f32::from(*v) * (1.0 - a)).round() as u8;
        }
    }
}

/// Draws straight onto an RGB frame, marking the overlay mask.
pub(crate) struct FrameSurface<'a> {
    pub w: i32,
    pub h: i32,
    pub buf: &'a mut [u8],
    pub mask: &'a mut [u8],
}

impl Surface for FrameSurface<'_> {
    fn width(&self) -> i32 {
        self.w
    }
    fn height(&self) -> i32 {
        self.h
    }
    fn blend(&mut self, x: i32, y: i32, c: Rgb, a: f32) {
        if x < 0 || y < 0 || x >= self.w || y >= self.h || a <= 0.0 {
            return;
        }
        let a = a.min(1.0);
        let i = (y * self.w + x) as usize;
        let p = &mut self.buf[i * 3..i * 3 + 3];
        for k in 0..3 {
            p[k] = (f32::from(c[k]) * a + f32::from(p[k]) * (1.0 - a)).round() as u8;
        }
        if a >= MASK_ALPHA {
            self.mask[i] = 255;
        }
    }
}

/// Fills the pixel rectangle `[x0, x1) × [y0, y1)`.
pub(crate) fn fill_rect<S: Surface>(s: &mut S, x0: i32, y0: i32, x1: i32, y1: i32, c: Rgb, a: f32) {
    for y in y0.max(0)..y1.min(s.height()) {
        for x in x0.max(0)..x1.min(s.width()) {
            s.blend(x, y, c, a);
        }
    }
}

/// A one-pixel (or `t`-pixel) rectangle outline around `[x0, x1) × [y0, y1)`.
pub(crate) fn rect_outline<S: Surface>(
    s: &mut S,
    x0: i32,
    y0: i32,
    x1: i32,
    y1: i32,
    t: i32,
    c: Rgb,
) {
    fill_rect(s, x0, y0, x1, y0 + t, c, 1.0);
    fill_rect(s, x0, y1 - t, x1, y1, c, 1.0);
    fill_rect(s, x0, y0 + t, x0 + t, y1 - t, c, 1.0);
    fill_rect(s, x1 - t, y0 + t, x1, y1 - t, c, 1.0);
}

fn seg_dist(px: f32, py: f32, ax: f32, ay: f32, bx: f32, by: f32) -> f32 {
    let (dx, dy) = (bx - ax, by - ay);
    let l2 = dx * dx + dy * dy;
    let t = if l2 > 0.0 {
        (((px - ax) * dx + (py - ay) * dy) / l2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (qx, qy) = (ax + t * dx - px, ay + t * dy - py);
    (qx * qx + qy * qy).sqrt()
}

/// An anti-aliased polyline of the given width (points in pixel-edge
/// coordinates; pixel centres are at `+0.5`). Coverage is the maximum over
/// segments, so joints are not blended twice.
pub(crate) fn polyline<S: Surface>(s: &mut S, pts: &[(f32, f32)], width: f32, c: Rgb, alpha: f32) {
    if pts.len() < 2 {
        return;
    }
    let pad = width * 0.5 + 1.0;
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    let bx0 = ((x0 - pad).floor() as i32).max(0);
    let by0 = ((y0 - pad).floor() as i32).max(0);
    let bx1 = ((x1 + pad).ceil() as i32).min(s.width());
    let by1 = ((y1 + pad).ceil() as i32).min(s.height());
    if bx1 <= bx0 || by1 <= by0 {
        return;
    }
    let bw = (bx1 - bx0) as usize;
    let mut cov = vec![0f32; bw * (by1 - by0) as usize];
    for seg in pts.windows(2) {
        let (ax, ay) = seg[0];
        let (bx, by) = seg[1];
        let sx0 = ((ax.min(bx) - pad).floor() as i32).max(bx0);
        let sx1 = ((ax.max(bx) + pad).ceil() as i32).min(bx1);
        let sy0 = ((ay.min(by) - pad).floor() as i32).max(by0);
        let sy1 = ((ay.max(by) + pad).ceil() as i32).min(by1);
        for y in sy0..sy1 {
            for x in sx0..sx1 {
                let d = seg_dist(x as f32 + 0.5, y as f32 + 0.5, ax, ay, bx, by);
                let a = (width * 0.5 + 0.5 - d).clamp(0.0, 1.0);
                let i = (y - by0) as usize * bw + (x - bx0) as usize;
                if a > cov[i] {
                    cov[i] = a;
                }
            }
        }
    }
    for y in by0..by1 {
        for x in bx0..bx1 {
            let a = cov[(y - by0) as usize * bw + (x - bx0) as usize];
            if a > 0.0 {
                s.blend(x, y, c, a * alpha);
            }
        }
    }
}

/// A straight anti-aliased line.
pub(crate) fn line<S: Surface>(s: &mut S, a: (f32, f32), b: (f32, f32), width: f32, c: Rgb) {
    polyline(s, &[a, b], width, c, 1.0);
}

/// A dashed (or dotted, `dash` ≈ 1) line.
pub(crate) fn dashed_line<S: Surface>(
    s: &mut S,
    a: (f32, f32),
    b: (f32, f32),
    dash: f32,
    gap: f32,
    width: f32,
    c: Rgb,
) {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = (dx * dx + dy * dy).sqrt();
    if len <= 0.0 {
        return;
    }
    let (ux, uy) = (dx / len, dy / len);
    let mut t = 0.0;
    while t < len {
        let t1 = (t + dash).min(len);
        if dash <= 1.01 {
            disc(s, a.0 + ux * t, a.1 + uy * t, width * 0.5 + 0.1, c);
        } else {
            line(
                s,
                (a.0 + ux * t, a.1 + uy * t),
                (a.0 + ux * t1, a.1 + uy * t1),
                width,
                c,
            );
        }
        t += dash + gap;
    }
}

/// A filled anti-aliased disc centred at `(cx, cy)` (pixel-edge coordinates).
pub(crate) fn disc<S: Surface>(s: &mut S, cx: f32, cy: f32, r: f32, c: Rgb) {
    let x0 = (cx - r - 1.0).floor() as i32;
    let x1 = (cx + r + 1.0).ceil() as i32;
    let y0 = (cy - r - 1.0).floor() as i32;
    let y1 = (cy + r + 1.0).ceil() as i32;
    for y in y0..y1 {
        for x in x0..x1 {
            let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
            let a = (r + 0.5 - d).clamp(0.0, 1.0);
            if a > 0.0 {
                s.blend(x, y, c, a);
            }
        }
    }
}

/// An anti-aliased circle outline.
pub(crate) fn ring<S: Surface>(s: &mut S, cx: f32, cy: f32, r: f32, width: f32, c: Rgb) {
    let x0 = (cx - r - width - 1.0).floor() as i32;
    let x1 = (cx + r + width + 1.0).ceil() as i32;
    let y0 = (cy - r - width - 1.0).floor() as i32;
    let y1 = (cy + r + width + 1.0).ceil() as i32;
    for y in y0..y1 {
        for x in x0..x1 {
            let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
            let a = (width * 0.5 + 0.5 - (d - r).abs()).clamp(0.0, 1.0);
            if a > 0.0 {
                s.blend(x, y, c, a);
            }
        }
    }
}

/// An arc around `(cx, cy)` of radius `r` between fan angles `a0..a1`
/// (radians from the downward vertical, positive towards +x).
#[allow(clippy::too_many_arguments)]
pub(crate) fn arc<S: Surface>(
    s: &mut S,
    cx: f32,
    cy: f32,
    r: f32,
    a0: f32,
    a1: f32,
    width: f32,
    c: Rgb,
) {
    let n = (((a1 - a0).abs() * r) / 3.0).ceil().max(2.0) as usize;
    let pts: Vec<(f32, f32)> = (0..=n)
        .map(|i| {
            let a = a0 + (a1 - a0) * i as f32 / n as f32;
            (cx + r * a.sin(), cy + r * a.cos())
        })
        .collect();
    polyline(s, &pts, width, c, 1.0);
}

/// A filled convex polygon, 4×4 supersampled.
pub(crate) fn fill_convex<S: Surface>(s: &mut S, pts: &[(f32, f32)], c: Rgb) {
    if pts.len() < 3 {
        return;
    }
    let x0 = pts.iter().map(|p| p.0).fold(f32::MAX, f32::min).floor() as i32;
    let x1 = pts.iter().map(|p| p.0).fold(f32::MIN, f32::max).ceil() as i32;
    let y0 = pts.iter().map(|p| p.1).fold(f32::MAX, f32::min).floor() as i32;
    let y1 = pts.iter().map(|p| p.1).fold(f32::MIN, f32::max).ceil() as i32;
    // Orientation-independent inside test.
    let inside = |px: f32, py: f32| {
        let mut sign = 0.0f32;
        for i in 0..pts.len() {
            let (ax, ay) = pts[i];
            let (bx, by) = pts[(i + 1) % pts.len()];
            let cr = (bx - ax) * (py - ay) - (by - ay) * (px - ax);
            if cr != 0.0 {
                if sign == 0.0 {
                    sign = cr.signum();
                } else if cr.signum() != sign {
                    return false;
                }
            }
        }
        true
    };
    for y in y0..y1 {
        for x in x0..x1 {
            let mut n = 0;
            for sy in 0..4 {
                for sx in 0..4 {
                    if inside(
                        x as f32 + (sx as f32 + 0.5) / 4.0,
                        y as f32 + (sy as f32 + 0.5) / 4.0,
                    ) {
                        n += 1;
                    }
                }
            }
            if n > 0 {
                s.blend(x, y, c, n as f32 / 16.0);
            }
        }
    }
}

/// A caliper cross (`+`) with arms of `arm` pixels.
pub(crate) fn plus_mark<S: Surface>(s: &mut S, cx: f32, cy: f32, arm: f32, width: f32, c: Rgb) {
    line(s, (cx - arm, cy), (cx + arm, cy), width, c);
    line(s, (cx, cy - arm), (cx, cy + arm), width, c);
}

/// Draws `text` with its top-left corner at `(x, y)`; returns its width.
/// `bold` thickens strokes by one glyph column.
pub(crate) fn text<S: Surface>(
    s: &mut S,
    x: f32,
    y: f32,
    text: &str,
    scale: f32,
    c: Rgb,
    bold: bool,
) -> f32 {
    const SS: i32 = 4;
    let mut gx = x;
    for ch in text.chars() {
        if ch != ' ' {
            let g = font::glyph(ch);
            let px0 = gx.floor() as i32;
            let px1 = (gx + 5.0 * scale + if bold { scale } else { 0.0 }).ceil() as i32;
            let py0 = y.floor() as i32;
            let py1 = (y + 7.0 * scale).ceil() as i32;
            for py in py0..py1 {
                for px in px0..px1 {
                    let mut n = 0;
                    for sy in 0..SS {
                        let fy = (py as f32 + (sy as f32 + 0.5) / SS as f32 - y) / scale;
                        let row = fy.floor() as i32;
                        for sx in 0..SS {
                            let fx = (px as f32 + (sx as f32 + 0.5) / SS as f32 - gx) / scale;
                            let col = fx.floor() as i32;
                            if font::ink(&g, col, row) || (bold && font::ink(&g, col - 1, row)) {
                                n += 1;
                            }
                        }
                    }
                    if n > 0 {
                        s.blend(px, py, c, n as f32 / (SS * SS) as f32);
                    }
                }
            }
        }
        gx += font::ADVANCE * scale;
    }
    gx - x - scale
}

/// A vertical grey-scale (or any two-colour) gradient bar, `top` colour at the top.
pub(crate) fn gradient_bar<S: Surface>(
    s: &mut S,
    x0: i32,
    y0: i32,
    x1: i32,
    y1: i32,
    stops: &[Rgb],
) {
    let h = (y1 - y0).max(1) as f32;
    for y in y0..y1 {
        let t = (y - y0) as f32 / (h - 1.0).max(1.0) * (stops.len() - 1) as f32;
        let i = (t.floor() as usize).min(stops.len() - 2);
        let f = t - i as f32;
        let c = [0, 1, 2].map(|k| {
            (f32::from(stops[i][k]) * (1.0 - f) + f32::from(stops[i + 1][k]) * f).round() as u8
        });
        for x in x0..x1 {
            s.blend(x, y, c, 1.0);
        }
    }
}
