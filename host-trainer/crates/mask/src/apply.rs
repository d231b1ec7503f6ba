//! Applying a clip's keep regions to every frame, in parallel.
//!
//! 8-bit grey and RGB frames whose black is 0 go through the cart's own
//! in-place span fill ([`sonomask_core::mask::mask_in_place`]). Other
//! representations (16-bit samples, MONOCHROME1, a palette index) fill the
//! same per-row spans ([`Regions::row_spans`]) with their own black pixel.
//! `None` (failed closed) fills every pixel.

use image::{GrayImage, RgbImage};
use rayon::prelude::*;
use sonomask_core::Regions;
use sonomask_core::mask::{self, FrameLayout, PixelFormat};

use super::source::NativePixels;
use sonomask_data::dataset::Frames;

/// Fills everything outside `regions` in one packed frame of `width ×
/// height` pixels of `fill.len()` bytes with `fill`; everything when
/// `regions` is `None`.
pub fn mask_frame(
    frame: &mut [u8],
    width: u16,
    height: u16,
    fill: &[u8],
    regions: Option<&Regions>,
) {
    let bpp = fill.len().max(1);
    let format = match bpp {
        1 => Some(PixelFormat::Gray8),
        3 => Some(PixelFormat::Rgb888),
        _ => None,
    };
    let black = fill.iter().all(|&b| b == 0);
    match (regions, format) {
        (Some(r), Some(format)) if black => {
            // On a layout error the shared code blacks out the whole frame.
            let _ = mask::mask_in_place(frame, FrameLayout::packed(width, height, format), r);
        }
        (Some(r), _) => {
            let row_bytes = width as usize * bpp;
            let r = r.prepare_rows();
            for (y, row) in frame
                .chunks_exact_mut(row_bytes)
                .take(height as usize)
                .enumerate()
            {
                let mut x = 0usize;
                for s in r.row_spans(y as u32, width) {
                    fill_pixels(&mut row[x * bpp..s.start as usize * bpp], fill);
                    x = s.end as usize;
                }
                fill_pixels(&mut row[x * bpp..], fill);
            }
        }
        (None, _) => fill_pixels(frame, fill),
    }
}

fn fill_pixels(bytes: &mut [u8], fill: &[u8]) {
    if fill.iter().all(|&b| b == fill[0]) {
        bytes.fill(fill[0]);
    } else {
        for px in bytes.chunks_exact_mut(fill.len()) {
            px.copy_from_slice(fill);
        }
    }
}

/// The stored samples of every frame, masked (frames in parallel).
pub fn mask_native(native: &NativePixels, regions: Option<&Regions>) -> Vec<u8> {
    let mut data = native.data.clone();
    let len = native.frame_len().max(1);
    data.par_chunks_mut(len).for_each(|f| {
        mask_frame(f, native.width, native.height, &native.fill, regions);
    });
    data
}

/// The 8-bit frames, masked with black (frames in parallel).
pub fn mask_frames(frames: &Frames, regions: Option<&Regions>) -> Frames {
    fn side(v: u32) -> u16 {
        u16::try_from(v).unwrap_or(u16::MAX)
    }
    match frames {
        Frames::Gray(v) => Frames::Gray(
            v.par_iter()
                .map(|f| {
                    let (w, h) = f.dimensions();
                    let mut out: GrayImage = f.clone();
                    mask_frame(&mut out, side(w), side(h), &[0], regions);
                    out
                })
                .collect(),
        ),
        Frames::Rgb(v) => Frames::Rgb(
            v.par_iter()
                .map(|f| {
                    let (w, h) = f.dimensions();
                    let mut out: RgbImage = f.clone();
                    mask_frame(&mut out, side(w), side(h), &[0, 0, 0], regions);
                    out
                })
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonomask_core::{Fan, Rect, Region};

    fn regions() -> Regions {
        let mut r = Regions::one(Region::Fan(Fan {
            apex_x: 30.0,
            apex_y: -5.0,
            angle_left: -0.6,
            angle_right: 0.6,
            r_inner: 0.0,
            r_outer: 30.0,
            flat_top: None,
            clip: None,
        }));
        r.push(Region::Rect(Rect::new(2.0, 30.0, 20.0, 38.0)))
            .unwrap();
        r
    }

    /// The generic span fill keeps exactly the pixels the shared code keeps,
    /// whatever the pixel size and black value.
    #[test]
    fn generic_fill_matches_the_shared_span_fill() {
        let (w, h) = (61u16, 40u16);
        let r = regions();
        let mut keep = vec![0u8; w as usize * h as usize];
        assert!(r.rasterize(w, h, &mut keep));
        let mut gray = vec![9u8; keep.len()];
        mask_frame(&mut gray, w, h, &[0], Some(&r));
        for fill in [vec![0xffu8, 0x0f], vec![7u8], vec![1, 2, 3]] {
            let bpp = fill.len();
            let mut f = vec![0xaau8; keep.len() * bpp];
            mask_frame(&mut f, w, h, &fill, Some(&r));
            for (i, px) in f.chunks_exact(bpp).enumerate() {
                if keep[i] != 0 {
                    assert!(px.iter().all(|&b| b == 0xaa), "pixel {i}");
                    assert_eq!(gray[i], 9);
                } else {
                    assert_eq!(px, &fill[..], "pixel {i}");
                    assert_eq!(gray[i], 0);
                }
            }
        }
        // Failed closed: everything is the fill.
        let mut f = vec![5u8; 8];
        mask_frame(&mut f, 2, 2, &[1, 2], None);
        assert_eq!(f, [1, 2, 1, 2, 1, 2, 1, 2]);
    }

    #[test]
    fn native_frames_are_masked_independently() {
        let native = NativePixels {
            data: vec![200u8; 2 * 61 * 40],
            frames: 2,
            width: 61,
            height: 40,
            bytes_per_pixel: 1,
            fill: vec![255],
            samples: crate::source::OutputSamples::AsStored,
        };
        let out = mask_native(&native, Some(&regions()));
        let (a, b) = out.split_at(61 * 40);
        assert_eq!(a, b);
        assert!(a.contains(&255) && a.contains(&200));
    }
}
