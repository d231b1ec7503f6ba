//! `sonomask-core`: everything the host trainer and the cart must agree on bit
//! for bit — the int8 inference engine and its model blob format, sector
//! geometry and its fit, span masks, in-place frame masking, binary-map
//! helpers (components, hole filling, opening/closing), the mask metrics,
//! the frame → thumbnail preprocessing, the model slot and the HIL wire
//! protocol.
//! `no_std`, no allocation, no panics on input.
//!
//! No unsafe code, with one exception the hardware needs: the `SMLAD`
//! instructions in `dsp`, built only for Armv7E-M targets (stable
//! Rust has no intrinsic for it). That module allows `unsafe_code`; the
//! crate denies it everywhere else.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod geometry;
pub mod mask;

pub use geometry::{Fan, PreparedRows, Rect, Region, Regions, RowSpans, Span, intersect_spans};
pub use mask::{FrameLayout, MaskError, PixelFormat, mask_in_place, mask_rows_in_place};
pub mod fit;
pub mod metrics;
pub mod morph;

pub mod blob;
mod dsp;
pub mod engine;
pub mod quant;
#[cfg(any(test, feature = "selftest"))]
pub mod selftest;
pub mod slot;
pub mod thumbnail;
pub mod wire;

pub use blob::{BlobError, EncodeError, ModelDesc, SignaturePolicy, encode_into, sign_into};
pub use engine::{EngineError, GraphError, Model, Op, Shape, run};
pub use quant::{QuantParams, Requant};
pub use thumbnail::{ThumbnailError, frame_to_input, luma_601};

#[cfg(test)]
mod testutil;
