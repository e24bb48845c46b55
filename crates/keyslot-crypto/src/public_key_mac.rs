//! Public keys bound to their holder (DESIGN §3.1, `docs/FORMAT.md` §9.3).
//!
//! Public keys are stored in the clear, next to the row of their holder. Without a MAC,
//! anyone who can write one row could copy their *own* public key into a victim's row and
//! receive the next rotation's grant meant for the victim. So every stored public key
//! carries `HMAC-SHA256(pk-mac key, encoding)`, where the pk-mac key is the seal key's
//! [`MacLabel::PublicKey`] key (HKDF from a key file, or an HMAC key inside the HSM): the
//! database alone can neither make nor move one. The MAC is written when the key is made
//! and checked before anything is sealed to the key.
//!
//! The encoding is canonical and unambiguous, like the AAD's:
//!
//! ```text
//! "KSPKM1"                                   6 ASCII bytes
//! 1 ‖ 1  ‖ recipient kind                    tag, length, 1 byte
//! 2 ‖ 16 ‖ holder id                         token, user or recovery credential id; the vault id for a vault
//! 3 ‖ 16 ‖ user id                           the user the holder belongs to (a vault's: its owner)
//! 4 ‖ 16 ‖ vault id                          only for a vault key pair
//! 5 ‖ 4  ‖ key version, u32 BE               only for a vault key pair
//! 6 ‖ 32 ‖ public key
//! ```
//!
//! Absent fields are omitted (the tags keep that unambiguous).

use subtle::ConstantTimeEq;

use crate::aad::RecipientKind;
use crate::seal::{MAC_LEN, MacLabel, SealKey};
use crate::x25519::PublicKey;
use crate::{Error, Id, Result};

const MAGIC: &[u8; 6] = b"KSPKM1";

/// The canonical bytes the MAC is computed over (see the module docs). Public for the
/// test vectors of `docs/FORMAT.md`.
pub fn public_key_mac_input(
    kind: RecipientKind,
    holder: &Id,
    user: &Id,
    vault: Option<&Id>,
    key_version: Option<u32>,
    pk: &PublicKey,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(6 + 3 + 3 * 18 + 6 + 34);
    out.extend_from_slice(MAGIC);
    push(&mut out, 1, &[kind.as_u8()]);
    push(&mut out, 2, holder.as_bytes());
    push(&mut out, 3, user.as_bytes());
    if let Some(vault) = vault {
        push(&mut out, 4, vault.as_bytes());
    }
    if let Some(version) = key_version {
        push(&mut out, 5, &version.to_be_bytes());
    }
    push(&mut out, 6, pk.as_bytes());
    out
}

fn push(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    // Every field is at most 32 bytes by construction.
    out.push(bytes.len() as u8);
    out.extend_from_slice(bytes);
}

/// The MAC to store with `pk`: `HMAC-SHA256(seal key's public-key MAC key,
/// public_key_mac_input(..))`. Fails if the seal key computes no MACs (then nothing may be
/// sealed to anyone: the caller answers 500, never skips the MAC).
pub fn public_key_mac(
    seal: &dyn SealKey,
    kind: RecipientKind,
    holder: &Id,
    user: &Id,
    vault: Option<&Id>,
    key_version: Option<u32>,
    pk: &PublicKey,
) -> Result<[u8; MAC_LEN]> {
    seal.mac(
        MacLabel::PublicKey,
        &public_key_mac_input(kind, holder, user, vault, key_version, pk),
    )
}

/// Check a stored public key's MAC, in constant time, before sealing anything to it.
/// [`Error::PublicKeyMac`] on a mismatch (a key copied from another holder's row, or a
/// changed kind, holder, user, vault or version), including a MAC of the wrong length.
#[allow(clippy::too_many_arguments)]
pub fn verify_public_key_mac(
    seal: &dyn SealKey,
    kind: RecipientKind,
    holder: &Id,
    user: &Id,
    vault: Option<&Id>,
    key_version: Option<u32>,
    pk: &PublicKey,
    mac: &[u8],
) -> Result<()> {
    let expected = public_key_mac(seal, kind, holder, user, vault, key_version, pk)?;
    if mac.len() == MAC_LEN && bool::from(expected.ct_eq(mac)) {
        Ok(())
    } else {
        Err(Error::PublicKeyMac)
    }
}
