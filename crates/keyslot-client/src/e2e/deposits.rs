//! End-to-end deposits (END-TO-END.md §8, §9; FORMAT §11.5): a write-only `kse_` deposit
//! token seals an item here, and the vault's readers' clients open and claim it.
//!
//! **Depositing.** A deposit token holds no vault key and reads nothing, so it cannot
//! check a vault key the way a member does. What it can check: its id commits to the
//! identity of the user who minted it (`keyslot_crypto::token_anchor`), and only a vault's
//! owner mints deposit tokens for it ([`E2eSession::mint_deposit_token`]). So the token
//! accepts the owner identity the server names only if its anchor commits to it, accepts
//! the vault's public key only under that identity's signature for this vault and key
//! version, and seals a fresh item key to it in HPKE *auth* mode with its own X25519 pair
//! as the sender — a reader who checks the sender key knows the deposit came from a token
//! its owner minted, not from the server.
//!
//! While a rotation is due (a holder was ended, and the vault's current key may be in its
//! hands) the key must go to each remaining reader instead. The token can vouch only for
//! keys its owner's identity signed: the owner's own X25519 key and the owner's tokens'.
//! A member's key is signed by that member's identity, which nothing the token holds
//! vouches for (it has no pins: the `kse_` text has no room for them), so a listed member
//! could be a key of the server's. The token then refuses
//! ([`Refusal::DepositReadersUnverifiable`]) and sends nothing; after the owner rotates,
//! the vault's new key is signed by the owner again and the deposit goes to it.
//!
//! **Claiming.** A reader's client lists the deposits waiting for it, checks each sender
//! key against the owner's signature over it (made at the token's mint), opens the item
//! key in auth mode with that sender key, re-seals the item as version 1 under the vault's
//! current key and claims it; the server moves it into the items once.

use keyslot_crypto::item::{ItemPlace, seal_item};
use keyslot_crypto::name_index::NameIndexKey;
use keyslot_crypto::{
    AuthSealedKey, Id, ItemKey, PublicKey, RecipientKind, VaultKeyPair, deposit_aad,
    open_from_auth, seal_to_auth,
};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::account::{E2eSession, to_json};
use super::checks::Refusal;
use super::keyring::{Keyring, Opener};
use super::rotation::verify_holders;
use super::token_client::TokenClient;
use super::vaults::{keyring, vault_row};
use super::wire::{self, B64, WireId};
use super::{E2eError, E2eResult, check_input};
use crate::segment;

/// `GET /v1/vaults/{vault}/deposit-key`, unverified as sent.
#[derive(Debug, Deserialize)]
struct DepositKey {
    owner_id: WireId,
    owner_identity_public: B64,
    key_version: u32,
    rotation_due: bool,
    #[serde(default)]
    public_key: Option<B64>,
    #[serde(default)]
    public_key_signature: Option<B64>,
    #[serde(default)]
    readers: Vec<wire::Holder>,
}

#[derive(Debug, Serialize)]
struct DepositBody {
    id: WireId,
    key_version: u32,
    sealed_name: B64,
    sealed_value: B64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sealed_item_key: Option<B64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    readers: Vec<wire::Grant>,
}

#[derive(Debug, Deserialize)]
struct Deposited {
    id: WireId,
}

#[derive(Debug, Deserialize)]
struct PendingList {
    deposits: Vec<Pending>,
}

#[derive(Debug, Deserialize)]
struct Pending {
    id: WireId,
    key_version: u32,
    to_readers: bool,
    sealed_item_key: B64,
    sealed_name: B64,
    sealed_value: B64,
    token_id: WireId,
    #[serde(default)]
    sender_public_key: Option<B64>,
    #[serde(default)]
    sender_signature: Option<B64>,
}

#[derive(Debug, Serialize)]
struct Claim {
    key_version: u32,
    wrapped_item_key: B64,
    sealed_name: B64,
    sealed_value: B64,
    name_index: B64,
}

fn deposits_path(vault: &Id) -> String {
    format!("/v1/vaults/{}/deposits", segment(&vault.to_string()))
}

fn sealed_b64(sealed: &AuthSealedKey) -> B64 {
    B64::of(sealed.to_bytes())
}

impl TokenClient {
    /// Deposit an item into `vault` with a `kse_` deposit token: sealed here, to the
    /// vault's key as its owner signed it (or, while a rotation is due, to each reader the
    /// token can verify — else refused, see the module docs); nothing can be read back.
    /// Returns the new item's id.
    pub async fn deposit(
        &self,
        vault: &Id,
        name: &str,
        value: &serde_json::Value,
    ) -> E2eResult<Id> {
        check_input([keyslot_core::policy::name("name", name)])?;
        let Opener::Token {
            token,
            pair,
            anchor: Some(anchor),
            ..
        } = self.opener()
        else {
            return Err(E2eError::Invalid(vec![(
                "token".into(),
                "is a server-mode kst_ token: its deposits go through POST …/items, the server \
                 seals them"
                    .into(),
            )]));
        };
        let value = zeroize::Zeroizing::new(
            serde_json::to_vec(value).map_err(|_| E2eError::protocol("the value is not JSON"))?,
        );
        let path = format!("/v1/vaults/{}/deposit-key", segment(&vault.to_string()));
        let k: DepositKey = self.client().get(&path).await?;
        let owner = k.owner_id.0;
        let owner_identity =
            super::sig::identity(&k.owner_identity_public, "owner_identity_public")
                .ok()
                .filter(|identity| anchor.anchors(token, identity))
                .ok_or_else(|| Refusal::UnverifiedKey {
                    what: format!(
                        "the owner identity of vault {vault} (this token's id does not commit to \
                     it; a token minted before anchors must be minted again)"
                    ),
                })?;
        let id = Id::random()?;
        let key_version = k.key_version;
        let item_key = ItemKey::generate()?;
        let aad = deposit_aad(&owner, vault, &id, 1, key_version);
        let (sealed_item_key, readers) = match (&k.public_key, k.rotation_due) {
            (Some(public), false) => {
                let unverified = || Refusal::UnverifiedKey {
                    what: format!("the public key of vault {vault} (version {key_version})"),
                };
                let public = public.to_public("public_key").map_err(|_| unverified())?;
                let signature = k.public_key_signature.as_ref().ok_or_else(unverified)?;
                let signature = super::sig::parse(signature, "public_key_signature")
                    .map_err(|_| unverified())?;
                owner_identity
                    .verify_vault_key(vault, key_version, &public, &signature)
                    .map_err(|_| unverified())?;
                let sealed = seal_to_auth(&public, pair, &item_key, &aad)?;
                (Some(sealed_b64(&sealed)), Vec::new())
            }
            _ => {
                let others: Vec<String> = k
                    .readers
                    .iter()
                    .filter(|h| h.user_id.0 != owner)
                    .map(|h| h.user_id.0.to_string())
                    .collect();
                if !others.is_empty() {
                    return Err(Refusal::DepositReadersUnverifiable {
                        vault: vault.to_string(),
                        readers: others,
                    }
                    .into());
                }
                let holders = wire::Holders {
                    owner_id: k.owner_id,
                    key_version,
                    holders: k.readers,
                    members_signature: None,
                };
                // `me` is the token's own id: no reader is skipped.
                let pinned = std::iter::once((owner, owner_identity)).collect();
                let verified = verify_holders(token, &holders, &pinned)?;
                if verified.is_empty() {
                    return Err(E2eError::protocol(format!(
                        "vault {vault} has no reader to seal the deposit to"
                    )));
                }
                let mut readers = Vec::with_capacity(verified.len());
                for r in verified {
                    let sealed = seal_to_auth(
                        &r.public,
                        pair,
                        &item_key,
                        &aad.clone().recipient(r.kind, &r.id),
                    )?;
                    readers.push(wire::Grant {
                        holder: WireId(r.id),
                        sealed: sealed_b64(&sealed),
                    });
                }
                (None, readers)
            }
        };
        let place = ItemPlace {
            owner,
            vault: *vault,
            item: id,
            version: 1,
            key_version,
        };
        let (sealed_name, sealed_value) = place.seal_content(&item_key, name, &value)?;
        let body = DepositBody {
            id: WireId(id),
            key_version,
            sealed_name: B64::of(sealed_name),
            sealed_value: B64::of(sealed_value),
            sealed_item_key,
            readers,
        };
        let done: Deposited = self
            .client()
            .send(Method::POST, &deposits_path(vault), &to_json(&body)?)
            .await?;
        if done.id.0 != id {
            return Err(Refusal::Mismatch {
                what: format!("deposited item {id}, the server answered {}", done.id.0),
            }
            .into());
        }
        Ok(id)
    }
}

impl E2eSession {
    /// Mint a write-only deposit token for `vaults`, which must be this user's own (its
    /// id commits to this user's identity, the only one it checks a vault key under). It
    /// holds no vault key, so no slot is sent.
    pub async fn mint_deposit_token(
        &self,
        current_password: &str,
        name: &str,
        vaults: &[Id],
        expires_in_seconds: Option<i64>,
    ) -> E2eResult<super::MintedE2e> {
        if vaults.is_empty() {
            return Err(E2eError::Invalid(vec![(
                "vaults".into(),
                "name at least one vault".into(),
            )]));
        }
        for vault in vaults {
            let v = vault_row(&self.client, vault).await?;
            if v.owner_id.0 != self.user {
                return Err(E2eError::Invalid(vec![(
                    "vaults".into(),
                    format!(
                        "vault {vault} is not yours: a deposit token checks the vault's key \
                         under its minter's identity, so only the owner mints one"
                    ),
                )]));
            }
        }
        self.mint(
            current_password,
            name,
            Some(vaults),
            super::tokens::Permissions::Deposit,
            expires_in_seconds,
        )
        .await
    }

    /// Claim every deposit waiting for this user in `vault` (see the module docs): each is
    /// checked, opened, re-sealed under the vault's current key and moved into the items.
    /// Returns the ids claimed; one another reader claimed first is skipped. A member
    /// without write permission, or a vault whose rotation is due, claims nothing (the
    /// server's 403 or 409 comes back).
    pub async fn claim_deposits(&self, vault: &Id) -> E2eResult<Vec<Id>> {
        let list: PendingList = self.client.get(&deposits_path(vault)).await?;
        if list.deposits.is_empty() {
            return Ok(Vec::new());
        }
        let v = vault_row(&self.client, vault).await?;
        let owner = v.owner_id.0;
        let oldest = list.deposits.iter().map(|d| d.key_version).min();
        let mut ring = self.ring_down_to(vault, &v, oldest).await?;
        if ring.newest != v.key_version {
            return Err(E2eError::protocol(format!(
                "this user holds key version {} of vault {vault}, not the current {}",
                ring.newest, v.key_version
            )));
        }
        let owner_identity = if owner == self.user {
            self.identity.public()
        } else {
            self.pinned()
                .await?
                .remove(&owner)
                .ok_or_else(|| Refusal::NotPinned {
                    user: owner.to_string(),
                })?
        };
        let mut claimed = Vec::new();
        for d in &list.deposits {
            let id = d.id.0;
            let sender = verified_sender(&owner_identity, &owner, d)?;
            let sealed = AuthSealedKey::from_bytes(&d.sealed_item_key.0)?;
            let aad = deposit_aad(&owner, vault, &id, 1, d.key_version);
            let item_key: ItemKey = if d.to_readers {
                open_from_auth(
                    &self.pair,
                    &sender,
                    &sealed,
                    &aad.recipient(RecipientKind::User, &self.user),
                )?
            } else {
                let vault_key = ring.at(d.key_version)?;
                let pair = VaultKeyPair::derive(vault_key, vault, d.key_version);
                open_from_auth(&pair, &sender, &sealed, &aad)?
            };
            let place = ItemPlace {
                owner,
                vault: *vault,
                item: id,
                version: 1,
                key_version: d.key_version,
            };
            let name = place.open_name(&item_key, &d.sealed_name.0)?;
            let value = place.open_value(&item_key, &d.sealed_value.0)?;
            if serde_json::from_slice::<serde_json::Value>(&value).is_err() {
                return Err(E2eError::protocol(format!(
                    "deposit {id}'s value is not JSON"
                )));
            }
            let current = ring.current()?;
            let item = seal_item(current, &owner, vault, &id, 1, v.key_version, &name, &value)?;
            let body = Claim {
                key_version: v.key_version,
                wrapped_item_key: B64::of(item.wrapped_item_key),
                sealed_name: B64::of(item.sealed_name),
                sealed_value: B64::of(item.sealed_value),
                name_index: B64::of(
                    NameIndexKey::derive(current, vault, v.key_version)
                        .index(&name)
                        .to_vec(),
                ),
            };
            let path = format!(
                "{}/{}/claim",
                deposits_path(vault),
                segment(&id.to_string())
            );
            match self
                .client
                .call::<serde_json::Value>(Method::POST, &path, Some(&to_json(&body)?), None)
                .await
            {
                Ok(_) => claimed.push(id),
                // Another reader claimed it first: it is an item now.
                Err(e) if e.status() == Some(404) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(claimed)
    }

    /// The vault's keys from this user's slot, with the chain down to `oldest` when a
    /// deposit waits under an older key version (the items listing carries the chain).
    async fn ring_down_to(
        &self,
        vault: &Id,
        v: &wire::Vault,
        oldest: Option<u32>,
    ) -> E2eResult<Keyring> {
        let chain = match oldest {
            Some(oldest) if oldest < v.key_version => {
                let path = format!("/v1/vaults/{}/items", segment(&vault.to_string()));
                let list: wire::ItemList = self.client.get(&path).await?;
                list.chain
            }
            _ => Vec::new(),
        };
        keyring(
            &self.client,
            &self.opener(),
            &v.owner_id.0,
            vault,
            &v.slot,
            &chain,
        )
        .await
    }
}

/// The deposit's sender key, accepted only under the owner's signature made at its
/// token's mint: otherwise the server could have made the deposit itself.
fn verified_sender(
    owner_identity: &keyslot_crypto::identity::IdentityPublic,
    owner: &Id,
    d: &Pending,
) -> E2eResult<PublicKey> {
    let unverified = || Refusal::UnverifiedKey {
        what: format!(
            "the sender key of deposit {} (token {})",
            d.id.0, d.token_id.0
        ),
    };
    let public = d
        .sender_public_key
        .as_ref()
        .ok_or_else(unverified)?
        .to_public("sender_public_key")
        .map_err(|_| unverified())?;
    let signature = d.sender_signature.as_ref().ok_or_else(unverified)?;
    let signature = super::sig::parse(signature, "sender_signature").map_err(|_| unverified())?;
    owner_identity
        .verify_token_key(owner, &d.token_id.0, &public, &signature)
        .map_err(|_| unverified())?;
    Ok(public)
}
