//! The steps of a model-test case that change who holds what: minting, sharing and
//! unsharing, rotating, revoking and expiring tokens, restarting. Each one checks the
//! server's answer against the model, and for the requests that rotate before they
//! answer (§6: "key_version has moved when the 204 arrives") the vault's row right after.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::db::{self, id_bytes};
use crate::model::{Access, Cred, Life, Op, Role};
use crate::world::{World, ensure, expect};

/// Member additions a user may make per hour (keyslot-core's `SHARE_LOOKUPS_PER_HOUR`).
const SHARE_LOOKUPS_PER_HOUR: u32 = 20;

impl World {
    /// Run one step against the server and the model.
    pub async fn apply(&mut self, op: &Op) -> Result<(), String> {
        let users = self.m.users.len();
        match op.clone() {
            Op::MintScoped {
                user,
                vaults,
                write,
                short,
            } => {
                let user = user % users;
                let Some(vaults) = self.pick(self.m.member_vaults(user).into_keys(), &vaults)
                else {
                    self.log(format!(
                        "(mint skipped: {} is in no vault)",
                        self.m.users[user].name
                    ));
                    return Ok(());
                };
                self.mint(user, Access::Scoped { vaults, write }, short)
                    .await
            }
            Op::MintAll { user, write, short } => {
                self.mint(user % users, Access::All { write }, short).await
            }
            Op::MintDeposit {
                user,
                vaults,
                short,
            } => {
                // A deposit token deposits into vaults its user created (and is still in).
                let user = user % users;
                let own = self
                    .m
                    .member_vaults(user)
                    .into_keys()
                    .filter(|v| self.m.vaults[*v].creator == user);
                let Some(vaults) = self.pick(own, &vaults) else {
                    self.log(format!(
                        "(deposit mint skipped: {} owns no vault)",
                        self.m.users[user].name
                    ));
                    return Ok(());
                };
                self.mint(user, Access::Deposit { vaults }, short).await
            }
            Op::Write(w) => self.write(w).await,
            Op::Share {
                vault,
                by,
                member,
                role,
            } => self.share(vault, by, member, role).await,
            Op::Unshare {
                vault,
                by,
                member,
                leave,
            } => self.unshare(vault, by, member, leave).await,
            Op::Rotate { vault, by } => self.rotate(vault, by).await,
            Op::Revoke {
                token,
                rotate,
                then,
            } => {
                let Some(t) = self.pick_token(token, false) else {
                    self.log("(revoke skipped: no live token)".to_owned());
                    return Ok(());
                };
                self.revoke(t, rotate).await?;
                match then {
                    Some(w) => self.write(w).await,
                    None => Ok(()),
                }
            }
            Op::Expire { token, then } => {
                let Some(t) = self.pick_token(token, true) else {
                    self.log("(expire skipped: no live short-lived token)".to_owned());
                    return Ok(());
                };
                self.expire(t).await?;
                match then {
                    Some(w) => self.write(w).await,
                    None => Ok(()),
                }
            }
            Op::Restart => {
                self.log("restart".to_owned());
                self.restart().await;
                Ok(())
            }
            Op::CreateVault { user } => self.create_vault(user).await,
        }
    }

    /// Chosen members of `from` (indices modulo its length), or `None` if it is empty.
    fn pick(
        &self,
        from: impl Iterator<Item = usize>,
        choices: &[usize],
    ) -> Option<BTreeSet<usize>> {
        let from: Vec<usize> = from.collect();
        if from.is_empty() {
            return None;
        }
        Some(choices.iter().map(|c| from[c % from.len()]).collect())
    }

    fn pick_token(&self, choice: usize, short_only: bool) -> Option<usize> {
        let live: Vec<usize> = (0..self.m.tokens.len())
            .filter(|t| self.m.tokens[*t].life == Life::Live)
            .filter(|t| !short_only || self.m.tokens[*t].short)
            .collect();
        (!live.is_empty()).then(|| live[choice % live.len()])
    }

    async fn share(
        &mut self,
        vault: usize,
        by: usize,
        member: usize,
        role: Role,
    ) -> Result<(), String> {
        // A shared vault when there is one (removing the only member is the rarer case).
        let shared: Vec<usize> = (0..self.m.vaults.len())
            .filter(|v| self.m.vaults[*v].members.len() > 1)
            .collect();
        let v = if shared.is_empty() {
            vault % self.m.vaults.len()
        } else {
            shared[vault % shared.len()]
        };
        let owners = self.m.vaults[v].owners();
        let actor = owners[by % owners.len()];
        // Someone else (an owner changing their own role is the unshare step's 409 case).
        let others: Vec<usize> = (0..self.m.users.len()).filter(|u| *u != actor).collect();
        let target = others[member % others.len()];
        let session = self.auth(Cred::Session(actor));
        let vault_id = self.m.vaults[v].id.clone();
        let target_id = self.m.users[target].id.clone();
        let who = format!(
            "{} gives {} {} in {}",
            self.m.users[actor].name,
            self.m.users[target].name,
            role.as_str(),
            self.m.vault_label(v)
        );
        if let Some(current) = self.m.vaults[v].members.get(&target).copied() {
            // Already a member: a role change. The last owner cannot step down.
            let last_owner = current == Role::Owner && role != Role::Owner && owners.len() == 1;
            let r = self
                .s()
                .call(
                    Method::PATCH,
                    &format!("/v1/vaults/{vault_id}/members/{target_id}"),
                    &session,
                    Some(json!({"role": role.as_str()})),
                )
                .await;
            self.log(format!("{who} (role change) -> {}", r.status.as_u16()));
            expect(&r, &[if last_owner { 409 } else { 200 }], "change role")?;
            if r.status == StatusCode::OK {
                self.m.vaults[v].members.insert(target, role);
            }
            return Ok(());
        }
        let over_budget = self.m.lookups[actor] >= SHARE_LOOKUPS_PER_HOUR;
        let r = self
            .s()
            .post(
                &format!("/v1/vaults/{vault_id}/members"),
                &session,
                json!({"username": self.m.users[target].name, "role": role.as_str()}),
            )
            .await;
        self.log(format!("{who} -> {}", r.status.as_u16()));
        expect(&r, &[if over_budget { 429 } else { 201 }], "add member")?;
        if r.status == StatusCode::CREATED {
            self.m.lookups[actor] += 1;
            ensure!(
                r.body == json!({"user_id": target_id, "role": role.as_str()}),
                "add member answered {}",
                r.text
            );
            self.m.vaults[v].members.insert(target, role);
        }
        Ok(())
    }

    async fn unshare(
        &mut self,
        vault: usize,
        by: usize,
        member: usize,
        leave: bool,
    ) -> Result<(), String> {
        // A shared vault when there is one (removing the only member is the rarer case).
        let shared: Vec<usize> = (0..self.m.vaults.len())
            .filter(|v| self.m.vaults[*v].members.len() > 1)
            .collect();
        let v = if shared.is_empty() {
            vault % self.m.vaults.len()
        } else {
            shared[vault % shared.len()]
        };
        let owners = self.m.vaults[v].owners();
        // A member who may go (not the last owner) when there is one; else the last owner,
        // whom the server must keep (409).
        let mut members: Vec<usize> = self.m.vaults[v]
            .members
            .keys()
            .copied()
            .filter(|u| owners != [*u])
            .collect();
        if members.is_empty() {
            members = owners.clone();
        }
        let target = members[member % members.len()];
        let actor = if leave {
            target
        } else {
            owners[by % owners.len()]
        };
        let last_owner = self.m.vaults[v].members[&target] == Role::Owner && owners.len() == 1;
        let (vault_id, target_id) = (self.m.vaults[v].id.clone(), self.m.users[target].id.clone());
        let session = self.auth(Cred::Session(actor));
        let r = self
            .s()
            .delete(
                &format!("/v1/vaults/{vault_id}/members/{target_id}"),
                &session,
            )
            .await;
        self.log(format!(
            "{} removes {} from {} -> {}",
            self.m.users[actor].name,
            self.m.users[target].name,
            self.m.vault_label(v),
            r.status.as_u16()
        ));
        expect(&r, &[if last_owner { 409 } else { 204 }], "remove member")?;
        if r.status != StatusCode::NO_CONTENT {
            return Ok(());
        }
        self.m.remove_member(v, target);
        self.m.rotated(v);
        self.rotated_before_the_answer(v, "a removal").await?;
        let left = self.db.user_keys_for(&target_id, &vault_id).await;
        ensure!(
            left == 0,
            "the removed member still has {left} slot/grant rows for the vault"
        );
        Ok(())
    }

    async fn rotate(&mut self, vault: usize, by: usize) -> Result<(), String> {
        let v = vault % self.m.vaults.len();
        let actor = by % self.m.users.len();
        let role = self.m.vaults[v].members.get(&actor).copied();
        let session = self.auth(Cred::Session(actor));
        let path = format!("/v1/vaults/{}/rotate", self.m.vaults[v].id);
        let r = self.s().post(&path, &session, json!({})).await;
        self.log(format!(
            "{} rotates {} -> {}",
            self.m.users[actor].name,
            self.m.vault_label(v),
            r.status.as_u16()
        ));
        let allowed = match role {
            Some(Role::Owner) => 200,
            Some(_) => 403,
            None => 404,
        };
        expect(&r, &[allowed], "rotate")?;
        if r.status == StatusCode::OK {
            self.m.rotated(v);
            let want = self.m.vaults[v].version;
            ensure!(
                r.body["key_version"] == want,
                "rotate: expected key_version {want}, got {}",
                r.text
            );
            self.rotated_before_the_answer(v, "a rotation").await?;
        }
        Ok(())
    }

    async fn revoke(&mut self, t: usize, rotate: bool) -> Result<(), String> {
        let user = self.m.tokens[t].user;
        let session = self.auth(Cred::Session(user));
        let query = if rotate { "" } else { "?rotate=false" };
        let path = format!("/v1/tokens/{}{query}", self.m.tokens[t].id);
        let r = self.s().delete(&path, &session).await;
        self.log(format!(
            "{} revokes {}{query} -> {}",
            self.m.users[user].name,
            self.m.token_label(t),
            r.status.as_u16()
        ));
        expect(&r, &[204], "revoke")?;
        self.m.tokens[t].life = Life::Revoked;
        // Every vault it held a key of rotates before the 204, or (`?rotate=false`) is due
        // until its next write; a deposit token holds none, so nothing rotates (§3.1).
        for v in self.m.held_keys(t) {
            if rotate {
                self.m.rotated(v);
                self.rotated_before_the_answer(v, "a revocation").await?;
            } else {
                self.m.due_now.insert(v);
                let row = self.db.vault(&self.m.vaults[v].id).await;
                ensure!(
                    row.rotation_due && row.key_version as u64 == self.m.vaults[v].version,
                    "?rotate=false: {} should be due and not rotated yet, is {row:?}",
                    self.m.vault_label(v)
                );
            }
        }
        Ok(())
    }

    /// Let a token's `expires_at` pass, straight in the database, without the sweeper.
    async fn expire(&mut self, t: usize) -> Result<(), String> {
        let token = self.m.tokens[t].id.clone();
        let expires_at = self.db.token_expires_at(&token).await;
        let mut held: Vec<Vec<u8>> = self.db.token_key_vaults(&token).await;
        held.sort();
        let mut want: Vec<Vec<u8>> = self
            .m
            .held_keys(t)
            .iter()
            .map(|v| id_bytes(&self.m.vaults[*v].id))
            .collect();
        want.sort();
        ensure!(
            held == want,
            "{} holds a slot or grant for {} vaults, the model says {}",
            self.m.token_label(t),
            held.len(),
            want.len()
        );
        // The vault must already be due by this expiry (maintained at mint, grant and
        // rotation), or the move below would hide that it was not.
        for v in 0..self.m.vaults.len() {
            if held.contains(&id_bytes(&self.m.vaults[v].id)) {
                let row = self.db.vault(&self.m.vaults[v].id).await;
                ensure!(
                    row.rotate_due_at.is_some_and(|at| at <= expires_at),
                    "{} holds a key of {} but the vault's rotate_due_at {:?} is after its expiry {expires_at}",
                    self.m.token_label(t),
                    self.m.vault_label(v),
                    row.rotate_due_at
                );
            }
        }
        self.db.expire_token(&token, db::now() - 1).await;
        self.m.tokens[t].life = Life::Expired;
        self.log(format!(
            "{} expires (expires_at set 1 s in the past)",
            self.m.token_label(t)
        ));
        let held = self.m.held_keys(t);
        self.m.due_now.extend(held);
        Ok(())
    }

    /// Right after a request that rotates before it answers: the vault is at the model's
    /// version and not due.
    async fn rotated_before_the_answer(&mut self, v: usize, what: &str) -> Result<(), String> {
        let row = self.db.vault(&self.m.vaults[v].id).await;
        let want = self.m.vaults[v].version;
        ensure!(
            row.key_version as u64 == want && !row.is_due(db::now()),
            "after {what} answered, {} should be at key version {want} and not due; its row: {row:?}",
            self.m.vault_label(v)
        );
        Ok(())
    }
}
