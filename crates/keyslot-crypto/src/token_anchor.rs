//! A `kse_` token's trust anchor: its id commits to the identity key of the user who
//! minted it (`docs/END-TO-END.md` §7, FORMAT §11.5).
//!
//! A token has no identity of its own, so when the server hands it a vault key sealed to
//! its X25519 key (a grant), the token cannot tell on its own whether its user's client
//! made that key or the server did: anyone can seal to a public key. The vault key's
//! public half is signed by its user's identity; what the token lacks is a way to know
//! that identity without asking the server. The `kse_` text has no room for a 32-byte
//! key, but its 16-byte id is chosen by the minting client, so the client makes the id a
//! MAC of the identity under a key only the token's secret gives:
//!
//! ```text
//! anchor key = HKDF-Expand(HKDF-Extract(salt = none, IKM = token secret), "keyslot/v1/token-anchor", 32)
//! token id   = HMAC-SHA256(anchor key, identity public (32))[..16]
//! ```
//!
//! Later the token checks any identity the server presents against its own id; the
//! server knows the id but not the secret, so it cannot find another identity that
//! matches (a 128-bit MAC). A token minted without an anchor (a random id) matches no
//! identity, and its grants are refused.

use hkdf::Hkdf;
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::identity::IdentityPublic;
use crate::text_credential::E2eTokenCredential;
use crate::{Id, Result, random};

/// HKDF label of the anchor key.
pub const LABEL: &str = "keyslot/v1/token-anchor";

/// The key a token's secret gives for checking its anchor. Zeroized on drop; never printed.
pub struct TokenAnchorKey(Zeroizing<[u8; 32]>);

impl core::fmt::Debug for TokenAnchorKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TokenAnchorKey(***)")
    }
}

impl TokenAnchorKey {
    /// The anchor key of a token secret.
    pub fn derive(secret: &[u8; 32]) -> Self {
        let hk = Hkdf::<Sha256>::new(None, secret);
        let mut key = Zeroizing::new([0u8; 32]);
        // HKDF-Expand fails only for outputs longer than 255 * 32 bytes; this is 32.
        let _ = hk.expand(LABEL.as_bytes(), key.as_mut());
        Self(key)
    }

    /// The id a token with this key has when `identity` minted it.
    pub fn id_for(&self, identity: &IdentityPublic) -> Id {
        let Ok(mut mac) = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(self.0.as_ref()) else {
            unreachable!("HMAC takes a key of any length")
        };
        mac.update(identity.as_bytes());
        let tag: [u8; 32] = mac.finalize().into_bytes().into();
        let mut id = [0u8; 16];
        id.copy_from_slice(&tag[..16]);
        Id::from_bytes(id)
    }

    /// Whether `identity` is the one that minted the token `token` (constant time).
    pub fn anchors(&self, token: &Id, identity: &IdentityPublic) -> bool {
        bool::from(self.id_for(identity).as_bytes().ct_eq(token.as_bytes()))
    }
}

/// A new `kse_` token whose id commits to `identity` (the minting user's).
pub fn anchored_token(identity: &IdentityPublic) -> Result<E2eTokenCredential> {
    let secret: Zeroizing<[u8; 32]> = Zeroizing::new(random::array()?);
    let id = TokenAnchorKey::derive(&secret).id_for(identity);
    Ok(E2eTokenCredential::from_parts(id, *secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityKeyPair;

    #[test]
    fn the_id_commits_to_the_minting_identity_only() {
        let alice = IdentityKeyPair::generate().unwrap().public();
        let server = IdentityKeyPair::generate().unwrap().public();
        let token = anchored_token(&alice).unwrap();
        let key = TokenAnchorKey::derive(token.expose_secret());
        assert!(key.anchors(token.id(), &alice));
        assert!(!key.anchors(token.id(), &server));
        // A random id (a token minted before anchors) matches no identity.
        let plain = E2eTokenCredential::generate().unwrap();
        let plain_key = TokenAnchorKey::derive(plain.expose_secret());
        assert!(!plain_key.anchors(plain.id(), &alice));
        // The text round-trips with its anchored id.
        let parsed = E2eTokenCredential::parse(&token.expose_text()).unwrap();
        assert!(TokenAnchorKey::derive(parsed.expose_secret()).anchors(parsed.id(), &alice));
    }

    /// FORMAT §11.1's vector: secret 55…55, the identity of Ed25519 seed 66…66
    /// (recomputed independently with Python's hmac and hashlib).
    #[test]
    fn the_known_answer_of_format_11_1() {
        let identity = IdentityKeyPair::from_seed(&[0x66; 32]).public();
        let id = TokenAnchorKey::derive(&[0x55; 32]).id_for(&identity);
        assert_eq!(id.to_string(), "d8462d644c89c723ffb5b5bdb8f1943e");
    }
}
