//! Sharing ([`MemberStore`]): a vault's members, their roles, adding one with a pending
//! grant, and removing one with every key it and its tokens held for the vault.
//!
//! Each change takes the vault row for update first (SQLite's `BEGIN IMMEDIATE` already
//! excludes every other writer), the same lock a rotation takes, so a rotation sees a
//! member either before it was added or with its grant, and never a removed one.

use async_trait::async_trait;
use keyslot_core::keystore::{Holder, PublicHolder};
use keyslot_core::memberstore::{MemberRow, MemberStore, NewMember, Role};
use keyslot_core::model::AuditEvent;
use keyslot_core::store::{StoreError, StoreResult};
use keyslot_crypto::Id;

use crate::db::{Pool, RowRead, Tx, query, sql, touched};
use crate::{audit, rows};

pub(crate) fn role(row: &dyn RowRead) -> StoreResult<Role> {
    Role::parse(&row.text("role")?).ok_or(StoreError::Corrupt("role"))
}

/// The vault's key version, its row locked for update until commit.
async fn lock_vault(tx: &mut Tx, vault: &Id) -> StoreResult<u32> {
    let v = tx
        .one(
            query(sql!("SELECT key_version FROM vaults WHERE id = $1" FOR_UPDATE)).bind(vault),
            |r| r.int("key_version"),
        )
        .await?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt("key_version"))
}

/// A member's role, read under the vault's lock; `NotFound` if not a member.
async fn member_role(tx: &mut Tx, vault: &Id, user: &Id) -> StoreResult<Role> {
    tx.one(
        query(sql!(
            "SELECT role FROM vault_members WHERE vault_id = $1 AND user_id = $2"
        ))
        .bind(vault)
        .bind(user),
        role,
    )
    .await
}

async fn owner_count(tx: &mut Tx, vault: &Id) -> StoreResult<i64> {
    tx.one(
        query(sql!(
            "SELECT COUNT(*) AS n FROM vault_members WHERE vault_id = $1 AND role = 'owner'"
        ))
        .bind(vault),
        |r| r.int("n"),
    )
    .await
}

/// `Conflict` when `user` is the vault's only owner.
async fn keep_an_owner(tx: &mut Tx, vault: &Id, user: &Id) -> StoreResult<()> {
    if member_role(tx, vault, user).await? == Role::Owner && owner_count(tx, vault).await? <= 1 {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

async fn member_vaults(pool: &Pool, user: &Id) -> StoreResult<Vec<Id>> {
    pool.all(
        query(sql!(
            "SELECT v.id FROM vaults v JOIN vault_members m ON m.vault_id = v.id \
             WHERE m.user_id = $1 ORDER BY v.created_at, v." SEQ
        ))
        .bind(user),
        |r| rows::id(r, "id"),
    )
    .await
}

async fn members(pool: &Pool, vault: &Id) -> StoreResult<Vec<MemberRow>> {
    let mut out = pool
        .all(
            query(sql!(
                "SELECT u.id, u.username, m.role, \
                 EXISTS (SELECT 1 FROM user_grants g WHERE g.user_id = m.user_id AND g.vault_id = m.vault_id) AS grant_pending \
                 FROM vault_members m JOIN users u ON u.id = m.user_id WHERE m.vault_id = $1"
            ))
            .bind(vault),
            |r| {
                Ok(MemberRow {
                    user_id: rows::id(r, "id")?,
                    username: r.text("username")?,
                    role: role(r)?,
                    grant_pending: r.flag("grant_pending")?,
                })
            },
        )
        .await?;
    out.sort_by(|a, b| {
        b.role
            .cmp(&a.role)
            .then_with(|| a.username.to_lowercase().cmp(&b.username.to_lowercase()))
    });
    Ok(out)
}

/// The member's row and grant and the audit event, inside a transaction that already
/// holds the member's user row ([`crate::star_tokens::add_member`], which also grants to
/// the member's `"*"` tokens).
pub(crate) async fn add_member_in(tx: &mut Tx, m: &NewMember) -> StoreResult<()> {
    let Holder::User(grantee) = m.grant.holder else {
        return Err(StoreError::Corrupt("grant holder"));
    };
    if grantee != m.user || m.grant.vault_id != m.vault {
        return Err(StoreError::Corrupt("grant holder"));
    }
    if lock_vault(tx, &m.vault).await? != m.grant.key_version {
        return Err(StoreError::KeyVersionMoved);
    }
    // An empty slot at version 0: older than any version, so the member's first request
    // converts the grant before it opens anything (the owner cannot wrap under the
    // member's user key). The primary key refuses a second membership: `Conflict`.
    tx.execute(
        query(sql!(
            "INSERT INTO vault_members (vault_id, user_id, role, key_version, wrapped_vault_key) \
             VALUES ($1, $2, $3, 0, $4)"
        ))
        .bind(&m.vault)
        .bind(&m.user)
        .bind(m.role.as_str())
        .bind(&[][..]),
    )
    .await?;
    tx.execute(
        query(sql!(
            "INSERT INTO user_grants (user_id, vault_id, key_version, sealed, created_at) VALUES ($1, $2, $3, $4, $5)"
        ))
        .bind(&m.user)
        .bind(&m.vault)
        .bind(m.grant.key_version)
        .bind(&m.grant.sealed)
        .bind(m.audit.at),
    )
    .await?;
    audit::insert(tx, &m.audit).await
}

async fn set_member_role(
    pool: &Pool,
    vault: &Id,
    user: &Id,
    role: Role,
    audit_event: AuditEvent,
) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    set_member_role_in(&mut tx, vault, user, role, &audit_event).await?;
    tx.commit().await
}

/// The role change under the vault's lock, in the caller's transaction (an end-to-end
/// owner's comes with the member-list signature, written in the same one).
pub(crate) async fn set_member_role_in(
    tx: &mut Tx,
    vault: &Id,
    user: &Id,
    role: Role,
    audit_event: &AuditEvent,
) -> StoreResult<()> {
    lock_vault(tx, vault).await?;
    if role != Role::Owner {
        keep_an_owner(tx, vault, user).await?;
    }
    touched(
        tx.execute(
            query(sql!(
                "UPDATE vault_members SET role = $1 WHERE vault_id = $2 AND user_id = $3"
            ))
            .bind(role.as_str())
            .bind(vault)
            .bind(user),
        )
        .await?,
    )?;
    audit::insert(tx, audit_event).await
}

async fn remove_member(
    pool: &Pool,
    vault: &Id,
    user: &Id,
    key_version: u32,
    audit_event: AuditEvent,
) -> StoreResult<()> {
    let mut tx = pool.write().await?;
    if lock_vault(&mut tx, vault).await? != key_version {
        return Err(StoreError::KeyVersionMoved);
    }
    keep_an_owner(&mut tx, vault, user).await?;
    // The member's tokens lose the vault: slots and grants (deposit tokens included,
    // whatever they hold), so none of them is a holder at the rotation that follows.
    tx.execute(
        query(sql!(
            "DELETE FROM token_vault_slots WHERE vault_id = $1 AND token_id IN (SELECT id FROM tokens WHERE user_id = $2)"
        ))
        .bind(vault)
        .bind(user),
    )
    .await?;
    tx.execute(
        query(sql!(
            "DELETE FROM token_grants WHERE vault_id = $1 AND token_id IN (SELECT id FROM tokens WHERE user_id = $2)"
        ))
        .bind(vault)
        .bind(user),
    )
    .await?;
    // Deposit tokens hold no key but carry the vault in their scope: it goes too, or a
    // removed member could still plant items in the vault.
    tx.execute(
        query(sql!(
            "DELETE FROM token_deposit_vaults WHERE vault_id = $1 AND token_id IN (SELECT id FROM tokens WHERE user_id = $2)"
        ))
        .bind(vault)
        .bind(user),
    )
    .await?;
    tx.execute(
        query(sql!(
            "DELETE FROM user_grants WHERE vault_id = $1 AND user_id = $2"
        ))
        .bind(vault)
        .bind(user),
    )
    .await?;
    touched(
        tx.execute(
            query(sql!(
                "DELETE FROM vault_members WHERE vault_id = $1 AND user_id = $2"
            ))
            .bind(vault)
            .bind(user),
        )
        .await?,
    )?;
    // Due; and an end-to-end owner's signature over the member list (NULL in server
    // mode) goes in the same statement: it covers a list that no longer is, and clearing
    // it later, apart from the removal, could leave it standing if that step failed.
    tx.execute(
        query(sql!(
            "UPDATE vaults SET rotation_due = TRUE, rotate_due_at = \
             (SELECT MIN(t.expires_at) FROM token_vault_slots s JOIN tokens t ON t.id = s.token_id WHERE s.vault_id = $1), \
             members_signature = NULL \
             WHERE id = $1"
        ))
        .bind(vault),
    )
    .await?;
    audit::insert(&mut tx, &audit_event).await?;
    tx.commit().await
}

async fn user_public_key(pool: &Pool, user: &Id) -> StoreResult<Option<PublicHolder>> {
    pool.optional(
        query(sql!(
            "SELECT id, x25519_public, x25519_public_mac FROM users WHERE id = $1"
        ))
        .bind(user),
        |r| {
            let id = rows::id(r, "id")?;
            Ok(PublicHolder {
                holder: Holder::User(id),
                user_id: id,
                public_key: r.bytes("x25519_public")?,
                public_key_mac: r.opt_bytes("x25519_public_mac")?,
            })
        },
    )
    .await
}

async fn vault_key_version(pool: &Pool, vault: &Id) -> StoreResult<Option<u32>> {
    pool.optional(
        query(sql!("SELECT key_version FROM vaults WHERE id = $1")).bind(vault),
        |r| u32::try_from(r.int("key_version")?).map_err(|_| StoreError::Corrupt("key_version")),
    )
    .await
}

#[async_trait]
impl MemberStore for crate::SqlStore {
    async fn member_vaults(&self, user: &Id) -> StoreResult<Vec<Id>> {
        member_vaults(&self.pool, user).await
    }
    async fn members(&self, vault: &Id) -> StoreResult<Vec<MemberRow>> {
        members(&self.pool, vault).await
    }
    async fn add_member(&self, member: NewMember) -> StoreResult<()> {
        // Granting to none of the member's "*" tokens: refused if they have any.
        let now = member.audit.at;
        crate::star_tokens::add_member(&self.pool, member, Vec::new(), now).await
    }
    async fn set_member_role(
        &self,
        vault: &Id,
        user: &Id,
        role: Role,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        set_member_role(&self.pool, vault, user, role, audit).await
    }
    async fn remove_member(
        &self,
        vault: &Id,
        user: &Id,
        key_version: u32,
        audit: AuditEvent,
    ) -> StoreResult<()> {
        remove_member(&self.pool, vault, user, key_version, audit).await?;
        // The deleted slots and grants do not stay readable in free pages.
        self.release_deleted_bytes().await
    }
    async fn user_public_key(&self, user: &Id) -> StoreResult<Option<PublicHolder>> {
        user_public_key(&self.pool, user).await
    }
    async fn vault_key_version(&self, vault: &Id) -> StoreResult<Option<u32>> {
        vault_key_version(&self.pool, vault).await
    }
}
