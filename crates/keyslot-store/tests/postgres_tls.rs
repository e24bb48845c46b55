//! PostgreSQL over TLS: `sslmode=verify-full` with the server's CA opens the store, the
//! connection is encrypted, and a CA that did not sign the server's certificate is refused.
//! Runs when `KEYSLOT_TEST_DATABASE_URL` and `KEYSLOT_TEST_PG_TLS_CA` (the PEM certificate
//! that signed the server's, issued for `localhost`) are set; `.ci/run` sets both, and under
//! CI a missing one fails instead of skipping.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyslot_core::Store as _;
use keyslot_store::Schema;
use sqlx::Connection as _;

fn tls_ca() -> Option<String> {
    match std::env::var("KEYSLOT_TEST_PG_TLS_CA") {
        Ok(path) => Some(path),
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "KEYSLOT_TEST_PG_TLS_CA is not set, and CI must run the PostgreSQL TLS test (.ci/run sets it)"
            );
            eprintln!("SKIPPED postgres TLS: KEYSLOT_TEST_PG_TLS_CA is not set (CI sets it)");
            None
        }
    }
}

/// `url` with its host replaced by `localhost` (the name the certificate is for) and `tls`
/// appended as query parameters.
fn over_tls(url: &str, tls: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let (userinfo, hostport) = authority
        .rsplit_once('@')
        .map_or(("", authority), |(u, h)| (u, h));
    let port = hostport.rsplit_once(':').map_or("5432", |(_, p)| p);
    let at = if userinfo.is_empty() {
        String::new()
    } else {
        format!("{userinfo}@")
    };
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{scheme}://{at}localhost:{port}/{path}{sep}{tls}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_speaks_tls_to_postgres_and_checks_the_server_certificate() {
    let Some(ca) = tls_ca() else { return };
    let Some(url) = keyslot_store_tests::postgres::fresh_database_url("postgres TLS").await else {
        return;
    };
    let verified = over_tls(&url, &format!("sslmode=verify-full&sslrootcert={ca}"));
    let store = keyslot_store::open(&verified, Schema::Migrate)
        .await
        .expect("verify-full with the server's CA");
    store.ping().await.unwrap();
    assert!(store.meta("nothing-here").await.unwrap().is_none());

    // The same options give an encrypted connection, as the server sees it.
    let mut conn = sqlx::PgConnection::connect(&verified).await.unwrap();
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(encrypted, "the connection is not encrypted");

    // A CA that did not sign the server's certificate: refused, nothing sent.
    let dir = tempfile::tempdir().unwrap();
    let stranger = dir.path().join("stranger.pem");
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(&stranger, other.cert.pem()).unwrap();
    let wrong = over_tls(
        &url,
        &format!("sslmode=verify-full&sslrootcert={}", stranger.display()),
    );
    let refused = keyslot_store::open(&wrong, Schema::Migrate).await;
    assert!(
        refused.is_err(),
        "a server certificate from another CA was accepted"
    );
}
