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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
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
