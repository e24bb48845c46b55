//! Opaque 128-bit identifiers for users, vaults, items, credentials and slots.
//!
//! Ids are random, so they reveal no count or order; they appear in AAD as their 16 raw
//! bytes and in JSON and URLs as 32 lowercase hex characters.

use core::fmt;
use core::str::FromStr;

use crate::{Error, Result, random};

/// A random 128-bit identifier.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id([u8; 16]);

impl Id {
    /// A fresh random id.
    pub fn random() -> Result<Self> {
        random::array().map(Self)
    }

    /// The id from its 16 bytes.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The 16 bytes, as bound into AAD.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Parse from a byte slice that must be exactly 16 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        <[u8; 16]>::try_from(bytes)
            .map(Self)
            .map_err(|_| Error::Malformed {
                what: "id",
                reason: "not 16 bytes",
            })
    }
}

impl fmt::Display for Id {
    /// 32 lowercase hex characters, written from the stack: every read formats ids (the
    /// response's id, the audit event's detail), and `hex::encode` built a `String` one
    /// `char` at a time, about 3,500 instructions per id (docs/PERFORMANCE.md).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [0u8; 32];
        for (pair, byte) in text.chunks_exact_mut(2).zip(self.0) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0x0f)];
        }
        // Always ASCII; the error arm cannot happen.
        f.write_str(core::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({self})")
    }
}

impl FromStr for Id {
    type Err = Error;

    /// Exactly 32 lowercase hex characters; anything else is refused (ids are compared as
    /// strings in URLs, so one canonical spelling).
    fn from_str(s: &str) -> Result<Self> {
        let malformed = Error::Malformed {
            what: "id",
            reason: "expected 32 lowercase hex characters",
        };
        if s.len() != 32 || s.bytes().any(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(malformed);
        }
        let mut out = [0u8; 16];
        hex::decode_to_slice(s, &mut out).map_err(|_| malformed)?;
        Ok(Self(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_32_lowercase_hex_digits_and_parses_back() {
        let bytes: [u8; 16] = core::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0xa5);
        let id = Id::from_bytes(bytes);
        assert_eq!(id.to_string(), hex::encode(bytes));
        assert_eq!(Id::from_bytes([0; 16]).to_string(), "0".repeat(32));
        assert_eq!(Id::from_bytes([0xff; 16]).to_string(), "f".repeat(32));
        assert_eq!(id.to_string().parse::<Id>().unwrap(), id);
        // Width and padding flags are not honoured (as before): ids are written as they are.
        assert_eq!(format!("{id}"), format!("{id:>40}"));
    }
}
