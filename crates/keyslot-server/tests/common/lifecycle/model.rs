//! The model of the key-lifecycle property test (tests/lifecycle_model.rs): who exists,
//! which vaults they are members of and with what role, what each vault holds, and every
//! credential ever issued with whether it is still live. From it follows what every
//! credential must be able to do; the test compares that with what the server does.
//!
//! The model is written from DESIGN §3.1 and §6, not from the code under test: where the
//! two could disagree the model says what the design says, and the few places where the
//! design leaves a choice open accept each answer it allows (and say so).
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::common::Auth;

/// A member's role in a vault (§3.1 "Sharing").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Read,
    Write,
    Owner,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Owner => "owner",
        }
    }

    pub const fn can_write(self) -> bool {
        !matches!(self, Self::Read)
    }
}

/// Who acts in an operation: a user's session, a live token, a live deposit token, or
/// any token minted so far (live or ended). Indices are taken modulo the number to choose
/// from.
#[derive(Clone, Copy, Debug)]
pub enum Actor {
    Session(usize),
    LiveToken(usize),
    Depositor(usize),
    AnyToken(usize),
}

/// Which vault a write goes to: one the writer reaches (or deposits into), one whose
/// rotation is due (right after a credential ended), or any vault that exists, which the
/// writer may well have no access to.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    Reached(usize),
    Due(usize),
    Any(usize),
}

/// A write: create an item (`item: None`) or replace one (an index into the vault's items).
#[derive(Clone, Copy, Debug)]
pub struct Write {
    pub by: Actor,
    pub vault: Target,
    pub item: Option<usize>,
}

/// One step of a case. Indices are taken modulo whatever they choose from when the step
/// runs, so that every sequence (and every shrunk one) is meaningful.
#[derive(Clone, Debug)]
pub enum Op {
    /// A token scoped to some of the user's vaults (indices into the vaults the user is a
    /// member of), read-only or read-write; `short` ones may later be expired.
    MintScoped {
        user: usize,
        vaults: Vec<usize>,
        write: bool,
        short: bool,
    },
    /// A `"*"` token.
    MintAll {
        user: usize,
        write: bool,
        short: bool,
    },
    /// A deposit token for some of the vaults the user created and is still a member of.
    MintDeposit {
        user: usize,
        vaults: Vec<usize>,
        short: bool,
    },
    Write(Write),
    /// An owner of the vault adds `member` with `role`, or changes their role if they are
    /// one already.
    Share {
        vault: usize,
        by: usize,
        member: usize,
        role: Role,
    },
    /// An owner removes a member, or (`leave`) the member removes themselves.
    Unshare {
        vault: usize,
        by: usize,
        member: usize,
        leave: bool,
    },
    /// `POST /v1/vaults/{vault}/rotate` by user `by`'s session (owner or not).
    Rotate {
        vault: usize,
        by: usize,
    },
    /// Revoke a live token (index into the live ones) from its user's session, with the
    /// default rotation or `?rotate=false`, and then perhaps write at once.
    Revoke {
        token: usize,
        rotate: bool,
        then: Option<Write>,
    },
    /// Let a live short-lived token's `expires_at` pass (set in the database, no sweeper),
    /// and then perhaps write at once.
    Expire {
        token: usize,
        then: Option<Write>,
    },
    /// Stop the server and start a new one on the same database and seal key.
    Restart,
    CreateVault {
        user: usize,
    },
}

/// How a token reaches vaults.
#[derive(Clone, Debug)]
pub enum Access {
    Scoped {
        vaults: BTreeSet<usize>,
        write: bool,
    },
    All {
        write: bool,
    },
    Deposit {
        vaults: BTreeSet<usize>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Life {
    Live,
    Revoked,
    Expired,
}

pub struct TokenM {
    pub id: String,
    pub secret: String,
    pub user: usize,
    pub access: Access,
    pub short: bool,
    pub life: Life,
}

impl TokenM {
    pub fn is_deposit(&self) -> bool {
        matches!(self.access, Access::Deposit { .. })
    }

    pub fn permissions(&self) -> Value {
        match self.access {
            Access::Deposit { .. } => serde_json::json!(["deposit"]),
            Access::Scoped { write: true, .. } | Access::All { write: true } => {
                serde_json::json!(["read", "write"])
            }
            _ => serde_json::json!(["read"]),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ItemM {
    pub id: String,
    pub name: String,
    pub value: Value,
    pub version: u64,
    pub deposited_by: Option<String>,
}

pub struct VaultM {
    pub id: String,
    pub name: String,
    pub creator: usize,
    pub members: BTreeMap<usize, Role>,
    pub items: Vec<ItemM>,
    /// The key version the vault must be at: every rotation the steps cause is certain
    /// (DESIGN §3.1), so the model predicts it exactly.
    pub version: u64,
}

impl VaultM {
    pub fn owners(&self) -> Vec<usize> {
        self.members
            .iter()
            .filter(|(_, r)| **r == Role::Owner)
            .map(|(u, _)| *u)
            .collect()
    }
}

pub struct UserM {
    pub name: String,
    pub id: String,
    pub session: Auth,
}

/// A credential the checks exercise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cred {
    Session(usize),
    Token(usize),
}

#[derive(Default)]
pub struct Model {
    pub users: Vec<UserM>,
    pub vaults: Vec<VaultM>,
    pub tokens: Vec<TokenM>,
    /// Member additions each user made (the server allows 20 an hour, then 429).
    pub lookups: Vec<u32>,
    /// Vaults a token's end made due in this step, not rotated yet: the first write
    /// attempt by a holder, or the reads of the check after the step, rotates each once.
    pub due_now: BTreeSet<usize>,
    pub counter: u64,
}

impl Model {
    pub fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// Vaults `user` is a member of, with their role.
    pub fn member_vaults(&self, user: usize) -> BTreeMap<usize, Role> {
        self.vaults
            .iter()
            .enumerate()
            .filter_map(|(v, vault)| vault.members.get(&user).map(|r| (v, *r)))
            .collect()
    }

    pub fn cred_user(&self, cred: Cred) -> usize {
        match cred {
            Cred::Session(u) => u,
            Cred::Token(t) => self.tokens[t].user,
        }
    }

    pub fn is_live(&self, cred: Cred) -> bool {
        match cred {
            Cred::Session(_) => true,
            Cred::Token(t) => self.tokens[t].life == Life::Live,
        }
    }

    pub fn is_deposit(&self, cred: Cred) -> bool {
        matches!(cred, Cred::Token(t) if self.tokens[t].is_deposit())
    }

    /// The vaults a live reading credential opens, with its user's role in each: a
    /// session every vault its user is a member of; a `"*"` token the same (later and
    /// shared ones included); a scoped token its scope (a removal took the vault out of
    /// it). `None` for a deposit token or an ended credential.
    pub fn reach(&self, cred: Cred) -> Option<BTreeMap<usize, Role>> {
        if !self.is_live(cred) {
            return None;
        }
        let user = self.cred_user(cred);
        let member = self.member_vaults(user);
        match cred {
            Cred::Session(_) => Some(member),
            Cred::Token(t) => match &self.tokens[t].access {
                Access::All { .. } => Some(member),
                Access::Scoped { vaults, .. } => Some(
                    member
                        .into_iter()
                        .filter(|(v, _)| vaults.contains(v))
                        .collect(),
                ),
                Access::Deposit { .. } => None,
            },
        }
    }

    /// Whether a live credential that reaches `vault` may write in it: the role bounds
    /// sessions and tokens alike, and a token needs its own write permission too.
    pub fn can_write(&self, cred: Cred, role: Role) -> bool {
        role.can_write()
            && match cred {
                Cred::Session(_) => true,
                Cred::Token(t) => matches!(
                    self.tokens[t].access,
                    Access::Scoped { write: true, .. } | Access::All { write: true }
                ),
            }
    }

    /// The vaults a deposit token may still deposit into (its scope, less removals).
    pub fn deposit_scope(&self, t: usize) -> BTreeSet<usize> {
        match &self.tokens[t].access {
            Access::Deposit { vaults } => vaults.clone(),
            _ => BTreeSet::new(),
        }
    }

    /// A member removed from `vault`: the vault leaves their tokens' scopes (deposit
    /// tokens' too); `"*"` tokens follow the membership by themselves.
    pub fn remove_member(&mut self, vault: usize, user: usize) {
        self.vaults[vault].members.remove(&user);
        for t in self.tokens.iter_mut().filter(|t| t.user == user) {
            match &mut t.access {
                Access::Scoped { vaults, .. } | Access::Deposit { vaults } => {
                    vaults.remove(&vault);
                }
                Access::All { .. } => {}
            }
        }
    }

    /// A rotation.
    pub fn rotated(&mut self, vault: usize) {
        self.vaults[vault].version += 1;
    }

    /// The vaults a token holds a key of (a slot or a pending grant): a scoped token its
    /// scope, a `"*"` token every vault its user is a member of (§3.1: a slot per vault it
    /// covers, a grant for each one added later), a deposit token none.
    pub fn held_keys(&self, t: usize) -> BTreeSet<usize> {
        match &self.tokens[t].access {
            Access::Scoped { vaults, .. } => vaults.clone(),
            Access::All { .. } => self
                .member_vaults(self.tokens[t].user)
                .into_keys()
                .collect(),
            Access::Deposit { .. } => BTreeSet::new(),
        }
    }

    /// A write attempt by `cred` on `vault` runs a due rotation first when the credential
    /// opens the vault's key (DESIGN §3.1: every request that writes runs it, whatever
    /// the role; a permission refusal comes after the key is opened).
    pub fn write_attempted(&mut self, cred: Cred, vault: usize) {
        let opens = self.reach(cred).is_some_and(|r| r.contains_key(&vault));
        if opens && self.due_now.remove(&vault) {
            self.rotated(vault);
        }
    }

    /// The end of a step: the check's reads (by every member's session) run each rotation
    /// still due.
    pub fn reads_rotate_what_is_due(&mut self) {
        let due: Vec<usize> = std::mem::take(&mut self.due_now).into_iter().collect();
        for v in due {
            self.rotated(v);
        }
    }

    /// A label for a vault in the trace: `v2 (bob's "Vault 7")`.
    pub fn vault_label(&self, v: usize) -> String {
        let vault = &self.vaults[v];
        format!(
            "v{v} ({}'s \"{}\")",
            self.users[vault.creator].name, vault.name
        )
    }

    pub fn token_label(&self, t: usize) -> String {
        let token = &self.tokens[t];
        let kind = match &token.access {
            Access::Scoped { vaults, write } => format!(
                "scoped {:?} {}",
                vaults,
                if *write { "read+write" } else { "read" }
            ),
            Access::All { write } => {
                format!("\"*\" {}", if *write { "read+write" } else { "read" })
            }
            Access::Deposit { vaults } => format!("deposit {vaults:?}"),
        };
        format!(
            "t{t} ({}'s {kind}, {:?})",
            self.users[token.user].name, token.life
        )
    }

    pub fn cred_label(&self, cred: Cred) -> String {
        match cred {
            Cred::Session(u) => format!("{}'s session", self.users[u].name),
            Cred::Token(t) => self.token_label(t),
        }
    }
}
