//! A login racing a password change: the login verified the old password, then the change
//! commits before the login's session does. The login must yield nothing (no session, and
//! its slot upgrade never overwrites the new password's), and the new password works.
//! Also the per-user session cap: past it, a login ends the oldest session.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use keyslot_core::{Config, Error, Keyslot, Store};
use keyslot_crypto::{LocalSealKey, Password};
use keyslot_store::Schema;
use keyslot_store_tests::Gated;

const OLD: &str = "correct horse battery staple";
const NEW: &str = "a different long passphrase 7";
const IP: &str = "127.0.0.1";

async fn keyslot_over(dir: &std::path::Path, config: Config) -> (Keyslot, Arc<Gated>) {
    let url = format!("sqlite://{}", dir.join("keyslot.db").display());
    let store: Arc<dyn Store> = Arc::new(keyslot_store::open(&url, Schema::Migrate).await.unwrap());
    let gated = Arc::new(Gated::new(store, 1, &[]));
    let keyslot = Keyslot::open(
        gated.clone(),
        Arc::new(LocalSealKey::generate().unwrap()),
        Config {
            sweep_interval_secs: 0,
            ..config
        },
    )
    .await
    .unwrap();
    (keyslot, gated)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_that_verified_the_old_password_yields_nothing_after_the_change() {
    let dir = tempfile::tempdir().unwrap();
    let (keyslot, gated) = keyslot_over(dir.path(), Config::default()).await;
    keyslot
        .signup("ruth", Password::new(OLD), IP)
        .await
        .unwrap();
    let first = keyslot
        .login("ruth", Password::new(OLD), IP, None)
        .await
        .unwrap();
    let principal = keyslot
        .authenticate_session(&first.session, None)
        .await
        .unwrap();

    gated.hold_logins_until_password_change();
    let racing = {
        let keyslot = keyslot.clone();
        tokio::spawn(async move { keyslot.login("ruth", Password::new(OLD), IP, None).await })
    };
    // The racing login has verified the old password and waits to commit its session.
    let deadline = Instant::now() + Duration::from_secs(20);
    while gated.held_logins() == 0 {
        assert!(
            Instant::now() < deadline,
            "the login never reached its commit"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    keyslot
        .change_password(
            &principal,
            Password::new(OLD),
            Password::new(NEW),
            true,
            false,
        )
        .await
        .unwrap();
    let late = racing.await.unwrap();
    assert!(
        matches!(late, Err(Error::Unauthorized)),
        "a login that verified a replaced password must fail, got {:?}",
        late.map(|_| "a session")
    );
    assert!(matches!(
        keyslot.login("ruth", Password::new(OLD), IP, None).await,
        Err(Error::Unauthorized)
    ));
    keyslot
        .login("ruth", Password::new(NEW), IP, None)
        .await
        .expect("the new password works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_session_cap_a_login_ends_the_oldest_session() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        max_sessions_per_user: 3,
        ..Config::default()
    };
    let (keyslot, _) = keyslot_over(dir.path(), config).await;
    keyslot.signup("sam", Password::new(OLD), IP).await.unwrap();
    let mut sessions = Vec::new();
    for _ in 0..4 {
        sessions.push(
            keyslot
                .login("sam", Password::new(OLD), IP, None)
                .await
                .unwrap(),
        );
    }
    assert!(
        keyslot
            .authenticate_session(&sessions[0].session, None)
            .await
            .is_err(),
        "the oldest session ended"
    );
    for s in &sessions[1..] {
        keyslot
            .authenticate_session(&s.session, None)
            .await
            .unwrap();
    }
}
