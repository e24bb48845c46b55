//! Vaults of an end-to-end account: listing (names opened here), creating, and the way
//! from a vault's slot to its keys (END-TO-END.md §6, §9).

use keyslot_core::policy;
use keyslot_crypto::slot::vault_key_for_user_aad;
use keyslot_crypto::{Id, VaultKey, VaultKeyPair, Wraps};
use reqwest::Method;

use super::account::{E2eSession, to_json};
use super::checks::Refusal;
use super::keyring::{Keyring, Opener};
use super::wire::{self, B64, ChainLink, Slot, WireId};
use super::{E2eError, E2eResult, check_input};
use crate::{Client, segment};

/// A vault as this user sees it, its name opened here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenVault {
    /// Id.
    pub id: Id,
    /// Name; `None` when this caller's key is older than the vault's current version
    /// (the name is sealed under the current key; a pending grant brings it).
    pub name: Option<String>,
    /// The owner.
    pub owner_id: Id,
    /// The caller's role (`owner`, `write`, `read`), when the server says.
    pub role: Option<String>,
    /// The current key version.
    pub key_version: u32,
    /// A rotation is due: writes wait for a client holding the key to run it.
    pub rotation_due: bool,
}

impl E2eSession {
    pub(crate) fn opener(&self) -> Opener<'_> {
        Opener::Member {
            user: &self.user,
            user_key: &self.user_key,
            pair: &self.pair,
            session: self,
        }
    }

    /// `GET /v1/vaults`, every name opened here.
    pub async fn vaults(&self) -> E2eResult<Vec<OpenVault>> {
        let vaults: wire::Vaults = self.client.get("/v1/vaults").await?;
        let mut out = Vec::with_capacity(vaults.vaults.len());
        for v in &vaults.vaults {
            out.push(open_vault(&self.client, &self.opener(), v).await?);
        }
        Ok(out)
    }

    /// `GET /v1/vaults/{vault}`, its name opened here.
    pub async fn vault(&self, vault: &Id) -> E2eResult<OpenVault> {
        let v = vault_row(&self.client, vault).await?;
        open_vault(&self.client, &self.opener(), &v).await
    }

    /// The vault called `name_or_id` (an id, or a name among this user's vaults).
    pub async fn find_vault(&self, name_or_id: &str) -> E2eResult<OpenVault> {
        if let Some(id) = wire::parse_id(name_or_id) {
            return self.vault(&id).await;
        }
        self.vaults()
            .await?
            .into_iter()
            .find(|v| v.name.as_deref() == Some(name_or_id))
            .ok_or_else(|| {
                E2eError::Invalid(vec![(
                    "vault".into(),
                    format!("no vault named {name_or_id:?}"),
                )])
            })
    }

    /// Create a vault (`POST /v1/vaults`): a new vault key, wrapped under the user key,
    /// the name sealed under it, its public key signed by this user's identity.
    pub async fn create_vault(&self, name: &str) -> E2eResult<OpenVault> {
        check_input([policy::name("name", name)])?;
        let id = Id::random()?;
        let key = VaultKey::generate()?;
        let public = VaultKeyPair::derive(&key, &id, 1).public_key();
        // This user's live "*" tokens get the new vault too (the server refuses the vault
        // otherwise), sealed to their keys as this user's identity signed them at mint.
        let own: wire::OwnKeys = self.client.get("/v1/keys").await?;
        for t in &own.star_tokens {
            self.refuse_ended_token(&t.id.0)?;
        }
        let token_grants = super::sharing::star_token_grants(
            &self.identity.public(),
            &self.user,
            &own.star_tokens,
            &self.user,
            &id,
            1,
            &key,
        )?;
        let body = wire::NewVault {
            id: WireId(id),
            wrapped_vault_key: B64::envelope(
                &self
                    .user_key
                    .wrap(&key, &vault_key_for_user_aad(&self.user, &id, 1))?,
            ),
            sealed_name: B64::of(keyslot_crypto::item::seal_vault_name(
                &key, &self.user, &id, 1, name,
            )?),
            public_key: B64::public(&public),
            public_key_signature: super::sig::b64(&self.identity.sign_vault_key(&id, 1, &public)),
            token_grants: token_grants
                .iter()
                .map(|(token, sealed)| wire::TokenGrant {
                    token: WireId(*token),
                    sealed: B64::sealed(sealed),
                })
                .collect(),
        };
        let created: wire::Vault = self
            .client
            .send(Method::POST, "/v1/vaults", &to_json(&body)?)
            .await?;
        if created.id.0 != id {
            return Err(Refusal::Mismatch {
                what: "the new vault's id".into(),
            }
            .into());
        }
        Ok(OpenVault {
            id,
            name: Some(name.to_owned()),
            owner_id: self.user,
            role: created.role,
            key_version: 1,
            rotation_due: false,
        })
    }

    /// The vault's keys through this user's slot (converting a pending grant).
    pub(crate) async fn keyring(&self, vault: &Id) -> E2eResult<(wire::Vault, Keyring)> {
        let v = vault_row(&self.client, vault).await?;
        let ring = keyring_of(
            &self.client,
            &self.opener(),
            Some(&v),
            &v.owner_id.0,
            vault,
            &v.slot,
            &[],
        )
        .await?;
        Ok((v, ring))
    }
}

pub(crate) async fn vault_row(client: &Client, vault: &Id) -> E2eResult<wire::Vault> {
    let v: wire::Vault = client
        .get(&format!("/v1/vaults/{}", segment(&vault.to_string())))
        .await?;
    if v.id.0 != *vault {
        return Err(Refusal::Mismatch {
            what: format!("asked for vault {vault}, got {}", v.id.0),
        }
        .into());
    }
    Ok(v)
}

/// Open a slot into a keyring; a pending grant is converted into an ordinary slot
/// (`PUT /v1/vaults/{vault}/slot`). The conversion is best effort: when it fails the
/// grant stays and is opened again next time, so the read goes on.
///
/// The key is checked first ([`super::vault_trust::check`]): a grant the owner's side did
/// not sign is refused, and never converted.
pub(crate) async fn keyring(
    client: &Client,
    opener: &Opener<'_>,
    owner: &Id,
    vault: &Id,
    slot: &Slot,
    chain: &[ChainLink],
) -> E2eResult<Keyring> {
    keyring_of(client, opener, None, owner, vault, slot, chain).await
}

/// [`keyring`], with the vault's row when the caller already has it (else it is fetched).
pub(crate) async fn keyring_of(
    client: &Client,
    opener: &Opener<'_>,
    row: Option<&wire::Vault>,
    owner: &Id,
    vault: &Id,
    slot: &Slot,
    chain: &[ChainLink],
) -> E2eResult<Keyring> {
    let (key, convert) = opener.open(owner, vault, slot)?;
    let fetched;
    let row = match row {
        Some(row) => row,
        None => {
            fetched = vault_row(client, vault).await?;
            &fetched
        }
    };
    if row.owner_id.0 != *owner {
        return Err(Refusal::Mismatch {
            what: format!("vault {vault}'s owner is not the one its keys name"),
        }
        .into());
    }
    super::vault_trust::check(client, opener, row, slot, &key).await?;
    if let Some(body) = convert
        && let Ok(body) = to_json(&body)
    {
        let path = format!("/v1/vaults/{}/slot", segment(&vault.to_string()));
        let _ = client
            .send::<serde_json::Value>(Method::PUT, &path, &body)
            .await;
    }
    Ok(Keyring::new(*owner, *vault, slot.key_version(), key, chain))
}

pub(crate) async fn open_vault(
    client: &Client,
    opener: &Opener<'_>,
    v: &wire::Vault,
) -> E2eResult<OpenVault> {
    let mut ring = keyring_of(
        client,
        opener,
        Some(v),
        &v.owner_id.0,
        &v.id.0,
        &v.slot,
        &[],
    )
    .await?;
    let name = if v.key_version == ring.newest {
        let key = ring.at(v.key_version)?;
        // The vault's public key (deposits are sealed to it) must be the one its key
        // gives: a holder can check that without trusting anyone's signature.
        if let Some(public) = &v.public_key
            && VaultKeyPair::derive(key, &v.id.0, v.key_version).public_key()
                != public.to_public("public_key")?
        {
            return Err(Refusal::UnverifiedKey {
                what: format!("vault {}'s public key", v.id.0),
            }
            .into());
        }
        Some(keyslot_crypto::item::open_vault_name(
            key,
            &v.owner_id.0,
            &v.id.0,
            v.key_version,
            &v.sealed_name.0,
        )?)
    } else {
        None
    };
    Ok(OpenVault {
        id: v.id.0,
        name,
        owner_id: v.owner_id.0,
        role: v.role.clone(),
        key_version: v.key_version,
        rotation_due: v.rotation_due,
    })
}
