//! `sonomask-firmware`: the cart's capture pipeline.
//!
//! Every captured frame is masked in place before it leaves the device, and
//! the policy is to **fail closed**: when the scan regions are missing or
//! invalid the whole frame is blacked out. This crate currently holds the
//! masking stage of that pipeline (regions → spans → fill); inference, the fan
//! fit and the QEMU board binary come with the firmware issue.
#![no_std]
#![forbid(unsafe_code)]

use sonomask_core::{FrameLayout, MaskError, Regions, mask_in_place};

/// Why a frame went out fully black.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// No valid scan region was available for this frame.
    NoRegions,
    /// The frame buffer did not match its declared layout.
    BadFrame,
}

impl core::fmt::Display for Fault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Fault::NoRegions => f.write_str("no valid scan region"),
            Fault::BadFrame => f.write_str("frame buffer does not match its layout"),
        }
    }
}

impl core::error::Error for Fault {}

/// Masks one frame in place with the given regions, failing closed: on any
/// fault the whole frame is black when this returns.
pub fn mask_frame(frame: &mut [u8], layout: FrameLayout, regions: &Regions) -> Result<(), Fault> {
    if !regions.is_valid() {
        frame.fill(0);
        return Err(Fault::NoRegions);
    }
    mask_in_place(frame, layout, regions).map_err(|MaskError::BadFrameSize| Fault::BadFrame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonomask_core::{PixelFormat, Rect, Region};

    #[test]
    fn fails_closed_without_regions() {
        let mut frame = [200u8; 64];
        let layout = FrameLayout::packed(8, 8, PixelFormat::Gray8);
        assert_eq!(
            mask_frame(&mut frame, layout, &Regions::new()),
            Err(Fault::NoRegions)
        );
        assert!(frame.iter().all(|&b| b == 0));
    }

    #[test]
    fn keeps_only_the_region() {
        let mut frame = [200u8; 64];
        let layout = FrameLayout::packed(8, 8, PixelFormat::Gray8);
        let regions = Regions::one(Region::Rect(Rect::new(2.0, 2.0, 6.0, 6.0)));
        mask_frame(&mut frame, layout, &regions).unwrap();
        let kept = frame.iter().filter(|&&b| b == 200).count();
        assert_eq!(kept, 16);
    }
}
