//! The public-key MACs around `keyslot seal migrate`: every one proven under the key file
//! before anything moves, and recomputed under the HSM's public-key MAC key at the end.
//!
//! Public keys (users', tokens', vault key versions', recovery codes') carry a MAC under
//! the seal key, checked before anything is sealed to them (a rotation's grants, sharing,
//! deposits, the new user key sealed to the recovery code at a user-key rotation).
//! Servers with an HSM compute MACs with the HSM's keys, so after the move every MAC made
//! under the key file would fail its check and every rotation would answer 500. Once
//! every password slot is in the HSM, the last step recomputes them all under the HSM's
//! key.
//!
//! Recomputing a MAC vouches for the row as it is, so each one is first verified under
//! the key file (or found to be the HSM's already): a public key put in a row behind the
//! servers' back — the attack the MAC exists to stop — would otherwise come out of the
//! migration with a valid MAC and receive the next rotation's grant. The check runs over
//! every row before the first password slot moves, so a tampered row stops the migration
//! with nothing changed, and again row by row at the end. Each MAC is written as a
//! compare-and-set, so the step is idempotent: interrupted, `keyslot seal migrate` run
//! again finds every slot moved and does it again from the start.

use keyslot_core::public_key_store::{
    PublicKeyTable, UnprovenPublicKey, first_unproven_public_key, recompute_public_key_macs,
};
use keyslot_core::store::Store;
use keyslot_crypto::SealKey;

use crate::exit::{CmdResult, Failure, OTHER, UNAVAILABLE};

/// Refuse to start when a stored public key's MAC is neither `file`'s nor `hsm`'s.
pub(super) async fn require_proven(
    store: &dyn Store,
    file: &dyn SealKey,
    hsm: &dyn SealKey,
) -> CmdResult<()> {
    match first_unproven_public_key(store, file, hsm).await {
        Ok(None) => Ok(()),
        Ok(Some(unproven)) => Err(refusal(&unproven, "nothing was changed")),
        Err(e) => Err(Failure::new(
            UNAVAILABLE,
            format!(
                "checking the public-key MACs before the migration failed ({e}): nothing was changed, run keyslot seal migrate again"
            ),
        )),
    }
}

/// Recompute every public-key MAC under `hsm`, each one proven under `file` first; how
/// many were written (rows whose MAC was already the HSM's are left alone).
pub(super) async fn recompute_under_hsm(
    store: &dyn Store,
    file: &dyn SealKey,
    hsm: &dyn SealKey,
) -> CmdResult<u64> {
    let written = match recompute_public_key_macs(store, file, hsm).await {
        Ok(Ok(written)) => written,
        Ok(Err(unproven)) => {
            return Err(refusal(
                &unproven,
                "every password slot is in the HSM; no further public-key MAC was recomputed",
            ));
        }
        Err(e) => {
            return Err(Failure::new(
                UNAVAILABLE,
                format!(
                    "every password slot is in the HSM, but recomputing the public-key MACs failed ({e}): run keyslot seal migrate again"
                ),
            ));
        }
    };
    tracing::info!(
        written,
        "seal migrate: public-key MACs recomputed under the HSM's key"
    );
    Ok(written)
}

/// The failure for a row whose MAC proves nothing: which row, and what to do. Never a key
/// or a MAC.
fn refusal(unproven: &UnprovenPublicKey, state: &str) -> Failure {
    Failure::new(
        OTHER,
        format!(
            "keyslot seal migrate stopped: {unproven}, so the row may have been written behind the servers' back (a public key put there would receive the vault keys sealed to it). {state}. Restore that row from a backup taken before the change{or_revoke}, then run keyslot seal migrate again.",
            or_revoke = match unproven.table {
                PublicKeyTable::Tokens => " (or revoke the token)",
                PublicKeyTable::RecoveryCodes => {
                    " (or clear that recovery slot's x25519_public and x25519_public_mac: the user's next key rotation then issues a new recovery code)"
                }
                PublicKeyTable::Users | PublicKeyTable::VaultKeys => "",
            },
        ),
    )
}
