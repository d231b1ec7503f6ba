//! The board image's model-signing key, fixed when the image is built.
//!
//! Set `SONOMASK_MODEL_PUBKEY` when building the firmware to either a
//! public-key file (`KEY.pub` from `sonomask keygen`) or its 64 hex digits;
//! the image then refuses every blob that is not signed with that key
//! ([`sonomask_core::blob::SignaturePolicy::Required`]). Unset, the image
//! accepts unsigned blobs (development builds). A value that is neither a
//! readable key file nor a valid key fails the build (`build.rs` parses it
//! with [`parse_hex`] and checks the curve point): a typo must never yield
//! an image that silently accepts anything. The policy is the image's,
//! never the slot's, so a blob cannot switch it off.

mod hex;

pub use hex::{PubkeyError, parse_hex};

/// The key this image requires model blobs to be signed with, as
/// `SONOMASK_MODEL_PUBKEY` gave it at build time (checked there to be a
/// valid ed25519 point); `None`: signature optional.
pub const MODEL_PUBKEY: Option<[u8; 32]> = include!(concat!(env!("OUT_DIR"), "/model_pubkey.rs"));

#[cfg(test)]
mod tests {
    extern crate std;
    use std::format;

    use super::*;

    #[test]
    fn parses_keygen_format_and_rejects_the_rest() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let k = parse_hex(&format!("  {hex}\n")).unwrap();
        assert_eq!(k[0], 0x00);
        assert_eq!(k[1], 0x11);
        assert_eq!(k[15], 0xff);
        assert_eq!(k[31], 0xff);
        assert_eq!(parse_hex(""), Err(PubkeyError::Length));
        assert_eq!(parse_hex(&hex[..63]), Err(PubkeyError::Length));
        assert_eq!(parse_hex(&format!("{hex}0")), Err(PubkeyError::Length));
        let bad = format!("{}g", &hex[..63]);
        assert_eq!(parse_hex(&bad), Err(PubkeyError::NotHex));
        // A path is not a key: build.rs reads the file first.
        assert_eq!(parse_hex("keys/dev.key.pub"), Err(PubkeyError::Length));
    }

    #[test]
    fn the_committed_dev_key_parses_to_a_valid_point() {
        let text = include_str!("../../keys/dev.key.pub");
        let k = parse_hex(text).unwrap();
        assert!(ed25519_dalek::VerifyingKey::from_bytes(&k).is_ok());
    }
}
