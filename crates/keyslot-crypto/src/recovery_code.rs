//! Recovery codes: 128 random bits, shown as 26 Crockford base32 characters in groups of
//! four separated by `-` (the last group has two), e.g. `0ABC-DEFG-HJKM-NPQR-STVW-XYZ0-12`.
//!
//! The 128 bits are a big-endian number written with 26 digits (130 bits), so the first
//! digit is always 0–7 (its top two bits are zero). Input is case-insensitive, ignores spaces and hyphens, and reads
//! `I`/`L` as 1 and `O` as 0, as Crockford's alphabet intends for hand-copied codes.

use core::fmt;

use secrecy::{ExposeSecret, SecretBox};
use zeroize::Zeroizing;

use crate::aad::CredentialKind;
use crate::slot::UnlockedCredential;
use crate::{Error, Id, Result, random};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const DIGITS: usize = 26;

/// A recovery code. Prints as `RecoveryCode(***)`.
pub struct RecoveryCode(SecretBox<[u8; 16]>);

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(***)")
    }
}

impl RecoveryCode {
    /// A fresh random code.
    pub fn generate() -> Result<Self> {
        random::array().map(Self::from_bytes)
    }

    /// From its 16 bytes (test vectors).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// The 16 secret bytes.
    pub fn expose_secret(&self) -> &[u8; 16] {
        self.0.expose_secret()
    }

    /// The verifier and wrap key of this code for the recovery credential `credential_id`.
    pub fn unlock(&self, credential_id: Id) -> UnlockedCredential {
        UnlockedCredential::derive(
            CredentialKind::Recovery,
            credential_id,
            self.0.expose_secret(),
        )
    }

    /// The grouped text to show the user once.
    pub fn expose_text(&self) -> Zeroizing<String> {
        let value = Zeroizing::new(u128::from_be_bytes(*self.0.expose_secret()));
        let mut out = Zeroizing::new(String::with_capacity(DIGITS + 6));
        for i in 0..DIGITS {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            let shift = 5 * (DIGITS - 1 - i);
            // The top digit holds the three highest bits (shift 125).
            let digit = (*value >> shift) & 0x1f;
            out.push(ALPHABET[digit as usize] as char);
        }
        out
    }

    /// Parse user input: case-insensitive, spaces and hyphens ignored.
    pub fn parse(text: &str) -> Result<Self> {
        let malformed = |reason| Error::Malformed {
            what: "recovery code",
            reason,
        };
        let mut value = Zeroizing::new(0u128);
        let mut count = 0usize;
        for c in text.bytes().filter(|c| !matches!(c, b'-' | b' ')) {
            let digit = decode_digit(c).ok_or(malformed("invalid character"))?;
            count += 1;
            if count > DIGITS {
                return Err(malformed("too long"));
            }
            if count == 1 && digit > 7 {
                return Err(malformed("out of range"));
            }
            *value = (*value << 5) | u128::from(digit);
        }
        if count != DIGITS {
            return Err(malformed("wrong length"));
        }
        Ok(Self::from_bytes(value.to_be_bytes()))
    }
}

fn decode_digit(c: u8) -> Option<u8> {
    let c = c.to_ascii_uppercase();
    match c {
        b'O' => Some(0),
        b'I' | b'L' => Some(1),
        _ => ALPHABET.iter().position(|&a| a == c).map(|p| p as u8),
    }
}
