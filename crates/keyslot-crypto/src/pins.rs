//! Pins: a client's record that it confirmed another user's identity key
//! (`docs/END-TO-END.md` §5, FORMAT §11.4).
//!
//! After the owner confirms a member's fingerprint out of band, the owner's client stores
//! on the server
//!
//! ```text
//! pin key = HKDF-Expand(HKDF-Extract(salt = the pinning user's id, IKM = UK), "keyslot/v1/pin", 32)
//! pin     = HMAC-SHA256(pin key, pinned user id (16) ‖ identity public (32))
//! ```
//!
//! and checks it before every later use of that member's identity. The server keeps the
//! pin but cannot make one (it has no user key): a swapped identity key, or a pin copied
//! from another user or for another member, fails the check.

use hkdf::Hkdf;
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::identity::IdentityPublic;
use crate::keys::UserKey;
use crate::{Error, Id, Result};

/// HKDF label of the pin key.
pub const LABEL: &str = "keyslot/v1/pin";
/// Length of a pin.
pub const PIN_LEN: usize = 32;

/// A user's pin key, from their user key. Zeroized on drop; never printed.
pub struct PinKey(Zeroizing<[u8; 32]>);

impl core::fmt::Debug for PinKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PinKey(***)")
    }
}

impl PinKey {
    /// The pin key of `user` (the pinning user) from their user key.
    pub fn derive(user_key: &UserKey, user: &Id) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(user.as_bytes()), user_key.expose_secret());
        let mut key = Zeroizing::new([0u8; 32]);
        // HKDF-Expand fails only for outputs longer than 255 * 32 bytes; this is 32.
        let _ = hk.expand(LABEL.as_bytes(), key.as_mut());
        Self(key)
    }

    /// The pin of `pinned_user`'s identity key, to store.
    pub fn pin(&self, pinned_user: &Id, identity: &IdentityPublic) -> [u8; PIN_LEN] {
        let Ok(mut mac) = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(self.0.as_ref()) else {
            unreachable!("HMAC takes a key of any length")
        };
        mac.update(pinned_user.as_bytes());
        mac.update(identity.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// Check a stored pin against `pinned_user`'s identity key as the server answers it
    /// now, in constant time. Any mismatch (another key, another user, a changed or
    /// truncated pin) is [`Error::PinMismatch`].
    pub fn check(
        &self,
        pinned_user: &Id,
        identity: &IdentityPublic,
        stored_pin: &[u8],
    ) -> Result<()> {
        let expected = self.pin(pinned_user, identity);
        if stored_pin.len() == PIN_LEN && bool::from(expected.ct_eq(stored_pin)) {
            Ok(())
        } else {
            Err(Error::PinMismatch)
        }
    }

    /// The key bytes, for the test vectors of `docs/FORMAT.md` only.
    #[doc(hidden)]
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }
}
