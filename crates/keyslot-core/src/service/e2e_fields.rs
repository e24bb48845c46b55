//! The shapes an end-to-end client's bodies are checked against (END-TO-END §9): every
//! byte string base64url, each parsed as what it claims to be (an envelope, a sealed
//! key, a public key, a signature) so the server stores nothing it could not hand back
//! to a client as that. Every problem of one body is named at once.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyslot_crypto::{AuthSealedKey, Envelope, Id, PublicKey, SealedKey};

use super::e2e_lifecycle::SealedFor;
use crate::{ClientActor, Error, FieldError, Principal, Result};

/// Bytes of an Ed25519 signature (FORMAT §11.4).
const SIGNATURE_BYTES: usize = 64;

pub(super) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Collects every field problem of one body, so the answer names them all at once.
#[derive(Default)]
pub(super) struct Fields(Vec<FieldError>);

impl Fields {
    pub(super) fn bad(&mut self, field: impl Into<String>, message: &str) {
        self.0.push(FieldError::new(field, message));
    }

    /// base64url bytes, or a problem naming `field`.
    pub(super) fn bytes(&mut self, field: &str, text: &str) -> Option<Vec<u8>> {
        match URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')) {
            Ok(b) if !b.is_empty() => Some(b),
            _ => {
                self.bad(field, "must be non-empty base64url");
                None
            }
        }
    }

    pub(super) fn required<'a>(
        &mut self,
        field: &str,
        value: Option<&'a String>,
    ) -> Option<&'a str> {
        let value = value.map(String::as_str);
        if value.is_none() {
            self.bad(field, "is required for an end-to-end vault");
        }
        value
    }

    pub(super) fn envelope(&mut self, field: &str, text: &str) -> Option<Vec<u8>> {
        let bytes = self.bytes(field, text)?;
        if Envelope::from_bytes(&bytes).is_err() {
            self.bad(field, "is not an envelope (FORMAT §6)");
            return None;
        }
        Some(bytes)
    }

    pub(super) fn sealed(&mut self, field: &str, text: &str) -> Option<Vec<u8>> {
        let bytes = self.bytes(field, text)?;
        if SealedKey::from_bytes(&bytes).is_err() {
            self.bad(field, "is not a sealed key (FORMAT §9)");
            return None;
        }
        Some(bytes)
    }

    /// A key sealed in HPKE auth mode (FORMAT §11.5): an end-to-end deposit's.
    pub(super) fn auth_sealed(&mut self, field: &str, text: &str) -> Option<Vec<u8>> {
        let bytes = self.bytes(field, text)?;
        if AuthSealedKey::from_bytes(&bytes).is_err() {
            self.bad(
                field,
                "is not a key sealed in HPKE auth mode (FORMAT §11.5)",
            );
            return None;
        }
        Some(bytes)
    }

    /// [`Self::envelope`], at most `max` bytes (sizes are all the server can check of
    /// what it cannot read).
    pub(super) fn envelope_max(&mut self, field: &str, text: &str, max: usize) -> Option<Vec<u8>> {
        let bytes = self.envelope(field, text)?;
        if bytes.len() > max {
            self.bad(field, &format!("must be at most {max} bytes"));
            return None;
        }
        Some(bytes)
    }

    pub(super) fn signature(&mut self, field: &str, text: &str) -> Option<Vec<u8>> {
        let bytes = self.bytes(field, text)?;
        if bytes.len() != SIGNATURE_BYTES {
            self.bad(field, "must be a 64-byte Ed25519 signature");
            return None;
        }
        Some(bytes)
    }

    pub(super) fn public_key(&mut self, field: &str, text: &str) -> Option<PublicKey> {
        let bytes = self.bytes(field, text)?;
        let key = PublicKey::from_slice(&bytes).ok();
        if key.is_none() {
            self.bad(field, "must be a 32-byte X25519 public key");
        }
        key
    }

    /// The holders' grants (base mode), each id once.
    pub(super) fn grants(&mut self, field: &str, grants: &[SealedFor]) -> Vec<(Id, Vec<u8>)> {
        self.sealed_for(field, grants, Self::sealed)
    }

    /// Keys sealed to holders, each id once, each parsed by `parse`.
    pub(super) fn sealed_for(
        &mut self,
        field: &str,
        grants: &[SealedFor],
        parse: fn(&mut Self, &str, &str) -> Option<Vec<u8>>,
    ) -> Vec<(Id, Vec<u8>)> {
        let mut out: Vec<(Id, Vec<u8>)> = Vec::new();
        for (i, g) in grants.iter().enumerate() {
            let id = g.holder.parse::<Id>().ok();
            if id.is_none() {
                self.bad(format!("{field}[{i}].holder"), "must be a user or token id");
            }
            let sealed = parse(self, &format!("{field}[{i}].sealed"), &g.sealed);
            if let (Some(id), Some(sealed)) = (id, sealed) {
                if out.iter().any(|(seen, _)| *seen == id) {
                    self.bad(format!("{field}[{i}].holder"), "names a holder twice");
                } else {
                    out.push((id, sealed));
                }
            }
        }
        out
    }

    pub(super) fn done(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(self.0))
        }
    }
}

/// The user of an end-to-end session; anything else may not change members.
pub(super) fn client_session(principal: &Principal) -> Result<&Id> {
    match principal {
        Principal::Client {
            user,
            actor: ClientActor::Session { .. },
            ..
        } => Ok(user),
        _ => Err(Error::Forbidden(
            "changing members needs the owner's session",
        )),
    }
}
