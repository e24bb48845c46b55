//! The prelogin's answer for a username with no end-to-end password slot
//! (`docs/END-TO-END.md` §3, FORMAT §11.2).
//!
//! `POST /v1/prelogin` must answer every username alike, so that it reveals neither
//! whether the username exists nor its mode. For an unknown username and for a
//! server-mode account it answers a salt and a credential id computed from the username:
//!
//! ```text
//! H = HMAC-SHA256(prelogin key, "keyslot/v1/prelogin" ‖ username_key)
//! salt = H[0..16], credential_id = H[16..32]
//! ```
//!
//! The prelogin key is the seal key's [`MacLabel::PreloginSalt`] key (an HMAC key inside
//! the HSM when the seal key is there), so the answer is stable across restarts and
//! instances, differs between deployments, and cannot be told from a real slot's random
//! salt and id without that key.

use crate::seal::{MacLabel, SealKey};
use crate::{Id, Result};

/// Prefix of the MAC input, so this MAC never equals another use of the same key.
pub const DOMAIN: &[u8] = b"keyslot/v1/prelogin";

/// The stand-in `(salt, credential_id)` for `username_key` (the username as the server
/// keys its rows, already normalised). Fails only when the seal key computes no MACs or
/// its HSM is away.
pub fn fake_parameters(seal: &dyn SealKey, username_key: &str) -> Result<([u8; 16], Id)> {
    let mut input = Vec::with_capacity(DOMAIN.len() + username_key.len());
    input.extend_from_slice(DOMAIN);
    input.extend_from_slice(username_key.as_bytes());
    let h = seal.mac(MacLabel::PreloginSalt, &input)?;
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&h[..16]);
    let mut id = [0u8; 16];
    id.copy_from_slice(&h[16..]);
    Ok((salt, Id::from_bytes(id)))
}
