//! Ed25519 signatures on the wire: 64 bytes, base64url.

use keyslot_crypto::identity::{IdentityPublic, Signature};

use super::wire::B64;
use super::{E2eError, E2eResult};

pub(crate) fn b64(signature: &Signature) -> B64 {
    B64::of(signature.as_bytes().to_vec())
}

pub(crate) fn parse(bytes: &B64, what: &str) -> E2eResult<Signature> {
    Signature::from_slice(&bytes.0)
        .map_err(|_| E2eError::protocol(format!("{what} is not a signature")))
}

pub(crate) fn identity(bytes: &B64, what: &str) -> E2eResult<IdentityPublic> {
    IdentityPublic::from_slice(&bytes.0)
        .map_err(|_| E2eError::protocol(format!("{what} is not an identity public key")))
}
