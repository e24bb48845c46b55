//! Associated data: what every ciphertext is bound to.
//!
//! Every envelope is sealed with an AAD naming its purpose and the ids it belongs to, so a
//! ciphertext moved to another row (another user, vault, item, version or credential)
//! fails to open instead of yielding another record's plaintext.
//!
//! Encoding (canonical, see `docs/FORMAT.md` §AAD): the ASCII magic `KSAAD1`, then the
//! purpose label as `u8 length ‖ label`, then each present field in ascending tag order as
//! `tag u8 ‖ length u8 ‖ bytes`. Absent fields are omitted; the tag makes that unambiguous.

/// What a ciphertext is for. The label is part of the format and never changes once
/// released; new purposes get new labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Purpose {
    /// A user key wrapped under a credential's wrap key (password, recovery, session,
    /// all-vaults token).
    UserKeySlot,
    /// A vault key wrapped under a vault-scoped token's wrap key.
    VaultKeySlot,
    /// A vault key wrapped under its owner's user key.
    VaultKeyForUser,
    /// An item key wrapped under its vault key.
    ItemKey,
    /// An item version's name.
    ItemName,
    /// An item version's value.
    ItemValue,
    /// A vault's name, under the vault key.
    VaultName,
    /// A token's name, under its own content key.
    TokenName,
    /// A token name's content key, under the user key.
    TokenNameKey,
    /// A user's X25519 private key, under the user key.
    UserX25519,
    /// A password slot sealed under the server's seal key.
    SealedPasswordSlot,
    /// The seal key's own check value, which proves at start-up that the key is the one
    /// the database was written with.
    SealCheck,
}

impl Purpose {
    /// The stable label bound into the AAD.
    pub const fn label(self) -> &'static str {
        match self {
            Self::UserKeySlot => "keyslot/v1/slot/user-key",
            Self::VaultKeySlot => "keyslot/v1/slot/vault-key",
            Self::VaultKeyForUser => "keyslot/v1/user/vault-key",
            Self::ItemKey => "keyslot/v1/vault/item-key",
            Self::ItemName => "keyslot/v1/item/name",
            Self::ItemValue => "keyslot/v1/item/value",
            Self::VaultName => "keyslot/v1/vault/name",
            Self::TokenName => "keyslot/v1/token/name",
            Self::TokenNameKey => "keyslot/v1/token/name-key",
            Self::UserX25519 => "keyslot/v1/user/x25519",
            Self::SealedPasswordSlot => "keyslot/v1/seal/password-slot",
            Self::SealCheck => "keyslot/v1/seal/check",
        }
    }
}

/// Field tags, in encoding order.
mod tag {
    pub const USER: u8 = 1;
    pub const VAULT: u8 = 2;
    pub const ITEM: u8 = 3;
    pub const ITEM_VERSION: u8 = 4;
    pub const KEY_VERSION: u8 = 5;
    pub const CREDENTIAL: u8 = 6;
    pub const CREDENTIAL_KIND: u8 = 7;
}

/// The kind of credential a slot belongs to, bound into its AAD so a session slot cannot
/// be presented as a token slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum CredentialKind {
    /// A password (Argon2id).
    Password = 1,
    /// A recovery code.
    Recovery = 2,
    /// A browser or CLI session.
    Session = 3,
    /// An API token.
    Token = 4,
}

impl CredentialKind {
    /// The HKDF label prefix of this kind (`docs/FORMAT.md` §KDF).
    pub const fn kdf_prefix(self) -> &'static str {
        match self {
            Self::Password => "keyslot/v1/password",
            Self::Recovery => "keyslot/v1/recovery",
            Self::Session => "keyslot/v1/session",
            Self::Token => "keyslot/v1/token",
        }
    }
}

/// AAD under construction. Fields may be set in any order; the encoding is canonical.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aad {
    purpose: Purpose,
    user: Option<[u8; 16]>,
    vault: Option<[u8; 16]>,
    item: Option<[u8; 16]>,
    item_version: Option<u64>,
    key_version: Option<u32>,
    credential: Option<[u8; 16]>,
    credential_kind: Option<CredentialKind>,
}

impl Aad {
    /// An AAD for `purpose` with no ids yet.
    pub const fn new(purpose: Purpose) -> Self {
        Self {
            purpose,
            user: None,
            vault: None,
            item: None,
            item_version: None,
            key_version: None,
            credential: None,
            credential_kind: None,
        }
    }

    /// Bind the owning user.
    pub const fn user(mut self, id: &crate::Id) -> Self {
        self.user = Some(*id.as_bytes());
        self
    }
    /// Bind the vault.
    pub const fn vault(mut self, id: &crate::Id) -> Self {
        self.vault = Some(*id.as_bytes());
        self
    }
    /// Bind the item.
    pub const fn item(mut self, id: &crate::Id) -> Self {
        self.item = Some(*id.as_bytes());
        self
    }
    /// Bind the item version.
    pub const fn item_version(mut self, version: u64) -> Self {
        self.item_version = Some(version);
        self
    }
    /// Bind the key version (of the vault key for items, of the seal key for seals).
    pub const fn key_version(mut self, version: u32) -> Self {
        self.key_version = Some(version);
        self
    }
    /// Bind the credential (slot owner) id and its kind.
    pub const fn credential(mut self, kind: CredentialKind, id: &crate::Id) -> Self {
        self.credential = Some(*id.as_bytes());
        self.credential_kind = Some(kind);
        self
    }

    /// The canonical byte encoding fed to the AEAD.
    pub fn encode(&self) -> Vec<u8> {
        let label = self.purpose.label().as_bytes();
        let mut out = Vec::with_capacity(6 + 1 + label.len() + 5 * 18 + 2 * 10);
        out.extend_from_slice(b"KSAAD1");
        push(&mut out, None, label);
        if let Some(id) = &self.user {
            push(&mut out, Some(tag::USER), id);
        }
        if let Some(id) = &self.vault {
            push(&mut out, Some(tag::VAULT), id);
        }
        if let Some(id) = &self.item {
            push(&mut out, Some(tag::ITEM), id);
        }
        if let Some(v) = self.item_version {
            push(&mut out, Some(tag::ITEM_VERSION), &v.to_be_bytes());
        }
        if let Some(v) = self.key_version {
            push(&mut out, Some(tag::KEY_VERSION), &v.to_be_bytes());
        }
        if let Some(id) = &self.credential {
            push(&mut out, Some(tag::CREDENTIAL), id);
        }
        if let Some(kind) = self.credential_kind {
            push(&mut out, Some(tag::CREDENTIAL_KIND), &[kind as u8]);
        }
        out
    }
}

/// `tag? ‖ len u8 ‖ bytes`. Every field and label is under 256 bytes by construction
/// (ids are 16 bytes, integers 8 at most, labels are constants well under 64).
fn push(out: &mut Vec<u8>, tag: Option<u8>, bytes: &[u8]) {
    if let Some(t) = tag {
        out.push(t);
    }
    debug_assert!(bytes.len() < 256, "AAD fields are short constants or ids");
    out.push(bytes.len() as u8);
    out.extend_from_slice(bytes);
}
