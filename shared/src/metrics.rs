//! Mask metrics, defined once so the trainer's validation, the evaluation
//! reports and the firmware self-test agree on every number.
//!
//! Masks are row-major `u8` slices of `w * h` pixels; nonzero = kept (pred)
//! or inside the true sector (truth) or burned-in overlay (overlay). All
//! ratios are `f64`, and every 0/0 case has a fixed value, documented on the
//! function, so a metric is never NaN.

use serde::{Deserialize, Serialize};

/// Why a metric could not be computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MetricsError {
    /// The masks compared have different lengths.
    LengthMismatch,
    /// A mask's length is not `w * h`, or a side exceeds 2²⁴ pixels.
    BadSize,
    /// The scratch slice is shorter than [`boundary_scratch_len`] asks for.
    ScratchTooSmall,
}

impl core::fmt::Display for MetricsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            MetricsError::LengthMismatch => "masks have different lengths",
            MetricsError::BadSize => "mask length does not match width and height",
            MetricsError::ScratchTooSmall => "scratch buffer too small for the mask size",
        })
    }
}

impl core::error::Error for MetricsError {}

/// Pixel counts of a predicted keep mask against the true sector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    /// Kept and inside the sector.
    pub tp: u64,
    /// Kept but outside the sector (may leak patient data).
    pub fp: u64,
    /// Blacked out but inside the sector (lost signal).
    #[serde(rename = "fn")]
    pub fn_: u64,
    /// Blacked out and outside the sector.
    pub tn: u64,
}

impl Confusion {
    /// Counts the four cases over two equally long masks.
    pub fn compute(pred: &[u8], truth: &[u8]) -> Result<Self, MetricsError> {
        if pred.len() != truth.len() {
            return Err(MetricsError::LengthMismatch);
        }
        let mut c = Self::default();
        for (&p, &t) in pred.iter().zip(truth) {
            match (p != 0, t != 0) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, true) => c.fn_ += 1,
                (false, false) => c.tn += 1,
            }
        }
        Ok(c)
    }

    /// Number of pixels counted.
    pub fn total(&self) -> u64 {
        self.tp + self.fp + self.fn_ + self.tn
    }

    /// Fraction of pixels classified correctly; 1.0 for no pixels.
    pub fn pixel_accuracy(&self) -> f64 {
        ratio(self.tp + self.tn, self.total(), 1.0)
    }

    /// `2 tp / (2 tp + fp + fn)`; 1.0 when both masks are empty (they agree).
    pub fn dice(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_, 1.0)
    }

    /// `tp / (tp + fp + fn)`; 1.0 when both masks are empty.
    pub fn iou(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp + self.fn_, 1.0)
    }

    /// Fraction of true-sector pixels blacked out, `fn / (tp + fn)`; 0.0 when
    /// there is no sector (nothing could be lost).
    pub fn signal_loss(&self) -> f64 {
        ratio(self.fn_, self.tp + self.fn_, 0.0)
    }
}

/// `num / den`, or `empty` when `den` is 0.
fn ratio(num: u64, den: u64, empty: f64) -> f64 {
    if den == 0 {
        empty
    } else {
        num as f64 / den as f64
    }
}

/// Fraction of the overlay pixels outside the true sector that the predicted
/// mask keeps, i.e. burned-in text that survives masking; 0.0 when no
/// overlay pixel lies outside the sector. Overlay inside the sector (calipers
/// drawn on the image) is not counted: keeping it is unavoidable.
pub fn phi_leak(pred: &[u8], truth: &[u8], overlay: &[u8]) -> Result<f64, MetricsError> {
    if pred.len() != truth.len() || pred.len() != overlay.len() {
        return Err(MetricsError::LengthMismatch);
    }
    let (mut outside, mut leaked) = (0u64, 0u64);
    for ((&p, &t), &o) in pred.iter().zip(truth).zip(overlay) {
        if o != 0 && t == 0 {
            outside += 1;
            leaked += u64::from(p != 0);
        }
    }
    Ok(ratio(leaked, outside, 0.0))
}

/// The per-frame summary reported everywhere.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaskMetrics {
    /// Fraction of pixels kept or blacked out correctly
    /// ([`Confusion::pixel_accuracy`]).
    pub pixel_accuracy: f64,
    /// Overlap of kept and true sector, `2 tp / (2 tp + fp + fn)`
    /// ([`Confusion::dice`]).
    pub dice: f64,
    /// Intersection over union, `tp / (tp + fp + fn)` ([`Confusion::iou`]).
    pub iou: f64,
    /// Fraction of burned-in overlay outside the sector that stays visible
    /// ([`phi_leak`]): the privacy figure, 0 is best.
    pub phi_leak: f64,
    /// Fraction of the true sector blacked out
    /// ([`Confusion::signal_loss`]): the clinical cost, 0 is best.
    pub signal_loss: f64,
}

impl MaskMetrics {
    /// All metrics of `pred` against `truth`, with `overlay` marking the
    /// burned-in pixels; the three masks must be equally long.
    pub fn compute(pred: &[u8], truth: &[u8], overlay: &[u8]) -> Result<Self, MetricsError> {
        let c = Confusion::compute(pred, truth)?;
        Ok(Self {
            pixel_accuracy: c.pixel_accuracy(),
            dice: c.dice(),
            iou: c.iou(),
            phi_leak: phi_leak(pred, truth, overlay)?,
            signal_loss: c.signal_loss(),
        })
    }
}

/// Fraction of pixels whose keep state differs between two frames' masks;
/// 0.0 for empty masks. A stable sector fit should be near 0 within a clip.
pub fn jitter(prev: &[u8], cur: &[u8]) -> Result<f64, MetricsError> {
    if prev.len() != cur.len() {
        return Err(MetricsError::LengthMismatch);
    }
    let changed = prev
        .iter()
        .zip(cur)
        .filter(|&(&a, &b)| (a != 0) != (b != 0))
        .count();
    Ok(ratio(changed as u64, prev.len() as u64, 0.0))
}

/// Mean [`jitter`] over consecutive pairs of a clip's masks; 0.0 for fewer
/// than two frames.
pub fn clip_jitter<'m, I>(frames: I) -> Result<f64, MetricsError>
where
    I: IntoIterator<Item = &'m [u8]>,
{
    let mut frames = frames.into_iter();
    let Some(mut prev) = frames.next() else {
        return Ok(0.0);
    };
    let (mut sum, mut pairs) = (0.0, 0u64);
    for cur in frames {
        sum += jitter(prev, cur)?;
        pairs += 1;
        prev = cur;
    }
    Ok(if pairs == 0 { 0.0 } else { sum / pairs as f64 })
}

/// `f32`s of scratch [`mean_boundary_distance`] needs for a `w × h` mask:
/// the distance grid plus four line buffers (`w * h + 4 * max(w, h) + 1`).
/// Saturates at `usize::MAX` on overflow (no slice can be that long).
pub const fn boundary_scratch_len(w: usize, h: usize) -> usize {
    let n = if w > h { w } else { h };
    match w.checked_mul(h) {
        Some(a) => match n.checked_mul(4) {
            Some(b) => a.saturating_add(b).saturating_add(1),
            None => usize::MAX,
        },
        None => usize::MAX,
    }
}

/// Symmetric mean distance in pixels between the boundaries of two masks.
///
/// A *boundary pixel* is a nonzero pixel with a 4-neighbour that is zero or
/// lies outside the frame: the frame edge counts as outside, so a mask that
/// keeps everything still has a boundary (the frame border) and a clipped
/// sector's boundary runs along the border on both sides alike. The result is
/// `(Σ_{p ∈ ∂pred} d(p, ∂truth) + Σ_{t ∈ ∂truth} d(t, ∂pred)) / (|∂pred| + |∂truth|)`
/// with `d` the exact Euclidean distance between pixel centres (squared
/// distance transform by Felzenszwalb–Huttenlocher 1-D passes, columns then
/// rows). Both masks empty: 0.0; exactly one empty: `f64::INFINITY` (no
/// boundary to measure against — a total failure, which an average must
/// not hide). `scratch` needs [`boundary_scratch_len`]`(w, h)` entries.
pub fn mean_boundary_distance(
    pred: &[u8],
    truth: &[u8],
    w: usize,
    h: usize,
    scratch: &mut [f32],
) -> Result<f64, MetricsError> {
    if pred.len() != truth.len() {
        return Err(MetricsError::LengthMismatch);
    }
    let n = w.checked_mul(h).ok_or(MetricsError::BadSize)?;
    if n != pred.len() {
        return Err(MetricsError::BadSize);
    }
    if n == 0 {
        return Ok(0.0);
    }
    // Parabola positions are kept as exact integers in `f32`.
    if w.max(h) > 1 << 24 {
        return Err(MetricsError::BadSize);
    }
    let need = boundary_scratch_len(w, h);
    if scratch.len() < need {
        return Err(MetricsError::ScratchTooSmall);
    }
    let count = |m: &[u8]| (0..n).filter(|&i| is_boundary(m, w, h, i)).count();
    let (bp, bt) = (count(pred), count(truth));
    match (bp, bt) {
        (0, 0) => return Ok(0.0),
        (0, _) | (_, 0) => return Ok(f64::INFINITY),
        _ => {}
    }
    let (grid, lines) = scratch[..need].split_at_mut(n);
    let to_truth = sum_distances(pred, truth, w, h, grid, lines);
    let to_pred = sum_distances(truth, pred, w, h, grid, lines);
    Ok((to_truth + to_pred) / (bp + bt) as f64)
}

/// Whether pixel `i` is a boundary pixel (see [`mean_boundary_distance`]).
fn is_boundary(m: &[u8], w: usize, h: usize, i: usize) -> bool {
    if m[i] == 0 {
        return false;
    }
    let (x, y) = (i % w, i / w);
    x == 0
        || y == 0
        || x + 1 == w
        || y + 1 == h
        || m[i - 1] == 0
        || m[i + 1] == 0
        || m[i - w] == 0
        || m[i + w] == 0
}

/// Far enough for any frame, small enough that `FAR + q²` stays finite.
const FAR: f32 = 1e30;

/// Sum over the boundary pixels of `from` of the distance to the nearest
/// boundary pixel of `to` (which must have one).
fn sum_distances(
    from: &[u8],
    to: &[u8],
    w: usize,
    h: usize,
    grid: &mut [f32],
    lines: &mut [f32],
) -> f64 {
    for (i, g) in grid.iter_mut().enumerate() {
        *g = if is_boundary(to, w, h, i) { 0.0 } else { FAR };
    }
    for x in 0..w {
        transform_line(grid, x, w, h, lines);
    }
    for y in 0..h {
        transform_line(grid, y * w, 1, w, lines);
    }
    (0..grid.len())
        .filter(|&i| is_boundary(from, w, h, i))
        .map(|i| libm::sqrt(f64::from(grid[i])))
        .sum()
}

/// In-place 1-D squared distance transform of the `len` grid values starting
/// at `start`, `step` apart: the lower envelope of the parabolas
/// `(q - p)² + f(p)` (Felzenszwalb & Huttenlocher 2012). `lines` holds the
/// copy `f`, parabola positions `v` (exact small integers kept as `f32`) and
/// envelope breakpoints `z`.
fn transform_line(grid: &mut [f32], start: usize, step: usize, len: usize, lines: &mut [f32]) {
    let (f, rest) = lines.split_at_mut(len);
    let (v, rest) = rest.split_at_mut(len);
    let z = &mut rest[..len + 1];
    for (q, fq) in f.iter_mut().enumerate() {
        *fq = grid[start + q * step];
    }
    let parabola = |p: usize| f[p] + (p * p) as f32;
    let mut k = 0usize;
    v[0] = 0.0;
    z[0] = f32::NEG_INFINITY;
    z[1] = f32::INFINITY;
    for q in 1..len {
        loop {
            let p = v[k] as usize;
            let s = (parabola(q) - parabola(p)) / (2.0 * (q - p) as f32);
            if k > 0 && s <= z[k] {
                k -= 1;
                continue;
            }
            k += 1;
            v[k] = q as f32;
            z[k] = s;
            z[k + 1] = f32::INFINITY;
            break;
        }
    }
    k = 0;
    for q in 0..len {
        while z[k + 1] < q as f32 {
            k += 1;
        }
        let p = v[k] as usize;
        let d = q.abs_diff(p) as f32;
        grid[start + q * step] = d * d + f[p];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<const N: usize>(rows: &[&str]) -> [u8; N] {
        let mut out = [0u8; N];
        for (i, c) in rows.iter().flat_map(|r| r.bytes()).enumerate() {
            out[i] = u8::from(c == b'#');
        }
        out
    }

    /// 4×4 by hand:
    /// ```text
    /// pred   truth  overlay
    /// ##..   #...   ...#
    /// ##..   ##..   ...#
    /// ..#.   ##..   ....
    /// ....   ....   #...
    /// ```
    /// tp = (0,0),(0,1),(1,1) = 3; fp = (1,0),(2,2) = 2; fn = (0,2),(1,2) = 2;
    /// tn = 16 - 7 = 9. Accuracy 12/16, dice 6/10, IoU 3/7, signal loss 2/5.
    /// Overlay outside the sector: (3,0),(3,1),(0,3) = 3, none kept → leak 0.
    #[test]
    fn four_by_four_by_hand() {
        let pred: [u8; 16] = parse(&["##..", "##..", "..#.", "...."]);
        let truth: [u8; 16] = parse(&["#...", "##..", "##..", "...."]);
        let overlay: [u8; 16] = parse(&["...#", "...#", "....", "#..."]);
        let c = Confusion::compute(&pred, &truth).unwrap();
        assert_eq!((c.tp, c.fp, c.fn_, c.tn), (3, 2, 2, 9));
        assert_eq!(c.pixel_accuracy(), 0.75);
        assert_eq!(c.dice(), 0.6);
        assert_eq!(c.iou(), 3.0 / 7.0);
        assert_eq!(c.signal_loss(), 0.4);
        let m = MaskMetrics::compute(&pred, &truth, &overlay).unwrap();
        assert_eq!(m.phi_leak, 0.0);
        assert_eq!((m.iou, m.dice, m.signal_loss), (3.0 / 7.0, 0.6, 0.4));
        // Keep everything: overlay outside = 3, all kept → leak 1; no loss.
        let all = [1u8; 16];
        assert_eq!(phi_leak(&all, &truth, &overlay), Ok(1.0));
        // Keep the top two rows: (3,0),(3,1) leak, (0,3) does not → 2/3.
        let top: [u8; 16] = parse(&["####", "####", "....", "...."]);
        assert_eq!(phi_leak(&top, &truth, &overlay), Ok(2.0 / 3.0));
        assert_eq!(Confusion::compute(&all, &truth).unwrap().signal_loss(), 0.0);
    }

    #[test]
    fn empty_cases_are_defined() {
        let z = [0u8; 9];
        let c = Confusion::compute(&z, &z).unwrap();
        assert_eq!(
            (c.dice(), c.iou(), c.signal_loss(), c.pixel_accuracy()),
            (1.0, 1.0, 0.0, 1.0)
        );
        let c = Confusion::compute(&[], &[]).unwrap();
        assert_eq!(c.pixel_accuracy(), 1.0);
        assert_eq!(phi_leak(&z, &z, &z), Ok(0.0));
        assert_eq!(jitter(&[], &[]), Ok(0.0));
        let mut s = [0.0f32; 64];
        assert_eq!(mean_boundary_distance(&z, &z, 3, 3, &mut s), Ok(0.0));
        let mut one = z;
        one[4] = 1;
        assert_eq!(
            mean_boundary_distance(&one, &z, 3, 3, &mut s),
            Ok(f64::INFINITY)
        );
    }

    #[test]
    fn mismatched_lengths_are_errors() {
        let (a, b) = ([0u8; 4], [0u8; 5]);
        assert_eq!(
            Confusion::compute(&a, &b),
            Err(MetricsError::LengthMismatch)
        );
        assert_eq!(phi_leak(&a, &a, &b), Err(MetricsError::LengthMismatch));
        assert_eq!(
            MaskMetrics::compute(&a, &b, &a),
            Err(MetricsError::LengthMismatch)
        );
        assert_eq!(jitter(&a, &b), Err(MetricsError::LengthMismatch));
        assert_eq!(
            clip_jitter([&a[..], &b[..]]),
            Err(MetricsError::LengthMismatch)
        );
        let mut s = [0.0f32; 64];
        assert_eq!(
            mean_boundary_distance(&a, &b, 2, 2, &mut s),
            Err(MetricsError::LengthMismatch)
        );
        assert_eq!(
            mean_boundary_distance(&a, &a, 3, 2, &mut s),
            Err(MetricsError::BadSize)
        );
        assert_eq!(
            mean_boundary_distance(&a, &a, usize::MAX, 2, &mut s),
            Err(MetricsError::BadSize)
        );
        assert_eq!(
            mean_boundary_distance(&a, &a, 2, 2, &mut s[..12]),
            Err(MetricsError::ScratchTooSmall)
        );
        assert_eq!(boundary_scratch_len(2, 2), 13);
    }

    #[test]
    fn jitter_by_hand() {
        let a: [u8; 4] = [0, 1, 1, 0];
        let b: [u8; 4] = [0, 9, 0, 0]; // one of four differs
        let c: [u8; 4] = [1, 1, 0, 1]; // vs b: indices 0 and 3 differ
        assert_eq!(jitter(&a, &b), Ok(0.25));
        assert_eq!(
            clip_jitter([&a[..], &b[..], &c[..]]),
            Ok((0.25 + 0.5) / 2.0)
        );
        assert_eq!(clip_jitter([&a[..]]), Ok(0.0));
        assert_eq!(clip_jitter(core::iter::empty::<&[u8]>()), Ok(0.0));
    }

    #[test]
    fn identical_masks_have_zero_boundary_distance() {
        let m: [u8; 36] = parse(&["......", ".####.", ".####.", ".###..", "......", "......"]);
        let mut s = [0.0f32; 36 + 25];
        assert_eq!(mean_boundary_distance(&m, &m, 6, 6, &mut s), Ok(0.0));
    }

    /// Rows 2..=4 of a 10×8 frame; pred spans columns 3..=6, truth 2..=5.
    /// Each has 12 pixels of which only the middle row's two inner ones are
    /// not boundary: 10 boundary pixels each (pred interior (4,3),(5,3);
    /// truth interior (3,3),(4,3)).
    /// pred → truth: (3..=5, 2) and (3..=5, 4) lie on truth's boundary: 0;
    /// (6,2), (6,4) are 1 from (5,2), (5,4); (6,3) is 1 from (5,3); (3,3) is
    /// truth-interior, 1 from (3,2). Sum 4.
    /// truth → pred, mirrored: (2,2), (2,4), (2,3), (5,3) at 1. Sum 4.
    /// Mean = (4 + 4) / (10 + 10) = 0.4.
    #[test]
    fn shifted_rectangle_boundary_distance() {
        let (w, h) = (10, 8);
        let mut pred = [0u8; 80];
        let mut truth = [0u8; 80];
        for y in 2..5 {
            for x in 3..7 {
                pred[y * w + x] = 1;
            }
            for x in 2..6 {
                truth[y * w + x] = 1;
            }
        }
        let mut s = [0.0f32; 80 + 41];
        let d = mean_boundary_distance(&pred, &truth, w, h, &mut s).unwrap();
        assert_eq!(d, 0.4);
    }

    /// Distances are Euclidean, not city-block: a single pixel against one
    /// 3 right and 4 down is 5 px away both ways.
    #[test]
    fn boundary_distance_is_euclidean() {
        let (w, h) = (8, 8);
        let mut a = [0u8; 64];
        let mut b = [0u8; 64];
        a[w + 1] = 1;
        b[5 * w + 4] = 1;
        let mut s = [0.0f32; 64 + 33];
        assert_eq!(mean_boundary_distance(&a, &b, w, h, &mut s), Ok(5.0));
    }
}
