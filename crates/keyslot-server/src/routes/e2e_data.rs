//! The vault and item bodies of a caller that does its own crypto (docs/END-TO-END.md §6,
//! §9): an end-to-end account's session, or any token presented as `ksa_`. The routes
//! are server mode's ([`super::vaults`]); each handler branches on the caller and, for
//! such a caller, answers envelopes with these shapes. Every byte string is base64url
//! without padding; ids are hex, as everywhere in the API.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyslot_core::FieldError;
use keyslot_core::client_store::RawItem;
use keyslot_core::client_views::{
    ClientChainLink, ClientItem, ClientItemList, ClientSlot, ClientVault, ClientWrite,
    MAX_NAME_INDEXES, NewClientVault,
};
use keyslot_crypto::Id;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rfc3339;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, PathIds};
use crate::state::AppState;

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes the byte fields of one body, collecting every problem so that one answer
/// names them all.
#[derive(Default)]
pub(crate) struct Fields(Vec<FieldError>);

impl Fields {
    pub(crate) fn bytes(&mut self, field: &str, text: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(text).unwrap_or_else(|_| {
            self.0
                .push(FieldError::new(field, "must be base64url without padding"));
            Vec::new()
        })
    }

    pub(crate) fn id(&mut self, field: &str, text: &str) -> Id {
        text.parse().unwrap_or_else(|_| {
            self.0.push(FieldError::new(field, "must be an id"));
            Id::from_bytes([0; 16])
        })
    }

    pub(crate) fn done(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid(self.0))
        }
    }
}

/// The key a caller opens a vault with: its own slot, or a pending grant to convert.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotView {
    /// `member` (under the user key), `token` (under the token's wrap key) or `grant`
    /// (sealed to the holder's X25519 key: open it, then `PUT /v1/vaults/{vault}/slot`).
    pub kind: &'static str,
    /// The vault key version it holds.
    pub key_version: u32,
    /// `member` and `token`: the wrapped vault key, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrapped_vault_key: Option<String>,
    /// `grant`: the sealed vault key, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
}

impl From<ClientSlot> for SlotView {
    fn from(slot: ClientSlot) -> Self {
        match slot {
            ClientSlot::Member {
                key_version,
                wrapped_vault_key,
            } => Self {
                kind: "member",
                key_version,
                wrapped_vault_key: Some(b64(&wrapped_vault_key)),
                sealed: None,
            },
            ClientSlot::Token {
                key_version,
                wrapped_vault_key,
            } => Self {
                kind: "token",
                key_version,
                wrapped_vault_key: Some(b64(&wrapped_vault_key)),
                sealed: None,
            },
            ClientSlot::Grant {
                key_version,
                sealed,
            } => Self {
                kind: "grant",
                key_version,
                wrapped_vault_key: None,
                sealed: Some(b64(&sealed)),
            },
        }
    }
}

/// One chain link: the vault key of `key_version` wrapped under that of `key_version + 1`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainLinkView {
    /// The version of the wrapped (older) key.
    pub key_version: u32,
    /// The wrapped key, base64url.
    pub wrapped: String,
}

fn chain(links: Vec<ClientChainLink>) -> Vec<ChainLinkView> {
    links
        .into_iter()
        .map(|l| ChainLinkView {
            key_version: l.key_version,
            wrapped: b64(&l.wrapped),
        })
        .collect()
}

/// A vault as an end-to-end caller sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientVaultView {
    /// Vault id.
    pub id: String,
    /// Its owner (the user its AADs name).
    pub owner_id: String,
    /// The caller's role: `owner`, `write` or `read`.
    pub role: String,
    /// The current key version.
    pub key_version: u32,
    /// Whether a rotation must run before the next write.
    pub rotation_due: bool,
    /// The name, sealed under the current key version, base64url.
    pub sealed_name: String,
    /// The current version's X25519 public key, base64url (`null` until published).
    pub public_key: Option<String>,
    /// The owner's identity signature over it, base64url (`null` for server-mode vaults).
    pub public_key_signature: Option<String>,
    /// The caller's slot or pending grant.
    pub slot: SlotView,
}

impl From<ClientVault> for ClientVaultView {
    fn from(v: ClientVault) -> Self {
        Self {
            id: v.id.to_string(),
            owner_id: v.owner_id.to_string(),
            role: v.role.to_owned(),
            key_version: v.key_version,
            rotation_due: v.rotation_due,
            sealed_name: b64(&v.sealed_name),
            public_key: v.public_key.as_deref().map(b64),
            public_key_signature: v.public_key_signature.as_deref().map(b64),
            slot: v.slot.into(),
        }
    }
}

/// The vaults an end-to-end caller can open.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientVaultList {
    /// Vaults.
    pub vaults: Vec<ClientVaultView>,
}

/// A vault an end-to-end client made (byte fields base64url).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClientVault {
    /// Its id (bound into every AAD).
    pub id: String,
    /// Version 1 of the vault key under the owner's user key (member-slot AAD).
    pub wrapped_vault_key: String,
    /// The name under version 1.
    pub sealed_name: String,
    /// Version 1's X25519 public key.
    pub public_key: String,
    /// The owner's identity signature over it.
    pub public_key_signature: String,
    /// Version 1 sealed to each of the owner's live `"*"` tokens (all of them, or 422).
    #[serde(default)]
    pub token_grants: Vec<TokenGrantBody>,
}

/// A vault key sealed to one `"*"` token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenGrantBody {
    /// The token id.
    pub token: String,
    /// The key sealed (HPKE) to the token's verified X25519 key, base64url.
    pub sealed: String,
}

pub(crate) fn new_vault(body: CreateClientVault) -> Result<NewClientVault, ApiError> {
    let mut f = Fields::default();
    let new = NewClientVault {
        id: f.id("id", &body.id),
        wrapped_vault_key: f.bytes("wrapped_vault_key", &body.wrapped_vault_key),
        sealed_name: f.bytes("sealed_name", &body.sealed_name),
        public_key: f.bytes("public_key", &body.public_key),
        public_key_signature: f.bytes("public_key_signature", &body.public_key_signature),
        token_grants: body
            .token_grants
            .iter()
            .enumerate()
            .map(|(i, g)| {
                (
                    f.id(&format!("token_grants[{i}].token"), &g.token),
                    f.bytes(&format!("token_grants[{i}].sealed"), &g.sealed),
                )
            })
            .collect(),
    };
    f.done()?;
    Ok(new)
}

/// An item as an end-to-end caller lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientItemSummary {
    /// Item id.
    pub id: String,
    /// Current version.
    pub version: u64,
    /// When this version was written (RFC 3339).
    pub updated_at: String,
    /// The vault key version its item key is wrapped under.
    pub key_version: u32,
    /// The item key under that vault key, base64url.
    pub wrapped_item_key: String,
    /// The name under the item key, base64url.
    pub sealed_name: String,
    /// The name's blind index under `key_version`, base64url (`null` for rows written
    /// before blind indexes).
    pub name_index: Option<String>,
}

fn summary(i: &RawItem) -> ClientItemSummary {
    let r = &i.record;
    ClientItemSummary {
        id: r.id.to_string(),
        version: r.version,
        updated_at: rfc3339(r.updated_at),
        key_version: r.key_version,
        wrapped_item_key: b64(&r.wrapped_item_key),
        sealed_name: b64(&r.name),
        name_index: r.name_index.as_deref().map(b64),
    }
}

/// A vault's items as envelopes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientItemListView {
    /// Items.
    pub items: Vec<ClientItemSummary>,
    /// The caller's slot.
    pub slot: SlotView,
    /// Chain links from the slot's version down to the oldest listed item's, newest first.
    pub chain: Vec<ChainLinkView>,
}

impl From<ClientItemList> for ClientItemListView {
    fn from(l: ClientItemList) -> Self {
        Self {
            items: l.items.iter().map(summary).collect(),
            slot: l.slot.into(),
            chain: chain(l.chain),
        }
    }
}

/// One item as envelopes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientItemView {
    /// Item id.
    pub id: String,
    /// The vault's owner (the user its AADs name).
    pub owner_id: String,
    /// Current version.
    pub version: u64,
    /// When this version was written (RFC 3339).
    pub updated_at: String,
    /// The vault key version its item key is wrapped under.
    pub key_version: u32,
    /// The item key, base64url.
    pub wrapped_item_key: String,
    /// The name, base64url.
    pub sealed_name: String,
    /// The value, base64url.
    pub sealed_value: String,
    /// The name's blind index, base64url.
    pub name_index: Option<String>,
    /// The user who signed this version (a member's write), if signed.
    pub signer: Option<String>,
    /// The signer's identity signature over this version, base64url.
    pub signature: Option<String>,
    /// The caller's slot.
    pub slot: SlotView,
    /// Chain links from the slot's version down to the item's, newest first.
    pub chain: Vec<ChainLinkView>,
}

impl From<ClientItem> for ClientItemView {
    fn from(i: ClientItem) -> Self {
        let r = &i.item.record;
        Self {
            id: r.id.to_string(),
            owner_id: i.owner_id.to_string(),
            version: r.version,
            updated_at: rfc3339(r.updated_at),
            key_version: r.key_version,
            wrapped_item_key: b64(&r.wrapped_item_key),
            sealed_name: b64(&r.name),
            sealed_value: b64(&r.value),
            name_index: r.name_index.as_deref().map(b64),
            signer: i.item.signer.map(|s| s.to_string()),
            signature: i.item.signature.as_deref().map(b64),
            slot: i.slot.into(),
            chain: chain(i.chain),
        }
    }
}

/// An item version a client sealed (byte fields base64url).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientWriteBody {
    /// The item id: required to create (the client bound it into the AADs); on an update,
    /// the item's own id or left out.
    #[serde(default)]
    pub id: Option<String>,
    /// The version written: 1 to create, the version read + 1 to update.
    pub version: u64,
    /// The vault key version the item key is wrapped under: the vault's current one.
    pub key_version: u32,
    /// The item key under the vault key.
    pub wrapped_item_key: String,
    /// The name under the item key.
    pub sealed_name: String,
    /// The value under the item key.
    pub sealed_value: String,
    /// The name's blind index under `key_version` (FORMAT §11.3).
    pub name_index: String,
    /// The writer's identity signature (members must send it; tokens send none).
    #[serde(default)]
    pub signature: Option<String>,
}

pub(crate) fn client_write(body: ClientWriteBody) -> Result<ClientWrite, ApiError> {
    let mut f = Fields::default();
    let write = ClientWrite {
        id: body.id.as_deref().map(|id| f.id("id", id)),
        version: body.version,
        key_version: body.key_version,
        wrapped_item_key: f.bytes("wrapped_item_key", &body.wrapped_item_key),
        sealed_name: f.bytes("sealed_name", &body.sealed_name),
        sealed_value: f.bytes("sealed_value", &body.sealed_value),
        name_index: f.bytes("name_index", &body.name_index),
        signature: body.signature.as_deref().map(|s| f.bytes("signature", s)),
    };
    f.done()?;
    Ok(write)
}

/// `?name_index=` of an item listing: one blind index, or several separated by commas
/// (one per key version the client's items may still be under).
pub(crate) fn name_indexes(query: Option<&str>) -> Result<Vec<Vec<u8>>, ApiError> {
    let Some(query) = query else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for pair in query.split('&') {
        let Some(value) = pair.strip_prefix("name_index=") else {
            continue;
        };
        for text in value.split(',').filter(|t| !t.is_empty()) {
            let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| {
                ApiError::bad_request("name_index", "must be base64url without padding")
            })?;
            out.push(bytes);
        }
    }
    if out.len() > MAX_NAME_INDEXES {
        return Err(ApiError::bad_request(
            "name_index",
            format!("at most {MAX_NAME_INDEXES} values"),
        ));
    }
    Ok(out)
}

/// A pending grant's key, wrapped by the client for its own slot.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutSlot {
    /// The grant's key version.
    pub key_version: u32,
    /// The vault key wrapped under the caller's user key (member) or wrap key (token),
    /// base64url.
    pub wrapped_vault_key: String,
}

/// Convert the caller's pending grant into its own slot (end-to-end callers: the client
/// opened the grant). 204, also when it was converted already at that version.
#[utoipa::path(put, path = "/v1/vaults/{vault}/slot", tag = "vaults",
    params(("vault" = String, Path, description = "Vault id")), request_body = PutSlot,
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_slot(
    State(state): State<AppState>,
    Auth(p): Auth,
    path: PathIds,
    ApiJson(body): ApiJson<PutSlot>,
) -> ApiResult<StatusCode> {
    let [vault]: [Id; 1] = path.0.try_into().map_err(|_| ApiError::not_found())?;
    let mut f = Fields::default();
    let wrapped = f.bytes("wrapped_vault_key", &body.wrapped_vault_key);
    f.done()?;
    state
        .keyslot
        .client_put_slot(&p, &vault, body.key_version, wrapped)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The vault list answer for an end-to-end caller.
pub(crate) async fn list_vaults(
    state: &AppState,
    p: &keyslot_core::Principal,
) -> ApiResult<Json<ClientVaultList>> {
    let vaults = state.keyslot.client_vaults(p).await?;
    Ok(Json(ClientVaultList {
        vaults: vaults.into_iter().map(Into::into).collect(),
    }))
}

/// The bodies of routes whose shape depends on the caller, for the OpenAPI document: a
/// server-mode caller's, or an end-to-end caller's (`oneOf`). Never built at run time.
pub mod either {
    #![allow(dead_code, clippy::large_enum_variant)]

    use serde::{Deserialize, Serialize};
    use utoipa::ToSchema;

    use super::super::lifecycle::VaultDetail;
    use super::super::tokens::{
        ClientMintRequest, ClientMinted, ClientTokenList, MintRequest, MintResponse, TokenList,
    };
    use super::super::vaults::{CreateVault, ItemList, ItemView, VaultList, VaultView, WriteItem};
    use super::{
        ClientItemListView, ClientItemView, ClientVaultList, ClientVaultView, ClientWriteBody,
        CreateClientVault,
    };

    /// `GET /v1/vaults`.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub enum VaultListAnswer {
        /// Server mode.
        Server(VaultList),
        /// An end-to-end caller.
        EndToEnd(ClientVaultList),
    }

    /// `POST /v1/vaults`'s body.
    #[derive(Deserialize, ToSchema)]
    #[serde(untagged)]
    pub enum CreateVaultBody {
        /// Server mode.
        Server(CreateVault),
        /// An end-to-end session.
        EndToEnd(CreateClientVault),
    }

    /// `POST /v1/vaults`'s answer.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub enum CreatedVault {
        /// Server mode.
        Server(VaultView),
        /// An end-to-end session.
        EndToEnd(ClientVaultView),
    }

    /// `GET /v1/vaults/{vault}`.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub enum VaultAnswer {
        /// Server mode.
        Server(VaultDetail),
        /// An end-to-end caller.
        EndToEnd(ClientVaultView),
    }

    /// `GET /v1/vaults/{vault}/items`.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub enum ItemListAnswer {
        /// Server mode.
        Server(ItemList),
        /// An end-to-end caller.
        EndToEnd(ClientItemListView),
    }

    /// `GET /v1/vaults/{vault}/items/{item}`.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub enum ItemAnswer {
        /// Server mode.
        Server(ItemView),
        /// An end-to-end caller.
        EndToEnd(ClientItemView),
    }

    /// `POST …/items` and `PUT …/items/{item}` bodies.
    #[derive(Deserialize, ToSchema)]
    #[serde(untagged)]
    pub enum WriteItemBody {
        /// Server mode.
        Server(WriteItem),
        /// An end-to-end caller: envelopes its client sealed.
        EndToEnd(ClientWriteBody),
    }

    /// `POST /v1/tokens`'s body.
    #[derive(Deserialize, ToSchema)]
    #[serde(untagged)]
    pub enum MintBody {
        /// Server mode.
        Server(MintRequest),
        /// An end-to-end session: the token its client made.
        EndToEnd(ClientMintRequest),
    }

    /// `POST /v1/tokens`'s answer.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub enum MintAnswer {
        /// Server mode: with the token's text, shown once.
        Server(MintResponse),
        /// An end-to-end session: no text, the client holds it.
        EndToEnd(ClientMinted),
    }

    /// `GET /v1/tokens`.
    #[derive(Serialize, ToSchema)]
    #[serde(untagged)]
    pub enum TokenListAnswer {
        /// Server mode.
        Server(TokenList),
        /// An end-to-end session: names sealed.
        EndToEnd(ClientTokenList),
    }
}
