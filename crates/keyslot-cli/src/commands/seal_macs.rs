//! The last step of `keyslot seal migrate`: every stored public key's MAC recomputed under
//! the HSM's public-key MAC key.
//!
//! Public keys (users', tokens', vault key versions') carry a MAC under the seal key,
//! checked before anything is sealed to them (a rotation's grants, sharing, deposits).
//! Servers with an HSM compute MACs with the HSM's keys, so after the move every MAC made
//! under the key file would fail its check and every rotation would answer 500. Once
//! every password slot is in the HSM, this step recomputes them all under the HSM's key.
//!
//! It trusts the rows as they are when it runs (a MAC records a key as the server knew
//! it): the operator runs it, on a database nobody else writes behind the servers' back.
//! It pages through each table and writes each MAC as a compare-and-set, so it is
//! idempotent: interrupted, `keyslot seal migrate` run again finds every slot moved and
//! does it again from the start.

use keyslot_core::public_key_store::recompute_public_key_macs;
use keyslot_core::store::Store;
use keyslot_crypto::SealKey;

use crate::exit::{CmdResult, Failure, UNAVAILABLE};

/// Recompute every public-key MAC under `hsm`; how many were written (rows whose MAC was
/// already the HSM's are left alone).
pub(super) async fn recompute_under_hsm(store: &dyn Store, hsm: &dyn SealKey) -> CmdResult<u64> {
    let written = recompute_public_key_macs(store, hsm).await.map_err(|e| {
        Failure::new(
            UNAVAILABLE,
            format!(
                "every password slot is in the HSM, but recomputing the public-key MACs failed ({e}): run keyslot seal migrate again"
            ),
        )
    })?;
    tracing::info!(
        written,
        "seal migrate: public-key MACs recomputed under the HSM's key"
    );
    Ok(written)
}
