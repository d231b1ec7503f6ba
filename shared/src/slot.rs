//! The model slot: how a model blob sits in the cart's flash.
//!
//! A blob's length cannot be read from its own bytes without decoding
//! the whole header (the trailer sits at its end), and flash around it is
//! erased (`0xFF`) or, in QEMU, zero. So the slot starts with a fixed
//! header: magic `b"SNMS"`, the blob's length as `u32` LE, then the blob.
//! Anything else at the slot's start reads as "no model" and the firmware
//! fails closed. The blob itself carries its own CRC and signature; the
//! header only says where it ends.
//!
//! ```text
//! offset  bytes  content
//! 0       4      b"SNMS"
//! 4       4      blob length n, u32 little-endian
//! 8       n      the .snmk blob
//! ```

/// First four bytes of a filled slot.
pub const SLOT_MAGIC: [u8; 4] = *b"SNMS";
/// Bytes before the blob.
pub const SLOT_HEADER_LEN: usize = 8;

/// Why a slot holds no usable blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SlotError {
    /// No slot header: erased or never-written flash.
    Empty,
    /// The header's length is zero or runs past the slot.
    BadLength,
}

impl core::fmt::Display for SlotError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            SlotError::Empty => "model slot is empty",
            SlotError::BadLength => "model slot length runs past the slot",
        })
    }
}

impl core::error::Error for SlotError {}

/// The blob in a slot region (`region` is the whole slot as mapped).
pub fn slot_blob(region: &[u8]) -> Result<&[u8], SlotError> {
    let (head, rest) = region
        .split_at_checked(SLOT_HEADER_LEN)
        .ok_or(SlotError::Empty)?;
    if head[..4] != SLOT_MAGIC {
        return Err(SlotError::Empty);
    }
    let n = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
    if n == 0 {
        return Err(SlotError::BadLength);
    }
    rest.get(..n).ok_or(SlotError::BadLength)
}

/// The header that goes in front of a blob of `blob_len` bytes (`None` if
/// the length does not fit in `u32`).
pub fn slot_header(blob_len: usize) -> Option<[u8; SLOT_HEADER_LEN]> {
    let n = u32::try_from(blob_len).ok()?;
    let mut h = [0u8; SLOT_HEADER_LEN];
    h[..4].copy_from_slice(&SLOT_MAGIC);
    h[4..].copy_from_slice(&n.to_le_bytes());
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_defects() {
        let mut region = [0xFFu8; 64];
        assert_eq!(slot_blob(&region), Err(SlotError::Empty));
        assert_eq!(slot_blob(&[0u8; 64]), Err(SlotError::Empty));
        assert_eq!(slot_blob(&region[..3]), Err(SlotError::Empty));
        region[..8].copy_from_slice(&slot_header(5).unwrap());
        region[8..13].copy_from_slice(b"hello");
        assert_eq!(slot_blob(&region), Ok(&b"hello"[..]));
        region[..8].copy_from_slice(&slot_header(57).unwrap());
        assert_eq!(slot_blob(&region), Err(SlotError::BadLength));
        region[..8].copy_from_slice(&slot_header(0).unwrap());
        assert_eq!(slot_blob(&region), Err(SlotError::BadLength));
        region[..8].copy_from_slice(&slot_header(56).unwrap());
        assert_eq!(slot_blob(&region).map(<[u8]>::len), Ok(56));
    }
}
