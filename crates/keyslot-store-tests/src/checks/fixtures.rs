//! What the checks build their worlds from: accounts, sessions, items and tokens with fixed,
//! recognisable bytes (a store never interprets envelopes, so any bytes do).

use keyslot_core::model::{
    AuditEvent, Backoff, ItemRecord, Outcome, RecoveryRecord, SessionRecord, TokenRecord,
    TokenVaultSlot, UserRecord, VaultRecord,
};
use keyslot_core::store::{NewAccount, NewLogin, Store, StoreResult};
use keyslot_crypto::Id;

pub(super) fn id() -> Id {
    Id::random().unwrap()
}

pub(super) fn audit(user: Option<&Id>, action: &str) -> AuditEvent {
    AuditEvent {
        at: 1_000,
        user_id: user.copied(),
        action: action.into(),
        actor: "test".into(),
        outcome: Outcome::Ok,
        ip: None,
        detail: String::new(),
    }
}

pub(super) struct Account {
    pub(super) user: Id,
    pub(super) vault: Id,
    pub(super) recovery: Id,
}

/// An account whose user row has no public-key MAC, like a row from before MACs (the
/// service always writes one with the row: see `public_keys`).
pub(super) async fn account(store: &dyn Store, username: &str) -> Account {
    let (user, vault, recovery) = (id(), id(), id());
    store
        .create_account(NewAccount {
            user: UserRecord {
                id: user,
                username: username.into(),
                created_at: 1_000,
                password_credential: id(),
                password_slot: b"sealed password slot".to_vec(),
                x25519_public: vec![1; 32],
                x25519_wrapped: b"wrapped x25519".to_vec(),
                failed_logins: 0,
                locked_until: None,
                disabled_at: None,
                end_to_end: false,
            },
            user_public_key_mac: None,
            recovery: RecoveryRecord {
                user_id: user,
                credential_id: recovery,
                verifier: vec![2; 32],
                wrapped_user_key: b"rc slot".to_vec(),
            },
            vault: vault_record(&user, vault),
            audit: audit(Some(&user), "signup"),
        })
        .await
        .unwrap();
    Account {
        user,
        vault,
        recovery,
    }
}

pub(super) fn vault_record(user: &Id, vault: Id) -> VaultRecord {
    VaultRecord {
        id: vault,
        user_id: *user,
        key_version: 1,
        wrapped_vault_key: b"wrapped vk".to_vec(),
        name: b"name env".to_vec(),
        created_at: 1_000,
    }
}

pub(super) fn session(user: &Id, at: i64) -> SessionRecord {
    SessionRecord {
        id: id(),
        user_id: *user,
        verifier: vec![3; 32],
        wrapped_user_key: b"s slot".to_vec(),
        created_at: at,
        last_seen_at: at,
        expires_at: at + 3600,
        end_to_end: false,
    }
}

pub(super) fn item(a: &Account, version: u64, value: &[u8]) -> ItemRecord {
    ItemRecord {
        id: Id::from_bytes([9; 16]),
        vault_id: a.vault,
        user_id: a.user,
        version,
        key_version: 1,
        wrapped_item_key: b"ik".to_vec(),
        name: b"name".to_vec(),
        value: value.to_vec(),
        name_index: None,
        created_at: 1_000,
        updated_at: 1_000 + i64::try_from(version).unwrap(),
    }
}

/// A token row with fixed bytes (stores never interpret them); a `wrapped_user_key` makes
/// it an all-vaults token of the first schema (it wraps the user key, and has no slots). Its public key has no MAC, like a row from before MACs.
pub(super) fn token_record(
    user: &Id,
    can_write: bool,
    wrapped_user_key: Option<Vec<u8>>,
) -> TokenRecord {
    TokenRecord {
        id: id(),
        user_id: *user,
        name_key: vec![1],
        name: vec![2],
        verifier: vec![4; 32],
        can_write,
        deposit: false,
        all_vaults: wrapped_user_key.is_some(),
        wrapped_user_key,
        x25519_public: vec![5; 32],
        public_key_mac: None,
        created_at: 10,
        expires_at: 100,
        last_used_at: None,
        end_to_end: false,
    }
}

/// A read-only token of `a` scoped to `a`'s vault, stored with its one slot
/// (`wrapped_vault_key` = `t slot`); returns its id.
pub(super) async fn mint_scoped(store: &dyn Store, a: &Account) -> Id {
    let token = token_record(&a.user, false, None);
    let t = token.id;
    let slot = TokenVaultSlot {
        token_id: t,
        vault_id: a.vault,
        key_version: 1,
        wrapped_vault_key: b"t slot".to_vec(),
    };
    store
        .create_token(
            token,
            vec![slot],
            None,
            None,
            audit(Some(&a.user), "token.mint"),
        )
        .await
        .unwrap();
    t
}

pub(super) const BACKOFF: Backoff = Backoff {
    threshold: 5,
    base_secs: 1,
    max_secs: 900,
};

/// A login that verified the user's current password slot (cap: 100 sessions).
pub(super) async fn record_login(
    store: &dyn Store,
    session: SessionRecord,
    upgraded: Option<Vec<u8>>,
    audit: AuditEvent,
) -> StoreResult<()> {
    let verified = store
        .user(&session.user_id)
        .await
        .unwrap()
        .unwrap()
        .password_slot;
    store
        .record_login(NewLogin {
            session,
            verified_password_slot: verified,
            upgraded_password_slot: upgraded,
            max_sessions: 100,
            audit,
        })
        .await
}
