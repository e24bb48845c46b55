//! End-to-end sharing and rotation ([`E2eLifecycleStore`]): the server-mode transactions
//! of `members`, `star_tokens` and `keys`, with what an end-to-end client sends beside
//! them (the new version's signed public key, the owner's member-list signature) written
//! in the same transaction.

use keyslot_core::deposit_store::{DepositRecord, ReaderCopy};
use keyslot_core::e2e_lifecycle_store::{
    ClientRotation, DepositSender, E2eLifecycleStore, HolderSignature,
};
use keyslot_core::keystore::{Grant, Holder};
use keyslot_core::memberstore::{NewMember, Role};
use keyslot_core::model::{AuditEvent, Timestamp};
use keyslot_core::store::StoreResult;
use keyslot_crypto::Id;

use crate::db::{Pool, Tx, query, sql, touched};
use crate::rows;

async fn set_members_signature_in(
    tx: &mut Tx,
    vault: &Id,
    signature: Option<&[u8]>,
) -> StoreResult<()> {
    touched(
        tx.execute(
            query(sql!(
                "UPDATE vaults SET members_signature = $1 WHERE id = $2"
            ))
            .bind(crate::db::Arg::Bytes(signature))
            .bind(vault),
        )
        .await?,
    )
}

/// The owner's user row first, as every share does (`star_tokens::add_member`).
async fn add_member_signed(
    pool: &Pool,
    member: NewMember,
    token_grants: Vec<Grant>,
    members_signature: Vec<u8>,
    now: Timestamp,
) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    crate::star_tokens::lock_user(&mut tx, &member.user).await?;
    let (user, vault, version) = (member.user, member.vault, member.grant.key_version);
    crate::members::add_member_in(&mut tx, &member).await?;
    crate::star_tokens::grant_to_live(&mut tx, &user, &vault, version, &token_grants, now).await?;
    set_members_signature_in(&mut tx, &vault, Some(&members_signature)).await?;
    tx.commit().await
}

async fn members_signature(pool: &Pool, vault: &Id) -> StoreResult<Option<Vec<u8>>> {
    Ok(pool
        .optional(
            query(sql!("SELECT members_signature FROM vaults WHERE id = $1")).bind(vault),
            |r| r.opt_bytes("members_signature"),
        )
        .await?
        .flatten())
}

async fn holder_signatures(pool: &Pool, vault: &Id) -> StoreResult<Vec<HolderSignature>> {
    let signature = |holder: fn(Id) -> Holder| {
        move |r: &dyn crate::db::RowRead| {
            Ok(HolderSignature {
                holder: holder(rows::id(r, "id")?),
                identity_public: r.opt_bytes("identity_public")?,
                signature: r.opt_bytes("signature")?,
            })
        }
    };
    let mut out = pool
        .all(
            query(sql!(
                "SELECT u.id, u.identity_public, u.x25519_signature AS signature \
                 FROM vault_members m JOIN users u ON u.id = m.user_id WHERE m.vault_id = $1 ORDER BY u.id"
            ))
            .bind(vault),
            signature(Holder::User),
        )
        .await?;
    out.extend(
        pool.all(
            query(sql!(
                "SELECT t.id, u.identity_public, t.public_key_signature AS signature \
                 FROM token_vault_slots s JOIN tokens t ON t.id = s.token_id JOIN users u ON u.id = t.user_id \
                 WHERE s.vault_id = $1 ORDER BY t.id"
            ))
            .bind(vault),
            signature(Holder::Token),
        )
        .await?,
    );
    Ok(out)
}

async fn rotate_vault_client(pool: &Pool, c: ClientRotation) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    crate::keys::rotate_in(&mut tx, &c.rotation).await?;
    let to = c.rotation.from_version + 1;
    touched(
        tx.execute(
            query(sql!(
                "UPDATE vault_keys SET public_key = $1, public_key_mac = $2, public_key_signature = $3 \
                 WHERE vault_id = $4 AND key_version = $5"
            ))
            .bind(&c.public_key)
            .bind(&c.public_key_mac)
            .bind(&c.public_key_signature)
            .bind(&c.rotation.vault)
            .bind(to),
        )
        .await?,
    )?;
    set_members_signature_in(&mut tx, &c.rotation.vault, c.members_signature.as_deref()).await?;
    crate::test_pause::pause("rotation").await;
    tx.commit().await
}

/// The deposit as server mode stores it, and its sender copied from the token's row in
/// the same transaction (the token must be live for the deposit to commit at all).
async fn create_client_deposit(
    pool: &Pool,
    d: DepositRecord,
    copies: Vec<ReaderCopy>,
    now: Timestamp,
    audit: AuditEvent,
) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    if d.to_readers {
        crate::deposit_readers::create_in(&mut tx, &d, &copies, now, &audit).await?;
    } else {
        crate::deposits::create_in(&mut tx, &d, now, &audit).await?;
    }
    touched(
        tx.execute(
            query(sql!(
                "UPDATE deposits SET sender_public_key = (SELECT x25519_public FROM tokens WHERE id = $1), \
                 sender_signature = (SELECT public_key_signature FROM tokens WHERE id = $1) WHERE id = $2"
            ))
            .bind(&d.token_id)
            .bind(&d.id),
        )
        .await?,
    )?;
    tx.commit().await
}

async fn deposit_sender(pool: &Pool, deposit: &Id) -> StoreResult<Option<DepositSender>> {
    pool.optional(
        query(sql!(
            "SELECT sender_public_key, sender_signature FROM deposits WHERE id = $1"
        ))
        .bind(deposit),
        |r| {
            Ok(DepositSender {
                public_key: r.opt_bytes("sender_public_key")?,
                signature: r.opt_bytes("sender_signature")?,
            })
        },
    )
    .await
}

#[async_trait::async_trait]
impl E2eLifecycleStore for crate::SqlStore {
    async fn add_member_signed(
        &self,
        member: NewMember,
        token_grants: Vec<Grant>,
        members_signature: Vec<u8>,
        now: Timestamp,
    ) -> StoreResult<()> {
        add_member_signed(&self.pool, member, token_grants, members_signature, now).await
    }
    async fn set_member_role_signed(
        &self,
        vault: &Id,
        user: &Id,
        role: Role,
        members_signature: Option<Vec<u8>>,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        let mut tx = self.pool.write().await?;
        crate::members::set_member_role_in(&mut tx, vault, user, role, &audit).await?;
        set_members_signature_in(&mut tx, vault, members_signature.as_deref()).await?;
        tx.commit().await
    }
    async fn members_signature(&self, vault: &Id) -> StoreResult<Option<Vec<u8>>> {
        members_signature(&self.pool, vault).await
    }
    async fn holder_signatures(&self, vault: &Id) -> StoreResult<Vec<HolderSignature>> {
        holder_signatures(&self.pool, vault).await
    }
    async fn rotate_vault_client(&self, rotation: ClientRotation) -> StoreResult<()> {
        rotate_vault_client(&self.pool, rotation).await
    }
    async fn create_client_deposit(
        &self,
        deposit: DepositRecord,
        copies: Vec<ReaderCopy>,
        now: Timestamp,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        create_client_deposit(&self.pool, deposit, copies, now, audit).await
    }
    async fn deposit_sender(&self, deposit: &Id) -> StoreResult<Option<DepositSender>> {
        deposit_sender(&self.pool, deposit).await
    }
}
