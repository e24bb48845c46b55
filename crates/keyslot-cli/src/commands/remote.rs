//! Who a user command speaks as, and the one set of vault and item operations every
//! command uses whatever the account's mode (END-TO-END.md):
//!
//! - a server-mode session or `kst_` token: the server opens the keys for each request;
//! - an end-to-end session: this process opens the user key with the session's unlock
//!   secret (kept in the session file) and does every key operation itself;
//! - a `kse_` token in KEYSLOT_TOKEN: requests carry only its `ksa_` proof, and this
//!   process opens the token's slots with its secret, which never leaves it.
//!
//! The commands see the same vaults, items and values either way; only this file knows
//! the difference.

use std::str::FromStr as _;

use keyslot_client::e2e::{
    self, E2eError, E2eSession, OpenItem, OpenItemSummary, OpenVault, Refusal, Signed, TokenClient,
    UnlockSecret,
};
use keyslot_client::{Client, Credential, Item, ItemSummary, ItemVersion, Vault};
use keyslot_crypto::Id;
use serde_json::Value;
use zeroize::Zeroizing;

use super::connect;
use crate::exit::{AUTH, CONFLICT, CmdResult, Failure, INVALID, NOT_FOUND, OTHER, USAGE};
use crate::session_file;

/// The credential in use and what it can open.
pub enum Remote {
    /// A server-mode session or `kst_` token.
    Server(Client),
    /// An end-to-end session, its user key open in this process.
    E2e(Box<E2eSession>),
    /// An end-to-end token (`kse_` in KEYSLOT_TOKEN).
    E2eToken(Box<TokenClient>),
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Server(_) => "Remote::Server",
            Self::E2e(_) => "Remote::E2e",
            Self::E2eToken(_) => "Remote::E2eToken",
        })
    }
}

/// The credential for user commands: `KEYSLOT_TOKEN` if set (a `kse_` one makes this an
/// end-to-end caller), else the saved session (end-to-end when it was saved so).
pub async fn remote(addr: &str) -> CmdResult<Remote> {
    if let Ok(token) = std::env::var("KEYSLOT_TOKEN") {
        let token = Zeroizing::new(token);
        if token.trim().starts_with("kse_") {
            let base = connect(addr, Credential::None)?;
            return Ok(Remote::E2eToken(Box::new(TokenClient::new(&base, &token)?)));
        }
        return Ok(Remote::Server(connect(addr, Credential::Token(token))?));
    }
    let saved = session_file::load_for(addr)?;
    let client = connect(
        addr,
        Credential::Session {
            session: Zeroizing::new(saved.session.clone()),
            csrf: Zeroizing::new(saved.csrf.clone()),
        },
    )?;
    if !saved.end_to_end {
        return Ok(Remote::Server(client));
    }
    let unlock = saved.unlock_secret.as_deref().ok_or_else(|| {
        Failure::new(
            AUTH,
            "the saved end-to-end session has no unlock secret: run `keyslot login` again",
        )
    })?;
    let unlock = UnlockSecret::parse(unlock)?;
    let session = e2e::account::resume(&client, &unlock).await?;
    crate::known_accounts::check_session(addr, &session)?;
    Ok(Remote::E2e(Box::new(session)))
}

impl Remote {
    /// The HTTP client (for the routes that are the same in both modes: audit, logout).
    pub fn client(&self) -> &Client {
        match self {
            Self::Server(c) => c,
            Self::E2e(s) => s.client(),
            Self::E2eToken(t) => t.client(),
        }
    }

    /// The server-mode client, for the commands that are only built for it so far.
    pub fn server_mode(&self, what: &str) -> CmdResult<&Client> {
        match self {
            Self::Server(c) => Ok(c),
            _ => Err(Failure::new(
                OTHER,
                format!("{what} is not available for end-to-end accounts in this version"),
            )),
        }
    }

    /// The end-to-end session, for commands a session must run.
    pub fn session(&self, what: &str) -> CmdResult<Option<&E2eSession>> {
        match self {
            Self::Server(_) => Ok(None),
            Self::E2e(s) => Ok(Some(s)),
            Self::E2eToken(_) => Err(Failure::new(
                AUTH,
                format!("{what} needs a session from `keyslot login` (not KEYSLOT_TOKEN)"),
            )),
        }
    }

    pub async fn vaults(&self) -> CmdResult<Vec<Vault>> {
        Ok(match self {
            Self::Server(c) => c.vaults().await?,
            Self::E2e(s) => s.vaults().await?.into_iter().map(vault).collect(),
            Self::E2eToken(t) => t.vaults().await?.into_iter().map(vault).collect(),
        })
    }

    pub async fn create_vault(&self, name: &str) -> CmdResult<Vault> {
        Ok(match self {
            Self::Server(c) => c.create_vault(name).await?,
            Self::E2e(s) => vault(s.create_vault(name).await?),
            Self::E2eToken(_) => {
                return Err(Failure::new(
                    AUTH,
                    "creating a vault needs a session from `keyslot login` (not KEYSLOT_TOKEN)",
                ));
            }
        })
    }

    /// A `kse_` deposit token's write (END-TO-END.md §8), sealed here: `None` for any
    /// other credential, and for a `kse_` token that may read (it writes as a member
    /// does). A deposit token reads nothing, not even vault names, so `vault` must be the
    /// vault's id.
    pub async fn deposit(
        &self,
        vault: &str,
        name: &str,
        value: &Value,
    ) -> CmdResult<Option<ItemVersion>> {
        let Self::E2eToken(t) = self else {
            return Ok(None);
        };
        match t.vaults().await {
            // Only a deposit token is refused its own vault list.
            Err(e) if e.status() == Some(403) => {}
            _ => return Ok(None),
        }
        let vault = Id::from_str(vault).map_err(|_| {
            Failure::new(
                USAGE,
                format!(
                    "{vault:?}: a deposit token reads no vault names; give the vault's id \
                     (`keyslot vault list` in its owner's session shows it)"
                ),
            )
        })?;
        let item = t.deposit(&vault, name, value).await?;
        Ok(Some(ItemVersion {
            id: item.to_string(),
            version: 1,
        }))
    }

    pub async fn items(&self, vault: &str) -> CmdResult<Vec<ItemSummary>> {
        Ok(match self {
            Self::Server(c) => c.items(vault).await?,
            Self::E2e(s) => {
                let vault = id(vault)?;
                claim_deposits(s, &vault).await?;
                s.items(&vault).await?.into_iter().map(summary).collect()
            }
            Self::E2eToken(t) => t
                .items(&id(vault)?)
                .await?
                .into_iter()
                .map(summary)
                .collect(),
        })
    }

    pub async fn item(&self, vault: &str, item: &str) -> CmdResult<Item> {
        Ok(match self {
            Self::Server(c) => c.item(vault, item).await?,
            Self::E2e(s) => open_item(s.item(&id(vault)?, &id(item)?).await?),
            Self::E2eToken(t) => open_item(t.item(&id(vault)?, &id(item)?).await?),
        })
    }

    /// The item called `name`, looked up by its blind index (END-TO-END.md §6): one name
    /// downloaded, not all of them. `None` from a server-mode caller means "list instead".
    pub async fn indexed_item(&self, vault: &str, name: &str) -> CmdResult<Option<Option<Item>>> {
        Ok(match self {
            Self::Server(_) => None,
            Self::E2e(s) => Some(s.find_item(&id(vault)?, name).await?.map(open_item)),
            Self::E2eToken(t) => Some(t.find_item(&id(vault)?, name).await?.map(open_item)),
        })
    }

    pub async fn create_item(
        &self,
        vault: &str,
        name: &str,
        value: &Value,
    ) -> CmdResult<ItemVersion> {
        let (id, version) = match self {
            Self::Server(c) => return Ok(c.create_item(vault, name, value).await?),
            Self::E2e(s) => {
                let vault = id(vault)?;
                match s.create_item(&vault, name, value).await {
                    Err(e) if rotated_because_due(s, &vault, &e).await? => {
                        s.create_item(&vault, name, value).await?
                    }
                    other => other?,
                }
            }
            Self::E2eToken(t) => t.create_item(&id(vault)?, name, value).await?,
        };
        Ok(ItemVersion {
            id: id.to_string(),
            version,
        })
    }

    /// Replace an item that was read at `read_version`.
    pub async fn update_item(
        &self,
        vault: &str,
        item: &str,
        name: &str,
        value: &Value,
        read_version: u64,
    ) -> CmdResult<ItemVersion> {
        let version = match self {
            Self::Server(c) => {
                return Ok(c
                    .update_item(vault, item, name, value, Some(read_version))
                    .await?);
            }
            Self::E2e(s) => {
                let (vault, item) = (id(vault)?, id(item)?);
                match s
                    .update_item(&vault, &item, read_version, name, value)
                    .await
                {
                    Err(e) if rotated_because_due(s, &vault, &e).await? => {
                        s.update_item(&vault, &item, read_version, name, value)
                            .await?
                    }
                    other => other?,
                }
            }
            Self::E2eToken(t) => {
                t.update_item(&id(vault)?, &id(item)?, read_version, name, value)
                    .await?
            }
        };
        Ok(ItemVersion {
            id: item.to_owned(),
            version,
        })
    }

    pub async fn delete_item(&self, vault: &str, item: &str) -> CmdResult {
        match self {
            Self::Server(c) => c.delete_item(vault, item).await?,
            Self::E2e(s) => s.delete_item(&id(vault)?, &id(item)?).await?,
            Self::E2eToken(t) => t.delete_item(&id(vault)?, &id(item)?).await?,
        }
        Ok(())
    }
}

/// Deposits waiting in `vault` become items before it is listed, as a server-mode
/// listing claims them on the server (END-TO-END.md §8): this client opens each, checks
/// its sender, re-seals it and claims it. A member who may not write (403), a vault
/// whose rotation is due (409), or a member who has not confirmed the owner (whose
/// identity vouches for each deposit's sender) leaves them waiting, and the listing goes
/// on; they are listed once claimed.
async fn claim_deposits(session: &E2eSession, vault: &Id) -> CmdResult {
    match session.claim_deposits(vault).await {
        Ok(claimed) => {
            if !claimed.is_empty() {
                eprintln!("Claimed {} deposited item(s).", claimed.len());
            }
            Ok(())
        }
        Err(e) if matches!(e.status(), Some(403 | 409)) => Ok(()),
        Err(e) if matches!(e.refusal(), Some(Refusal::NotPinned { .. })) => {
            eprintln!(
                "Deposits wait in this vault; they are claimed once you confirm its owner \
                 (`keyslot trust`)."
            );
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// After a write refused with 409: if the vault's rotation is due (a token revoked, a
/// member removed, elsewhere than in this CLI), run it here — an end-to-end vault rotates
/// only in a client that holds its key — and say so; then the write is worth one retry.
/// A 409 for another reason (the item changed meanwhile) is left as it is.
async fn rotated_because_due(session: &E2eSession, vault: &Id, e: &E2eError) -> CmdResult<bool> {
    if e.status() != Some(409) {
        return Ok(false);
    }
    let open = session.vault(vault).await?;
    if !open.rotation_due {
        return Ok(false);
    }
    // Only the owner's session signs an end-to-end vault's next key (the server refuses
    // anyone else): a member's write waits for the owner, and says so.
    if open.owner_id != *session.user_id() {
        return Err(Failure::new(
            CONFLICT,
            "this vault's key is due to rotate (a token was revoked or a member removed) and only \
             its owner can rotate it: ask the owner to run any write in it or `keyslot vault rotate`, \
             then try again",
        ));
    }
    let version = session.rotate_vault(vault).await?;
    eprintln!("The vault's key was due to rotate; rotated it to key version {version}.");
    Ok(true)
}

/// An id the server gave (hex); anything else is its fault.
fn id(text: &str) -> CmdResult<Id> {
    Id::from_str(text)
        .map_err(|_| Failure::new(NOT_FOUND, format!("{text:?} is not a vault or item id")))
}

/// A vault whose name this caller cannot open (a key version it does not hold yet) is
/// listed by id.
fn vault(v: OpenVault) -> Vault {
    let id = v.id.to_string();
    Vault {
        name: v.name.unwrap_or_else(|| id.clone()),
        id,
    }
}

fn summary(i: OpenItemSummary) -> ItemSummary {
    ItemSummary {
        id: i.id.to_string(),
        name: i.name,
        version: i.version,
        updated_at: i.updated_at,
    }
}

fn open_item(i: OpenItem) -> Item {
    Item {
        id: i.id.to_string(),
        name: i.name,
        value: i.value,
        version: i.version,
        updated_at: i.updated_at,
        signed: Some(match i.signed {
            Signed::Verified(user) => format!("verified:{user}"),
            Signed::Unchecked(user) => format!("unchecked:{user}"),
            Signed::Unsigned => "unsigned".to_owned(),
        }),
    }
}

/// A line for stderr when an item's writer is not verified (review R1 finding 6): the
/// value is still printed, but the user sees that no identity vouches for it.
pub fn signing_note(item: &Item) -> Option<String> {
    let signed = item.signed.as_deref()?;
    if let Some(user) = signed.strip_prefix("unchecked:") {
        return Some(format!(
            "note: item {:?} is signed by user {user}, whose identity you have not \
             confirmed, so the signature was not checked (`keyslot trust <username> \
             --fingerprint <theirs>`)",
            item.name
        ));
    }
    (signed == "unsigned").then(|| {
        format!(
            "note: item {:?} is unsigned (written by a token, or by the server): no \
             identity vouches for it",
            item.name
        )
    })
}

impl From<E2eError> for Failure {
    fn from(e: E2eError) -> Self {
        match e {
            E2eError::Api(e) => e.into(),
            E2eError::Refused(r) => {
                let hint = if matches!(r, Refusal::NotPinned { .. }) {
                    " (ask them for the fingerprint `keyslot whoami` shows them, then run \
                     `keyslot trust <username> --fingerprint <theirs>`)"
                } else {
                    ""
                };
                Self::new(
                    AUTH,
                    format!("refused what the server sent, and sent nothing after it: {r}{hint}"),
                )
            }
            E2eError::Invalid(_) => Self::new(INVALID, e.to_string()),
            E2eError::Crypto(_) => Self::new(OTHER, e.to_string()),
        }
    }
}
