//! The mixed workload: one task per user doing one write after another (items through
//! the session and through write tokens, vaults, password changes, recoveries, token
//! mints and revokes), plus sign-ups, until the kill cuts it off. A user's task stops at
//! the first request that gets no answer and records that write as in doubt.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::model::{Doubt, Item, PendingSignup, Token, User, Vault};
use crate::rng::Rng;
use crate::support::{As, Client, Session};

/// What came back from one write.
enum Reply {
    /// Acknowledged.
    Done(Value),
    /// Answered, not done: the server refused it whole (busy, rate-limited).
    Refused,
    /// No answer, or an answer that does not say whether it happened (5xx).
    Lost,
}

async fn write(
    client: &Client,
    base: &str,
    method: Method,
    path: &str,
    who: As<'_>,
    body: Option<Value>,
    ok: StatusCode,
) -> Reply {
    match client.try_send(base, method.clone(), path, who, body).await {
        Err(_) => Reply::Lost,
        Ok((status, body)) if status == ok => Reply::Done(body),
        Ok((StatusCode::TOO_MANY_REQUESTS, _)) => Reply::Refused,
        Ok((status, _)) if status.is_server_error() => Reply::Lost,
        Ok((status, body)) => panic!("{method} {path}: unexpected {status}: {body}"),
    }
}

/// Fold a write's outcome into the model: `done` on an acknowledgement; a lost answer
/// leaves `doubt` for the next verification and stops the user's task (`false`).
fn settle(
    user: &mut User,
    reply: Reply,
    doubt: Doubt,
    done: impl FnOnce(&mut User, Value),
) -> bool {
    match reply {
        Reply::Done(body) => {
            done(user, body);
            true
        }
        Reply::Refused => true,
        Reply::Lost => {
            user.doubt = Some(doubt);
            false
        }
    }
}

/// Live tokens per user at most: past it, a mint becomes a revoke.
const MAX_LIVE_TOKENS: usize = 6;

/// A password the policy accepts, different every time.
pub fn fresh_password(rng: &mut Rng) -> String {
    format!("crash {:016x} loop {:08x}", rng.next(), rng.next() as u32)
}

fn fresh_value(rng: &mut Rng) -> Value {
    let len = rng.below(3000) as usize;
    json!({"n": rng.next(), "pad": "x".repeat(len)})
}

/// Run `user`'s writes until one goes unanswered; give the user back.
pub async fn run_user(client: Client, base: String, mut user: User, seed: u64) -> User {
    let mut rng = Rng::new(seed);
    let Ok(Ok(mut session)) = client.try_login(&base, &user.name, &user.password).await else {
        return user;
    };
    loop {
        let done = match rng.below(100) {
            0..=39 => item_write(&client, &base, &mut user, &session, &mut rng).await,
            40..=54 => token_write(&client, &base, &mut user, &mut rng).await,
            55..=64 => mint(&client, &base, &mut user, &session, &mut rng).await,
            65..=72 => revoke(&client, &base, &mut user, &session, &mut rng).await,
            73..=79 => create_vault(&client, &base, &mut user, &session, &mut rng).await,
            80..=91 => change_password(&client, &base, &mut user, &mut session, &mut rng).await,
            _ => recover(&client, &base, &mut user, &mut session, &mut rng).await,
        };
        if !done {
            return user;
        }
    }
}

/// Create, update or delete an item through the session. `false` when the answer was lost.
async fn item_write(
    client: &Client,
    base: &str,
    user: &mut User,
    session: &Session,
    rng: &mut Rng,
) -> bool {
    let v = rng.below(user.vaults.len() as u64) as usize;
    let name = format!("item-{}", rng.below(6));
    let vault_id = user.vaults[v].id.clone();
    let existing = user.vaults[v].items.get(&name).map(|i| i.id.clone());
    let who = As::Session(session);
    let (reply, id, value) = match existing {
        None => {
            let value = fresh_value(rng);
            let body = json!({"name": name, "value": value});
            let path = format!("/v1/vaults/{vault_id}/items");
            let reply = write(
                client,
                base,
                Method::POST,
                &path,
                who,
                Some(body),
                StatusCode::CREATED,
            )
            .await;
            (reply, None, Some(value))
        }
        Some(id) if rng.below(4) == 0 => {
            let path = format!("/v1/vaults/{vault_id}/items/{id}");
            let reply = write(
                client,
                base,
                Method::DELETE,
                &path,
                who,
                None,
                StatusCode::NO_CONTENT,
            )
            .await;
            (reply, Some(id), None)
        }
        Some(id) => {
            let value = fresh_value(rng);
            let body = json!({"name": name, "value": value});
            let path = format!("/v1/vaults/{vault_id}/items/{id}");
            let reply = write(
                client,
                base,
                Method::PUT,
                &path,
                who,
                Some(body),
                StatusCode::OK,
            )
            .await;
            (reply, Some(id), Some(value))
        }
    };
    settle_item(user, v, name, id, value, reply)
}

/// Update an existing item through a live write token whose scope covers it.
async fn token_write(client: &Client, base: &str, user: &mut User, rng: &mut Rng) -> bool {
    let writers: Vec<usize> = (0..user.tokens.len())
        .filter(|&t| user.tokens[t].write && !user.tokens[t].revoked)
        .collect();
    if writers.is_empty() {
        return true;
    }
    let t = writers[rng.below(writers.len() as u64) as usize];
    let targets: Vec<(usize, String)> = user
        .vaults
        .iter()
        .enumerate()
        .filter(|(_, vault)| user.tokens[t].reaches(&vault.id))
        .flat_map(|(v, vault)| vault.items.keys().map(move |name| (v, name.clone())))
        .collect();
    if targets.is_empty() {
        return true;
    }
    let (v, name) = targets[rng.below(targets.len() as u64) as usize].clone();
    let id = user.vaults[v].items[&name].id.clone();
    let value = fresh_value(rng);
    let path = format!("/v1/vaults/{}/items/{id}", user.vaults[v].id);
    let secret = user.tokens[t].secret.clone();
    let body = json!({"name": name, "value": value});
    let reply = write(
        client,
        base,
        Method::PUT,
        &path,
        As::Token(&secret),
        Some(body),
        StatusCode::OK,
    )
    .await;
    settle_item(user, v, name, Some(id), Some(value), reply)
}

fn settle_item(
    user: &mut User,
    v: usize,
    name: String,
    id: Option<String>,
    value: Option<Value>,
    reply: Reply,
) -> bool {
    let doubt = Doubt::Item {
        vault: v,
        name: name.clone(),
        value: value.clone(),
    };
    settle(user, reply, doubt, |user, body| {
        let items = &mut user.vaults[v].items;
        match value {
            None => {
                items.remove(&name);
            }
            Some(value) => {
                let id = id.unwrap_or_else(|| body["id"].as_str().unwrap().to_owned());
                items.insert(name, Item { id, value });
            }
        }
    })
}

async fn mint(
    client: &Client,
    base: &str,
    user: &mut User,
    session: &Session,
    rng: &mut Rng,
) -> bool {
    // Every live token is checked against every item in its scope after each kill: keep
    // their number bounded so a long run's checks do not grow without end.
    if user.live_tokens().count() >= MAX_LIVE_TOKENS {
        return revoke(client, base, user, session, rng).await;
    }
    let vaults = if rng.below(3) == 0 {
        None
    } else {
        let v = rng.below(user.vaults.len() as u64) as usize;
        Some(vec![user.vaults[v].id.clone()])
    };
    let write_perm = rng.below(2) == 0;
    let permissions = if write_perm {
        json!(["read", "write"])
    } else {
        json!(["read"])
    };
    let body = json!({
        "name": format!("t{}", user.tokens.len()),
        "vaults": vaults.as_ref().map_or(json!("*"), |v| json!(v)),
        "permissions": permissions,
        "current_password": user.password,
    });
    let reply = write(
        client,
        base,
        Method::POST,
        "/v1/tokens",
        As::Session(session),
        Some(body),
        StatusCode::CREATED,
    )
    .await;
    settle(user, reply, Doubt::Mint, |user, body| {
        user.tokens.push(Token {
            id: body["id"].as_str().unwrap().to_owned(),
            secret: body["token"].as_str().unwrap().to_owned(),
            vaults,
            write: write_perm,
            revoked: false,
        });
    })
}

async fn revoke(
    client: &Client,
    base: &str,
    user: &mut User,
    session: &Session,
    rng: &mut Rng,
) -> bool {
    let live: Vec<usize> = (0..user.tokens.len())
        .filter(|&t| !user.tokens[t].revoked)
        .collect();
    if live.is_empty() {
        return true;
    }
    let t = live[rng.below(live.len() as u64) as usize];
    let path = format!("/v1/tokens/{}", user.tokens[t].id);
    let reply = write(
        client,
        base,
        Method::DELETE,
        &path,
        As::Session(session),
        None,
        StatusCode::NO_CONTENT,
    )
    .await;
    settle(user, reply, Doubt::Revoke { token: t }, |user, _| {
        user.tokens[t].revoked = true;
    })
}

async fn create_vault(
    client: &Client,
    base: &str,
    user: &mut User,
    session: &Session,
    rng: &mut Rng,
) -> bool {
    if user.vaults.len() >= 3 {
        return item_write(client, base, user, session, rng).await;
    }
    let name = format!("vault-{:08x}", rng.next() as u32);
    let body = json!({"name": name});
    let reply = write(
        client,
        base,
        Method::POST,
        "/v1/vaults",
        As::Session(session),
        Some(body),
        StatusCode::CREATED,
    )
    .await;
    settle(
        user,
        reply,
        Doubt::CreateVault { name: name.clone() },
        |user, body| {
            user.vaults.push(Vault {
                id: body["id"].as_str().unwrap().to_owned(),
                name,
                items: BTreeMap::new(),
            });
        },
    )
}

async fn change_password(
    client: &Client,
    base: &str,
    user: &mut User,
    session: &mut Session,
    rng: &mut Rng,
) -> bool {
    let new = fresh_password(rng);
    let body = json!({"current_password": user.password, "new_password": new});
    let reply = write(
        client,
        base,
        Method::POST,
        "/v1/password",
        As::Session(session),
        Some(body),
        StatusCode::NO_CONTENT,
    )
    .await;
    settle(
        user,
        reply,
        Doubt::Password { new: new.clone() },
        |user, _| {
            let old = std::mem::replace(&mut user.password, new);
            user.retired_passwords.push(old);
        },
    )
}

async fn recover(
    client: &Client,
    base: &str,
    user: &mut User,
    session: &mut Session,
    rng: &mut Rng,
) -> bool {
    let Some(code) = user.recovery.clone() else {
        return true;
    };
    let new_password = fresh_password(rng);
    let body = json!({"username": user.name, "recovery_code": code, "new_password": new_password});
    match write(
        client,
        base,
        Method::POST,
        "/v1/recover",
        As::Nobody,
        Some(body),
        StatusCode::OK,
    )
    .await
    {
        Reply::Done(body) => {
            let old = std::mem::replace(&mut user.password, new_password);
            user.retired_passwords.push(old);
            user.retired_codes.push(code);
            user.recovery = Some(body["recovery_code"].as_str().unwrap().to_owned());
            // Recovery may end the sessions: log in again with the new password.
            match client.try_login(base, &user.name, &user.password).await {
                Ok(Ok(fresh)) => {
                    *session = fresh;
                    true
                }
                _ => false,
            }
        }
        Reply::Refused => true,
        Reply::Lost => {
            user.doubt = Some(Doubt::Recovery { new_password });
            false
        }
    }
}

/// Sign up one new user. `Ok(user)` when acknowledged, `Err(pending)` when the answer was
/// lost, `None`-like refusal folded into `Err` too (verification sorts it out).
pub async fn signup(
    client: &Client,
    base: &str,
    name: String,
    rng: &mut Rng,
) -> Result<User, PendingSignup> {
    let password = fresh_password(rng);
    let body = json!({"username": name, "password": password});
    match write(
        client,
        base,
        Method::POST,
        "/v1/signup",
        As::Nobody,
        Some(body),
        StatusCode::CREATED,
    )
    .await
    {
        Reply::Done(body) => Ok(User::new(
            name,
            password,
            Some(body["recovery_code"].as_str().unwrap().to_owned()),
            body["vault_id"].as_str().unwrap().to_owned(),
        )),
        Reply::Refused | Reply::Lost => Err(PendingSignup { name, password }),
    }
}
