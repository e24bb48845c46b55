//! Decoding the end-to-end bodies into the core's types: base64url bytes, ids, envelopes
//! and keys, each failure a [`FieldError`] naming the field.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyslot_core::e2e_accounts::{PasswordSlotParts, RecoverySlotParts};
use keyslot_core::{Error, FieldError};
use keyslot_crypto::{Argon2Params, Envelope, Id, PublicKey, Verifier};

use super::wire::{PasswordSlotBody, RecoverySlotBody};

/// Field problems collected while decoding a body, so one answer names them all.
pub(super) struct Errors(pub(super) Vec<FieldError>);

impl Errors {
    pub(super) fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        r.map_err(|e| self.0.push(e)).ok()
    }
}

/// Both fields, or a 422 naming each that failed.
pub(super) fn both<A, B>(
    a: Result<A, FieldError>,
    b: Result<B, FieldError>,
) -> Result<(A, B), Error> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err(Error::Invalid(a.err().into_iter().chain(b.err()).collect())),
    }
}

pub(super) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Base64url bytes of `field` (padding tolerated), at most 64 KiB of text.
pub(super) fn bytes(field: &str, text: &str) -> Result<Vec<u8>, FieldError> {
    if text.len() > 64 * 1024 {
        return Err(FieldError::new(field, "is too long"));
    }
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| FieldError::new(field, "must be base64url"))
}

/// An id: 32 lowercase hex characters, or 16 bytes in base64url.
pub(super) fn id(field: &str, text: &str) -> Result<Id, FieldError> {
    if let Ok(id) = text.parse::<Id>() {
        return Ok(id);
    }
    bytes(field, text)
        .ok()
        .and_then(|b| Id::from_slice(&b).ok())
        .ok_or_else(|| FieldError::new(field, "must be an id: 32 lowercase hex characters"))
}

pub(super) fn envelope(field: &str, text: &str) -> Result<Envelope, FieldError> {
    let raw = bytes(field, text)?;
    Envelope::from_bytes(&raw)
        .map_err(|_| FieldError::new(field, "must be an envelope (FORMAT §4)"))
}

pub(super) fn public_key(field: &str, text: &str) -> Result<PublicKey, FieldError> {
    let raw = bytes(field, text)?;
    PublicKey::from_slice(&raw)
        .map_err(|_| FieldError::new(field, "must be an X25519 public key (32 bytes)"))
}

pub(super) fn verifier(field: &str, text: &str) -> Result<Verifier, FieldError> {
    let raw = bytes(field, text)?;
    Verifier::from_slice(&raw).map_err(|_| FieldError::new(field, "must be 32 bytes"))
}

pub(super) fn password_parts(
    field: &str,
    p: &PasswordSlotBody,
) -> Result<PasswordSlotParts, FieldError> {
    let salt = bytes(&format!("{field}.salt"), &p.salt)?;
    let salt: [u8; 16] = salt
        .try_into()
        .map_err(|_| FieldError::new(format!("{field}.salt"), "must be 16 bytes"))?;
    Ok(PasswordSlotParts {
        credential_id: id(&format!("{field}.credential_id"), &p.credential_id)?,
        salt,
        params: Argon2Params {
            m_cost_kib: p.m_cost,
            t_cost: p.t_cost,
            p_cost: p.p_cost,
        },
        verifier: verifier(&format!("{field}.verifier"), &p.verifier)?,
        wrapped_user_key: envelope(&format!("{field}.wrapped_user_key"), &p.wrapped_user_key)?,
    })
}

pub(super) fn recovery_parts(
    field: &str,
    r: &RecoverySlotBody,
) -> Result<RecoverySlotParts, FieldError> {
    Ok(RecoverySlotParts {
        credential_id: id(&format!("{field}.credential_id"), &r.credential_id)?,
        verifier: verifier(&format!("{field}.verifier"), &r.verifier)?,
        wrapped_user_key: envelope(&format!("{field}.wrapped_user_key"), &r.wrapped_user_key)?,
        x25519_public: public_key(&format!("{field}.x25519_public"), &r.x25519_public)?,
    })
}
