//! X25519 key pairs for users and tokens.
//!
//! Their public halves let Keyslot later *seal* a key to a user or a token without
//! holding their secret (re-grants after a vault key rotation, sharing, write-only
//! deposits). The format carries them from day one so no migration is needed then.
//!
//! - A user's private key is random and stored wrapped under the user key
//!   (AAD purpose `keyslot/v1/user/x25519`, bound to the user).
//! - A token's private key is derived from its secret:
//!   `HKDF-Expand(HKDF-Extract(token id, secret), "keyslot/v1/token/x25519", 32)`, so the
//!   server stores only the public half and needs nothing else from the token.

use core::fmt;

use x25519_dalek::{PublicKey, StaticSecret};

use crate::aad::{Aad, Purpose};
use crate::envelope::{self, Envelope};
use crate::kdf;
use crate::keys::UserKey;
use crate::text_credential::TokenCredential;
use crate::{Error, Id, Result, random};

/// A user's X25519 key pair. The private half is zeroized on drop and never printed.
pub struct UserKeyPair {
    secret: StaticSecret,
    public: PublicKey,
}

impl fmt::Debug for UserKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "UserKeyPair(public: {}, secret: ***)",
            hex::encode(self.public.as_bytes())
        )
    }
}

fn aad(user: &Id) -> Aad {
    Aad::new(Purpose::UserX25519).user(user)
}

impl UserKeyPair {
    /// A fresh random key pair.
    pub fn generate() -> Result<Self> {
        let secret = StaticSecret::from(random::array::<32>()?);
        let public = PublicKey::from(&secret);
        Ok(Self { secret, public })
    }

    /// The public half (32 bytes), stored in the clear.
    pub fn public(&self) -> [u8; 32] {
        self.public.to_bytes()
    }

    /// The private half wrapped under the user key.
    pub fn wrap(&self, user_key: &UserKey, user: &Id) -> Result<Envelope> {
        envelope::seal(user_key, &aad(user), self.secret.as_bytes())
    }

    /// Open a wrapped private key and rebuild the pair.
    pub fn unwrap(user_key: &UserKey, user: &Id, wrapped: &Envelope) -> Result<Self> {
        let bytes = envelope::open(user_key, &aad(user), wrapped)?;
        let array: [u8; 32] = bytes.as_slice().try_into().map_err(|_| Error::Malformed {
            what: "x25519 private key",
            reason: "not 32 bytes",
        })?;
        let secret = StaticSecret::from(array);
        let public = PublicKey::from(&secret);
        Ok(Self { secret, public })
    }

    /// X25519 with another public key; used by the later sealing and sharing code.
    pub fn diffie_hellman(&self, their_public: &[u8; 32]) -> [u8; 32] {
        self.secret
            .diffie_hellman(&PublicKey::from(*their_public))
            .to_bytes()
    }
}

/// The public half of a token's X25519 key pair, derived from its secret.
pub fn token_public_key(token: &TokenCredential) -> [u8; 32] {
    let private = kdf::expand(
        token.id(),
        token.expose_secret(),
        b"keyslot/v1/token/x25519",
    );
    let secret = StaticSecret::from(*private);
    PublicKey::from(&secret).to_bytes()
}
