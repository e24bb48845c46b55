//! What must be true after every step of a model-test case, asked of the server the way a
//! user or an attacker would: every live credential lists exactly the vaults of its scope
//! (with its user's role), lists and reads exactly the model's items in each, may write
//! exactly where its role and permission allow, and gets 404 for every other vault; a
//! deposit token gets 403 on every read in its scope and 404 outside it; every ended
//! credential gets 401 on everything. Then, below the API: each vault's key version is
//! the one the model predicts and nothing is due (the owners' reads ran every due
//! rotation), and no ended token holds a key row.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::db;
use crate::model::{Cred, Life};
use crate::world::{World, ensure, expect, put_if_match};

impl World {
    pub async fn check(&mut self) -> Result<(), String> {
        for u in 0..self.m.users.len() {
            self.check_token_list(u).await?;
        }
        let creds: Vec<Cred> = (0..self.m.users.len())
            .map(Cred::Session)
            .chain((0..self.m.tokens.len()).map(Cred::Token))
            .collect();
        for cred in creds {
            let what = self.m.cred_label(cred);
            let checked = if !self.m.is_live(cred) {
                self.check_ended(cred).await
            } else if self.m.is_deposit(cred) {
                self.check_deposit(cred).await
            } else {
                self.check_reader(cred).await
            };
            checked.map_err(|e| format!("{what}: {e}"))?;
        }
        self.check_rows().await
    }

    /// A live session or read/write token: exactly its vaults, items, and write rights.
    async fn check_reader(&self, cred: Cred) -> Result<(), String> {
        let reach = self.m.reach(cred).unwrap();
        let auth = self.auth(cred);
        let s = self.s();
        let r = s.get("/v1/vaults", &auth).await;
        expect(&r, &[200], "list vaults")?;
        let listed: BTreeMap<String, (Value, Value)> = r.body["vaults"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["id"].as_str().unwrap().to_owned(),
                    (v["name"].clone(), v["role"].clone()),
                )
            })
            .collect();
        let want: BTreeMap<String, (Value, Value)> = reach
            .iter()
            .map(|(v, role)| {
                let vault = &self.m.vaults[*v];
                (vault.id.clone(), (json!(vault.name), json!(role.as_str())))
            })
            .collect();
        ensure!(listed == want, "lists vaults {listed:?}, expected {want:?}");
        for (v, vault) in self.m.vaults.iter().enumerate() {
            let base = format!("/v1/vaults/{}", vault.id);
            let Some(role) = reach.get(&v) else {
                let r = s.get(&format!("{base}/items"), &auth).await;
                expect(
                    &r,
                    &[404],
                    &format!("items of {} (outside its reach)", self.m.vault_label(v)),
                )?;
                continue;
            };
            let label = self.m.vault_label(v);
            let r = s.get(&base, &auth).await;
            expect(&r, &[200], &format!("read {label}"))?;
            ensure!(
                r.body["role"] == role.as_str() && r.body["name"] == vault.name.as_str(),
                "{label} reads as {}, expected role {} and name {}",
                r.text,
                role.as_str(),
                vault.name
            );
            let r = s.get(&format!("{base}/items"), &auth).await;
            expect(&r, &[200], &format!("items of {label}"))?;
            let listed: BTreeMap<String, Value> = r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    let by = i.get("deposited_by").cloned().unwrap_or(Value::Null);
                    (
                        i["id"].as_str().unwrap().to_owned(),
                        json!([i["name"], i["version"], by]),
                    )
                })
                .collect();
            let want: BTreeMap<String, Value> = vault
                .items
                .iter()
                .map(|i| (i.id.clone(), json!([i.name, i.version, i.deposited_by])))
                .collect();
            ensure!(
                listed == want,
                "lists in {label} {listed:?}, expected {want:?}"
            );
            for item in &vault.items {
                let r = s.get(&format!("{base}/items/{}", item.id), &auth).await;
                expect(&r, &[200], &format!("read \"{}\" in {label}", item.name))?;
                ensure!(
                    r.body["value"] == item.value
                        && r.body["name"] == item.name.as_str()
                        && r.body["version"] == item.version,
                    "reads \"{}\" in {label} as {}, expected value {} version {}",
                    item.name,
                    r.text,
                    item.value,
                    item.version
                );
            }
            // May it write? A replace with an If-Match no version has: 412 when the
            // write would be allowed, 403 when not; nothing is written either way.
            let first = &vault.items[0];
            let status = put_if_match(
                s,
                &auth,
                &format!("{base}/items/{}", first.id),
                json!({"name": "probe", "value": "probe"}),
                0,
            )
            .await;
            let want = if self.m.can_write(cred, *role) {
                412
            } else {
                403
            };
            ensure!(
                status.as_u16() == want,
                "write probe in {label} (role {}): expected {want}, got {status}",
                role.as_str()
            );
        }
        Ok(())
    }

    /// A live deposit token: no listing and no reading, 403 in its scope, 404 outside.
    async fn check_deposit(&self, cred: Cred) -> Result<(), String> {
        let Cred::Token(t) = cred else { unreachable!() };
        let scope = self.m.deposit_scope(t);
        let auth = self.auth(cred);
        let s = self.s();
        expect(&s.get("/v1/vaults", &auth).await, &[403], "list vaults")?;
        for (v, vault) in self.m.vaults.iter().enumerate() {
            let want = if scope.contains(&v) { 403 } else { 404 };
            let label = self.m.vault_label(v);
            let base = format!("/v1/vaults/{}", vault.id);
            expect(
                &s.get(&format!("{base}/items"), &auth).await,
                &[want],
                &format!("items of {label}"),
            )?;
            let item = format!("{base}/items/{}", vault.items[0].id);
            expect(
                &s.get(&item, &auth).await,
                &[want],
                &format!("read an item of {label}"),
            )?;
        }
        Ok(())
    }

    /// A revoked or expired token: 401 for everything, whatever it once reached.
    async fn check_ended(&self, cred: Cred) -> Result<(), String> {
        let auth = self.auth(cred);
        let s = self.s();
        expect(&s.get("/v1/vaults", &auth).await, &[401], "list vaults")?;
        for (v, vault) in self.m.vaults.iter().enumerate() {
            let label = self.m.vault_label(v);
            let item = format!("/v1/vaults/{}/items/{}", vault.id, vault.items[0].id);
            expect(
                &s.get(&item, &auth).await,
                &[401],
                &format!("read an item of {label}"),
            )?;
        }
        let vault = &self.m.vaults[0].id;
        let r = s
            .post(
                &format!("/v1/vaults/{vault}/items"),
                &auth,
                json!({"name": "late", "value": 1}),
            )
            .await;
        expect(&r, &[401], "create an item")
    }

    /// A session's token list: every live token with its scope and permissions, no
    /// revoked one (an expired one may still be listed until the sweeper deletes it).
    async fn check_token_list(&self, u: usize) -> Result<(), String> {
        let r = self
            .s()
            .get("/v1/tokens", &self.auth(Cred::Session(u)))
            .await;
        expect(
            &r,
            &[200],
            &format!("{}'s token list", self.m.users[u].name),
        )?;
        let listed: BTreeMap<String, &Value> = r.body["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["id"].as_str().unwrap().to_owned(), t))
            .collect();
        for (t, token) in self
            .m
            .tokens
            .iter()
            .enumerate()
            .filter(|(_, t)| t.user == u)
        {
            let label = self.m.token_label(t);
            match (token.life, listed.get(&token.id)) {
                (Life::Live, None) => {
                    return Err(format!("{label} is missing from its user's token list"));
                }
                (Life::Revoked, Some(_)) => return Err(format!("{label} is still listed")),
                (Life::Live, Some(row)) => {
                    let vaults = match &token.access {
                        crate::model::Access::All { .. } => json!("*"),
                        crate::model::Access::Scoped { vaults, .. }
                        | crate::model::Access::Deposit { vaults } => {
                            let ids: BTreeSet<&str> = vaults
                                .iter()
                                .map(|v| self.m.vaults[*v].id.as_str())
                                .collect();
                            json!(ids)
                        }
                    };
                    let got = match &row["vaults"] {
                        Value::Array(a) => {
                            json!(a.iter().filter_map(Value::as_str).collect::<BTreeSet<_>>())
                        }
                        other => other.clone(),
                    };
                    ensure!(
                        got == vaults && row["permissions"] == token.permissions(),
                        "{label} is listed as {row}, expected vaults {vaults} and permissions {}",
                        token.permissions()
                    );
                }
                _ => {}
            }
        }
        let known: BTreeSet<&str> = self.m.tokens.iter().map(|t| t.id.as_str()).collect();
        ensure!(
            listed.keys().all(|id| known.contains(id.as_str())),
            "{}'s list shows a token nobody minted: {}",
            self.m.users[u].name,
            r.text
        );
        Ok(())
    }

    /// Below the API: versions as predicted, nothing due, ended tokens hold no key rows.
    async fn check_rows(&mut self) -> Result<(), String> {
        let now = db::now();
        for v in 0..self.m.vaults.len() {
            let row = self.db.vault(&self.m.vaults[v].id).await;
            let want = self.m.vaults[v].version;
            ensure!(
                row.key_version as u64 == want,
                "{} is at key version {}, the model expects {want}",
                self.m.vault_label(v),
                row.key_version
            );
            ensure!(
                !row.is_due(now),
                "{} is still due after its members read it (reads run a due rotation): {row:?}",
                self.m.vault_label(v)
            );
        }
        for t in 0..self.m.tokens.len() {
            let token = &self.m.tokens[t];
            if token.life == Life::Live {
                continue;
            }
            let held = self.db.token_key_vaults(&token.id).await;
            ensure!(
                held.is_empty(),
                "{} ended, yet holds a slot or grant for {} vaults after their rotation",
                self.m.token_label(t),
                held.len()
            );
            if token.life == Life::Revoked {
                ensure!(
                    !self.db.token_row_exists(&token.id).await,
                    "{} was revoked, yet its row remains",
                    self.m.token_label(t)
                );
            }
        }
        Ok(())
    }
}
