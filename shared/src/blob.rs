//! The model blob (`.snmk`): what the host trainer writes and the cart
//! loads from flash (ARCHITECTURE.md, key decision 3).
//!
//! # Layout
//!
//! ```text
//! offset          bytes  content
//! 0               P      payload: postcard(Header), see below
//! P               64     ed25519 signature over bytes [0, P)   (only if flags bit 0)
//! n - 9           1      flags: bit 0 = signed, bits 1..7 must be 0
//! n - 8           4      CRC-32 (CRC_32_ISO_HDLC, as zlib/PNG) over bytes [0, n - 8), LE
//! n - 4           4      end marker b"SNMK"
//! ```
//!
//! The header, in postcard's encoding (varint integers, length-prefixed
//! strings and byte strings, no padding), field by field:
//! `magic: [u8; 4] = b"SNMK"` (so the file starts with it),
//! `format_major: u16`, `format_minor: u16`, `arch: &str` (at most
//! [`MAX_ARCH_LEN`] bytes), `input_shape`, `output_shape: Shape`,
//! `input_quant`, `output_quant: QuantParams`, `arena_bytes: u32`,
//! `provenance: [u8; 32]`, `ops: [Op]`. Each [`Op::Conv2d`]'s weights, bias,
//! multipliers and shifts are byte strings inside the payload; decoding
//! *borrows* them (`&'a [u8]`), so a model in flash is never copied, and the
//! kernels read `i32`s with `from_le_bytes` (no alignment, no unsafe).
//!
//! # Why this trailer
//!
//! - The CRC comes last and covers everything before it, signature and
//!   flags included: any single-bit flip anywhere — payload, signature,
//!   flags, CRC — is caught by the CRC whatever the signature policy (the
//!   magic and end marker are checked outright), so a corrupt flash page
//!   reads as [`BlobError::CrcMismatch`], not as a forged signature.
//! - The signature covers the payload only: the trailer is derived data, and
//!   the payload is the model. Stripping a signature (clear the flag, fix
//!   the CRC) yields an unsigned blob, which [`SignaturePolicy::Required`]
//!   refuses.
//! - The end marker turns a truncated file into [`BlobError::Truncated`]
//!   rather than a confusing CRC error.
//! - Magic and version are read first, from the front: a future major
//!   version may change everything after them, trailer included.
//!
//! Versions: a reader accepts any minor of its major. Minors may only add
//! things (a new [`Op`] variant at the end); an older reader then fails on a
//! blob that uses the addition with [`BlobError::Malformed`].

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::engine::{GraphError, MAX_OPS, Model, ModelInfo, Op, Shape, SignatureStatus};
use crate::quant::QuantParams;

/// First four bytes of every blob.
pub const MAGIC: [u8; 4] = *b"SNMK";
/// Last four bytes of every blob.
pub const END_MARKER: [u8; 4] = *b"SNMK";
/// Format major version this crate writes and reads.
pub const FORMAT_MAJOR: u16 = 1;
/// Format minor version this crate writes.
pub const FORMAT_MINOR: u16 = 0;
/// Longest architecture name, in bytes.
pub const MAX_ARCH_LEN: usize = 32;
/// Bytes of an ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// `flags` bit: a signature precedes the flags byte.
pub const FLAG_SIGNED: u8 = 1;
/// Bytes after the signature: flags, CRC, end marker.
pub const TRAILER_LEN: usize = 1 + 4 + 4;

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// CRC-32 (ISO-HDLC) of `bytes`, as the trailer stores it.
pub fn crc32(bytes: &[u8]) -> u32 {
    CRC.checksum(bytes)
}

/// What to demand of a blob's signature.
#[derive(Clone, Copy, Debug)]
pub enum SignaturePolicy<'k> {
    /// Accept signed and unsigned blobs without checking (the CRC still
    /// guards against corruption). Development and host tools.
    Optional,
    /// Unsigned blobs are accepted; a signed one must verify with this key.
    VerifyIfSigned(&'k VerifyingKey),
    /// The blob must be signed, and the signature must verify with this key.
    /// What a cart in the field is configured with.
    Required(&'k VerifyingKey),
}

/// Why a blob could not be loaded. The firmware fails closed on any of them.
/// Serialisable so the cart can report it over the wire protocol
/// ([`crate::wire`]); variants may only be appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BlobError {
    /// The first four bytes are not `b"SNMK"`.
    BadMagic,
    /// The format's major version is not [`FORMAT_MAJOR`].
    UnsupportedVersion,
    /// The blob ends early: too short for its header and trailer, or the
    /// end marker is missing.
    Truncated,
    /// The stored CRC-32 does not match the bytes (corruption).
    CrcMismatch,
    /// The policy requires a signature and the blob has none.
    SignatureMissing,
    /// The signature does not verify with the policy's key.
    SignatureInvalid,
    /// The header does not decode (postcard), has bytes left over, an
    /// unknown flag, more than [`MAX_OPS`] ops or an over-long arch name.
    Malformed,
    /// Shapes do not fit together, or the declared output shape is not the
    /// one the ops compute.
    ShapeMismatch,
    /// The declared output quantisation is not the last op's.
    QuantMismatch,
    /// The declared arena is smaller than this engine's plan needs.
    ArenaMismatch,
    /// The op list is invalid for another reason (see the inner error).
    InvalidGraph(GraphError),
}

impl core::fmt::Display for BlobError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BlobError::BadMagic => f.write_str("not a model blob (bad magic)"),
            BlobError::UnsupportedVersion => f.write_str("unsupported model format version"),
            BlobError::Truncated => f.write_str("model blob is truncated"),
            BlobError::CrcMismatch => f.write_str("model blob CRC mismatch (corrupt)"),
            BlobError::SignatureMissing => {
                f.write_str("model blob is not signed, and a signature is required")
            }
            BlobError::SignatureInvalid => f.write_str("model blob signature does not verify"),
            BlobError::Malformed => f.write_str("model blob header is malformed"),
            BlobError::ShapeMismatch => f.write_str("model tensor shapes do not match"),
            BlobError::QuantMismatch => f.write_str("model output quantisation does not match"),
            BlobError::ArenaMismatch => {
                f.write_str("declared arena is smaller than the engine's plan")
            }
            BlobError::InvalidGraph(e) => write!(f, "invalid model graph: {e}"),
        }
    }
}

impl core::error::Error for BlobError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            BlobError::InvalidGraph(e) => Some(e),
            _ => None,
        }
    }
}

impl From<GraphError> for BlobError {
    fn from(e: GraphError) -> Self {
        match e {
            GraphError::ShapeMismatch => BlobError::ShapeMismatch,
            e => BlobError::InvalidGraph(e),
        }
    }
}

/// Why a blob could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EncodeError {
    /// The output buffer is too small (see [`encoded_len`]).
    BufferTooSmall,
    /// The architecture name is longer than [`MAX_ARCH_LEN`] bytes.
    BadArch,
    /// The ops do not form a model the engine can run.
    InvalidGraph(GraphError),
    /// [`ModelDesc::arena_bytes`] is below what the plan needs.
    ArenaTooSmall,
    /// postcard failed for a reason other than space.
    Serialize,
    /// The written blob does not load back: a bug in this crate.
    SelfCheck(BlobError),
    /// The blob handed to [`resign_into`] does not load.
    Source(BlobError),
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EncodeError::BufferTooSmall => f.write_str("output buffer too small for the blob"),
            EncodeError::BadArch => f.write_str("architecture name too long"),
            EncodeError::InvalidGraph(e) => write!(f, "invalid model graph: {e}"),
            EncodeError::ArenaTooSmall => f.write_str("declared arena below the planned size"),
            EncodeError::Serialize => f.write_str("postcard serialisation failed"),
            EncodeError::SelfCheck(e) => write!(f, "written blob does not load back: {e}"),
            EncodeError::Source(e) => write!(f, "blob to sign does not load: {e}"),
        }
    }
}

impl core::error::Error for EncodeError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            EncodeError::InvalidGraph(e) => Some(e),
            EncodeError::SelfCheck(e) | EncodeError::Source(e) => Some(e),
            _ => None,
        }
    }
}

/// Everything a blob says, as the host quantiser hands it over. Output
/// shape and quantisation are computed from the ops, never restated.
#[derive(Clone, Copy, Debug)]
pub struct ModelDesc<'a> {
    /// Short architecture name (at most [`MAX_ARCH_LEN`] bytes).
    pub arch: &'a str,
    /// Shape of the network's input (the thumbnail: one channel of luma).
    pub input_shape: Shape,
    /// Grid the input luma (`real = luma / 255`) is quantised onto.
    pub input_quant: QuantParams,
    /// Hash of the training configuration that made the weights.
    pub provenance: [u8; 32],
    /// Arena to declare: `None` for the plan's figure, or a larger budget
    /// the firmware should reserve (room for a later, hungrier planner).
    pub arena_bytes: Option<u32>,
    /// The graph, in execution order (op `i` writes tensor `i + 1`).
    pub ops: &'a [Op<'a>],
}

#[derive(Serialize)]
pub(crate) struct HeaderOut<'d, 'a> {
    pub magic: [u8; 4],
    pub format_major: u16,
    pub format_minor: u16,
    pub arch: &'d str,
    pub input_shape: Shape,
    pub output_shape: Shape,
    pub input_quant: QuantParams,
    pub output_quant: QuantParams,
    pub arena_bytes: u32,
    pub provenance: [u8; 32],
    pub ops: &'d [Op<'a>],
}

/// Same fields as [`HeaderOut`], decoding side (ops into a bounded vector).
#[derive(Deserialize)]
struct HeaderIn<'a> {
    magic: [u8; 4],
    format_major: u16,
    format_minor: u16,
    arch: &'a str,
    input_shape: Shape,
    output_shape: Shape,
    input_quant: QuantParams,
    output_quant: QuantParams,
    arena_bytes: u32,
    provenance: [u8; 32],
    #[serde(borrow)]
    ops: heapless::Vec<Op<'a>, MAX_OPS>,
}

/// The header's first three fields, read before anything else is trusted.
#[derive(Deserialize)]
struct Preamble {
    magic: [u8; 4],
    format_major: u16,
    #[allow(dead_code)]
    format_minor: u16,
}

fn header<'d, 'a>(desc: &ModelDesc<'a>, model: &Model<'a>, arena: u32) -> HeaderOut<'d, 'a>
where
    'a: 'd,
{
    HeaderOut {
        magic: MAGIC,
        format_major: FORMAT_MAJOR,
        format_minor: FORMAT_MINOR,
        arch: desc.arch,
        input_shape: desc.input_shape,
        output_shape: model.output_shape(),
        input_quant: desc.input_quant,
        output_quant: model.output_quant(),
        arena_bytes: arena,
        provenance: desc.provenance,
        ops: desc.ops,
    }
}

/// Validates and plans `desc` (the same checks a reader makes) and returns
/// the model and the arena to declare.
fn prepare<'a>(desc: &ModelDesc<'a>) -> Result<(Model<'a>, u32), EncodeError> {
    if desc.arch.len() > MAX_ARCH_LEN {
        return Err(EncodeError::BadArch);
    }
    let model = Model::new(desc.input_shape, desc.input_quant, desc.ops)
        .map_err(EncodeError::InvalidGraph)?;
    let planned = model.plan().arena_bytes();
    let arena = match desc.arena_bytes {
        None => planned,
        Some(n) if n >= planned => n,
        Some(_) => return Err(EncodeError::ArenaTooSmall),
    };
    Ok((model, arena))
}

/// Bytes [`encode_into`] (`signed = false`) or [`sign_into`] (`true`) will
/// write for `desc`.
pub fn encoded_len(desc: &ModelDesc<'_>, signed: bool) -> Result<usize, EncodeError> {
    let (model, arena) = prepare(desc)?;
    let payload = postcard::experimental::serialized_size(&header(desc, &model, arena))
        .map_err(|_| EncodeError::Serialize)?;
    Ok(payload + if signed { SIGNATURE_LEN } else { 0 } + TRAILER_LEN)
}

/// Writes `desc` as an unsigned blob into `buf`; returns its length. The
/// graph is validated and planned first, and the written bytes are loaded
/// back before returning, so whatever this writes, [`Model::from_bytes`]
/// accepts (with [`SignaturePolicy::Optional`]).
pub fn encode_into(desc: &ModelDesc<'_>, buf: &mut [u8]) -> Result<usize, EncodeError> {
    let (model, arena) = prepare(desc)?;
    let n = write_raw(&header(desc, &model, arena), None, buf)?;
    let written = buf.get(..n).ok_or(EncodeError::BufferTooSmall)?;
    Model::from_bytes(written, SignaturePolicy::Optional).map_err(EncodeError::SelfCheck)?;
    Ok(n)
}

/// [`encode_into`], signed with `key` (ed25519 over the payload); the
/// result is checked to load under [`SignaturePolicy::Required`] with the
/// matching verifying key.
pub fn sign_into(
    desc: &ModelDesc<'_>,
    key: &SigningKey,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    let (model, arena) = prepare(desc)?;
    let n = write_raw(&header(desc, &model, arena), Some(key), buf)?;
    let written = buf.get(..n).ok_or(EncodeError::BufferTooSmall)?;
    let vk = key.verifying_key();
    Model::from_bytes(written, SignaturePolicy::Required(&vk)).map_err(EncodeError::SelfCheck)?;
    Ok(n)
}

/// Signs an existing blob with `key` without decoding and re-encoding its
/// model: the payload is copied byte for byte (so weights, provenance and
/// every header field stay exactly as the quantiser wrote them), then the
/// new signature, flags and CRC follow. A signature already there is
/// replaced. `blob` must load (CRC, graph, arena) under
/// [`SignaturePolicy::Optional`]; the result is checked to load under
/// [`SignaturePolicy::Required`] with `key`'s verifying key. Returns the
/// length written, `payload + SIGNATURE_LEN + TRAILER_LEN`.
pub fn resign_into(blob: &[u8], key: &SigningKey, buf: &mut [u8]) -> Result<usize, EncodeError> {
    Model::from_bytes(blob, SignaturePolicy::Optional).map_err(EncodeError::Source)?;
    // It loaded, so the trailer is well formed and the flags are valid.
    let n = blob.len();
    let signed = blob[n - TRAILER_LEN] & FLAG_SIGNED != 0;
    let payload = n - TRAILER_LEN - if signed { SIGNATURE_LEN } else { 0 };
    let total = payload + SIGNATURE_LEN + TRAILER_LEN;
    let out = buf.get_mut(..total).ok_or(EncodeError::BufferTooSmall)?;
    out[..payload].copy_from_slice(&blob[..payload]);
    let sig: Signature = key.sign(&out[..payload]);
    out[payload..payload + SIGNATURE_LEN].copy_from_slice(&sig.to_bytes());
    out[payload + SIGNATURE_LEN] = FLAG_SIGNED;
    let crc_end = payload + SIGNATURE_LEN + 1;
    let crc = crc32(&out[..crc_end]);
    out[crc_end..crc_end + 4].copy_from_slice(&crc.to_le_bytes());
    out[crc_end + 4..].copy_from_slice(&END_MARKER);
    let vk = key.verifying_key();
    Model::from_bytes(out, SignaturePolicy::Required(&vk)).map_err(EncodeError::SelfCheck)?;
    Ok(total)
}

/// Serialises any header and appends signature and trailer; no checks.
/// Tests use it to write blobs a checked encoder would refuse.
pub(crate) fn write_raw(
    header: &HeaderOut<'_, '_>,
    key: Option<&SigningKey>,
    buf: &mut [u8],
) -> Result<usize, EncodeError> {
    let payload = postcard::to_slice(header, buf)
        .map_err(|e| match e {
            postcard::Error::SerializeBufferFull => EncodeError::BufferTooSmall,
            _ => EncodeError::Serialize,
        })?
        .len();
    let mut at = payload;
    let mut put = |buf: &mut [u8], bytes: &[u8]| -> Result<(), EncodeError> {
        let dst = buf
            .get_mut(at..at + bytes.len())
            .ok_or(EncodeError::BufferTooSmall)?;
        dst.copy_from_slice(bytes);
        at += bytes.len();
        Ok(())
    };
    let mut flags = 0u8;
    if let Some(key) = key {
        let sig: Signature = key.sign(&buf[..payload]);
        put(buf, &sig.to_bytes())?;
        flags |= FLAG_SIGNED;
    }
    put(buf, &[flags])?;
    let crc_end = payload + if key.is_some() { SIGNATURE_LEN } else { 0 } + 1;
    let crc = crc32(&buf[..crc_end]);
    put(buf, &crc.to_le_bytes())?;
    put(buf, &END_MARKER)?;
    Ok(crc_end + 8)
}

fn de_error(e: postcard::Error) -> BlobError {
    match e {
        postcard::Error::DeserializeUnexpectedEnd => BlobError::Truncated,
        _ => BlobError::Malformed,
    }
}

impl<'a> Model<'a> {
    /// Loads a blob: checks magic, version, end marker, CRC and signature
    /// (as `policy` says), decodes the header, validates the graph, plans
    /// the arena and compares it with the declared one. Parameters stay
    /// borrowed from `bytes`. Never panics; every defect is a [`BlobError`],
    /// checked in that order (so corruption reads as a CRC error before any
    /// field of the payload is trusted).
    pub fn from_bytes(bytes: &'a [u8], policy: SignaturePolicy<'_>) -> Result<Self, BlobError> {
        let Some(head) = bytes.get(..MAGIC.len()) else {
            return Err(if MAGIC.starts_with(bytes) {
                BlobError::Truncated
            } else {
                BlobError::BadMagic
            });
        };
        if head != MAGIC {
            return Err(BlobError::BadMagic);
        }
        let (pre, _) = postcard::take_from_bytes::<Preamble>(bytes).map_err(de_error)?;
        if pre.magic != MAGIC {
            return Err(BlobError::BadMagic);
        }
        if pre.format_major != FORMAT_MAJOR {
            return Err(BlobError::UnsupportedVersion);
        }

        let n = bytes.len();
        if n < MAGIC.len() + TRAILER_LEN || bytes[n - 4..] != END_MARKER {
            return Err(BlobError::Truncated);
        }
        let stored = u32::from_le_bytes([bytes[n - 8], bytes[n - 7], bytes[n - 6], bytes[n - 5]]);
        if crc32(&bytes[..n - 8]) != stored {
            return Err(BlobError::CrcMismatch);
        }
        let flags = bytes[n - TRAILER_LEN];
        if flags & !FLAG_SIGNED != 0 {
            return Err(BlobError::Malformed);
        }
        let signed = flags & FLAG_SIGNED != 0;
        let sig_len = if signed { SIGNATURE_LEN } else { 0 };
        let payload_end = (n - TRAILER_LEN)
            .checked_sub(sig_len)
            .ok_or(BlobError::Truncated)?;
        let payload = &bytes[..payload_end];
        let signature = &bytes[payload_end..n - TRAILER_LEN];

        let verify = |key: &VerifyingKey| -> Result<SignatureStatus, BlobError> {
            let sig = Signature::from_slice(signature).map_err(|_| BlobError::SignatureInvalid)?;
            key.verify_strict(payload, &sig)
                .map_err(|_| BlobError::SignatureInvalid)?;
            Ok(SignatureStatus::Verified)
        };
        let signature = match (policy, signed) {
            (SignaturePolicy::Required(_), false) => return Err(BlobError::SignatureMissing),
            (SignaturePolicy::Required(key), true) => verify(key)?,
            (SignaturePolicy::VerifyIfSigned(key), true) => verify(key)?,
            (_, false) => SignatureStatus::Unsigned,
            (SignaturePolicy::Optional, true) => SignatureStatus::NotVerified,
        };

        // The payload passed the CRC: a decoding failure from here on is a
        // malformed writer, not a short read.
        let (h, rest) =
            postcard::take_from_bytes::<HeaderIn<'a>>(payload).map_err(|_| BlobError::Malformed)?;
        if !rest.is_empty() || h.arch.len() > MAX_ARCH_LEN || h.magic != MAGIC {
            return Err(BlobError::Malformed);
        }
        let mut model = Model::from_ops(h.input_shape, h.input_quant, h.ops)?;
        if model.output_shape() != h.output_shape {
            return Err(BlobError::ShapeMismatch);
        }
        if !model.output_quant().same_grid(h.output_quant) {
            return Err(BlobError::QuantMismatch);
        }
        if h.arena_bytes < model.plan().arena_bytes() {
            return Err(BlobError::ArenaMismatch);
        }
        model.info = ModelInfo {
            arch: h.arch,
            format_major: h.format_major,
            format_minor: h.format_minor,
            provenance: h.provenance,
            declared_arena_bytes: h.arena_bytes,
            signature,
        };
        Ok(model)
    }
}

/// The bodies of the cargo-fuzz targets in `shared/fuzz/` (`blob_decode`,
/// `blob_structured`), here so that `cargo test` runs the very same code
/// (the fuzz crate needs nightly; the property tests
/// `fuzz_target_body_never_panics` and `structured_fuzz_helpers_*` do not),
/// and so that the structured target writes blobs with this module's own
/// encoder rather than a copy of the format that could drift from it.
#[doc(hidden)]
pub mod fuzzing {
    use ed25519_dalek::SigningKey;

    use super::{EncodeError, HeaderOut, Model, SignaturePolicy, write_raw};
    use crate::engine::{Op, Shape, run, run_reference};
    use crate::quant::QuantParams;

    /// Loads `data`; if it loads and `arena` and `io` are big enough, runs
    /// it on an all-zero-point input with the fast and the reference
    /// kernels and panics if they disagree (a real bug). Any other outcome
    /// is fine; a panic anywhere else is a bug too. Returns whether the
    /// blob loaded.
    pub fn decode_and_run(data: &[u8], arena: &mut [u8], io: &mut [i8]) -> bool {
        decode_and_run_with(data, SignaturePolicy::Optional, None, arena, io)
    }

    /// [`decode_and_run`] under `policy`, on an input drawn from
    /// `input_seed` (splitmix64 bytes; `None`: every element at the input
    /// zero point). A model that loads and fits the buffers must run
    /// without error: the engine's plan covers every model validation
    /// accepts, so an error there is an engine bug, not bad input.
    pub fn decode_and_run_with(
        data: &[u8],
        policy: SignaturePolicy<'_>,
        input_seed: Option<u64>,
        arena: &mut [u8],
        io: &mut [i8],
    ) -> bool {
        let Ok(model) = Model::from_bytes(data, policy) else {
            return false;
        };
        let (n_in, n_out) = (model.input_len(), model.output_len());
        if arena.len() < model.arena_bytes() || io.len() < n_in + 2 * n_out {
            return true;
        }
        let (input, rest) = io.split_at_mut(n_in);
        let (fast, rest) = rest.split_at_mut(n_out);
        let slow = &mut rest[..n_out];
        match input_seed {
            None => input.fill(model.input_quant().zero_point),
            Some(seed) => {
                let mut s = seed;
                for x in input.iter_mut() {
                    *x = splitmix64(&mut s) as i8;
                }
            }
        }
        let a = run(&model, input, arena, fast);
        let b = run_reference(&model, input, arena, slow);
        assert_eq!(a, b, "run and run_reference disagree on success");
        assert_eq!(
            a,
            Ok(()),
            "a loaded model that fits its buffers fails to run"
        );
        assert_eq!(fast, slow, "fast and reference kernels disagree");
        true
    }

    /// splitmix64: the fuzz helpers' source of bulk bytes (weights,
    /// inputs) from a seed the fuzzer controls, so that a large tensor
    /// costs the fuzzer eight input bytes, not thousands.
    pub fn splitmix64(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Every header field as it will be written, unchecked: shapes, grids
    /// and arena need not match the ops, versions may be anything (the
    /// magic is always [`super::MAGIC`]; a fuzzer can still edit it).
    #[derive(Clone, Copy, Debug)]
    pub struct UncheckedHeader<'d, 'a> {
        /// Written as `format_major`.
        pub format_major: u16,
        /// Written as `format_minor`.
        pub format_minor: u16,
        /// Architecture name, any length.
        pub arch: &'d str,
        /// Declared input shape.
        pub input_shape: Shape,
        /// Declared output shape (a reader recomputes and compares it).
        pub output_shape: Shape,
        /// Declared input grid.
        pub input_quant: QuantParams,
        /// Declared output grid (a reader recomputes and compares it).
        pub output_quant: QuantParams,
        /// Declared arena.
        pub arena_bytes: u32,
        /// Provenance hash.
        pub provenance: [u8; 32],
        /// The graph, unvalidated.
        pub ops: &'d [Op<'a>],
    }

    /// Writes `header` with a valid trailer (CRC and end marker; signed
    /// with `key` if given) and no checks at all: what a buggy or hostile
    /// writer could put in flash. Returns the length written.
    pub fn write_unchecked(
        header: &UncheckedHeader<'_, '_>,
        key: Option<&SigningKey>,
        buf: &mut [u8],
    ) -> Result<usize, EncodeError> {
        let h = HeaderOut {
            magic: super::MAGIC,
            format_major: header.format_major,
            format_minor: header.format_minor,
            arch: header.arch,
            input_shape: header.input_shape,
            output_shape: header.output_shape,
            input_quant: header.input_quant,
            output_quant: header.output_quant,
            arena_bytes: header.arena_bytes,
            provenance: header.provenance,
            ops: header.ops,
        };
        write_raw(&h, key, buf)
    }

    /// Recomputes the CRC of a blob whose bytes before the CRC were
    /// edited (a no-op on a blob shorter than its trailer), so the edit
    /// reaches the decoder behind the checksum.
    pub fn fix_crc(blob: &mut [u8]) {
        let Some(at) = blob.len().checked_sub(8) else {
            return;
        };
        let crc = super::crc32(&blob[..at]).to_le_bytes();
        blob[at..at + 4].copy_from_slice(&crc);
    }
}

#[cfg(test)]
mod tests;
