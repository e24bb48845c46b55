//! How values cross the JavaScript boundary: base64url (no padding) for bytes, as in the
//! JSON API; ids as 32 lowercase hex digits (the API's spelling) or as 22 base64url
//! characters (how `POST /v1/prelogin` writes its `credential_id`); and one error type
//! that names the argument it refuses and never carries its value.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyslot_crypto::{Envelope, Id, SealedKey};
use wasm_bindgen::{JsError, JsValue};

/// Why a call was refused: which argument (or step), and why. The reason comes from
/// keyslot-crypto's errors, which carry no key, secret or plaintext. In JavaScript it is
/// thrown as an `Error` whose message is `"<field>: <reason>"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    field: &'static str,
    reason: String,
}

impl Refused {
    /// Refuse `field` for `reason`.
    pub fn new(field: &'static str, reason: impl fmt::Display) -> Self {
        Self {
            field,
            reason: reason.to_string(),
        }
    }

    /// The argument or step that was refused.
    pub const fn field(&self) -> &'static str {
        self.field
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for Refused {}

impl From<Refused> for JsValue {
    fn from(refused: Refused) -> Self {
        JsError::new(&refused.to_string()).into()
    }
}

/// The result of every exported call.
pub type Result<T> = core::result::Result<T, Refused>;

/// Attach the argument's name to a keyslot-crypto error.
pub(crate) fn at<E: fmt::Display>(field: &'static str) -> impl FnOnce(E) -> Refused {
    move |e| Refused::new(field, e)
}

/// Bytes as base64url without padding.
pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// base64url (no padding) to bytes.
pub(crate) fn from_b64(field: &'static str, text: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| Refused::new(field, "not base64url without padding"))
}

/// base64url to exactly `N` bytes.
pub(crate) fn from_b64_array<const N: usize>(field: &'static str, text: &str) -> Result<[u8; N]> {
    from_b64(field, text)?
        .as_slice()
        .try_into()
        .map_err(|_| Refused::new(field, format!("not {N} bytes")))
}

/// An id: 32 lowercase hex digits, or 22 base64url characters (16 bytes).
pub(crate) fn id(field: &'static str, text: &str) -> Result<Id> {
    if text.len() == 32 {
        return text.parse().map_err(at(field));
    }
    Ok(Id::from_bytes(from_b64_array(field, text).map_err(
        |_| {
            Refused::new(
                field,
                "expected 32 lowercase hex digits or 22 base64url characters",
            )
        },
    )?))
}

/// An envelope (FORMAT §2) in base64url.
pub(crate) fn envelope(field: &'static str, text: &str) -> Result<Envelope> {
    Envelope::from_base64(text).map_err(at(field))
}

/// A key sealed to a public key (FORMAT §9) in base64url.
pub(crate) fn sealed_key(field: &'static str, text: &str) -> Result<SealedKey> {
    SealedKey::from_base64(text).map_err(at(field))
}

/// An X25519 public key in base64url.
pub(crate) fn public_key(field: &'static str, text: &str) -> Result<keyslot_crypto::PublicKey> {
    keyslot_crypto::PublicKey::from_slice(&from_b64(field, text)?).map_err(at(field))
}
