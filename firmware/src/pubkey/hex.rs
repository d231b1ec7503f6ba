//! Key text parsing, shared with `build.rs` (which compiles this file
//! through `#[path]`, so the parser the host tests exercise is the one the
//! build uses). Plain `core`, no crate paths.

/// Why a key text is not a public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PubkeyError {
    /// Not exactly 64 hex digits (surrounding whitespace is ignored).
    Length,
    /// A character that is not a hex digit.
    NotHex,
}

impl core::fmt::Display for PubkeyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            PubkeyError::Length => "expected 64 hex digits",
            PubkeyError::NotHex => "not a hex digit",
        })
    }
}

/// Parses the 32 bytes of a public key written as 64 hex digits, the
/// format of `sonomask keygen`'s `KEY.pub` (one line, any case).
pub fn parse_hex(text: &str) -> Result<[u8; 32], PubkeyError> {
    let t = text.trim().as_bytes();
    if t.len() != 64 {
        return Err(PubkeyError::Length);
    }
    let digit = |c: u8| (c as char).to_digit(16).ok_or(PubkeyError::NotHex);
    let mut key = [0u8; 32];
    for (i, k) in key.iter_mut().enumerate() {
        *k = (digit(t[2 * i])? * 16 + digit(t[2 * i + 1])?) as u8;
    }
    Ok(key)
}
