//! The text form of API tokens (`kst_…`), end-to-end API tokens (`kse_…`) and session
//! credentials (`kss_…`); [`crate::auth_proof`] writes `ksa_…` proofs in the same layout.
//!
//! ```text
//! kst_ ‖ base62(id (16 bytes) ‖ secret (32 bytes), 65 chars) ‖ base62(CRC32(everything before), 6 chars)
//! ```
//!
//! The prefix makes a leaked token findable by secret scanners; the CRC32 lets a client or
//! the server reject a mistyped token offline, before any database lookup. The checksum is
//! for typos, not for security: the 256-bit secret is what authenticates.
//! Base62 uses the alphabet `0-9A-Za-z` and is a fixed-width big-endian number, so every
//! token of a kind has the same length (75 characters).

use core::fmt;
use core::marker::PhantomData;

use secrecy::{ExposeSecret, SecretBox};
use zeroize::Zeroizing;

use crate::aad::CredentialKind;
use crate::slot::UnlockedCredential;
use crate::{Id, Result, random};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Characters of base62 for the 48-byte body: ceil(384 / log2(62)).
const BODY_CHARS: usize = 65;
/// Characters of base62 for the CRC32: ceil(32 / log2(62)).
const CRC_CHARS: usize = 6;
/// Bytes of the body: 16-byte id and 32-byte secret.
pub(crate) const BODY_BYTES: usize = 48;

/// Why a credential string was refused. Carries no part of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CredentialFormatError {
    /// Does not start with the expected prefix.
    #[error("wrong prefix: expected {0}")]
    WrongPrefix(&'static str),
    /// Not the right number of characters.
    #[error("wrong length")]
    WrongLength,
    /// A character outside base62.
    #[error("invalid character")]
    InvalidCharacter,
    /// The number does not fit its width (cannot come from a real credential).
    #[error("out of range")]
    OutOfRange,
    /// The checksum does not match: most likely a typo or a truncated copy.
    #[error("checksum mismatch (mistyped or truncated)")]
    Checksum,
}

/// Which kind of credential a prefix marks.
pub trait Kind {
    /// The text prefix, e.g. `kst_`.
    const PREFIX: &'static str;
    /// The credential kind, which selects the HKDF labels and is bound into slot AAD.
    const KIND: CredentialKind;
}

/// Marker for API tokens.
#[derive(Debug)]
pub enum TokenKind {}
impl Kind for TokenKind {
    const PREFIX: &'static str = "kst_";
    const KIND: CredentialKind = CredentialKind::Token;
}

/// Marker for sessions.
#[derive(Debug)]
pub enum SessionKind {}
impl Kind for SessionKind {
    const PREFIX: &'static str = "kss_";
    const KIND: CredentialKind = CredentialKind::Session;
}

/// Marker for end-to-end API tokens (`docs/END-TO-END.md` §7): the client made the
/// token and keeps its secret; the server only ever sees the `ksa_…` proof derived from
/// it ([`crate::auth_proof`]). Same HKDF labels as [`TokenKind`] (kind token), so the
/// verifier, wrap key and X25519 pair are those a `kst_` token with the same id and
/// secret would have; only the prefix differs, and it tells a script, a secret scanner
/// and the server that this text must never be sent (the server treats a `kse_` it
/// receives as disclosed).
#[derive(Debug)]
pub enum E2eTokenKind {}
impl Kind for E2eTokenKind {
    const PREFIX: &'static str = "kse_";
    const KIND: CredentialKind = CredentialKind::Token;
}

/// Kinds whose secret is an API token's: they have a token key pair
/// ([`crate::x25519::TokenKeyPair`]).
pub trait TokenSecretKind: Kind {}
impl TokenSecretKind for TokenKind {}
impl TokenSecretKind for E2eTokenKind {}

/// A credential: a public 128-bit id (the row it names) and a 256-bit secret.
pub struct CredentialSecret<K: Kind> {
    id: Id,
    secret: SecretBox<[u8; 32]>,
    kind: PhantomData<K>,
}

/// An API token.
pub type TokenCredential = CredentialSecret<TokenKind>;
/// An end-to-end API token (`kse_…`), which never leaves the client.
pub type E2eTokenCredential = CredentialSecret<E2eTokenKind>;
/// A session credential.
pub type SessionCredential = CredentialSecret<SessionKind>;

impl<K: Kind> fmt::Debug for CredentialSecret<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}…(***)", K::PREFIX, self.id)
    }
}

impl<K: Kind> CredentialSecret<K> {
    /// A new credential with a random id and secret.
    pub fn generate() -> Result<Self> {
        Ok(Self::from_parts(Id::random()?, random::array()?))
    }

    /// From its parts (test vectors).
    pub fn from_parts(id: Id, secret: [u8; 32]) -> Self {
        Self {
            id,
            secret: SecretBox::new(Box::new(secret)),
            kind: PhantomData,
        }
    }

    /// The public id: which row this credential names.
    pub const fn id(&self) -> &Id {
        &self.id
    }

    /// The secret bytes. Loudly named: only KDFs and test vectors need them.
    pub fn expose_secret(&self) -> &[u8; 32] {
        self.secret.expose_secret()
    }

    /// Derive the verifier and wrap key (HKDF; microseconds).
    pub fn unlock(&self) -> UnlockedCredential {
        UnlockedCredential::derive(K::KIND, self.id, self.secret.expose_secret())
    }

    /// The full text, to show the user once. Zeroized when dropped.
    pub fn expose_text(&self) -> Zeroizing<String> {
        let mut body = Zeroizing::new([0u8; BODY_BYTES]);
        body[..16].copy_from_slice(self.id.as_bytes());
        body[16..].copy_from_slice(self.secret.expose_secret());
        encode_text(K::PREFIX, &body)
    }

    /// Parse the text form; refuses anything malformed with a typed error that carries no
    /// part of the input.
    pub fn parse(text: &str) -> Result<Self, CredentialFormatError> {
        let body = decode_text(K::PREFIX, text)?;
        let mut id = [0u8; 16];
        id.copy_from_slice(&body[..16]);
        let mut secret = [0u8; 32];
        secret.copy_from_slice(&body[16..]);
        let parsed = Self::from_parts(Id::from_bytes(id), secret);
        zeroize::Zeroize::zeroize(&mut secret);
        Ok(parsed)
    }
}

/// `prefix ‖ base62(body, 65 chars) ‖ base62(CRC32(prefix ‖ base62 body), 6 chars)`: the
/// layout of every 48-byte text credential (`kst_`, `kse_`, `kss_`, `ksa_`).
pub(crate) fn encode_text(prefix: &str, body: &[u8; BODY_BYTES]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(prefix.len() + BODY_CHARS + CRC_CHARS));
    out.push_str(prefix);
    out.push_str(&base62_encode::<BODY_BYTES, BODY_CHARS>(body));
    let crc = crc32fast::hash(out.as_bytes());
    out.push_str(&base62_encode::<4, CRC_CHARS>(&crc.to_be_bytes()));
    out
}

/// Inverse of [`encode_text`]: checks prefix, length, alphabet, range and checksum, in
/// that order, before anything else looks at the text.
pub(crate) fn decode_text(
    prefix: &'static str,
    text: &str,
) -> Result<Zeroizing<[u8; BODY_BYTES]>, CredentialFormatError> {
    let rest = text
        .strip_prefix(prefix)
        .ok_or(CredentialFormatError::WrongPrefix(prefix))?;
    if rest.len() != BODY_CHARS + CRC_CHARS || !rest.is_ascii() {
        return Err(CredentialFormatError::WrongLength);
    }
    let (body_text, crc_text) = rest.split_at(BODY_CHARS);
    let crc = u32::from_be_bytes(base62_decode::<4>(crc_text)?);
    let signed = &text[..prefix.len() + BODY_CHARS];
    if crc != crc32fast::hash(signed.as_bytes()) {
        return Err(CredentialFormatError::Checksum);
    }
    Ok(Zeroizing::new(base62_decode::<BODY_BYTES>(body_text)?))
}

impl CredentialSecret<SessionKind> {
    /// The session's CSRF token: `base64url(HKDF-Expand(PRK, "keyslot/v1/session/csrf", 32))`
    /// with the session's PRK. The server recomputes it from the cookie on every unsafe
    /// request and compares in constant time, so it stores nothing for it; a page that
    /// cannot read the cookie (another origin) cannot compute it.
    pub fn csrf_token(&self) -> Zeroizing<String> {
        use base64::Engine as _;
        let bytes = crate::kdf::expand(
            &self.id,
            self.secret.expose_secret(),
            b"keyslot/v1/session/csrf",
        );
        Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref()))
    }
}

/// Fixed-width base62 of a big-endian number of `N` bytes, as `C` characters.
fn base62_encode<const N: usize, const C: usize>(bytes: &[u8; N]) -> Zeroizing<String> {
    let mut number = Zeroizing::new(*bytes);
    let mut digits = Zeroizing::new([0u8; C]);
    for digit in digits.iter_mut().rev() {
        // Long division of the whole number by 62; the remainder is the next digit.
        let mut remainder: u32 = 0;
        for byte in number.iter_mut() {
            let acc = (remainder << 8) | u32::from(*byte);
            *byte = (acc / 62) as u8;
            remainder = acc % 62;
        }
        *digit = ALPHABET[remainder as usize];
    }
    Zeroizing::new(digits.iter().map(|&d| d as char).collect())
}

/// Inverse of [`base62_encode`]; refuses characters outside the alphabet and numbers that
/// do not fit in `N` bytes (`N` a multiple of 4, at most 48).
///
/// Every bearer request decodes its token, so this is on the hot path: the number is kept
/// in 32-bit limbs and grows by up to five digits at a time (62^5 < 2^32), about 160
/// multiply-adds for a token instead of 3,000 byte steps (docs/PERFORMANCE.md). It
/// answers exactly as a digit-at-a-time decode would, errors included: a character
/// outside the alphabet is `InvalidCharacter` unless the digits before it already
/// overflowed (`OutOfRange`); the number only grows, so an overflow at the end of a group
/// of digits is an overflow at one of them.
fn base62_decode<const N: usize>(text: &str) -> Result<[u8; N], CredentialFormatError> {
    const { assert!(N.is_multiple_of(4) && N <= 4 * MAX_LIMBS) };
    // Most significant limb first; zeroized: for a token body this is the secret.
    let mut limbs = Zeroizing::new([0u32; MAX_LIMBS]);
    let number = &mut limbs[..N / 4];
    for group in text.as_bytes().chunks(5) {
        let (mut value, mut scale) = (0u32, 1u32);
        for &c in group {
            let Some(digit) = base62_digit(c) else {
                grow(number, scale, value)?;
                return Err(CredentialFormatError::InvalidCharacter);
            };
            value = value * 62 + u32::from(digit);
            scale *= 62;
        }
        grow(number, scale, value)?;
    }
    let mut out = [0u8; N];
    for (bytes, limb) in out.chunks_exact_mut(4).zip(number.iter()) {
        bytes.copy_from_slice(&limb.to_be_bytes());
    }
    Ok(out)
}

/// Limbs of the widest number [`base62_decode`] reads (the 48-byte token body).
const MAX_LIMBS: usize = 12;

/// `number = number * scale + add`, refusing a result wider than `number`.
fn grow(number: &mut [u32], scale: u32, add: u32) -> Result<(), CredentialFormatError> {
    let mut carry = u64::from(add);
    for limb in number.iter_mut().rev() {
        let acc = u64::from(*limb) * u64::from(scale) + carry;
        *limb = acc as u32;
        carry = acc >> 32;
    }
    if carry == 0 {
        Ok(())
    } else {
        Err(CredentialFormatError::OutOfRange)
    }
}

fn base62_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'Z' => Some(c - b'A' + 10),
        b'a'..=b'z' => Some(c - b'a' + 36),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digit-at-a-time decode the grouped one replaced: the reference it must match.
    fn reference<const N: usize>(text: &str) -> Result<[u8; N], CredentialFormatError> {
        let mut number = [0u8; N];
        for c in text.bytes() {
            let digit = base62_digit(c).ok_or(CredentialFormatError::InvalidCharacter)?;
            let mut carry = u32::from(digit);
            for byte in number.iter_mut().rev() {
                let acc = u32::from(*byte) * 62 + carry;
                *byte = (acc & 0xff) as u8;
                carry = acc >> 8;
            }
            if carry != 0 {
                return Err(CredentialFormatError::OutOfRange);
            }
        }
        Ok(number)
    }

    #[test]
    fn grouped_decode_answers_as_the_digit_at_a_time_decode() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..20_000 {
            // Mostly alphabet characters, sometimes one that is not; lengths around the
            // widths of a token body and a checksum, so both fits and overflows occur.
            let len = (next() % 72) as usize;
            let text: String = (0..len)
                .map(|_| match next() % 200 {
                    0 => '-',
                    1 => 'é',
                    _ => ALPHABET[(next() % 62) as usize] as char,
                })
                .collect();
            let text = if round % 3 == 0 {
                text.replace(|c: char| !c.is_ascii_alphanumeric(), "z")
            } else {
                text
            };
            assert_eq!(base62_decode::<48>(&text), reference::<48>(&text), "{text}");
            assert_eq!(base62_decode::<4>(&text), reference::<4>(&text), "{text}");
        }
        // The edges: the largest numbers that fit, one past them, and a bad character
        // right after an overflow.
        let max48 = base62_encode::<48, BODY_CHARS>(&[0xff; 48]);
        assert_eq!(base62_decode::<48>(&max48), Ok([0xff; 48]));
        let max4 = base62_encode::<4, CRC_CHARS>(&[0xff; 4]);
        assert_eq!(base62_decode::<4>(&max4), Ok([0xff; 4]));
        for text in [
            format!("{}0", &*max48),
            "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz".into(),
        ] {
            assert_eq!(
                base62_decode::<48>(&text),
                Err(CredentialFormatError::OutOfRange)
            );
        }
        assert_eq!(
            base62_decode::<4>("zzzzzz"),
            Err(CredentialFormatError::OutOfRange)
        );
        assert_eq!(
            base62_decode::<4>("zzzzzz-"),
            Err(CredentialFormatError::OutOfRange)
        );
        assert_eq!(
            base62_decode::<4>("zzz-zzz"),
            Err(CredentialFormatError::InvalidCharacter)
        );
        assert_eq!(base62_decode::<4>(""), Ok([0; 4]));
    }
}
