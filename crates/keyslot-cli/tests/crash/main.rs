//! Crash consistency: `keyslot serve` killed with SIGKILL at random moments under a mixed
//! workload (sign-ups, item writes through sessions and tokens, vaults, password changes,
//! recoveries, token mints and revokes), restarted, and checked after every restart:
//!
//! - every acknowledged write is there, and nothing nobody wrote;
//! - every item opens with the user's current password, with the current recovery code,
//!   and with every unrevoked token whose scope covers it;
//! - no revoked token, replaced password or used recovery code works;
//! - a write whose answer was lost happened whole or not at all;
//! - the database passes its own integrity check.
//!
//! On SQLite always, on PostgreSQL when `KEYSLOT_TEST_DATABASE_URL` is set (always in CI).
//! `KEYSLOT_CRASH_KILLS` sets the kills per backend (default 50); `KEYSLOT_CRASH_SEED`
//! replays a run (each run prints its seed).
//!
//! [`lifecycle`] kills the server inside key rotations and re-wrap batches
//! (`KEYSLOT_CRASH_ROUNDS` kills per backend).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod integrity;
mod lifecycle;
mod lifecycle_http;
mod lifecycle_world;
mod model;
mod rng;
mod verify;
mod workload;

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use model::{PendingSignup, User};
use rng::Rng;
use support::{Client, Instance, seal_key_file, spawn, wait_ready};

const MAX_USERS: usize = 5;

fn kills() -> u32 {
    std::env::var("KEYSLOT_CRASH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(50)
}

fn seed() -> u64 {
    std::env::var("KEYSLOT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
}

/// A client whose requests come from 127.1.x.y: each user's check in each round gets its
/// own address, so the refusals it provokes on purpose (replaced passwords, used codes)
/// never reach the per-address failure budget, which is not what this test is about.
fn client_from(round: u32, user: usize) -> Client {
    let n = (round * (MAX_USERS as u32 + 1) + user as u32) % 60_000 + 2;
    let [_, _, hi, lo] = n.to_be_bytes();
    Client {
        http: support::http()
            .local_address(IpAddr::V4(Ipv4Addr::new(127, 1, hi, lo)))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
    }
}

/// Settle every sign-up in doubt and check every user against the restarted server.
async fn verify_all(
    round: u32,
    base: &str,
    users: &mut Vec<User>,
    pending: &mut Vec<PendingSignup>,
    rng: &mut Rng,
) -> Result<(), String> {
    for p in pending.drain(..) {
        users.push(verify::settle_signup(&client_from(round, MAX_USERS), base, p).await?);
    }
    for (i, user) in users.iter_mut().enumerate() {
        verify::user(&client_from(round, i), base, user, rng).await?;
    }
    Ok(())
}

struct Run<'a> {
    dir: &'a Path,
    url: String,
    seal: std::path::PathBuf,
    migrate: bool,
    integrity: integrity::Checker,
}

impl Run<'_> {
    fn start(&self) -> Instance {
        spawn(self.dir, "data", &self.url, &self.seal, self.migrate)
    }
}

async fn survive_kills(run: Run<'_>, backend: &str) {
    let seed = seed();
    let kills = kills();
    eprintln!("crash[{backend}]: {kills} kills, KEYSLOT_CRASH_SEED={seed}");
    let mut rng = Rng::new(seed);
    let mut users: Vec<User> = Vec::new();
    let mut pending: Vec<PendingSignup> = Vec::new();
    let mut names = 0;
    let mut lost_answers = 0;
    for round in 0..kills {
        let mut instance = run.start();
        wait_ready(&Client::new().http, &mut instance).await;
        let base = instance.base.clone();
        verify_all(round, &base, &mut users, &mut pending, &mut rng)
            .await
            .unwrap_or_else(|e| panic!("crash[{backend}] round {round} (seed {seed}): {e}"));

        // Load, then kill at a random moment.
        let load = Client::new();
        let population = users.len() + pending.len();
        let mut tasks = Vec::new();
        for user in users.drain(..) {
            let (http, base, seed) = (load.http.clone(), base.clone(), rng.next());
            tasks.push(tokio::spawn(workload::run_user(
                Client { http },
                base,
                user,
                seed,
            )));
        }
        let signups = if population < MAX_USERS {
            names += 1;
            let (http, base, name, mut r) = (
                load.http.clone(),
                base.clone(),
                format!("user{names}"),
                Rng::new(rng.next()),
            );
            Some(tokio::spawn(async move {
                workload::signup(&Client { http }, &base, name, &mut r).await
            }))
        } else {
            None
        };
        tokio::time::sleep(Duration::from_millis(20 + rng.below(500))).await;
        instance.kill();
        for task in tasks {
            let user = task.await.unwrap();
            lost_answers += u32::from(user.doubt.is_some());
            users.push(user);
        }
        if let Some(task) = signups {
            match task.await.unwrap() {
                Ok(user) => users.push(user),
                Err(p) => {
                    lost_answers += 1;
                    pending.push(p);
                }
            }
        }
        run.integrity.check().await.unwrap_or_else(|e| {
            panic!("crash[{backend}] round {round} (seed {seed}): integrity: {e}")
        });
    }
    // The last kill is checked too.
    let mut instance = run.start();
    wait_ready(&Client::new().http, &mut instance).await;
    verify_all(kills, &instance.base, &mut users, &mut pending, &mut rng)
        .await
        .unwrap_or_else(|e| panic!("crash[{backend}] final check (seed {seed}): {e}"));
    let items: usize = users
        .iter()
        .flat_map(|u| &u.vaults)
        .map(|v| v.items.len())
        .sum();
    let tokens: usize = users.iter().map(|u| u.live_tokens().count()).sum();
    eprintln!(
        "crash[{backend}]: survived {kills} kills; {} users, {items} items, {tokens} live tokens; {lost_answers} writes had their answer cut off and settled whole",
        users.len()
    );
    assert_eq!(users.len(), names, "every sign-up is settled");
    assert!(
        items > 0 && tokens > 0,
        "the workload wrote items and minted tokens"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_survives_sigkill_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("keyslot.db");
    let url = format!("sqlite://{}", db.display());
    let run = Run {
        dir: dir.path(),
        seal: seal_key_file(dir.path()),
        migrate: false,
        integrity: integrity::Checker::Sqlite(db),
        url,
    };
    survive_kills(run, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_survives_sigkill_under_load() {
    let Some(url) = keyslot_store_tests::postgres::fresh_database_url("crash").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = Run {
        dir: dir.path(),
        seal: seal_key_file(dir.path()),
        migrate: true,
        integrity: integrity::Checker::Postgres(url.clone()),
        url: url.clone(),
    };
    survive_kills(run, "postgres").await;
    keyslot_store_tests::postgres::drop_database(&url).await;
}
