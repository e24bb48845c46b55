//! The key-rotation scenario of `bench/run` (issue 15): a vault populated through the
//! HTTP API, its rotations timed, and its re-wrap driven the way the product drives it.
//!
//! The re-wrap moves one bounded batch (`rewrap_batch`, 500 by default) after each write
//! to a vault with items under older key versions, and one after an explicit rotation;
//! nothing else advances it (reads do not). So [`rewrap`] writes back to back, one write
//! at a time, as a busy client would, and asks the vault after each write whether
//! anything is left under an older version.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::Context;
use keyslot_client::{Client, Credential, MintToken};
use serde_json::json;

use crate::tools::{PASSWORD, value_1kib};

/// Run a call again while the server sheds it (429: the address's attempt budget; 503:
/// the Argon2 queue is full), waiting what it asks; anything else is returned.
pub(crate) async fn patiently<T, F, Fut>(what: &str, mut call: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = keyslot_client::Result<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        match call().await {
            Err(keyslot_client::Error::Problem(p))
                if matches!(p.status, 429 | 503) && Instant::now() < deadline =>
            {
                let wait = p.retry_after.unwrap_or(1).clamp(1, 30);
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            other => return other.with_context(|| what.to_owned()),
        }
    }
}

async fn session(addr: &str, user: &str) -> anyhow::Result<Client> {
    let anon = Client::new(addr, Credential::None);
    let (session, _) = patiently("login", || anon.login(user, PASSWORD)).await?;
    Ok(session)
}

/// Sign `user` up, create `items` 1 KiB items in their vault over `conns` concurrent
/// connections, and mint `tokens` tokens scoped to the vault: one read-write, the rest
/// read-only.
/// Prints JSON: the vault, up to 100 item ids, one read token, the write token, timings.
pub async fn populate(
    addr: &str,
    user: &str,
    items: usize,
    tokens: usize,
    conns: usize,
) -> anyhow::Result<()> {
    let anon = Client::new(addr, Credential::None);
    let signed = patiently("signup", || anon.signup(user, PASSWORD)).await?;
    let vault = signed.vault_id;
    let owner = session(addr, user).await?;
    let started = Instant::now();
    let conns = conns.clamp(1, items.max(1));
    let workers: Vec<_> = (0..conns)
        .map(|w| {
            let (client, vault) = (owner.clone(), vault.clone());
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in (w..items).step_by(conns) {
                    let made = client
                        .create_item(&vault, &format!("item-{i:06}"), &value_1kib(i))
                        .await
                        .with_context(|| format!("creating item {i}"))?;
                    ids.push(made.id);
                }
                anyhow::Ok(ids)
            })
        })
        .collect();
    let mut ids = Vec::with_capacity(items);
    for worker in workers {
        ids.extend(worker.await??);
    }
    let populate_secs = started.elapsed().as_secs_f64();
    let mint = |name: String, permissions: &[&str]| MintToken {
        name,
        vaults: json!([vault]),
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        expires_in_seconds: None,
    };
    let started = Instant::now();
    let mut read_tokens = Vec::with_capacity(tokens);
    for t in 0..tokens.saturating_sub(1) {
        let request = mint(format!("rot-read-{t}"), &["read"]);
        read_tokens.push(patiently("mint", || owner.mint_token(PASSWORD, &request)).await?);
    }
    let request = mint("rot-write".into(), &["read", "write"]);
    let write = patiently("mint", || owner.mint_token(PASSWORD, &request)).await?;
    let mint_secs = started.elapsed().as_secs_f64();
    let out = json!({
        "user": user, "vault": vault, "item_count": ids.len(),
        "items": ids.iter().take(100).collect::<Vec<_>>(),
        "tokens": read_tokens.len() + 1,
        "read_token": read_tokens.first().map(|m| m.token.clone()),
        "write_token": write.token,
        "populate_secs": populate_secs,
        "items_per_sec": ids.len() as f64 / populate_secs.max(1e-9),
        "mint_secs": mint_secs,
    });
    println!("{out}");
    Ok(())
}

/// The `grants=N` of the newest `vault.rotate` event of `vault` in `owner`'s audit: how
/// many holders the rotation sealed the new key to.
async fn last_rotation_grants(owner: &Client, vault: &str) -> anyhow::Result<Option<u64>> {
    let events = owner.audit(20).await?;
    Ok(events
        .iter()
        .find(|e| e.action == "vault.rotate" && e.detail.contains(vault))
        .and_then(|e| {
            e.detail
                .split_whitespace()
                .find_map(|w| w.strip_prefix("grants="))
        })
        .and_then(|n| n.parse().ok()))
}

/// `Some(wait)` when the server answered "busy, retry" (429 or 503), `None` when it
/// answered, and the error for anything else.
pub(crate) fn busy<T>(answer: &keyslot_client::Result<T>) -> anyhow::Result<Option<Duration>> {
    match answer {
        Ok(_) => Ok(None),
        Err(keyslot_client::Error::Problem(p)) if matches!(p.status, 429 | 503) => Ok(Some(
            Duration::from_secs(p.retry_after.unwrap_or(1).clamp(1, 5)),
        )),
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

fn median(sorted: &[f64]) -> f64 {
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Time `POST /v1/vaults/{vault}/rotate` on each `user/vault` target, `rounds` times,
/// interleaved (round 1 of every target, then round 2, …) so a burst of load on the
/// machine falls on all of them alike. Prints JSON per target: every time, the median,
/// the spread, and the grants each rotation sealed (from the audit).
pub async fn time_rotations(addr: &str, targets: &[String], rounds: usize) -> anyhow::Result<()> {
    let mut owners = Vec::new();
    for target in targets {
        let (user, vault) = target
            .split_once('/')
            .context("a target is USER/VAULT_ID")?;
        owners.push((
            session(addr, user).await?,
            user.to_owned(),
            vault.to_owned(),
        ));
    }
    let mut times = vec![Vec::new(); owners.len()];
    let mut grants = vec![Vec::new(); owners.len()];
    let mut versions = vec![0u32; owners.len()];
    for _ in 0..rounds {
        for (i, (owner, _, vault)) in owners.iter().enumerate() {
            let started = Instant::now();
            let rotated = owner.rotate_vault(vault).await?;
            times[i].push(started.elapsed().as_secs_f64() * 1000.0);
            versions[i] = rotated.key_version;
            grants[i].push(last_rotation_grants(owner, vault).await?);
        }
    }
    let out: Vec<_> = owners
        .iter()
        .zip(times.iter_mut().zip(grants.iter().zip(&versions)))
        .map(|((_, user, vault), (all, (grants, version)))| {
            let in_order = all.clone();
            all.sort_by(f64::total_cmp);
            json!({
                "user": user, "vault": vault, "all_ms": in_order, "median_ms": median(all),
                "min_ms": all.first(), "max_ms": all.last(), "grants": grants,
                "key_version": version,
            })
        })
        .collect();
    println!("{}", json!({ "targets": out }));
    Ok(())
}

/// Drive `vault`'s re-wrap as the product does: `PUT` one item with the read-write token,
/// back to back, and after each write ask the vault whether items remain under older key
/// versions; stop when none do. With `secs`, write for that long whatever the re-wrap
/// does (the same write load with no re-wrap behind it, for comparison). Prints JSON:
/// writes, seconds, whether the re-wrap finished, and the writes' latency.
pub async fn rewrap(
    addr: &str,
    vault: &str,
    token: &str,
    item: &str,
    secs: Option<f64>,
) -> anyhow::Result<()> {
    let client = Client::new(addr, Credential::Token(token.to_owned().into()));
    let value = value_1kib(0);
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut done = false;
    // Answers that said "busy, retry" (429, 503): counted, and retried after the wait
    // they ask for, as a well-behaved client would.
    let mut refused = 0u64;
    let limit = Duration::from_secs_f64(secs.unwrap_or(3600.0));
    while started.elapsed() < limit {
        let write = Instant::now();
        let written = client
            .update_item(vault, item, "rewrap-driver", &value, None)
            .await;
        if let Some(wait) = busy(&written)? {
            refused += 1;
            tokio::time::sleep(wait).await;
            continue;
        }
        latencies.push(write.elapsed().as_secs_f64() * 1000.0);
        if secs.is_none() {
            let detail = client.vault_detail(vault).await;
            if let Some(wait) = busy(&detail)? {
                refused += 1;
                tokio::time::sleep(wait).await;
            } else if detail.is_ok_and(|d| !d.rewrap_pending) {
                done = true;
                break;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let pending = client.vault_detail(vault).await?.rewrap_pending;
    let writes = latencies.len();
    let in_order: Vec<f64> = latencies
        .iter()
        .map(|ms| (ms * 10.0).round() / 10.0)
        .collect();
    latencies.sort_by(f64::total_cmp);
    let p99 = latencies
        .get((writes * 99).div_ceil(100).saturating_sub(1))
        .copied();
    println!(
        "{}",
        json!({
            "writes": writes, "secs": elapsed, "done": done, "rewrap_pending": pending,
            "write_p50_ms": median(&latencies), "write_p99_ms": p99,
            "write_max_ms": latencies.last(), "refused": refused, "write_ms_in_order": in_order,
        })
    );
    Ok(())
}
