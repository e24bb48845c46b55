//! After every restart: each user's writes, seen through each of the user's credentials.
//! A write whose answer was lost must have happened whole or not at all; the check finds
//! out which and folds it into the model. Any other difference is a failure, returned as
//! a sentence saying what was lost or what still works that must not.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::model::{Doubt, Item, PendingSignup, User, Vault};
use crate::rng::Rng;
use crate::support::{As, Client, Session};
use crate::workload::fresh_password;

pub type Check<T = ()> = Result<T, String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

async fn login(
    client: &Client,
    base: &str,
    user: &str,
    password: &str,
) -> Check<Result<Session, StatusCode>> {
    client
        .try_login(base, user, password)
        .await
        .map_err(|e| format!("login for {user}: no answer from the restarted server: {e}"))
}

async fn get(client: &Client, base: &str, path: &str, who: As<'_>) -> Check<(StatusCode, Value)> {
    client
        .try_send(base, Method::GET, path, who, None)
        .await
        .map_err(|e| format!("GET {path}: no answer: {e}"))
}

/// Settle a sign-up whose answer was lost: it made a whole user (the password logs in)
/// or nothing (the name is still free).
pub async fn settle_signup(client: &Client, base: &str, pending: PendingSignup) -> Check<User> {
    if let Ok(session) = login(client, base, &pending.name, &pending.password).await? {
        let (status, vaults) = get(client, base, "/v1/vaults", As::Session(&session)).await?;
        ensure!(
            status == StatusCode::OK,
            "{}: listing vaults: {status}",
            pending.name
        );
        let list = vaults["vaults"].as_array().cloned().unwrap_or_default();
        ensure!(
            list.len() == 1,
            "{}: a half-made sign-up: {} vaults",
            pending.name,
            list.len()
        );
        return Ok(User::new(
            pending.name,
            pending.password,
            None,
            list[0]["id"].as_str().unwrap_or_default().to_owned(),
        ));
    }
    let body = json!({"username": pending.name, "password": pending.password});
    let (status, body) = client
        .try_send(base, Method::POST, "/v1/signup", As::Nobody, Some(body))
        .await
        .map_err(|e| format!("sign-up again: no answer: {e}"))?;
    ensure!(
        status == StatusCode::CREATED,
        "{}: the sign-up did not log in, yet signing up again gave {status}: {body}",
        pending.name
    );
    Ok(User::new(
        pending.name,
        pending.password,
        body["recovery_code"].as_str().map(str::to_owned),
        body["vault_id"].as_str().unwrap_or_default().to_owned(),
    ))
}

/// Check one user through every credential it holds; settle its write in doubt.
pub async fn user(client: &Client, base: &str, user: &mut User, rng: &mut Rng) -> Check {
    let session = settle_password(client, base, user).await?;
    retired_credentials(client, base, user, rng).await?;
    settle_vaults(client, base, user, &session).await?;
    items_through_session(client, base, user, &session).await?;
    tokens(client, base, user).await?;
    if user.doubt.is_some() {
        return Err(format!("{}: {:?} was never settled", user.name, user.doubt));
    }
    recovery(client, base, user, rng).await
}

/// The current password logs in; a change or recovery in doubt settles to exactly one of
/// the two.
async fn settle_password(client: &Client, base: &str, user: &mut User) -> Check<Session> {
    let new = match &user.doubt {
        Some(Doubt::Password { new }) => Some(new.clone()),
        Some(Doubt::Recovery { new_password }) => Some(new_password.clone()),
        _ => None,
    };
    let current = login(client, base, &user.name, &user.password).await?;
    let session = match (current, new) {
        (Ok(session), None) => session,
        (Ok(session), Some(new)) => {
            let other = login(client, base, &user.name, &new).await?;
            ensure!(
                other.is_err(),
                "{}: both the old and the new password log in",
                user.name
            );
            user.doubt = None;
            session
        }
        (Err(status), Some(new)) => {
            let Ok(session) = login(client, base, &user.name, &new).await? else {
                return Err(format!(
                    "{}: neither the old nor the new password logs in ({status})",
                    user.name
                ));
            };
            let old = std::mem::replace(&mut user.password, new);
            user.retired_passwords.push(old);
            if let Some(Doubt::Recovery { .. }) = user.doubt.take() {
                // It went through, and the new code went with the lost answer.
                user.retired_codes.extend(user.recovery.take());
            }
            session
        }
        (Err(status), None) => {
            return Err(format!(
                "{}: the acknowledged password no longer logs in ({status})",
                user.name
            ));
        }
    };
    Ok(session)
}

/// No replaced password logs in and no used recovery code recovers. Each refusal counts
/// toward the account's back-off, so a login with the current password (which clears the
/// count) comes between every two of them.
async fn retired_credentials(client: &Client, base: &str, user: &mut User, rng: &mut Rng) -> Check {
    let passwords = std::mem::take(&mut user.retired_passwords);
    let codes = std::mem::take(&mut user.retired_codes);
    let mut refused = 0;
    for (old, is_code) in passwords
        .iter()
        .map(|p| (p, false))
        .chain(codes.iter().map(|c| (c, true)))
    {
        if refused == 2 {
            ensure!(
                login(client, base, &user.name, &user.password)
                    .await?
                    .is_ok(),
                "{}: the current password stopped logging in",
                user.name
            );
            refused = 0;
        }
        let status = if is_code {
            let body = json!({"username": user.name, "recovery_code": old, "new_password": fresh_password(rng)});
            client
                .try_send(base, Method::POST, "/v1/recover", As::Nobody, Some(body))
                .await
                .map_err(|e| format!("recover: no answer: {e}"))?
                .0
        } else {
            login(client, base, &user.name, old)
                .await?
                .err()
                .unwrap_or(StatusCode::OK)
        };
        let what = if is_code {
            "a used recovery code"
        } else {
            "a replaced password"
        };
        ensure!(
            status == StatusCode::UNAUTHORIZED,
            "{}: {what} answers {status}",
            user.name
        );
        refused += 1;
    }
    Ok(())
}

/// Every acknowledged vault is listed; a creation in doubt made one vault or none.
async fn settle_vaults(client: &Client, base: &str, user: &mut User, session: &Session) -> Check {
    let (status, body) = get(client, base, "/v1/vaults", As::Session(session)).await?;
    ensure!(
        status == StatusCode::OK,
        "{}: listing vaults: {status}",
        user.name
    );
    let listed: BTreeMap<String, String> = body["vaults"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            (
                v["id"].as_str().unwrap_or_default().to_owned(),
                v["name"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for vault in &user.vaults {
        ensure!(
            listed.contains_key(&vault.id),
            "{}: acknowledged vault {} is gone",
            user.name,
            vault.name
        );
    }
    let unknown: Vec<(&String, &String)> = listed
        .iter()
        .filter(|(id, _)| !user.vaults.iter().any(|v| &v.id == *id))
        .collect();
    if let Some(Doubt::CreateVault { name }) = &user.doubt {
        ensure!(
            unknown.len() <= 1 && unknown.iter().all(|(_, n)| *n == name),
            "{}: vaults nobody made: {unknown:?}",
            user.name
        );
        if let Some((id, _)) = unknown.first() {
            user.vaults.push(Vault {
                id: (*id).clone(),
                name: name.clone(),
                items: BTreeMap::new(),
            });
        }
        user.doubt = None;
    } else {
        ensure!(
            unknown.is_empty(),
            "{}: vaults nobody made: {unknown:?}",
            user.name
        );
    }
    Ok(())
}

/// Each vault holds exactly the acknowledged items, each opening to its acknowledged
/// value; an item write in doubt left the old state or the new one.
async fn items_through_session(
    client: &Client,
    base: &str,
    user: &mut User,
    session: &Session,
) -> Check {
    for v in 0..user.vaults.len() {
        let vault_id = user.vaults[v].id.clone();
        let (status, body) = get(
            client,
            base,
            &format!("/v1/vaults/{vault_id}/items"),
            As::Session(session),
        )
        .await?;
        ensure!(
            status == StatusCode::OK,
            "{}: listing items: {status}",
            user.name
        );
        let mut listed: BTreeMap<String, String> = BTreeMap::new();
        for item in body["items"].as_array().into_iter().flatten() {
            let name = item["name"].as_str().unwrap_or_default().to_owned();
            let id = item["id"].as_str().unwrap_or_default().to_owned();
            ensure!(
                listed.insert(name.clone(), id).is_none(),
                "{}: two items named {name}",
                user.name
            );
        }
        let mut opened: BTreeMap<String, Value> = BTreeMap::new();
        for (name, id) in &listed {
            let (status, item) = get(
                client,
                base,
                &format!("/v1/vaults/{vault_id}/items/{id}"),
                As::Session(session),
            )
            .await?;
            ensure!(
                status == StatusCode::OK,
                "{}: item {name} does not open with the password: {status}",
                user.name
            );
            opened.insert(name.clone(), item["value"].clone());
        }
        if let Some(Doubt::Item {
            vault, name, value, ..
        }) = &user.doubt
            && *vault == v
        {
            let was = user.vaults[v].items.get(name).map(|i| &i.value);
            let now = opened.get(name);
            ensure!(
                now == was || now == value.as_ref(),
                "{}: item {name} after a lost write is neither the old nor the new value",
                user.name
            );
            match now {
                Some(value) => {
                    let id = listed[name].clone();
                    user.vaults[v].items.insert(
                        name.clone(),
                        Item {
                            id,
                            value: value.clone(),
                        },
                    );
                }
                None => {
                    user.vaults[v].items.remove(name);
                }
            }
            user.doubt = None;
        }
        let expected: BTreeMap<&String, &Value> = user.vaults[v]
            .items
            .iter()
            .map(|(n, i)| (n, &i.value))
            .collect();
        let got: BTreeMap<&String, &Value> = opened.iter().collect();
        if expected != got {
            let lost: Vec<&&String> = expected
                .keys()
                .filter(|n| got.get(*n) != expected.get(*n))
                .collect();
            let extra: Vec<&&String> = got.keys().filter(|n| !expected.contains_key(*n)).collect();
            return Err(format!(
                "{}: vault {}: acknowledged items lost or changed: {lost:?}; items nobody wrote: {extra:?}",
                user.name, user.vaults[v].name
            ));
        }
    }
    Ok(())
}

/// Every unrevoked token opens every item in its scope and nothing outside it; every
/// revoked token is refused; a revocation in doubt took effect or did not.
async fn tokens(client: &Client, base: &str, user: &mut User) -> Check {
    if let Some(Doubt::Revoke { token }) = user.doubt {
        let t = &user.tokens[token];
        let (status, _) = get(client, base, "/v1/vaults", As::Token(&t.secret)).await?;
        ensure!(
            status == StatusCode::OK || status == StatusCode::UNAUTHORIZED,
            "{}: token after a lost revocation: {status}",
            user.name
        );
        user.tokens[token].revoked = status == StatusCode::UNAUTHORIZED;
        user.doubt = None;
    }
    if let Some(Doubt::Mint) = user.doubt {
        user.doubt = None;
    }
    for t in &user.tokens {
        if t.revoked {
            let (status, _) = get(client, base, "/v1/vaults", As::Token(&t.secret)).await?;
            ensure!(
                status == StatusCode::UNAUTHORIZED,
                "{}: a revoked token still answers {status}",
                user.name
            );
            continue;
        }
        for vault in &user.vaults {
            let (status, _) = get(
                client,
                base,
                &format!("/v1/vaults/{}/items", vault.id),
                As::Token(&t.secret),
            )
            .await?;
            if !t.reaches(&vault.id) {
                ensure!(
                    status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
                    "{}: a token lists a vault outside its scope: {status}",
                    user.name
                );
                continue;
            }
            ensure!(
                status == StatusCode::OK,
                "{}: a live token cannot list its vault: {status}",
                user.name
            );
            for (name, item) in &vault.items {
                let path = format!("/v1/vaults/{}/items/{}", vault.id, item.id);
                let (status, body) = get(client, base, &path, As::Token(&t.secret)).await?;
                ensure!(
                    status == StatusCode::OK && body["value"] == item.value,
                    "{}: item {name} does not open with a live token in scope: {status}",
                    user.name
                );
            }
        }
    }
    Ok(())
}

/// The current recovery code resets the password and the items open with the new one.
async fn recovery(client: &Client, base: &str, user: &mut User, rng: &mut Rng) -> Check {
    let Some(code) = user.recovery.clone() else {
        return Ok(());
    };
    let new_password = fresh_password(rng);
    let body = json!({"username": user.name, "recovery_code": code, "new_password": new_password});
    let (status, body) = client
        .try_send(base, Method::POST, "/v1/recover", As::Nobody, Some(body))
        .await
        .map_err(|e| format!("recover: no answer: {e}"))?;
    ensure!(
        status == StatusCode::OK,
        "{}: the current recovery code answers {status}: {body}",
        user.name
    );
    let old = std::mem::replace(&mut user.password, new_password);
    user.retired_passwords.push(old);
    user.retired_codes.push(code);
    user.recovery = body["recovery_code"].as_str().map(str::to_owned);
    let Ok(session) = login(client, base, &user.name, &user.password).await? else {
        return Err(format!(
            "{}: the password set by recovery does not log in",
            user.name
        ));
    };
    items_through_session(client, base, user, &session).await
}
