//! `sonomask-firmware`: the cart's capture pipeline.
//!
//! Every captured frame is masked in place before it leaves the device, and
//! the policy is to **fail closed**: when anything is missing or wrong the
//! whole frame is blacked out, the fault is recorded and the fault line
//! raised. The crate is `no_std` and allocation-free; it builds for the
//! host too, where the HIL rig runs the very same [`Device`] as a simulated
//! cart and the same [`Pipeline`] as its reference.
//!
//! - [`pipeline`]: thumbnail → int8 network → fit → plausibility →
//!   consistency → temporal blend → spans → in-place fill;
//! - [`device`]: the wire protocol's device side over any embedded-io link;
//! - [`pubkey`]: the model-signing key an image requires, fixed at build
//!   time (`SONOMASK_MODEL_PUBKEY`);
//! - [`board`]: the QEMU `mps2-an500` board's memory map and the stage
//!   marks the instruction-counting plugin watches (the board image itself
//!   is `src/bin/sonomask-mps2/`).
#![no_std]
#![forbid(unsafe_code)]

mod fmt;

pub mod board;
pub mod device;
pub mod pipeline;
pub mod plausibility;
pub mod pubkey;
pub mod smoothing;

pub use device::{Device, Event};
pub use pipeline::{Config, FrameResult, NoProbe, Pipeline, Probe, Stage, Workspace, load_model};
pub use sonomask_core::wire::FaultCode as Fault;

/// Fingerprint of the sources this crate's pipeline was built from (its
/// own `src/` and sonomask-core's, FNV-1a over every file; see
/// `build.rs`). The device reports it in its hello, so the HIL rig can
/// refuse to compare an image with a host reference built from other
/// sources — a stale board image, not a bug, would show as mismatches.
pub const SOURCE_FINGERPRINT: u64 = include!(concat!(env!("OUT_DIR"), "/source_fingerprint.rs"));

use sonomask_core::fit::FitError;
use sonomask_core::{FrameLayout, Regions, mask_in_place};

/// A short, static name for a fault (for logs, which take only
/// primitives and `&str` on every backend).
pub fn fault_name(f: &Fault) -> &'static str {
    match f {
        Fault::NoModel => "no model",
        Fault::Model(_) => "model rejected",
        Fault::UnsupportedModel => "model unsupported",
        Fault::UnsupportedFrame => "frame unsupported",
        Fault::Incomplete => "frame incomplete",
        Fault::Inference(_) => "inference failed",
        Fault::Fit(_) => "no sector fitted",
        Fault::Implausible(_) => "implausible geometry",
        Fault::GeometryJump => "geometry jump",
    }
}

/// Masks one frame in place with known regions (no network), failing
/// closed: on any fault the whole frame is black when this returns —
/// [`Fault::Fit`] when no region is valid, [`Fault::UnsupportedFrame`]
/// when the buffer does not match its layout.
pub fn mask_frame(frame: &mut [u8], layout: FrameLayout, regions: &Regions) -> Result<(), Fault> {
    if !regions.is_valid() {
        sonomask_core::mask::black_out(frame);
        return Err(Fault::Fit(FitError::NoFit));
    }
    mask_in_place(frame, layout, regions).map_err(|_| Fault::UnsupportedFrame)
}

#[cfg(test)]
mod testing;

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
            Err(Fault::Fit(FitError::NoFit))
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
