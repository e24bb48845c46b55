//! The attacker of DESIGN §3.1's guarantee: someone who kept an API token's text (or a user
//! key) and one or more copies of the database ([`crate::db_copy`]), and nothing else — no
//! server, no seal key, no password.
//!
//! [`attack`] tries, with `keyslot-crypto` alone, every way the rows let those secrets reach
//! a vault key, across all copies at once: every token slot (the token's wrap key); every
//! pending grant whoever it names (the token's or user's X25519 key: a grant sealed to a
//! public key the attacker controls opens, whatever row it sits in); with a user key (a
//! `"*"` token of the first schema wraps one), every member slot, the first schema's vault
//! key column and every user grant; and the backward chain down from every key found. Then
//! it opens every item of every copy it has a key for. What it returns is exactly what the
//! attacker reads.
//!
//! Written from the design and the byte formats, not from the server's code: the only
//! shared code is the crypto crate that any client of the formats would use. The test that
//! includes this file declares `db_copy` beside it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashMap};

use keyslot_crypto::slot::{item_key_aad, vault_key_for_user_aad};
use keyslot_crypto::{
    Aad, ContentKey, Envelope, Id, ItemKey, Purpose, RecipientKind, SealedKey, SessionCredential,
    TokenCredential, TokenKeyPair, UserKey, UserKeyPair, VaultKey, VaultKeyPair, Wraps,
    deposit_aad, grant_aad, open_chain, open_from,
};
use serde_json::Value;

use crate::db_copy::{Copy, ItemRow};

/// What the attacker got.
#[derive(Debug, Default)]
pub struct Opened {
    /// Vault keys reached: (vault, key version).
    pub vault_keys: BTreeSet<(Id, u32)>,
    /// Vault keys reached through a pending grant (the X25519 path), a subset of the above.
    pub through_grants: BTreeSet<(Id, u32)>,
    /// Users whose user key was reached.
    pub user_keys: BTreeSet<Id>,
    /// Items opened: id → (name, value).
    pub items: BTreeMap<Id, (String, Value)>,
}

impl Opened {
    /// The ids of the items opened.
    pub fn item_ids(&self) -> BTreeSet<Id> {
        self.items.keys().copied().collect()
    }

    /// Whether any key of `vault` was reached.
    pub fn reached_vault(&self, vault: &Id) -> bool {
        self.vault_keys.iter().any(|(v, _)| v == vault)
    }
}

/// Everything `token_text` opens in `copies`, with the crypto crate and the rows only.
pub fn attack(token_text: &str, copies: &[&Copy]) -> Opened {
    let token = TokenCredential::parse(token_text).expect("a token text the attacker kept");
    run(Some(&token), Vec::new(), copies)
}

/// Everything a user key (a removed member's, say) opens in `copies`.
pub fn attack_with_user_key(user: Id, user_key: &UserKey, copies: &[&Copy]) -> Opened {
    run(
        None,
        vec![(user, UserKey::from_bytes(*user_key.expose_secret()))],
        copies,
    )
}

/// Everything a session credential (the `kss_…` cookie value a member kept) opens in
/// `copies`: its user key from its session row in any copy, then as
/// [`attack_with_user_key`].
pub fn attack_with_session(cookie: &str, copies: &[&Copy]) -> Opened {
    let session = SessionCredential::parse(cookie).expect("a session cookie the attacker kept");
    let credential = session.unlock();
    let mut user_keys = Vec::new();
    for copy in copies {
        for row in copy.sessions.iter().filter(|s| s.id == *session.id()) {
            if let Ok(key) = Envelope::from_bytes(&row.wrapped_user_key)
                .and_then(|e| credential.open_user_key(&row.user_id, &e))
            {
                user_keys.push((row.user_id, key));
            }
        }
    }
    assert!(
        !user_keys.is_empty(),
        "the session's row opens in no copy: the harness has no user key to try"
    );
    run(None, user_keys, copies)
}

fn run(
    token: Option<&TokenCredential>,
    mut user_keys: Vec<(Id, UserKey)>,
    copies: &[&Copy],
) -> Opened {
    let credential = token.map(TokenCredential::unlock);
    let pair = token.map(TokenKeyPair::derive);
    let owners: HashMap<Id, Id> = copies
        .iter()
        .flat_map(|c| c.vaults.iter().map(|v| (v.id, v.owner)))
        .collect();
    let mut keys: HashMap<(Id, u32), VaultKey> = HashMap::new();
    let mut out = Opened::default();

    // A "*" token of the first schema wraps its user's key.
    if let (Some(token), Some(credential)) = (token, &credential) {
        for copy in copies {
            for row in copy.tokens.iter().filter(|t| t.id == *token.id()) {
                let Some(wrapped) = &row.wrapped_user_key else {
                    continue;
                };
                if let Ok(key) = Envelope::from_bytes(wrapped)
                    .and_then(|e| credential.open_user_key(&row.user_id, &e))
                {
                    user_keys.push((row.user_id, key));
                }
            }
        }
    }
    let user_pairs: Vec<(Id, UserKeyPair)> = user_keys
        .iter()
        .flat_map(|(user, key)| {
            copies
                .iter()
                .flat_map(|c| c.users.iter().filter(|u| u.id == *user))
                .filter_map(|u| {
                    let wrapped = Envelope::from_bytes(&u.x25519_wrapped).ok()?;
                    Some((*user, UserKeyPair::unwrap(key, user, &wrapped).ok()?))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    out.user_keys = user_keys.iter().map(|(user, _)| *user).collect();

    // Keys lead to keys (a grant to a newer version, the chain to older ones): repeat until
    // a pass over every copy finds nothing new.
    loop {
        let before = keys.len();
        for copy in copies {
            if let Some(credential) = &credential {
                for slot in &copy.token_slots {
                    let (Some(owner), Ok(envelope)) = (
                        owners.get(&slot.vault_id),
                        Envelope::from_bytes(&slot.bytes),
                    ) else {
                        continue;
                    };
                    if let Ok(key) = credential.open_vault_key(
                        owner,
                        &slot.vault_id,
                        slot.key_version,
                        &envelope,
                    ) {
                        keys.entry((slot.vault_id, slot.key_version)).or_insert(key);
                    }
                }
            }
            if let Some(pair) = &pair {
                for grant in &copy.token_grants {
                    let (Some(owner), Ok(sealed)) = (
                        owners.get(&grant.vault_id),
                        SealedKey::from_bytes(&grant.bytes),
                    ) else {
                        continue;
                    };
                    // Whichever holder the row names: a grant sealed to a public key this
                    // token's secret controls opens under that holder's context.
                    let aad = grant_aad(
                        owner,
                        &grant.vault_id,
                        grant.key_version,
                        RecipientKind::Token,
                        &grant.holder,
                    );
                    if let Ok(key) = open_from::<VaultKey>(pair, &sealed, &aad) {
                        out.through_grants
                            .insert((grant.vault_id, grant.key_version));
                        keys.entry((grant.vault_id, grant.key_version))
                            .or_insert(key);
                    }
                }
            }
            for (_, user_key) in &user_keys {
                for slot in &copy.member_slots {
                    let (Some(owner), Ok(envelope)) = (
                        owners.get(&slot.vault_id),
                        Envelope::from_bytes(&slot.bytes),
                    ) else {
                        continue;
                    };
                    let aad = vault_key_for_user_aad(owner, &slot.vault_id, slot.key_version);
                    if let Ok(key) = Wraps::<VaultKey>::unwrap_key(user_key, &envelope, &aad) {
                        keys.entry((slot.vault_id, slot.key_version)).or_insert(key);
                    }
                }
                // The first schema's column: the key of some version up to the current one.
                for vault in &copy.vaults {
                    let Ok(envelope) = Envelope::from_bytes(&vault.wrapped_vault_key) else {
                        continue;
                    };
                    for version in 1..=vault.key_version {
                        let aad = vault_key_for_user_aad(&vault.owner, &vault.id, version);
                        if let Ok(key) = Wraps::<VaultKey>::unwrap_key(user_key, &envelope, &aad) {
                            keys.entry((vault.id, version)).or_insert(key);
                        }
                    }
                }
            }
            for (_, user_pair) in &user_pairs {
                for grant in &copy.user_grants {
                    let (Some(owner), Ok(sealed)) = (
                        owners.get(&grant.vault_id),
                        SealedKey::from_bytes(&grant.bytes),
                    ) else {
                        continue;
                    };
                    let aad = grant_aad(
                        owner,
                        &grant.vault_id,
                        grant.key_version,
                        RecipientKind::User,
                        &grant.holder,
                    );
                    if let Ok(key) = open_from::<VaultKey>(user_pair, &sealed, &aad) {
                        out.through_grants
                            .insert((grant.vault_id, grant.key_version));
                        keys.entry((grant.vault_id, grant.key_version))
                            .or_insert(key);
                    }
                }
            }
            let mut older_keys = Vec::new();
            for link in &copy.chain {
                let (Some(owner), Some(chain)) = (owners.get(&link.vault_id), &link.chain) else {
                    continue;
                };
                let (Some(newer), Some(older_version), Ok(envelope)) = (
                    keys.get(&(link.vault_id, link.key_version)),
                    link.key_version.checked_sub(1),
                    Envelope::from_bytes(chain),
                ) else {
                    continue;
                };
                if let Ok(older) =
                    open_chain(newer, &envelope, owner, &link.vault_id, older_version)
                {
                    older_keys.push(((link.vault_id, older_version), older));
                }
            }
            for (at, key) in older_keys {
                keys.entry(at).or_insert(key);
            }
        }
        if keys.len() == before {
            break;
        }
    }
    out.vault_keys = keys.keys().copied().collect();

    for copy in copies {
        for item in &copy.items {
            let Some(vault_key) = keys.get(&(item.vault_id, item.key_version)) else {
                continue;
            };
            if let Some(opened) = open_item(vault_key, item) {
                out.items.insert(item.id, opened);
            }
        }
        for deposit in &copy.deposits {
            // Sealed to the vault pair of its version, which its vault key derives; or (while
            // a rotation is due, DESIGN §3.1) to a reader's own key, this token's included.
            let vault_pair = keys
                .get(&(deposit.vault_id, deposit.key_version))
                .map(|key| VaultKeyPair::derive(key, &deposit.vault_id, deposit.key_version));
            let base = deposit_aad(
                &deposit.user_id,
                &deposit.vault_id,
                &deposit.id,
                1,
                deposit.key_version,
            );
            let Ok(sealed) = SealedKey::from_bytes(&deposit.sealed_item_key) else {
                continue;
            };
            let mut item_key =
                vault_pair.and_then(|pair| open_from::<ItemKey>(&pair, &sealed, &base).ok());
            if let (None, Some(pair), Some(token)) = (&item_key, &pair, token) {
                let aad = base.clone().recipient(RecipientKind::Token, token.id());
                item_key = open_from::<ItemKey>(pair, &sealed, &aad).ok();
            }
            for (user, user_pair) in &user_pairs {
                if item_key.is_none() {
                    let aad = base.clone().recipient(RecipientKind::User, user);
                    item_key = open_from::<ItemKey>(user_pair, &sealed, &aad).ok();
                }
            }
            let as_item = ItemRow {
                id: deposit.id,
                vault_id: deposit.vault_id,
                user_id: deposit.user_id,
                version: 1,
                key_version: deposit.key_version,
                wrapped_item_key: Vec::new(),
                name: deposit.name.clone(),
                value: deposit.value.clone(),
            };
            if let Some(opened) = item_key.and_then(|key| open_content(&key, &as_item)) {
                out.items.insert(deposit.id, opened);
            }
        }
    }
    out
}

fn content_aad(purpose: Purpose, item: &ItemRow) -> Aad {
    Aad::new(purpose)
        .user(&item.user_id)
        .vault(&item.vault_id)
        .item(&item.id)
        .item_version(item.version)
        .key_version(item.key_version)
}

fn open_item(vault_key: &VaultKey, item: &ItemRow) -> Option<(String, Value)> {
    let aad = item_key_aad(
        &item.user_id,
        &item.vault_id,
        &item.id,
        item.version,
        item.key_version,
    );
    let item_key: ItemKey = Wraps::<ItemKey>::unwrap_key(
        vault_key,
        &Envelope::from_bytes(&item.wrapped_item_key).ok()?,
        &aad,
    )
    .ok()?;
    open_content(&item_key, item)
}

/// Open an item's name and value with its item key.
fn open_content(item_key: &ItemKey, item: &ItemRow) -> Option<(String, Value)> {
    let name = item_key
        .open_content(
            &content_aad(Purpose::ItemName, item),
            &Envelope::from_bytes(&item.name).ok()?,
        )
        .ok()?;
    let value = item_key
        .open_content(
            &content_aad(Purpose::ItemValue, item),
            &Envelope::from_bytes(&item.value).ok()?,
        )
        .ok()?;
    Some((
        String::from_utf8(name.to_vec()).ok()?,
        serde_json::from_slice(&value).ok()?,
    ))
}
