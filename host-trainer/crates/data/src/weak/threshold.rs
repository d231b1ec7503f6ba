//! The paper's simple weak labeler: threshold the clip's first frame, keep the
//! largest connected component, fill its holes.
//!
//! Why the first frame and not a projection over the clip: this is the
//! baseline the paper measured (a thresholding algorithm applied to an image),
//! and it has to run on single-frame exports too. It fails in the ways real
//! frames make thresholding fail — dark near and far fields are cut away,
//! overlays touching the fan are kept, a nearly black sector vanishes — and
//! that is what the trained model has to learn past.

use image::GrayImage;
use sonomask_core::morph;

/// Tuning of the threshold labeler.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    /// Luma above this is "image".
    pub threshold: u8,
}

impl Default for Params {
    fn default() -> Self {
        Self { threshold: 12 }
    }
}

/// Labels one clip (only its first frame is used). An empty clip gives an
/// all-black mask of size 0×0.
pub fn label(frames: &[GrayImage], params: &Params) -> GrayImage {
    let Some(first) = frames.first() else {
        return GrayImage::new(0, 0);
    };
    let (w, h) = first.dimensions();
    let mut map: Vec<u8> = first
        .as_raw()
        .iter()
        .map(|&v| if v > params.threshold { 255 } else { 0 })
        .collect();
    let mut scratch = vec![0u32; map.len()];
    let (w_, h_) = (w as usize, h as usize);
    // Both only fail on size mismatches, impossible here (the buffers are
    // made from the frame); a failure would leave an all-black mask.
    if morph::largest_component(&mut map, w_, h_, &mut scratch).is_err()
        || morph::fill_holes(&mut map, w_, h_, &mut scratch).is_err()
    {
        map.fill(0);
    }
    GrayImage::from_raw(w, h, map).expect("mask matches frame size")
}
