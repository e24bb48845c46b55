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
    /// A vault key sealed (HPKE) to a token's or a user's public key: a pending grant,
    /// converted into an ordinary slot at the holder's next use.
    VaultKeyGrant,
    /// A new user key sealed (HPKE) to the recovery code's public key after a user-key
    /// rotation; converted into the recovery slot at the next recovery.
    UserKeyGrant,
    /// A deposited item key sealed (HPKE) to the vault's public key, or, while a rotation
    /// is due, to each reader's own public key.
    DepositItemKey,
    /// The backward chain: vault key version `n` wrapped under version `n + 1`.
    VaultKeyChain,
    /// An end-to-end user's Ed25519 identity key (its 32-byte seed), under the user key.
    IdentityKey,
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
            Self::VaultKeyGrant => "keyslot/v1/grant/vault-key",
            Self::UserKeyGrant => "keyslot/v1/grant/user-key",
            Self::DepositItemKey => "keyslot/v1/deposit/item-key",
            Self::VaultKeyChain => "keyslot/v1/vault/chain",
            Self::IdentityKey => "keyslot/v1/user/identity-key",
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
    pub const RECIPIENT_KIND: u8 = 8;
    pub const RECIPIENT: u8 = 9;
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

/// Who a key is sealed to (HPKE, [`crate::sealed_key`]), bound into the AAD beside the
/// recipient's id so a grant for one holder never reads as a grant for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RecipientKind {
    /// An API token's derived key pair ([`crate::x25519::TokenKeyPair`]).
    Token = 1,
    /// A user's random key pair, private half under the user key ([`crate::UserKeyPair`]).
    User = 2,
    /// A recovery code's derived key pair ([`crate::x25519::RecoveryKeyPair`]).
    RecoveryCode = 3,
    /// A vault key version's derived key pair ([`crate::x25519::VaultKeyPair`]).
    Vault = 4,
}

impl RecipientKind {
    /// The byte stored in rows and bound into AAD and public-key MACs.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }
}

impl TryFrom<u8> for RecipientKind {
    type Error = crate::Error;
    fn try_from(value: u8) -> crate::Result<Self> {
        match value {
            1 => Ok(Self::Token),
            2 => Ok(Self::User),
            3 => Ok(Self::RecoveryCode),
            4 => Ok(Self::Vault),
            _ => Err(crate::Error::Malformed {
                what: "recipient kind",
                reason: "not 1 (token), 2 (user), 3 (recovery code) or 4 (vault)",
            }),
        }
    }
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
    recipient_kind: Option<RecipientKind>,
    recipient: Option<[u8; 16]>,
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
            recipient_kind: None,
            recipient: None,
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

    /// Bind the recipient a key is sealed to: its kind and id (a token, user or recovery
    /// credential id, or the vault id for a vault key pair). Setting it again replaces it.
    pub const fn recipient(mut self, kind: RecipientKind, id: &crate::Id) -> Self {
        self.recipient_kind = Some(kind);
        self.recipient = Some(*id.as_bytes());
        self
    }

    /// The purpose this AAD was built for.
    pub const fn purpose(&self) -> Purpose {
        self.purpose
    }

    /// The recipient kind, if one is bound.
    pub const fn recipient_kind(&self) -> Option<RecipientKind> {
        self.recipient_kind
    }

    /// The canonical byte encoding fed to the AEAD.
    pub fn encode(&self) -> Vec<u8> {
        let label = self.purpose.label().as_bytes();
        let mut out = Vec::with_capacity(6 + 1 + label.len() + 6 * 18 + 3 * 10);
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
        if let Some(kind) = self.recipient_kind {
            push(&mut out, Some(tag::RECIPIENT_KIND), &[kind as u8]);
        }
        if let Some(id) = &self.recipient {
            push(&mut out, Some(tag::RECIPIENT), id);
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
