//! The checks themselves. Each takes a fresh store.

use std::sync::Arc;

use keyslot_core::model::{
    AuditEvent, Backoff, ItemRecord, Outcome, RecoveryRecord, SessionRecord, TokenRecord,
    TokenVaultSlot, UserRecord, VaultRecord,
};
use keyslot_core::store::{NewAccount, Store, StoreError};
use keyslot_crypto::Id;

fn id() -> Id {
    Id::random().unwrap()
}

fn audit(user: Option<&Id>, action: &str) -> AuditEvent {
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

struct Account {
    user: Id,
    vault: Id,
    recovery: Id,
}

async fn account(store: &dyn Store, username: &str) -> Account {
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
            },
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

fn vault_record(user: &Id, vault: Id) -> VaultRecord {
    VaultRecord {
        id: vault,
        user_id: *user,
        key_version: 1,
        wrapped_vault_key: b"wrapped vk".to_vec(),
        name: b"name env".to_vec(),
        created_at: 1_000,
    }
}

fn session(user: &Id, at: i64) -> SessionRecord {
    SessionRecord {
        id: id(),
        user_id: *user,
        verifier: vec![3; 32],
        wrapped_user_key: b"s slot".to_vec(),
        created_at: at,
        last_seen_at: at,
        expires_at: at + 3600,
    }
}

fn item(a: &Account, version: u64, value: &[u8]) -> ItemRecord {
    ItemRecord {
        id: Id::from_bytes([9; 16]),
        vault_id: a.vault,
        user_id: a.user,
        version,
        key_version: 1,
        wrapped_item_key: b"ik".to_vec(),
        name: b"name".to_vec(),
        value: value.to_vec(),
        created_at: 1_000,
        updated_at: 1_000 + i64::try_from(version).unwrap(),
    }
}

/// A token row with fixed bytes (stores never interpret them); a `wrapped_user_key` makes
/// it an all-vaults token.
fn token_record(user: &Id, can_write: bool, wrapped_user_key: Option<Vec<u8>>) -> TokenRecord {
    TokenRecord {
        id: id(),
        user_id: *user,
        name_key: vec![1],
        name: vec![2],
        verifier: vec![4; 32],
        can_write,
        wrapped_user_key,
        x25519_public: vec![5; 32],
        created_at: 10,
        expires_at: 100,
        last_used_at: None,
    }
}

/// A read-only token of `a` scoped to `a`'s vault, stored with its one slot
/// (`wrapped_vault_key` = `t slot`); returns its id.
async fn mint_scoped(store: &dyn Store, a: &Account) -> Id {
    let token = token_record(&a.user, false, None);
    let t = token.id;
    let slot = TokenVaultSlot {
        token_id: t,
        vault_id: a.vault,
        key_version: 1,
        wrapped_vault_key: b"t slot".to_vec(),
    };
    store
        .create_token(token, vec![slot], audit(Some(&a.user), "token.mint"))
        .await
        .unwrap();
    t
}

const BACKOFF: Backoff = Backoff {
    threshold: 5,
    base_secs: 1,
    max_secs: 900,
};

pub async fn account_round_trip_and_case_insensitive_names(store: Arc<dyn Store>) {
    let a = account(store.as_ref(), "Alice.Example").await;
    let by_name = store.user_by_name("alice.example").await.unwrap().unwrap();
    assert_eq!(by_name.id, a.user);
    assert_eq!(by_name.username, "Alice.Example", "stored as given");
    assert_eq!(by_name.password_slot, b"sealed password slot");
    assert_eq!(
        store.user(&a.user).await.unwrap().unwrap().username,
        "Alice.Example"
    );
    assert_eq!(
        store
            .recovery(&a.user)
            .await
            .unwrap()
            .unwrap()
            .credential_id,
        a.recovery
    );
    assert_eq!(store.vaults(&a.user).await.unwrap().len(), 1);
    assert!(store.user_by_name("bob").await.unwrap().is_none());
    store.ping().await.unwrap();
}

pub async fn duplicate_username_conflicts_and_writes_nothing(store: Arc<dyn Store>) {
    let first = account(store.as_ref(), "carol").await;
    let other = id();
    let result = store
        .create_account(NewAccount {
            user: UserRecord {
                id: other,
                username: "CAROL".into(),
                ..store.user(&first.user).await.unwrap().unwrap()
            },
            recovery: RecoveryRecord {
                user_id: other,
                credential_id: id(),
                verifier: vec![0; 32],
                wrapped_user_key: vec![0],
            },
            vault: vault_record(&other, id()),
            audit: audit(Some(&other), "signup"),
        })
        .await;
    assert_eq!(result, Err(StoreError::Conflict));
    assert!(store.user(&other).await.unwrap().is_none());
    assert!(
        store.vaults(&other).await.unwrap().is_empty(),
        "no half-written account"
    );
    assert!(store.audit_events(&other, 10).await.unwrap().is_empty());
}

pub async fn failed_logins_back_off_and_success_resets(store: Arc<dyn Store>) {
    let a = account(store.as_ref(), "dave").await;
    for n in 1..=4 {
        let lock = store
            .record_login_failure(
                Some(&a.user),
                "10.0.0.1",
                BACKOFF,
                audit(Some(&a.user), "login"),
            )
            .await
            .unwrap();
        assert_eq!(lock, None, "no lock after {n} failures");
    }
    let lock = store
        .record_login_failure(
            Some(&a.user),
            "10.0.0.1",
            BACKOFF,
            audit(Some(&a.user), "login"),
        )
        .await
        .unwrap();
    assert_eq!(lock, Some(1_001), "1 s after the fifth failure");
    let lock = store
        .record_login_failure(
            Some(&a.user),
            "10.0.0.1",
            BACKOFF,
            audit(Some(&a.user), "login"),
        )
        .await
        .unwrap();
    assert_eq!(lock, Some(1_002), "doubling");
    let u = store.user(&a.user).await.unwrap().unwrap();
    assert_eq!((u.failed_logins, u.locked_until), (6, Some(1_002)));
    store
        .record_login(session(&a.user, 2_000), None, audit(Some(&a.user), "login"))
        .await
        .unwrap();
    let u = store.user(&a.user).await.unwrap().unwrap();
    assert_eq!((u.failed_logins, u.locked_until), (0, None));
}

pub async fn ip_failures_are_counted_per_address(store: Arc<dyn Store>) {
    for _ in 0..3 {
        store
            .record_login_failure(None, "192.0.2.7", BACKOFF, audit(None, "login"))
            .await
            .unwrap();
    }
    store
        .record_login_failure(None, "192.0.2.8", BACKOFF, audit(None, "login"))
        .await
        .unwrap();
    assert_eq!(store.ip_failures("192.0.2.7", 900).await.unwrap(), 3);
    assert_eq!(store.ip_failures("192.0.2.8", 900).await.unwrap(), 1);
    assert_eq!(
        store.ip_failures("192.0.2.7", 1_001).await.unwrap(),
        0,
        "outside the window"
    );
}

pub async fn sessions_live_touch_and_die(store: Arc<dyn Store>) {
    let a = account(store.as_ref(), "erin").await;
    let s = session(&a.user, 5_000);
    store
        .record_login(
            s.clone(),
            Some(b"upgraded slot".to_vec()),
            audit(Some(&a.user), "login"),
        )
        .await
        .unwrap();
    assert_eq!(
        store.user(&a.user).await.unwrap().unwrap().password_slot,
        b"upgraded slot"
    );
    let got = store.session(&s.id).await.unwrap().unwrap();
    assert_eq!(
        (got.user_id, got.wrapped_user_key.clone(), got.expires_at),
        (a.user, s.wrapped_user_key.clone(), s.expires_at)
    );
    store.touch_session(&s.id, 5_100).await.unwrap();
    assert_eq!(
        store.session(&s.id).await.unwrap().unwrap().last_seen_at,
        5_100
    );
    store.touch_session(&s.id, 5_050).await.unwrap();
    assert_eq!(
        store.session(&s.id).await.unwrap().unwrap().last_seen_at,
        5_100,
        "never goes back"
    );
    store
        .delete_session(&s.id, audit(Some(&a.user), "logout"))
        .await
        .unwrap();
    assert!(store.session(&s.id).await.unwrap().is_none());
}

pub async fn password_change_ends_other_sessions_only_when_asked(store: Arc<dyn Store>) {
    let a = account(store.as_ref(), "frank").await;
    let (s1, s2, s3) = (
        session(&a.user, 10),
        session(&a.user, 10),
        session(&a.user, 10),
    );
    for s in [&s1, &s2, &s3] {
        store
            .record_login(s.clone(), None, audit(Some(&a.user), "login"))
            .await
            .unwrap();
    }
    store
        .change_password(
            &a.user,
            b"slot v2".to_vec(),
            false,
            Some(&s1.id),
            audit(Some(&a.user), "password.change"),
        )
        .await
        .unwrap();
    assert!(store.session(&s2.id).await.unwrap().is_some());
    store
        .change_password(
            &a.user,
            b"slot v3".to_vec(),
            true,
            Some(&s1.id),
            audit(Some(&a.user), "password.change"),
        )
        .await
        .unwrap();
    assert!(
        store.session(&s1.id).await.unwrap().is_some(),
        "the current session stays"
    );
    assert!(store.session(&s2.id).await.unwrap().is_none());
    assert!(store.session(&s3.id).await.unwrap().is_none());
    assert_eq!(
        store.user(&a.user).await.unwrap().unwrap().password_slot,
        b"slot v3"
    );
    assert_eq!(
        store
            .change_password(&id(), vec![1], true, None, audit(None, "password.change"))
            .await,
        Err(StoreError::NotFound)
    );
}

pub async fn recovery_replaces_slots_and_ends_sessions(store: Arc<dyn Store>) {
    let a = account(store.as_ref(), "grace").await;
    let s = session(&a.user, 10);
    store
        .record_login(s.clone(), None, audit(Some(&a.user), "login"))
        .await
        .unwrap();
    let new_rc = RecoveryRecord {
        user_id: a.user,
        credential_id: id(),
        verifier: vec![7; 32],
        wrapped_user_key: b"new rc".to_vec(),
    };
    store
        .recover(
            &a.user,
            &a.recovery,
            b"new pw slot".to_vec(),
            new_rc.clone(),
            audit(Some(&a.user), "recover"),
        )
        .await
        .unwrap();
    assert_eq!(
        store.user(&a.user).await.unwrap().unwrap().password_slot,
        b"new pw slot"
    );
    let rc = store.recovery(&a.user).await.unwrap().unwrap();
    assert_eq!(
        (rc.credential_id, rc.wrapped_user_key),
        (new_rc.credential_id, new_rc.wrapped_user_key)
    );
    assert!(store.session(&s.id).await.unwrap().is_none());
}

pub async fn stale_recovery_changes_nothing(store: Arc<dyn Store>) {
    let a = account(store.as_ref(), "heidi").await;
    let stale = id();
    let rc = RecoveryRecord {
        user_id: a.user,
        credential_id: id(),
        verifier: vec![7; 32],
        wrapped_user_key: vec![1],
    };
    assert_eq!(
        store
            .recover(
                &a.user,
                &stale,
                b"x".to_vec(),
                rc,
                audit(Some(&a.user), "recover")
            )
            .await,
        Err(StoreError::Conflict)
    );
    assert_eq!(
        store.user(&a.user).await.unwrap().unwrap().password_slot,
        b"sealed password slot"
    );
    assert_eq!(
        store
            .recovery(&a.user)
            .await
            .unwrap()
            .unwrap()
            .credential_id,
        a.recovery
    );
}

pub async fn vaults_and_items_are_isolated_per_user(store: Arc<dyn Store>) {
    let a = account(store.as_ref(), "ivan").await;
    let b = account(store.as_ref(), "judy").await;
    let extra = id();
    store
        .create_vault(
            vault_record(&a.user, extra),
            audit(Some(&a.user), "vault.create"),
        )
        .await
        .unwrap();
    assert_eq!(store.vaults(&a.user).await.unwrap().len(), 2);
    assert!(
        store.vault(&b.user, &extra).await.unwrap().is_none(),
        "another user's vault is invisible"
    );
    store
        .create_item(item(&a, 1, b"v1"), audit(Some(&a.user), "item.create"))
        .await
        .unwrap();
    let it = item(&a, 1, b"v1");
    assert_eq!(
        store
            .item(&a.user, &a.vault, &it.id)
            .await
            .unwrap()
            .unwrap()
            .value,
        b"v1"
    );
    assert!(
        store
            .item(&b.user, &a.vault, &it.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.items(&b.user, &a.vault).await.unwrap().is_empty());
    assert_eq!(store.items(&a.user, &a.vault).await.unwrap().len(), 1);
    assert_eq!(
        store
            .delete_item(
                &b.user,
                &a.vault,
                &it.id,
                audit(Some(&b.user), "item.delete")
            )
            .await,
        Err(StoreError::NotFound)
    );
    store
        .delete_item(
            &a.user,
            &a.vault,
            &it.id,
            audit(Some(&a.user), "item.delete"),
        )
        .await
        .unwrap();
    assert!(
        store
            .item(&a.user, &a.vault, &it.id)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn item_update_is_compare_and_swap(store: Arc<dyn Store>) {
    let a = account(store.as_ref(), "mallory").await;
    store
        .create_item(item(&a, 1, b"v1"), audit(Some(&a.user), "item.create"))
        .await
        .unwrap();
    store
        .update_item(item(&a, 2, b"v2"), audit(Some(&a.user), "item.update"))
        .await
        .unwrap();
    assert_eq!(
        store
            .update_item(item(&a, 2, b"stale"), audit(Some(&a.user), "item.update"))
            .await,
        Err(StoreError::Conflict)
    );
    let got = store
        .item(&a.user, &a.vault, &item(&a, 1, b"").id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((got.version, got.value), (2, b"v2".to_vec()));
    let mut missing = item(&a, 2, b"x");
    missing.id = id();
    assert_eq!(
        store
            .update_item(missing, audit(Some(&a.user), "item.update"))
            .await,
        Err(StoreError::NotFound)
    );
}

pub async fn concurrent_writers_exactly_one_wins(store: Arc<dyn Store>) {
    let a = account(store.as_ref(), "niaj").await;
    store
        .create_item(item(&a, 1, b"v1"), audit(Some(&a.user), "item.create"))
        .await
        .unwrap();
    for round in 0..5u64 {
        let version = round + 2;
        let (s1, s2) = (store.clone(), store.clone());
        let (i1, i2) = (
            item(&a, version, b"writer one"),
            item(&a, version, b"writer two"),
        );
        let (r1, r2) = tokio::join!(
            tokio::spawn(async move { s1.update_item(i1, audit(None, "item.update")).await }),
            tokio::spawn(async move { s2.update_item(i2, audit(None, "item.update")).await }),
        );
        let (r1, r2) = (r1.unwrap(), r2.unwrap());
        assert!(
            matches!(
                (&r1, &r2),
                (Ok(()), Err(StoreError::Conflict)) | (Err(StoreError::Conflict), Ok(()))
            ),
            "round {round}: {r1:?} {r2:?}"
        );
        let got = store
            .item(&a.user, &a.vault, &item(&a, 1, b"").id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.version, version);
        let winner: &[u8] = if r1.is_ok() {
            b"writer one"
        } else {
            b"writer two"
        };
        assert_eq!(got.value, winner);
    }
}

pub async fn tokens_with_slots_round_trip_and_revoke(store: Arc<dyn Store>) {
    let a = account(store.as_ref(), "olivia").await;
    let b = account(store.as_ref(), "peggy").await;
    let t = mint_scoped(store.as_ref(), &a).await;
    let got = store.token(&t).await.unwrap().unwrap();
    assert_eq!(
        (
            got.user_id,
            got.can_write,
            got.wrapped_user_key,
            got.last_used_at
        ),
        (a.user, false, None, None)
    );
    assert_eq!(
        store
            .token_vault_slot(&t, &a.vault)
            .await
            .unwrap()
            .unwrap()
            .wrapped_vault_key,
        b"t slot"
    );
    assert!(
        store
            .token_vault_slot(&t, &b.vault)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.tokens(&a.user).await.unwrap().len(), 1);
    assert!(store.tokens(&b.user).await.unwrap().is_empty());
    store.mark_tokens_used(&[(t, 50)]).await.unwrap();
    store.mark_tokens_used(&[(t, 40)]).await.unwrap();
    assert_eq!(
        store.token(&t).await.unwrap().unwrap().last_used_at,
        Some(50)
    );
    assert_eq!(
        store
            .delete_token(&b.user, &t, audit(Some(&b.user), "token.revoke"))
            .await,
        Err(StoreError::NotFound)
    );
    store
        .delete_token(&a.user, &t, audit(Some(&a.user), "token.revoke"))
        .await
        .unwrap();
    assert!(store.token(&t).await.unwrap().is_none());
    assert!(
        store.token_vault_slots(&t).await.unwrap().is_empty(),
        "slots go with the token"
    );
}

pub async fn audit_is_per_user_newest_first(store: Arc<dyn Store>) {
    let a = account(store.as_ref(), "rupert").await;
    let b = account(store.as_ref(), "sybil").await;
    store
        .append_audit(&[
            audit(Some(&a.user), "item.read"),
            audit(Some(&b.user), "item.read"),
            audit(Some(&a.user), "item.read"),
        ])
        .await
        .unwrap();
    store
        .create_vault(
            vault_record(&a.user, id()),
            audit(Some(&a.user), "vault.create"),
        )
        .await
        .unwrap();
    let events = store.audit_events(&a.user, 10).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["vault.create", "item.read", "item.read", "signup"]
    );
    assert!(events.iter().all(|e| e.user_id == Some(a.user)));
    assert_eq!(store.audit_events(&a.user, 2).await.unwrap().len(), 2);
}

pub async fn meta_is_set_once(store: Arc<dyn Store>) {
    assert_eq!(store.meta("k").await.unwrap(), None);
    assert_eq!(store.init_meta("k", b"first").await.unwrap(), b"first");
    assert_eq!(store.init_meta("k", b"second").await.unwrap(), b"first");
    assert_eq!(store.meta("k").await.unwrap(), Some(b"first".to_vec()));
}

pub async fn disabled_users_lose_sessions_and_tokens_until_enabled(store: Arc<dyn Store>) {
    let a = account(store.as_ref(), "trent").await;
    let other = account(store.as_ref(), "uma").await;
    let s = session(&a.user, 10);
    store
        .record_login(s.clone(), None, audit(Some(&a.user), "login"))
        .await
        .unwrap();
    let token = token_record(&a.user, true, Some(vec![3]));
    let t = token.id;
    store
        .create_token(token, vec![], audit(Some(&a.user), "token.mint"))
        .await
        .unwrap();
    store
        .set_user_disabled(&a.user, Some(20), audit(Some(&a.user), "user.disable"))
        .await
        .unwrap();
    assert_eq!(
        store.user(&a.user).await.unwrap().unwrap().disabled_at,
        Some(20)
    );
    assert!(
        store.session(&s.id).await.unwrap().is_none(),
        "sessions end"
    );
    assert!(store.token(&t).await.unwrap().is_none(), "tokens stop");
    let users = store.users().await.unwrap();
    assert_eq!(
        users
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["trent", "uma"]
    );
    assert_eq!(
        store.user(&other.user).await.unwrap().unwrap().disabled_at,
        None
    );
    store
        .set_user_disabled(&a.user, None, audit(Some(&a.user), "user.enable"))
        .await
        .unwrap();
    assert!(
        store.token(&t).await.unwrap().is_some(),
        "tokens work again once enabled"
    );
    assert_eq!(
        store
            .set_user_disabled(&id(), Some(1), audit(None, "user.disable"))
            .await,
        Err(StoreError::NotFound)
    );
}

pub async fn reads_join_an_item_with_the_key_that_opens_it(store: Arc<dyn Store>) {
    let a = account(store.as_ref(), "victor").await;
    let b = account(store.as_ref(), "wanda").await;
    store
        .create_item(item(&a, 1, b"v1"), audit(Some(&a.user), "item.create"))
        .await
        .unwrap();
    let it = item(&a, 1, b"");
    let (kv, wrapped, got) = store
        .item_with_vault_key(&a.user, &a.vault, &it.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (kv, wrapped.as_slice(), got.value.as_slice()),
        (1, b"wrapped vk".as_slice(), b"v1".as_slice())
    );
    assert!(
        store
            .item_with_vault_key(&b.user, &a.vault, &it.id)
            .await
            .unwrap()
            .is_none(),
        "another user's item"
    );
    assert!(
        store
            .item_with_vault_key(&a.user, &b.vault, &it.id)
            .await
            .unwrap()
            .is_none(),
        "wrong vault"
    );

    let t = mint_scoped(store.as_ref(), &a).await;
    let (slot, got) = store
        .item_with_token_slot(&t, &a.user, &a.vault, &it.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (slot.wrapped_vault_key.as_slice(), got.id),
        (b"t slot".as_slice(), it.id)
    );
    let extra = id();
    store
        .create_vault(
            vault_record(&a.user, extra),
            audit(Some(&a.user), "vault.create"),
        )
        .await
        .unwrap();
    let mut other = item(&a, 1, b"elsewhere");
    other.id = id();
    other.vault_id = extra;
    store
        .create_item(other.clone(), audit(Some(&a.user), "item.create"))
        .await
        .unwrap();
    assert!(
        store
            .item_with_token_slot(&t, &a.user, &extra, &other.id)
            .await
            .unwrap()
            .is_none(),
        "no slot, no item"
    );
    assert!(
        store
            .item_with_token_slot(&t, &b.user, &a.vault, &it.id)
            .await
            .unwrap()
            .is_none(),
        "another user"
    );
}

pub async fn a_token_read_is_one_query_with_exactly_its_keys(store: Arc<dyn Store>) {
    let a = account(store.as_ref(), "xena").await;
    let b = account(store.as_ref(), "yuri").await;
    store
        .create_item(item(&a, 1, b"v1"), audit(Some(&a.user), "item.create"))
        .await
        .unwrap();
    let it = item(&a, 1, b"").id;
    let token = |user: Id, all: bool| token_record(&user, false, all.then(|| vec![3]));
    let scoped = mint_scoped(store.as_ref(), &a).await;
    let all = token(a.user, true);
    store
        .create_token(all.clone(), vec![], audit(Some(&a.user), "token.mint"))
        .await
        .unwrap();
    let foreign = token(b.user, true);
    store
        .create_token(foreign.clone(), vec![], audit(Some(&b.user), "token.mint"))
        .await
        .unwrap();

    let r = store
        .token_read(&scoped, &a.vault, &it)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.token.id, scoped);
    assert_eq!(
        r.slot.map(|s| s.wrapped_vault_key),
        Some(b"t slot".to_vec())
    );
    assert!(
        r.vault_key.is_none(),
        "a scoped token gets no vault key under the user key"
    );
    assert_eq!(r.item.map(|i| i.value), Some(b"v1".to_vec()));

    let r = store
        .token_read(&scoped, &b.vault, &it)
        .await
        .unwrap()
        .unwrap();
    assert!(
        r.slot.is_none() && r.vault_key.is_none() && r.item.is_none(),
        "another vault: nothing"
    );

    let r = store
        .token_read(&all.id, &a.vault, &it)
        .await
        .unwrap()
        .unwrap();
    assert!(r.slot.is_none());
    assert_eq!(r.vault_key, Some((1, b"wrapped vk".to_vec())));
    assert!(r.item.is_some());

    let r = store
        .token_read(&foreign.id, &a.vault, &it)
        .await
        .unwrap()
        .unwrap();
    assert!(
        r.vault_key.is_none() && r.item.is_none(),
        "another user's token reaches nothing of this user"
    );

    let missing = store
        .token_read(&all.id, &a.vault, &id())
        .await
        .unwrap()
        .unwrap();
    assert!(missing.item.is_none());
    assert!(
        store
            .token_read(&id(), &a.vault, &it)
            .await
            .unwrap()
            .is_none(),
        "unknown token"
    );
    store
        .set_user_disabled(&a.user, Some(50), audit(Some(&a.user), "user.disable"))
        .await
        .unwrap();
    assert!(
        store
            .token_read(&all.id, &a.vault, &it)
            .await
            .unwrap()
            .is_none(),
        "disabled user"
    );
}
