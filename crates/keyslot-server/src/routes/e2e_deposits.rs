//! End-to-end deposits (docs/END-TO-END.md §8): a deposit token's client seals the item
//! key in HPKE auth mode and the server keeps it as a deposit; a reader's client opens it,
//! re-seals the item under the vault's current key and claims it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keyslot_core::e2e_deposits::{ClientDeposit, ClientDeposited, DepositClaim};
use keyslot_core::e2e_lifecycle::SealedFor;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, PathIds};
use crate::routes::lifecycle::{HolderEntry, SealedForBody, holder_entry, holders_changed};
use crate::routes::rfc3339;
use crate::state::AppState;

fn ids<const N: usize>(PathIds(ids): PathIds) -> ApiResult<[keyslot_crypto::Id; N]> {
    ids.try_into().map_err(|_| ApiError::not_found())
}

/// What a deposit token's client seals to.
#[derive(Debug, Serialize, ToSchema)]
pub struct DepositKeyView {
    /// The vault's owner: their identity (pinned at the token's mint) signed the key.
    pub owner_id: String,
    /// The owner's Ed25519 identity public key, base64url: the token's client accepts it
    /// only when its own id commits to it (the anchor made at mint), then checks
    /// `public_key_signature` (and each reader's signature) under it.
    pub owner_identity_public: String,
    /// The current key version: the deposit binds it.
    pub key_version: u32,
    /// A rotation is due: seal to `readers`, not to `public_key`.
    pub rotation_due: bool,
    /// The current version's X25519 public key, base64url (once published).
    pub public_key: Option<String>,
    /// The owner's identity signature over it, base64url.
    pub public_key_signature: Option<String>,
    /// While due (or before the key is published): every remaining reader to seal to.
    pub readers: Vec<HolderEntry>,
}

/// The vault's deposit key (an end-to-end deposit token in its scope; 404 outside it).
#[utoipa::path(get, path = "/v1/vaults/{vault}/deposit-key", tag = "vaults",
    params(("vault" = String, Path, description = "Vault id")),
    responses((status = 200, body = DepositKeyView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn deposit_key(
    State(state): State<AppState>,
    Auth(p): Auth,
    path: PathIds,
) -> ApiResult<Json<DepositKeyView>> {
    let [vault] = ids(path)?;
    let k = state.keyslot.client_deposit_key(&p, &vault).await?;
    Ok(Json(DepositKeyView {
        owner_id: k.owner.to_string(),
        owner_identity_public: k.owner_identity_public,
        key_version: k.key_version,
        rotation_due: k.rotation_due,
        public_key: k.public_key,
        public_key_signature: k.public_key_signature,
        readers: k.readers.into_iter().map(holder_entry).collect(),
    }))
}

/// A deposit an end-to-end deposit token's client sealed (byte fields base64url).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepositBody {
    /// The item id it will have (its AADs bind it).
    pub id: String,
    /// The vault's current key version.
    pub key_version: u32,
    /// The name under the item key.
    pub sealed_name: String,
    /// The value under the item key.
    pub sealed_value: String,
    /// The item key sealed in HPKE auth mode (FORMAT §11.5) to the vault's public key.
    #[serde(default)]
    pub sealed_item_key: Option<String>,
    /// While a rotation is due: the item key sealed in auth mode to each remaining reader.
    #[serde(default)]
    pub readers: Vec<SealedForBody>,
}

/// A deposit made.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deposited {
    /// The item id.
    pub id: String,
}

/// Deposit an item (an end-to-end deposit token, `ksa_`).
///
/// The client seals the item key in HPKE auth mode with the token's own key to the vault's
/// public key (`GET …/deposit-key`), or while a rotation is due to each listed reader
/// (409 `holders-changed` naming who is missing or extra otherwise). Sealed to the vault
/// while due: 409 `rotation-due`; at an old key version: 409 `stale-key-version`.
#[utoipa::path(post, path = "/v1/vaults/{vault}/deposits", tag = "vaults",
    params(("vault" = String, Path, description = "Vault id")),
    request_body = DepositBody,
    responses((status = 201, body = Deposited), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn deposit(
    State(state): State<AppState>,
    Auth(p): Auth,
    path: PathIds,
    ApiJson(body): ApiJson<DepositBody>,
) -> ApiResult<Response> {
    let [vault] = ids(path)?;
    let request = ClientDeposit {
        id: body.id,
        key_version: body.key_version,
        sealed_name: body.sealed_name,
        sealed_value: body.sealed_value,
        sealed_item_key: body.sealed_item_key,
        readers: body.readers.into_iter().map(SealedFor::from).collect(),
    };
    match state.keyslot.client_deposit(&p, &vault, &request).await? {
        ClientDeposited::Done(id) => {
            Ok((StatusCode::CREATED, Json(Deposited { id: id.to_string() })).into_response())
        }
        ClientDeposited::Readers(mismatch) => Ok(holders_changed(&mismatch)),
    }
}

/// A deposit waiting for the caller (byte fields base64url).
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingDepositView {
    /// The item id it will have.
    pub id: String,
    /// The key version it binds.
    pub key_version: u32,
    /// Sealed to each reader (this is the caller's copy) rather than to the vault's key.
    pub to_readers: bool,
    /// The item key, sealed in HPKE auth mode.
    pub sealed_item_key: String,
    /// The name under the item key.
    pub sealed_name: String,
    /// The value under the item key.
    pub sealed_value: String,
    /// The deposit token that made it.
    pub token_id: String,
    /// Its X25519 public key: the sender to open the item key with.
    pub sender_public_key: Option<String>,
    /// The owner's identity signature over it: check it before opening.
    pub sender_signature: Option<String>,
    /// When it was made.
    pub created_at: String,
}

/// Deposits waiting to be claimed.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingDeposits {
    /// Oldest first, at most one claim batch.
    pub deposits: Vec<PendingDepositView>,
}

/// The deposits the caller can open (an end-to-end holder of the vault's key).
#[utoipa::path(get, path = "/v1/vaults/{vault}/deposits", tag = "vaults",
    params(("vault" = String, Path, description = "Vault id")),
    responses((status = 200, body = PendingDeposits), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn pending(
    State(state): State<AppState>,
    Auth(p): Auth,
    path: PathIds,
) -> ApiResult<Json<PendingDeposits>> {
    let [vault] = ids(path)?;
    let pending = state.keyslot.client_pending_deposits(&p, &vault).await?;
    Ok(Json(PendingDeposits {
        deposits: pending
            .into_iter()
            .map(|d| PendingDepositView {
                id: d.id.to_string(),
                key_version: d.key_version,
                to_readers: d.to_readers,
                sealed_item_key: d.sealed_item_key,
                sealed_name: d.sealed_name,
                sealed_value: d.sealed_value,
                token_id: d.token_id.to_string(),
                sender_public_key: d.sender_public_key,
                sender_signature: d.sender_signature,
                created_at: rfc3339(d.created_at),
            })
            .collect(),
    }))
}

/// A claimed deposit, re-sealed by the reader's client as item version 1 under the
/// vault's current key (byte fields base64url).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimBody {
    /// The vault's current key version.
    pub key_version: u32,
    /// The item key under it.
    pub wrapped_item_key: String,
    /// The name under the item key.
    pub sealed_name: String,
    /// The value under the item key.
    pub sealed_value: String,
    /// The name's blind index under that version.
    pub name_index: String,
}

/// Claim a deposit: it becomes an ordinary item (exactly once; 404 once another reader
/// claimed it). The claimer supplies the item's ciphertext, so it needs the write
/// permission (403 otherwise); while the vault's rotation is due, 409 `rotation-due`.
#[utoipa::path(post, path = "/v1/vaults/{vault}/deposits/{deposit}/claim", tag = "vaults",
    params(("vault" = String, Path, description = "Vault id"), ("deposit" = String, Path, description = "The deposit's (item) id")),
    request_body = ClaimBody,
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn claim(
    State(state): State<AppState>,
    Auth(p): Auth,
    path: PathIds,
    ApiJson(body): ApiJson<ClaimBody>,
) -> ApiResult<StatusCode> {
    let [vault, deposit] = ids(path)?;
    let claim = DepositClaim {
        key_version: body.key_version,
        wrapped_item_key: body.wrapped_item_key,
        sealed_name: body.sealed_name,
        sealed_value: body.sealed_value,
        name_index: body.name_index,
    };
    state
        .keyslot
        .claim_client_deposit(&p, &vault, &deposit, &claim)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
