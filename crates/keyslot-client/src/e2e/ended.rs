//! Holders this user ended — tokens it revoked, members it removed — remembered on the
//! client, so a server that lists them again is refused (review R1 finding 3).
//!
//! A rotation seals the new vault key to every holder the server lists, each key checked
//! under a signature of a pinned identity. Those signatures are old and stay valid: the
//! owner's over a token's key at mint, a member's over their own X25519 key. A server
//! that kept a revoked token (or a removed member) in the list would get the new key
//! sealed to a key it holds, and nothing in the signature says the holder has ended. Only
//! the user who ended it knows, so its client keeps the record: [`E2eSession::revoke_token`]
//! and [`E2eSession::remove_member`] add to it, the caller saves it (the CLI in its
//! accounts file) and hands it back with [`E2eSession::remember_ended`] at the next
//! session; rotations, shares and new vaults refuse any holder in it before sealing.

use std::collections::{BTreeSet, HashMap};

use keyslot_crypto::Id;
use keyslot_crypto::identity::IdentityPublic;

use super::E2eSession;
use super::checks::Refusal;
use super::wire;

/// Tokens revoked and members removed by this user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndedHolders {
    /// Token ids this user revoked (a revoked token is dead in every vault).
    pub tokens: BTreeSet<Id>,
    /// `(vault, member)` pairs this user removed (a member may stay in other vaults).
    pub members: BTreeSet<(Id, Id)>,
}

impl E2eSession {
    /// Add `ended` (saved from earlier sessions) to this session's record.
    pub fn remember_ended(&self, ended: &EndedHolders) {
        let mut mine = self.ended.lock().unwrap_or_else(|p| p.into_inner());
        mine.tokens.extend(ended.tokens.iter().copied());
        mine.members.extend(ended.members.iter().copied());
    }

    /// The record, to save (it grows with each revocation and removal).
    pub fn ended_holders(&self) -> EndedHolders {
        self.ended.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn note_revoked_token(&self, token: Id) {
        let mut mine = self.ended.lock().unwrap_or_else(|p| p.into_inner());
        mine.tokens.insert(token);
    }

    pub(crate) fn note_removed_member(&self, vault: Id, member: Id) {
        let mut mine = self.ended.lock().unwrap_or_else(|p| p.into_inner());
        mine.members.insert((vault, member));
    }

    /// Sharing again with a member removed earlier is this user's own decision.
    pub(crate) fn note_member_added(&self, vault: Id, member: Id) {
        let mut mine = self.ended.lock().unwrap_or_else(|p| p.into_inner());
        mine.members.remove(&(vault, member));
    }

    /// Refuse `holders` of `vault` if any is one this user ended.
    pub(crate) fn refuse_ended(&self, vault: &Id, holders: &wire::Holders) -> Result<(), Refusal> {
        let mine = self.ended.lock().unwrap_or_else(|p| p.into_inner());
        for h in &holders.holders {
            let ended = match h.kind.as_str() {
                "token" => mine.tokens.contains(&h.id.0),
                _ => mine.members.contains(&(*vault, h.id.0)),
            };
            if ended {
                return Err(Refusal::EndedHolder {
                    what: format!("{} {}", h.kind, h.id.0),
                });
            }
        }
        Ok(())
    }

    /// When the server keeps an owner's signature over the member list at this version,
    /// the members it lists now must be the ones signed: a member slipped in (or a role
    /// raised) since the last signed change is refused before anything is sealed. The
    /// signer is this user or a co-owner it pinned. (A removal clears the signature; the
    /// record above covers this user's own removals.)
    pub(crate) fn check_member_list(
        &self,
        vault: &Id,
        holders: &wire::Holders,
        pinned: &HashMap<Id, IdentityPublic>,
    ) -> Result<(), Refusal> {
        let Some(signature) = &holders.members_signature else {
            return Ok(());
        };
        let changed = || Refusal::Mismatch {
            what: "the vault's members are not the list its owner last signed".into(),
        };
        let signature = super::sig::parse(signature, "members_signature").map_err(|_| changed())?;
        let members = super::rotation::member_list(holders, pinned);
        let owners = holders
            .holders
            .iter()
            .filter(|h| h.kind == "user" && h.role.as_deref() == Some("owner"))
            .filter_map(|h| pinned.get(&h.user_id.0));
        let own = self.identity.public();
        std::iter::once(&own)
            .chain(owners)
            .any(|identity| {
                identity
                    .verify_members(vault, holders.key_version, &members, &signature)
                    .is_ok()
            })
            .then_some(())
            .ok_or_else(changed)
    }

    /// Refuse a `"*"` token this user revoked.
    pub(crate) fn refuse_ended_token(&self, token: &Id) -> Result<(), Refusal> {
        let mine = self.ended.lock().unwrap_or_else(|p| p.into_inner());
        if mine.tokens.contains(token) {
            return Err(Refusal::EndedHolder {
                what: format!("token {token}"),
            });
        }
        Ok(())
    }
}
