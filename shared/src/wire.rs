//! The wire protocol between the HIL rig (or any host) and the cart:
//! postcard messages, a CRC-32 each, COBS-framed, over any byte stream
//! (the CMSDK UART on QEMU, a UART or USB-CDC on a cart, a pipe for the
//! simulated device).
//!
//! # Framing
//!
//! ```text
//! 0x00  cobs( postcard(message) ‖ crc32(postcard(message)) LE )  0x00
//! ```
//!
//! A zero byte ends a frame; a sender also puts one *before* every
//! message, so whatever garbage or half message precedes it is cut off and
//! dropped on its own, and the message itself arrives intact. The CRC
//! (CRC-32/ISO-HDLC, the blob's) rejects frames that COBS and postcard
//! would accept with wrong contents; a frame longer than the receive
//! buffer is dropped up to the next zero ([`Receiver`]). Together: after
//! any garbage, the first complete message is understood again.
//!
//! # Conversation
//!
//! The host says [`HostMsg::Hello`] and the device answers with
//! [`DeviceMsg::Hello`] (protocol version, frame-buffer size, model
//! state). A frame is [`HostMsg::Frame`] (its header), then its rows in
//! [`HostMsg::Rows`] chunks of at most [`MAX_CHUNK_BYTES`], in order, then
//! [`HostMsg::End`]. The device masks it once every row is in and answers
//! with the masked rows ([`Reply::Frame`]) or the kept spans per row
//! ([`Reply::Spans`]), then a [`DeviceMsg::Done`] with the outcome, the
//! fault line's state and its counters. A frame whose rows do not all
//! arrive in order is never processed: it goes back black with
//! [`FaultCode::Incomplete`] (fail closed: a frame is never emitted
//! unmasked). A frame larger than the device's buffer
//! ([`DeviceInfo::max_frame_bytes`]) is answered by its `Done` alone,
//! blacked, without rows or spans (the device never held it, and a header
//! must not make it send more than a buffer's worth of zeros).
//! `End` for a frame the device never saw gets a `Done` with
//! [`Outcome::Unknown`] and no rows; `End` for a frame already answered
//! is ignored, so a host that timed out may repeat it.
//!
//! # Compatibility
//!
//! postcard writes enum variants by index and struct fields in order:
//! variants and fields may only be appended, with a new
//! [`PROTOCOL_VERSION`].

use serde::{Deserialize, Serialize};

use crate::blob::{BlobError, crc32};
use crate::engine::EngineError;
use crate::fit::FitError;
use crate::geometry::RowSpans;
use crate::mask::{FrameLayout, PixelFormat};

/// Version of this protocol; the device refuses nothing, the host checks.
/// 2: the hello carries the device's source fingerprint.
pub const PROTOCOL_VERSION: u16 = 2;
/// Most pixel bytes one rows message carries (whole rows only).
pub const MAX_CHUNK_BYTES: usize = 4096;
/// Largest decoded message: a rows message's own fields (at most 16 bytes
/// in postcard's varints) and its chunk, plus the CRC, with room to spare.
pub const MAX_MESSAGE_BYTES: usize = MAX_CHUNK_BYTES + 64;
/// Largest encoded message on the wire, both delimiters included.
pub const MAX_ENCODED_BYTES: usize = cobs::max_encoding_length(MAX_MESSAGE_BYTES) + 2;
/// Bytes of the CRC after each message.
pub const CRC_BYTES: usize = 4;

/// What the device sends back for a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// The masked frame, row chunk by row chunk, then the report.
    Frame,
    /// The kept spans of every row, then the report.
    Spans,
    /// Only the report.
    Report,
}

/// Everything the device needs to know about a frame before its rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameHeader {
    /// The host's frame number; echoed in every answer about this frame.
    pub seq: u32,
    /// Pixels per row.
    pub width: u16,
    /// Rows.
    pub height: u16,
    /// How the rows' pixels are stored (rows are packed, no padding).
    pub format: PixelFormat,
    /// What the device should send back.
    pub reply: Reply,
    /// Forget the geometry of earlier frames (a new clip, probe or preset):
    /// temporal smoothing and the consistency check start afresh.
    pub restart: bool,
}

impl FrameHeader {
    /// The frame as a packed buffer.
    pub const fn layout(&self) -> FrameLayout {
        FrameLayout::packed(self.width, self.height, self.format)
    }

    /// Bytes of the whole frame, saturating: 65,535 × 65,535 RGB is
    /// 12.9 GB, more than the cart's 32-bit `usize` holds, and a header
    /// from the wire must neither panic a debug image nor hand a release
    /// one a wrapped size to compare with its buffer.
    pub const fn frame_bytes(&self) -> usize {
        self.layout()
            .row_bytes()
            .saturating_mul(self.height as usize)
    }

    /// Rows per rows message: as many as fit in [`MAX_CHUNK_BYTES`]; 0 when
    /// a single row does not (such a frame cannot be sent).
    pub const fn rows_per_chunk(&self) -> usize {
        match MAX_CHUNK_BYTES.checked_div(self.layout().row_bytes()) {
            Some(n) => n,
            None => 0,
        }
    }
}

/// Host → device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostMsg<'a> {
    /// Asks for [`DeviceMsg::Hello`].
    Hello {
        /// The host's [`PROTOCOL_VERSION`].
        version: u16,
    },
    /// Starts a frame (aborting, black, any frame still incomplete).
    Frame(FrameHeader),
    /// Whole rows `first_row..` of frame `seq`, packed.
    Rows {
        /// The frame they belong to ([`FrameHeader::seq`]).
        seq: u32,
        /// Index of the first row in `data`.
        first_row: u16,
        /// Whole packed rows, at most [`MAX_CHUNK_BYTES`].
        #[serde(borrow)]
        data: &'a [u8],
    },
    /// No more rows for frame `seq`: process it, or answer for it.
    End {
        /// The frame that is complete ([`FrameHeader::seq`]).
        seq: u32,
    },
    /// Asks for [`DeviceMsg::Status`].
    Status,
    /// Asks the device to answer [`DeviceMsg::Bye`] and stop (on QEMU: exit 0).
    Shutdown,
}

/// Why a frame went out black. Every variant is a fail-closed outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum FaultCode {
    /// No model in the slot.
    NoModel,
    /// The model blob was rejected (corrupt, bad or missing signature, ...).
    Model(BlobError),
    /// The model loads but does not fit this device (input or output not
    /// one channel, or larger than the device's buffers).
    UnsupportedModel,
    /// Pixel format or size the device does not handle, or a header that
    /// does not describe a frame.
    UnsupportedFrame,
    /// Rows were lost or came out of order.
    Incomplete,
    /// The inference engine refused (never expected with a loaded model).
    Inference(EngineError),
    /// No scan region could be fitted to the network's map.
    Fit(FitError),
    /// The fitted geometry fails a plausibility check.
    Implausible(Implausibility),
    /// The geometry jumped away from the previous frames' and has not yet
    /// been confirmed by a second frame.
    GeometryJump,
}

impl core::fmt::Display for FaultCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FaultCode::NoModel => f.write_str("no model in the slot"),
            FaultCode::Model(e) => write!(f, "model rejected: {e}"),
            FaultCode::UnsupportedModel => f.write_str("model does not fit this device"),
            FaultCode::UnsupportedFrame => f.write_str("unsupported frame format or size"),
            FaultCode::Incomplete => f.write_str("frame rows lost or out of order"),
            FaultCode::Inference(e) => write!(f, "inference failed: {e}"),
            FaultCode::Fit(e) => write!(f, "no sector: {e}"),
            FaultCode::Implausible(r) => write!(f, "implausible geometry: {r}"),
            FaultCode::GeometryJump => f.write_str("geometry jumped, awaiting confirmation"),
        }
    }
}

/// Which plausibility check a fitted geometry failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Implausibility {
    /// The kept area is too small or too large a part of the frame.
    Area,
    /// A fan opens too narrowly.
    Opening,
    /// A fan's apex is too far outside the frame, or below its upper part.
    Apex,
    /// A fan's radii are out of proportion to the frame.
    Radius,
    /// A rectangle is too thin or too small.
    Aspect,
}

impl core::fmt::Display for Implausibility {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Implausibility::Area => "kept area out of range",
            Implausibility::Opening => "fan opening too narrow",
            Implausibility::Apex => "fan apex out of place",
            Implausibility::Radius => "fan radii out of range",
            Implausibility::Aspect => "rectangle too thin or small",
        })
    }
}

/// How a frame ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Masked: only the scan regions kept.
    Masked,
    /// Blacked out entirely, for this reason.
    Blacked(FaultCode),
    /// `End` for a frame the device never saw (its header was lost): no
    /// rows are sent back.
    Unknown,
}

/// Running totals since boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Frame headers received.
    pub frames: u32,
    /// Frames masked.
    pub masked: u32,
    /// Frames blacked out (any fault, lost rows included).
    pub blacked: u32,
    /// `End`s for frames never seen.
    pub unknown: u32,
    /// Frames dropped by COBS, CRC or postcard (garbage, damage).
    pub bad_messages: u32,
    /// Frames longer than the receive buffer, dropped.
    pub overflows: u32,
    /// Well-formed messages out of place (rows of no current frame, ...).
    pub unexpected: u32,
}

/// The model as the device loaded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelStatus {
    /// Loaded; the network's map is `map_w × map_h`.
    Loaded {
        /// Width of the network's output map, in map pixels.
        map_w: u16,
        /// Height of the network's output map, in map pixels.
        map_h: u16,
        /// The blob's training provenance hash.
        provenance: [u8; 32],
        /// Whether its signature was verified.
        verified: bool,
    },
    /// Missing, rejected or unusable: every frame goes out black with this.
    Failed(FaultCode),
}

/// Answer to [`HostMsg::Hello`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// [`PROTOCOL_VERSION`] of the device.
    pub version: u16,
    /// Largest frame (bytes) the device can hold.
    pub max_frame_bytes: u32,
    /// Most pixel bytes per rows message it accepts.
    pub max_chunk_bytes: u32,
    /// Whether a model is loaded, and if not why every frame will be black.
    pub model: ModelStatus,
    /// Fingerprint of the sources the device's pipeline was built from
    /// (`sonomask_firmware::SOURCE_FINGERPRINT`); 0 when unknown.
    pub build: u64,
}

/// The device's account of one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameReport {
    /// The frame it reports on ([`FrameHeader::seq`]).
    pub seq: u32,
    /// Masked, blacked out (and why), or never seen.
    pub outcome: Outcome,
    /// The fault line after this frame (`true` = raised).
    pub fault_line: bool,
    /// Pixels kept (0 when blacked out).
    pub kept_pixels: u32,
    /// Pipeline runs since boot, this frame's included; 0 when the
    /// pipeline did not run for it (lost rows, unknown frame). The HIL rig
    /// matches QEMU's per-frame instruction counts to frames with it.
    pub run: u32,
    /// The device's totals after this frame.
    pub counters: Counters,
}

/// Device → host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceMsg<'a> {
    /// The answer to [`HostMsg::Hello`]: version, limits, model, build.
    Hello(DeviceInfo),
    /// Masked rows `first_row..` of frame `seq`.
    Rows {
        /// The frame they belong to ([`FrameHeader::seq`]).
        seq: u32,
        /// Index of the first row in `data`.
        first_row: u16,
        /// Whole packed rows, at most [`MAX_CHUNK_BYTES`].
        #[serde(borrow)]
        data: &'a [u8],
    },
    /// The kept spans of row `row` of frame `seq`.
    Spans {
        /// The frame they belong to ([`FrameHeader::seq`]).
        seq: u32,
        /// The row, from the top.
        row: u16,
        /// Its kept columns, sorted and non-overlapping.
        spans: RowSpans,
    },
    /// The end of the answer for a frame.
    Done(FrameReport),
    /// The answer to [`HostMsg::Status`]: totals since boot.
    Status(Counters),
    /// The answer to [`HostMsg::Shutdown`].
    Bye(Counters),
}

/// Why a message could not be encoded or decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WireError {
    /// A buffer is too small for the message.
    BufferTooSmall,
    /// postcard failed to serialise (never for these types).
    Serialize,
    /// Not valid COBS.
    Cobs,
    /// Shorter than a CRC, or the CRC does not match.
    Crc,
    /// The CRC matches but postcard does not decode the message exactly.
    Malformed,
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            WireError::BufferTooSmall => "buffer too small for the message",
            WireError::Serialize => "message does not serialise",
            WireError::Cobs => "frame is not valid COBS",
            WireError::Crc => "message CRC mismatch",
            WireError::Malformed => "message does not decode",
        })
    }
}

impl core::error::Error for WireError {}

/// Encodes `msg` into `out` as `0x00 cobs(postcard ‖ crc) 0x00` and returns
/// the bytes written; `scratch` holds the plain message on the way
/// ([`MAX_MESSAGE_BYTES`] always suffices, `out` needs
/// [`MAX_ENCODED_BYTES`]).
pub fn encode<T: Serialize>(
    msg: &T,
    scratch: &mut [u8],
    out: &mut [u8],
) -> Result<usize, WireError> {
    let n = postcard::to_slice(msg, scratch)
        .map_err(|e| match e {
            postcard::Error::SerializeBufferFull => WireError::BufferTooSmall,
            _ => WireError::Serialize,
        })?
        .len();
    let crc = crc32(&scratch[..n]).to_le_bytes();
    scratch
        .get_mut(n..n + CRC_BYTES)
        .ok_or(WireError::BufferTooSmall)?
        .copy_from_slice(&crc);
    let body = out.get_mut(1..).ok_or(WireError::BufferTooSmall)?;
    let m =
        cobs::try_encode(&scratch[..n + CRC_BYTES], body).map_err(|_| WireError::BufferTooSmall)?;
    *out.get_mut(m + 1).ok_or(WireError::BufferTooSmall)? = 0;
    out[0] = 0;
    Ok(m + 2)
}

/// Decodes one frame (the bytes between two zeros, as [`Receiver`] gives
/// them; COBS-decoded in place) into a message that borrows from it.
pub fn decode<'a, T: Deserialize<'a>>(frame: &'a mut [u8]) -> Result<T, WireError> {
    let n = cobs::decode_in_place(frame).map_err(|_| WireError::Cobs)?;
    let body = frame.get(..n).ok_or(WireError::Cobs)?;
    let split = n.checked_sub(CRC_BYTES).ok_or(WireError::Crc)?;
    let (msg, crc) = body.split_at(split);
    if crc32(msg).to_le_bytes() != crc {
        return Err(WireError::Crc);
    }
    match postcard::take_from_bytes::<T>(msg) {
        Ok((m, [])) => Ok(m),
        _ => Err(WireError::Malformed),
    }
}

/// What [`Receiver::push`] completed.
#[derive(Debug, PartialEq, Eq)]
pub enum Received<'r> {
    /// A frame (still COBS-encoded) for [`decode`].
    Frame(&'r mut [u8]),
    /// A frame longer than the buffer was dropped.
    Overflow,
}

/// Collects bytes into frames between zero bytes, in a fixed buffer of `N`
/// bytes. Never fails: a frame that outgrows the buffer is dropped up to
/// the next zero and reported as [`Received::Overflow`]; empty frames
/// (two zeros in a row) are skipped.
#[derive(Clone, Debug)]
pub struct Receiver<const N: usize> {
    buf: [u8; N],
    len: usize,
    overflow: bool,
    /// The last push handed out a frame: start afresh on the next.
    handed_out: bool,
}

impl<const N: usize> Default for Receiver<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Receiver<N> {
    /// An empty receiver, waiting for the first frame's bytes.
    pub const fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
            overflow: false,
            handed_out: false,
        }
    }

    /// Takes bytes from `input` up to the end of the next frame and returns
    /// that frame (if one completed) and the bytes not yet taken; call
    /// again with the rest.
    pub fn push<'r, 'i>(&'r mut self, input: &'i [u8]) -> (Option<Received<'r>>, &'i [u8]) {
        if self.handed_out {
            self.len = 0;
            self.handed_out = false;
        }
        for (i, &b) in input.iter().enumerate() {
            if b != 0 {
                if self.len < N {
                    self.buf[self.len] = b;
                    self.len += 1;
                } else {
                    self.overflow = true;
                }
                continue;
            }
            let rest = &input[i + 1..];
            if self.overflow {
                self.overflow = false;
                self.len = 0;
                return (Some(Received::Overflow), rest);
            }
            if self.len > 0 {
                self.handed_out = true;
                return (Some(Received::Frame(&mut self.buf[..self.len])), rest);
            }
        }
        (None, &[])
    }
}

#[cfg(test)]
mod tests;
