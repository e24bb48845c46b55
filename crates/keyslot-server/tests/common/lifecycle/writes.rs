//! Writes in a model-test case: any credential (session, live or ended token of any kind)
//! creating or replacing an item in any vault, the answer checked against what the model
//! allows — and, for a deposit while the vault's rotation is due, either answer the
//! design allows, counted in [`crate::world::Seen`].

use reqwest::StatusCode;
use serde_json::json;

use crate::model::{Cred, ItemM, Role, Write};
use crate::world::{World, ensure, expect};

impl World {
    /// A write by any credential to any vault, checked against what the model allows.
    pub async fn write(&mut self, w: Write) -> Result<(), String> {
        let cred = self.resolve(w.by);
        let v = self.target(cred, w.vault);
        let n = self.m.next();
        let (name, value) = (format!("item {n}"), json!({"n": n}));
        let vault_id = self.m.vaults[v].id.clone();
        let role = self.m.reach(cred).and_then(|r| r.get(&v).copied());
        let in_deposit_scope = match cred {
            Cred::Token(t) => self.m.deposit_scope(t).contains(&v),
            Cred::Session(_) => false,
        };
        let deposit = self.m.is_deposit(cred) && self.m.is_live(cred);
        let due = self.m.due_now.contains(&v);
        let auth = self.auth(cred);
        let item = w
            .item
            .filter(|_| !self.m.vaults[v].items.is_empty())
            .map(|i| i % self.m.vaults[v].items.len());
        let label = self.m.cred_label(cred);
        let Some(i) = item else {
            let user_role = self.m.vaults[v]
                .members
                .get(&self.m.cred_user(cred))
                .copied();
            let allowed: Vec<u16> = if !self.m.is_live(cred) {
                vec![401]
            } else if deposit {
                // While the vault's rotation is due the deposit is sealed to each reader
                // (§3.1), so it is created then too; a read member's deposit token may not
                // deposit (403 or 404: the design does not say which).
                match (in_deposit_scope, user_role.map(Role::can_write)) {
                    (false, _) => vec![404],
                    (true, Some(true)) => vec![201],
                    (true, _) => vec![403, 404],
                }
            } else {
                match role {
                    None => vec![404],
                    Some(r) if self.m.can_write(cred, r) => vec![201],
                    Some(_) => vec![403],
                }
            };
            let r = self
                .s()
                .post(
                    &format!("/v1/vaults/{vault_id}/items"),
                    &auth,
                    json!({"name": name, "value": value}),
                )
                .await;
            self.log(format!(
                "{label} creates \"{name}\" in {} -> {}",
                self.m.vault_label(v),
                r.status.as_u16()
            ));
            expect(&r, &allowed, "create item")?;
            self.note_deposit(deposit, due, user_role, r.status);
            self.m.write_attempted(cred, v);
            if r.status == StatusCode::CREATED {
                ensure!(
                    r.body["version"] == 1,
                    "a new item is version 1: {}",
                    r.text
                );
                let by = match cred {
                    Cred::Token(t) if deposit => Some(self.m.tokens[t].id.clone()),
                    _ => None,
                };
                self.m.vaults[v].items.push(ItemM {
                    id: r.str("id"),
                    name,
                    value,
                    version: 1,
                    deposited_by: by,
                });
            }
            return Ok(());
        };
        let allowed: Vec<u16> = if !self.m.is_live(cred) {
            vec![401]
        } else if deposit {
            vec![if in_deposit_scope { 403 } else { 404 }]
        } else {
            match role {
                None => vec![404],
                Some(r) if self.m.can_write(cred, r) => vec![200],
                Some(_) => vec![403],
            }
        };
        let item_id = self.m.vaults[v].items[i].id.clone();
        let r = self
            .s()
            .put(
                &format!("/v1/vaults/{vault_id}/items/{item_id}"),
                &auth,
                json!({"name": name, "value": value}),
            )
            .await;
        self.log(format!(
            "{label} replaces \"{}\" in {} with \"{name}\" -> {}",
            self.m.vaults[v].items[i].name,
            self.m.vault_label(v),
            r.status.as_u16()
        ));
        expect(&r, &allowed, "replace item")?;
        self.m.write_attempted(cred, v);
        if r.status == StatusCode::OK {
            let item = &mut self.m.vaults[v].items[i];
            item.version += 1;
            ensure!(
                r.body["version"] == item.version,
                "replace: expected version {}, got {}",
                item.version,
                r.text
            );
            (item.name, item.value) = (name, value);
        }
        Ok(())
    }

    fn note_deposit(&mut self, deposit: bool, due: bool, role: Option<Role>, got: StatusCode) {
        if !deposit {
            return;
        }
        match (due, role.map(Role::can_write), got.as_u16()) {
            (true, _, 201) => self.seen.due_deposit_created += 1,
            (true, _, 409) => self.seen.due_deposit_refused += 1,
            (_, Some(false), 403) => self.seen.read_member_deposit_403 += 1,
            (_, Some(false), 404) => self.seen.read_member_deposit_404 += 1,
            _ => {}
        }
    }
}
