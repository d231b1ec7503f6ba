//! `--preview`: a before/after contact sheet per input file, the quickest
//! way for a person to see whether the scan region was kept whole and the
//! overlays removed.
//!
//! Rows are up to three frames (first, middle, last); the left column is
//! the input with the kept region outlined in yellow, the right column the
//! output. A title line names the file and the outcome (red when the clip
//! failed closed).

use image::{GrayImage, RgbImage};

use sonomask_data::dataset::Frames;
use sonomask_data::synth;

/// Frame indices shown for a clip of `n` frames.
pub fn shown_frames(n: usize) -> Vec<usize> {
    let mut v = vec![0, n / 2, n.saturating_sub(1)];
    v.dedup();
    v.retain(|&i| i < n);
    v
}

fn frame_rgb(frames: &Frames, i: usize) -> Option<RgbImage> {
    match frames {
        Frames::Gray(v) => v
            .get(i)
            .map(|g| image::DynamicImage::ImageLuma8(g.clone()).into_rgb8()),
        Frames::Rgb(v) => v.get(i).cloned(),
    }
}

/// The outline of `keep` (255 = kept): kept pixels with a dropped
/// 4-neighbour or on the frame border.
fn outline(keep: &GrayImage) -> Vec<(u32, u32)> {
    let (w, h) = keep.dimensions();
    let k = |x: i64, y: i64| {
        x >= 0
            && y >= 0
            && x < i64::from(w)
            && y < i64::from(h)
            && keep.get_pixel(x as u32, y as u32)[0] != 0
    };
    let mut out = Vec::new();
    for y in 0..i64::from(h) {
        for x in 0..i64::from(w) {
            if k(x, y) && !(k(x - 1, y) && k(x + 1, y) && k(x, y - 1) && k(x, y + 1)) {
                out.push((x as u32, y as u32));
            }
        }
    }
    out
}

/// The before/after sheet of one clip. `keep` is the clip's keep mask
/// (`None` when it failed closed); `ok` colours the title.
pub fn sheet(
    before: &Frames,
    after: &Frames,
    keep: Option<&GrayImage>,
    title: &str,
    ok: bool,
    thumb_width: u32,
) -> RgbImage {
    let n = before.len();
    let shown = shown_frames(n);
    let (w, h) = frame_rgb(before, 0).map_or((1, 1), |f| f.dimensions());
    let tw = thumb_width.max(16);
    let th = (tw * h).div_ceil(w.max(1)).max(1);
    let (pad, title_h, label_h) = (4u32, 14u32, 12u32);
    let cell_h = th + label_h + pad;
    let mut out = RgbImage::from_pixel(
        2 * (tw + pad) + pad,
        title_h + pad + shown.len().max(1) as u32 * cell_h + pad,
        image::Rgb([40, 40, 44]),
    );
    let colour = if ok { [220, 220, 220] } else { [255, 90, 80] };
    synth::draw_label(&mut out, pad as f32, pad as f32, title, colour);
    let edge = keep.map(outline).unwrap_or_default();
    for (row, &i) in shown.iter().enumerate() {
        let y = title_h + pad + row as u32 * cell_h;
        for (col, frames) in [before, after].into_iter().enumerate() {
            let Some(mut img) = frame_rgb(frames, i) else {
                continue;
            };
            if col == 0 {
                for &(x, yy) in &edge {
                    img.put_pixel(x, yy, image::Rgb([255, 230, 0]));
                }
            }
            let thumb =
                image::imageops::resize(&img, tw, th, image::imageops::FilterType::Triangle);
            let x = pad + col as u32 * (tw + pad);
            image::imageops::replace(&mut out, &thumb, i64::from(x), i64::from(y));
            let label = format!("frame {i} {}", if col == 0 { "in" } else { "out" });
            synth::draw_label(
                &mut out,
                x as f32,
                (y + th + 1) as f32,
                &label,
                [200, 200, 200],
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_frames_are_first_middle_last() {
        assert_eq!(shown_frames(1), [0]);
        assert_eq!(shown_frames(2), [0, 1]);
        assert_eq!(shown_frames(30), [0, 15, 29]);
        assert!(shown_frames(0).is_empty());
    }

    #[test]
    fn sheet_outlines_the_kept_region() {
        let before = Frames::Gray(vec![GrayImage::from_pixel(40, 30, image::Luma([100]))]);
        let after = Frames::Gray(vec![GrayImage::new(40, 30)]);
        let mut keep = GrayImage::new(40, 30);
        for y in 10..20 {
            for x in 10..30 {
                keep.put_pixel(x, y, image::Luma([255]));
            }
        }
        let s = sheet(&before, &after, Some(&keep), "t", true, 40);
        // Two thumbnails of 40 px and three 4 px gaps.
        assert_eq!(s.width(), 2 * 44 + 4);
        // The outline (yellow) is drawn at native size: the thumbnail's top
        // edge row of the kept box is yellowish.
        let top = 14 + 4 + 10;
        let p = s.get_pixel(4 + 20, top);
        assert!(p[0] > 150 && p[1] > 150 && p[2] < 120, "{p:?}");
    }
}
