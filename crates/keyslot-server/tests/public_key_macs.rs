//! A missing public-key MAC is never trusted (issue 14/15, DESIGN §3.1). A database from
//! before public-key MACs gets them once, at the first start of this version (marked in
//! `meta`); from then on a row without a MAC is refused exactly like a row with a wrong
//! one, so whoever can write one row cannot put their own public key in a victim's row,
//! clear its MAC and receive the victim's next grant. On SQLite and on PostgreSQL (when
//! `KEYSLOT_TEST_DATABASE_URL` is set; always in CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Auth, PASSWORD, TestServer};
use reqwest::StatusCode;
use serde_json::json;

/// Where the server's rows are: its SQLite file, or a PostgreSQL database.
struct Db {
    url: Option<String>,
}

impl Db {
    /// Run `sql` with byte arguments; the number of rows it touched.
    async fn exec(&self, s: &TestServer, sql: &str, args: &[&[u8]]) -> u64 {
        match &self.url {
            Some(url) => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for a in args {
                    q = q.bind(a.to_vec());
                }
                q.execute(&pool).await.unwrap().rows_affected()
            }
            None => {
                let pool = s.db().await;
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for a in args {
                    q = q.bind(a.to_vec());
                }
                q.execute(&pool).await.unwrap().rows_affected()
            }
        }
    }

    /// `SELECT COUNT(*) ...` with byte arguments.
    async fn count(&self, s: &TestServer, sql: &str, args: &[&[u8]]) -> i64 {
        match &self.url {
            Some(url) => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
                for a in args {
                    q = q.bind(a.to_vec());
                }
                q.fetch_one(&pool).await.unwrap()
            }
            None => {
                let pool = s.db().await;
                let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
                for a in args {
                    q = q.bind(a.to_vec());
                }
                q.fetch_one(&pool).await.unwrap()
            }
        }
    }
}

async fn database(postgres: bool, name: &str) -> Option<Db> {
    if postgres {
        let url = keyslot_store_tests::postgres::fresh_database_url(name).await?;
        Some(Db { url: Some(url) })
    } else {
        Some(Db { url: None })
    }
}

/// A server on `db`, over `data_dir` (its seal key) when given: a restart of the same
/// deployment.
async fn start(db: &Db, data_dir: Option<&std::path::Path>) -> TestServer {
    let url = db.url.clone();
    let dir = data_dir.map(std::path::Path::to_path_buf);
    TestServer::start_with(move |c| {
        c.database_url = url;
        if let Some(dir) = dir {
            c.data_dir = dir;
        }
    })
    .await
}

fn id_bytes(text: &str) -> Vec<u8> {
    text.parse::<keyslot_crypto::Id>()
        .unwrap()
        .as_bytes()
        .to_vec()
}

async fn a_missing_mac_is_refused_like_a_wrong_one(postgres: bool) {
    let Some(db) = database(postgres, "missing public key mac").await else {
        return;
    };
    let s = start(&db, None).await;
    let a = s.signup("xena").await;
    let session = s.session("xena", PASSWORD).await;
    let (attacker, _) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let (victim, victim_secret) = s.mint(&session, json!([a.vault]), json!(["read"])).await;
    let victim_id = id_bytes(&victim);
    // The attacker's public key in the victim's row, and the MAC that would betray it
    // cleared.
    let touched = db
        .exec(
            &s,
            "UPDATE tokens SET x25519_public = (SELECT x25519_public FROM tokens WHERE id = $1), \
             public_key_mac = NULL WHERE id = $2",
            &[&id_bytes(&attacker), &victim_id],
        )
        .await;
    assert_eq!(touched, 1);
    let rotate = format!("/v1/vaults/{}/rotate", a.vault);
    let r = s.post(&rotate, &session, json!({})).await;
    r.problem(StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!r.text.contains(&victim), "no internals: {}", r.text);
    // Nothing sealed to the victim's row, and the vault did not move.
    let grants = db
        .count(
            &s,
            "SELECT COUNT(*) FROM token_grants WHERE token_id = $1",
            &[&victim_id],
        )
        .await;
    assert_eq!(grants, 0, "a grant was sealed to a key without a MAC");
    let state = s.get(&format!("/v1/vaults/{}", a.vault), &session).await;
    assert_eq!(state.body["key_version"], 1, "{}", state.text);
    let audit = s.get("/v1/audit?action=key.public_key_mac", &session).await;
    let events = audit.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{}", audit.text);
    assert_eq!(events[0]["outcome"], "failed");

    // The victim's own key back, its MAC still missing: still refused (a missing MAC
    // is not filled in at need any more).
    let own = keyslot_crypto::TokenKeyPair::derive(
        &keyslot_crypto::TokenCredential::parse(&victim_secret).unwrap(),
    )
    .public_key()
    .as_bytes()
    .to_vec();
    db.exec(
        &s,
        "UPDATE tokens SET x25519_public = $1 WHERE id = $2",
        &[&own, &victim_id],
    )
    .await;
    let r = s.post(&rotate, &session, json!({})).await;
    r.problem(StatusCode::INTERNAL_SERVER_ERROR);
    let missing = db
        .count(
            &s,
            "SELECT COUNT(*) FROM tokens WHERE id = $1 AND public_key_mac IS NULL",
            &[&victim_id],
        )
        .await;
    assert_eq!(
        missing, 1,
        "the rotation wrote a MAC for a row it was given"
    );
    let audit = s.get("/v1/audit?action=key.public_key_mac", &session).await;
    assert_eq!(audit.body["events"].as_array().unwrap().len(), 2);
    // The victim still reads what it could (it lost nothing but the rotation).
    let item = s.create_item(&session, &a.vault, "x", json!(1)).await;
    let r = s
        .get(
            &format!("/v1/vaults/{}/items/{item}", a.vault),
            &Auth::Token(victim_secret),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

async fn an_upgraded_database_gets_its_macs_once_at_the_next_start(postgres: bool) {
    let Some(db) = database(postgres, "public key mac backfill").await else {
        return;
    };
    // `first` names the deployment's files (its data directory, its SQLite file) for
    // the restarts and for reading rows.
    let mut first = start(&db, None).await;
    let a = first.signup("yuri").await;
    let session = first.session("yuri", PASSWORD).await;
    let (_, token) = first
        .mint(&session, json!([a.vault]), json!(["read"]))
        .await;
    first.signup("zoe").await;
    let count_missing = "SELECT (SELECT COUNT(*) FROM tokens WHERE public_key_mac IS NULL) \
                         + (SELECT COUNT(*) FROM users WHERE x25519_public_mac IS NULL)";
    assert_eq!(db.count(&first, count_missing, &[]).await, 0);
    // As a database from before public-key MACs: every MAC NULL.
    db.exec(&first, "UPDATE tokens SET public_key_mac = NULL", &[])
        .await;
    db.exec(&first, "UPDATE users SET x25519_public_mac = NULL", &[])
        .await;
    assert_eq!(db.count(&first, count_missing, &[]).await, 3);
    first.stop().await;

    // Restarted with the backfill already marked done: nothing is filled in, and the
    // rotation refuses the keys without MACs.
    let mut second = start(&db, Some(&first.data_dir)).await;
    assert_eq!(db.count(&first, count_missing, &[]).await, 3);
    let session = second.session("yuri", PASSWORD).await;
    let rotate = format!("/v1/vaults/{}/rotate", a.vault);
    second
        .post(&rotate, &session, json!({}))
        .await
        .problem(StatusCode::INTERNAL_SERVER_ERROR);
    second.stop().await;

    // As a database this version never opened: the mark gone too. The next start gives
    // every row its MAC, and rotations work.
    let cleared = db
        .exec(
            &first,
            "DELETE FROM meta WHERE key = 'public_key_macs_backfilled'",
            &[],
        )
        .await;
    assert_eq!(cleared, 1);
    let third = start(&db, Some(&first.data_dir)).await;
    assert_eq!(db.count(&first, count_missing, &[]).await, 0);
    let session = third.session("yuri", PASSWORD).await;
    let r = third.post(&rotate, &session, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let state = third
        .get(&format!("/v1/vaults/{}", a.vault), &session)
        .await;
    assert_eq!(state.body["key_version"], 2, "{}", state.text);
    // The token reads an item written after the rotation, through its grant.
    let item = third
        .create_item(&session, &a.vault, "after", json!(2))
        .await;
    let r = third
        .get(
            &format!("/v1/vaults/{}/items/{item}", a.vault),
            &Auth::Token(token),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn a_missing_mac_is_refused_like_a_wrong_one_sqlite() {
    a_missing_mac_is_refused_like_a_wrong_one(false).await;
}

#[tokio::test]
async fn a_missing_mac_is_refused_like_a_wrong_one_postgres() {
    a_missing_mac_is_refused_like_a_wrong_one(true).await;
}

#[tokio::test]
async fn an_upgraded_database_gets_its_macs_once_at_the_next_start_sqlite() {
    an_upgraded_database_gets_its_macs_once_at_the_next_start(false).await;
}

#[tokio::test]
async fn an_upgraded_database_gets_its_macs_once_at_the_next_start_postgres() {
    an_upgraded_database_gets_its_macs_once_at_the_next_start(true).await;
}
