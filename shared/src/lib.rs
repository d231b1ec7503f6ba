//! `sonomask-core`: everything the host trainer and the cart must agree on bit
//! for bit — sector geometry and its fit, span masks, in-place frame masking,
//! binary-map helpers (components, hole filling, opening/closing) and the
//! mask metrics. `no_std`, no allocation, no panics on input.
#![no_std]
#![forbid(unsafe_code)]

pub mod geometry;
pub mod mask;

pub use geometry::{Fan, Rect, Region, Regions, RowSpans, Span};
pub use mask::{FrameLayout, MaskError, PixelFormat, mask_in_place};
pub mod fit;
pub mod metrics;
pub mod morph;
