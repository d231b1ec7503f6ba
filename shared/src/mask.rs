//! In-place masking of frames from per-row spans: every pixel outside the
//! kept spans is set to black. A per-row fill, no per-pixel branching.

use crate::geometry::{Regions, RowSpans};

/// Pixel layout of a frame buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PixelFormat {
    /// One byte per pixel (luma).
    Gray8,
    /// Three bytes per pixel, R G B.
    Rgb888,
}

impl PixelFormat {
    /// Bytes one pixel takes in the buffer (1 for gray, 3 for RGB).
    pub const fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Gray8 => 1,
            PixelFormat::Rgb888 => 3,
        }
    }
}

/// Why a frame could not be masked as asked (it is then blacked out entirely).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MaskError {
    /// The buffer is shorter than `stride * height` or the stride is shorter
    /// than a row.
    BadFrameSize,
}

impl core::fmt::Display for MaskError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MaskError::BadFrameSize => {
                f.write_str("frame buffer does not match width, height and stride")
            }
        }
    }
}

impl core::error::Error for MaskError {}

/// A frame buffer described by its geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameLayout {
    /// Pixels per row.
    pub width: u16,
    /// Rows.
    pub height: u16,
    /// Bytes from one row to the next (≥ `width * bytes_per_pixel`).
    pub stride: usize,
    /// How a pixel is stored.
    pub format: PixelFormat,
}

impl FrameLayout {
    /// A tightly packed frame.
    pub const fn packed(width: u16, height: u16, format: PixelFormat) -> Self {
        Self {
            width,
            height,
            stride: width as usize * format.bytes_per_pixel(),
            format,
        }
    }

    /// Bytes of one row of pixels (without stride padding).
    pub const fn row_bytes(&self) -> usize {
        self.width as usize * self.format.bytes_per_pixel()
    }

    /// Whether a buffer of `len` bytes holds this layout (stride at least
    /// a row, `stride * height` bytes present, no overflow).
    pub fn check(&self, len: usize) -> Result<(), MaskError> {
        let row = self.width as usize * self.format.bytes_per_pixel();
        let need = self
            .stride
            .checked_mul(self.height as usize)
            .ok_or(MaskError::BadFrameSize)?;
        if self.stride < row || len < need {
            return Err(MaskError::BadFrameSize);
        }
        Ok(())
    }
}

/// Blacks out everything outside `regions` in place. On a layout error the
/// whole buffer is blacked out (fail closed) and the error returned.
pub fn mask_in_place(
    frame: &mut [u8],
    layout: FrameLayout,
    regions: &Regions,
) -> Result<(), MaskError> {
    let rows = regions.prepare_rows();
    mask_rows_in_place(frame, layout, |y| rows.row_spans(y, layout.width)).map(|_| ())
}

/// Blacks out everything outside the spans `row_spans(y)` gives for each
/// row `y` and returns the number of pixels kept. The spans must be
/// sorted and non-overlapping (as [`Regions::row_spans`] and
/// [`crate::geometry::intersect_spans`] give them); parts past the row
/// are ignored. On a layout error the whole buffer is blacked out (fail
/// closed) and the error returned.
pub fn mask_rows_in_place(
    frame: &mut [u8],
    layout: FrameLayout,
    mut row_spans: impl FnMut(u32) -> RowSpans,
) -> Result<u64, MaskError> {
    if let Err(e) = layout.check(frame.len()) {
        black_out(frame);
        return Err(e);
    }
    let bpp = layout.format.bytes_per_pixel();
    let width = layout.width as usize;
    let mut kept = 0u64;
    for y in 0..layout.height as usize {
        let row = &mut frame[y * layout.stride..y * layout.stride + width * bpp];
        let mut x = 0usize;
        for s in row_spans(y as u32) {
            let (start, end) = (
                (s.start as usize).max(x).min(width),
                (s.end as usize).min(width),
            );
            if end <= start {
                continue;
            }
            crate::dsp::zero_bytes(&mut row[x * bpp..start * bpp]);
            kept += (end - start) as u64;
            x = end;
        }
        crate::dsp::zero_bytes(&mut row[x * bpp..]);
    }
    Ok(kept)
}

/// Blacks out the whole frame (the fail-closed output).
pub fn black_out(frame: &mut [u8]) {
    crate::dsp::zero_bytes(frame);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{Fan, Rect, Region};

    #[test]
    fn gray_and_rgb_agree_with_pixel_test() {
        let f = Fan {
            apex_x: 50.0,
            apex_y: 5.0,
            angle_left: -0.7,
            angle_right: 0.7,
            r_inner: 10.0,
            r_outer: 70.0,
            flat_top: None,
            clip: Some(Rect::new(0.0, 0.0, 100.0, 80.0)),
        };
        let regions = Regions::one(Region::Fan(f));
        let (w, h) = (100u16, 80u16);
        let mut gray = [7u8; 100 * 80];
        mask_in_place(
            &mut gray,
            FrameLayout::packed(w, h, PixelFormat::Gray8),
            &regions,
        )
        .unwrap();
        let mut rgb = [9u8; 100 * 80 * 3];
        mask_in_place(
            &mut rgb,
            FrameLayout::packed(w, h, PixelFormat::Rgb888),
            &regions,
        )
        .unwrap();
        for y in 0..h as u32 {
            for x in 0..w as u32 {
                let keep = regions.contains_pixel(x, y);
                let i = (y * w as u32 + x) as usize;
                assert_eq!(gray[i] == 7, keep, "gray ({x},{y})");
                assert_eq!(rgb[3 * i..3 * i + 3] == [9, 9, 9], keep, "rgb ({x},{y})");
                if !keep {
                    assert_eq!(rgb[3 * i..3 * i + 3], [0, 0, 0]);
                }
            }
        }
    }

    #[test]
    fn stride_padding_is_left_alone_and_bad_sizes_fail_closed() {
        let regions = Regions::one(Region::Rect(Rect::new(1.0, 0.0, 3.0, 2.0)));
        let layout = FrameLayout {
            width: 4,
            height: 2,
            stride: 6,
            format: PixelFormat::Gray8,
        };
        let mut buf = [1u8; 12];
        mask_in_place(&mut buf, layout, &regions).unwrap();
        assert_eq!(buf, [0, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1]);

        let mut short = [5u8; 11];
        assert_eq!(
            mask_in_place(&mut short, layout, &regions),
            Err(MaskError::BadFrameSize)
        );
        assert!(short.iter().all(|&b| b == 0));
    }
}
