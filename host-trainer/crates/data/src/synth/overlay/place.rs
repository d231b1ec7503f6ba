//! Text placement: [`Placer`] keeps text off the sector (unless allowed)
//! and off other text; the [`Builder`] methods that draw text through it;
//! bounding boxes of text and of scan regions.

use super::{Align, Builder, DynText, Dynamic};
use crate::synth::draw::{self, Rgb};
use crate::synth::font;
use sonomask_core::Region;

/// Keeps text off the sector (unless allowed) and off other text.
pub(super) struct Placer {
    w: i32,
    h: i32,
    rows: Vec<(i32, i32)>,
    boxes: Vec<[i32; 4]>,
}

impl Placer {
    pub(super) fn new(sector: &[u8], w: u32, h: u32) -> Self {
        let rows = sector
            .chunks_exact(w as usize)
            .map(|row| {
                let first = row.iter().position(|&v| v != 0);
                let last = row.iter().rposition(|&v| v != 0);
                match (first, last) {
                    (Some(a), Some(b)) => (a as i32, b as i32),
                    _ => (i32::MAX, i32::MIN),
                }
            })
            .collect();
        Self {
            w: w as i32,
            h: h as i32,
            rows,
            boxes: Vec::new(),
        }
    }

    fn hits_sector(&self, r: [i32; 4], gap: i32) -> bool {
        for y in (r[1] - gap).max(0)..(r[3] + gap).min(self.h) {
            let (a, b) = self.rows[y as usize];
            if a <= b && r[2] + gap > a && r[0] - gap <= b {
                return true;
            }
        }
        false
    }

    fn hits_boxes(&self, r: [i32; 4]) -> bool {
        self.boxes
            .iter()
            .any(|b| r[0] < b[2] + 2 && r[2] + 2 > b[0] && r[1] < b[3] + 1 && r[3] + 1 > b[1])
    }

    pub(super) fn free(&self, r: [i32; 4], gap: i32, allow_sector: bool) -> bool {
        r[0] >= 0
            && r[1] >= 0
            && r[2] <= self.w
            && r[3] <= self.h
            && !self.hits_boxes(r)
            && (allow_sector || !self.hits_sector(r, gap))
    }

    /// Leftmost sector pixel over rows `y0..y1` (or the frame width).
    pub(super) fn sector_left(&self, y0: i32, y1: i32) -> i32 {
        (y0.max(0)..y1.min(self.h))
            .map(|y| self.rows[y as usize].0)
            .min()
            .unwrap_or(i32::MAX)
            .min(self.w)
    }

    pub(super) fn sector_right(&self, y0: i32, y1: i32) -> i32 {
        (y0.max(0)..y1.min(self.h))
            .map(|y| self.rows[y as usize].1)
            .max()
            .unwrap_or(i32::MIN)
            .max(-1)
    }
}

fn bbox(x: f32, y: f32, text: &str, align: Align, scale: f32) -> [i32; 4] {
    let tw = font::text_width(text, scale);
    let x0 = match align {
        Align::Left => x,
        Align::Right => x - tw,
        Align::Center => x - tw / 2.0,
    };
    [
        x0.floor() as i32,
        y.floor() as i32,
        (x0 + tw).ceil() as i32 + 1,
        (y + font::text_height(scale)).ceil() as i32 + 1,
    ]
}

impl Builder<'_> {
    /// Draws a line of text if it fits (truncating it scanner-style with
    /// "..." when it does not); returns whether anything was drawn.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn text(
        &mut self,
        x: f32,
        y: f32,
        text: &str,
        align: Align,
        scale: f32,
        color: Rgb,
        bold: bool,
        allow_sector: bool,
    ) -> bool {
        let mut s = text.to_string();
        loop {
            if s.trim().is_empty() {
                return false;
            }
            let r = bbox(x, y, &s, align, scale);
            if self.placer.free(r, self.style.gap, allow_sector) {
                let tw = font::text_width(&s, scale);
                let x0 = match align {
                    Align::Left => x,
                    Align::Right => x - tw,
                    Align::Center => x - tw / 2.0,
                };
                draw::text(&mut self.layer, x0, y, &s, scale, color, bold);
                self.placer.boxes.push(r);
                return true;
            }
            let n = s.chars().count();
            if !self.truncate || n <= 12 || align == Align::Center {
                return false;
            }
            let keep: String = s
                .trim_end_matches("...")
                .chars()
                .take(n.saturating_sub(5))
                .collect();
            s = format!("{keep}...");
        }
    }

    pub(super) fn reserve(&mut self, r: [i32; 4]) {
        self.placer.boxes.push(r);
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn dyn_text(
        &mut self,
        x: f32,
        y: f32,
        align: Align,
        scale: f32,
        color: Rgb,
        text: DynText,
        sample: &str,
    ) -> bool {
        let r = bbox(x, y, sample, align, scale);
        if !self.placer.free(r, self.style.gap, false) {
            return false;
        }
        self.reserve(r);
        self.dynamic.push(Dynamic::Text {
            x,
            y,
            align,
            scale,
            color,
            text,
        });
        true
    }
}

/// Bounding box (x0, y0, x1, y1) of a region, clamped to the frame.
pub(super) fn region_bbox(r: &Region, w: f32, h: f32) -> (f32, f32, f32, f32) {
    match *r {
        Region::Rect(rc) => (rc.x0, rc.y0, rc.x1, rc.y1),
        Region::Fan(f) => {
            let mut bb = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
            for i in 0..=32 {
                let a = f.angle_left + (f.angle_right - f.angle_left) * i as f32 / 32.0;
                for r in [f.r_inner, f.r_outer] {
                    let (x, y) = (f.apex_x + r * a.sin(), f.apex_y + r * a.cos());
                    bb = (bb.0.min(x), bb.1.min(y), bb.2.max(x), bb.3.max(y));
                }
            }
            if let Some(c) = f.clip {
                bb = (
                    bb.0.max(c.x0),
                    bb.1.max(c.y0),
                    bb.2.min(c.x1),
                    bb.3.min(c.y1),
                );
            }
            (bb.0.max(0.0), bb.1.max(0.0), bb.2.min(w), bb.3.min(h))
        }
    }
}
