//! What the harness knows the server holds: every acknowledged write, plus at most one
//! write per user whose answer never came (the kill cut it off). Such a write may or may
//! not have happened; the next verification finds out which, checks that it happened
//! whole or not at all, and folds the outcome in.

use std::collections::BTreeMap;

use serde_json::Value;

/// One account as its owner knows it.
pub struct User {
    pub name: String,
    pub password: String,
    /// `None` once a recovery whose answer was lost went through: the new code went with it.
    pub recovery: Option<String>,
    /// Passwords that were replaced: none may work again.
    pub retired_passwords: Vec<String>,
    /// Recovery codes that were used: none may work again.
    pub retired_codes: Vec<String>,
    pub vaults: Vec<Vault>,
    pub tokens: Vec<Token>,
    /// The write whose answer never came, if any.
    pub doubt: Option<Doubt>,
}

/// A vault and its items by name.
pub struct Vault {
    pub id: String,
    pub name: String,
    pub items: BTreeMap<String, Item>,
}

/// An item's id and acknowledged value.
pub struct Item {
    pub id: String,
    pub value: Value,
}

/// An API token as minted.
pub struct Token {
    pub id: String,
    pub secret: String,
    /// `None`: every vault (`"*"`), including later ones.
    pub vaults: Option<Vec<String>>,
    pub write: bool,
    pub revoked: bool,
}

impl Token {
    pub fn reaches(&self, vault: &str) -> bool {
        self.vaults
            .as_ref()
            .is_none_or(|list| list.iter().any(|v| v == vault))
    }
}

/// A write that was sent but never answered.
#[derive(Debug)]
pub enum Doubt {
    Password {
        new: String,
    },
    Recovery {
        new_password: String,
    },
    Revoke {
        token: usize,
    },
    CreateVault {
        name: String,
    },
    /// Create, update or delete (`value == None`) of one item, by name.
    Item {
        vault: usize,
        name: String,
        value: Option<Value>,
    },
    /// The new token's secret went with the lost answer: nothing to check but that the
    /// rest still holds.
    Mint,
}

/// A sign-up whose answer never came.
pub struct PendingSignup {
    pub name: String,
    pub password: String,
}

impl User {
    /// A user just signed up, with its default vault.
    pub fn new(name: String, password: String, recovery: Option<String>, vault: String) -> Self {
        Self {
            name,
            password,
            recovery,
            retired_passwords: Vec::new(),
            retired_codes: Vec::new(),
            vaults: vec![Vault {
                id: vault,
                name: "Personal".into(),
                items: BTreeMap::new(),
            }],
            tokens: Vec::new(),
            doubt: None,
        }
    }

    /// Tokens that must still work.
    pub fn live_tokens(&self) -> impl Iterator<Item = &Token> {
        self.tokens.iter().filter(|t| !t.revoked)
    }
}
