//! Seeding, filling and timing helpers.

use std::str::FromStr;
use std::time::{Duration, Instant};

use keyslot_client::{Client, Credential, MintToken};
use keyslot_crypto::slot::password::derive;
use keyslot_crypto::{Argon2Params, Id, Password};
use serde_json::{Value, json};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use crate::rotation::{busy, patiently};

pub const PASSWORD: &str = "bench passphrase correct horse";
pub const PASSWORD_2: &str = "bench passphrase battery staple";

pub(crate) fn value_1kib(i: usize) -> Value {
    let mut s = format!("secret-{i}-");
    while s.len() < 1024 {
        s.push('x');
    }
    Value::String(s)
}

async fn account(anon: &Client, name: &str) -> anyhow::Result<(Client, String)> {
    let signed = anon.signup(name, PASSWORD).await?;
    let (session, _) = anon.login(name, PASSWORD).await?;
    Ok((session, signed.vault_id))
}

/// Users: `bench` (100 items, tokens), `pw1` (1 item), `pw100k` (1 item; filled later),
/// `filler` (1 item; filled later to grow the database). Prints JSON.
pub async fn seed(addr: &str, items: usize) -> anyhow::Result<()> {
    let anon = Client::new(addr, Credential::None);
    let (session, vault) = account(&anon, "bench").await?;
    let mut ids = Vec::new();
    for i in 0..items {
        ids.push(
            session
                .create_item(&vault, &format!("item-{i:04}"), &value_1kib(i))
                .await?
                .id,
        );
    }
    let mint = |write: bool| MintToken {
        name: format!("bench-{write}"),
        vaults: json!([vault]),
        permissions: if write {
            vec!["read".into(), "write".into()]
        } else {
            vec!["read".into()]
        },
        expires_in_seconds: None,
    };
    let read_token = session.mint_token(PASSWORD, &mint(false)).await?.token;
    let write_token = session.mint_token(PASSWORD, &mint(true)).await?.token;
    let Credential::Session {
        session: cookie,
        csrf,
    } = session.credential().clone()
    else {
        anyhow::bail!("no session")
    };
    for name in ["pw1", "pw100k", "filler"] {
        let (s, v) = account(&anon, name).await?;
        s.create_item(&v, "only", &value_1kib(0)).await?;
    }
    // The read token's `ksa_` proof: the same token read as an end-to-end client reads
    // it (envelopes; the client opens them), next to its server-mode `kst_` reads.
    let read_proof = keyslot_crypto::TokenCredential::parse(&read_token)
        .map_err(|e| anyhow::anyhow!("minted token does not parse: {e}"))?
        .unlock()
        .auth_proof()
        .to_text();
    let out = json!({
        "vault": vault, "items": ids, "read_token": read_token, "write_token": write_token,
        "read_proof": read_proof.as_str(),
        "cookie": cookie.as_str(), "csrf": csrf.as_str(), "username": "bench", "password": PASSWORD,
    });
    println!("{out}");
    Ok(())
}

/// Grow `user`'s items to `total` rows by copying one of their rows' ciphertext under new
/// random ids, in one transaction.
pub async fn fill(db: &std::path::Path, user: &str, total: u64) -> anyhow::Result<()> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", db.display()))?
        .busy_timeout(Duration::from_secs(30));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    let uid: Vec<u8> = sqlx::query_scalar("SELECT id FROM users WHERE username_key = ?")
        .bind(user)
        .fetch_one(&pool)
        .await?;
    let have: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM items WHERE user_id = ?")
        .bind(&uid)
        .fetch_one(&pool)
        .await?;
    let missing = i64::try_from(total)?.saturating_sub(have);
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < ?) \
         INSERT INTO items (id, vault_id, user_id, version, key_version, wrapped_item_key, name, value, created_at, updated_at) \
         SELECT randomblob(16), i.vault_id, i.user_id, i.version, i.key_version, i.wrapped_item_key, i.name, i.value, i.created_at, i.updated_at \
         FROM c, (SELECT * FROM items WHERE user_id = ? LIMIT 1) AS i",
    )
    .bind(missing)
    .bind(&uid)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    eprintln!(
        "filled {missing} rows for {user} in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn argon2_rate(threads: usize, secs: u64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            std::thread::spawn(move || {
                let password = Password::new("argon2 rate probe password");
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let _ = derive(
                        &password,
                        &[u8::try_from(t % 256).unwrap_or(0); 16],
                        &Argon2Params::OWASP,
                        Id::from_bytes([1; 16]),
                    );
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
    println!("{}", json!({"hashes_per_sec": total as f64 / secs as f64}));
    Ok(())
}

pub async fn pwchange(addr: &str, user: &str, n: usize) -> anyhow::Result<()> {
    let anon = Client::new(addr, Credential::None);
    let (session, _) = patiently("login", || anon.login(user, PASSWORD)).await?;
    let mut times = Vec::new();
    for i in 0..n {
        let (from, to) = if i % 2 == 0 {
            (PASSWORD, PASSWORD_2)
        } else {
            (PASSWORD_2, PASSWORD)
        };
        // A change the server sheds (429 once a login flood has spent the address's
        // attempt budget) is waited out and made again, and only the answered one is
        // timed: giving up half-way would leave the other password set, and the next run's
        // login of this user would fail with 401.
        let ms = loop {
            let started = Instant::now();
            let answer = session.change_password(from, to, false).await;
            match busy(&answer)? {
                Some(wait) => tokio::time::sleep(wait).await,
                None => break started.elapsed().as_secs_f64() * 1000.0,
            }
        };
        times.push(ms);
    }
    if n % 2 == 1 {
        patiently("change back", || {
            session.change_password(PASSWORD_2, PASSWORD, false)
        })
        .await?;
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{}",
        json!({"user": user, "median_ms": times[times.len() / 2], "all_ms": times})
    );
    Ok(())
}

/// What an end-to-end client spends opening one 1 KiB item it read: the item key under
/// the vault key, then its name and value (XChaCha20-Poly1305), over `--secs` on one
/// thread. Prints JSON with microseconds per item.
pub fn client_open(secs: u64) -> anyhow::Result<()> {
    use keyslot_crypto::VaultKey;
    use keyslot_crypto::item::ItemPlace;
    let key = VaultKey::generate()?;
    let place = ItemPlace {
        owner: Id::random()?,
        vault: Id::random()?,
        item: Id::random()?,
        version: 1,
        key_version: 1,
    };
    let value = serde_json::to_vec(&value_1kib(0))?;
    let sealed = place.seal(&key, "item-0000", &value)?;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut n = 0u64;
    let start = Instant::now();
    while Instant::now() < deadline {
        let (_, opened) = place.open(&key, &sealed)?;
        std::hint::black_box(opened);
        n += 1;
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / n.max(1) as f64;
    println!("{}", json!({"us_per_item": us, "items": n}));
    Ok(())
}
