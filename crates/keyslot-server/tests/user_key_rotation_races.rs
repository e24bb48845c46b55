//! Credential changes racing a user-key rotation (issue 15, DESIGN §3.1), each forced to
//! happen every time: two use-case instances share one database, and instance A's store
//! is [`Gated`], whose hooks run B's rotation at the exact point of A's request that the
//! race needs — after A opened the old user key, before A's store call commits. On SQLite
//! and PostgreSQL:
//!
//! - a recovery that opened the recovery slot before the rotation: 409, nothing changed,
//!   and the account still opens with the password, then with the code;
//! - a password change (by the very session that rotates) that opened the password slot
//!   before the rotation: 409, nothing changed, the account still opens;
//! - a token mint by the very session that rotates, whose name key is wrapped under the
//!   old user key: 409, no token; minted again, its name lists;
//! - "recover and rotate" when the recovery's new code could not get its public key
//!   stored (so the rotation had to replace that code too): the code it answers is the
//!   one that works.
//!
//! Before the store calls checked what they read, the first two wrote a password slot for
//! the dead user key (the account was bricked) and the mint a name nothing opens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use keyslot_core::views::{Scope, TokenRequest};
use keyslot_core::{Config, Error, Keyslot, Store};
use keyslot_crypto::{Id, LocalSealKey, Password, SealKey};
use keyslot_store::Schema;
use keyslot_store_tests::{Gate, Gated, HookFuture};
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";
const NEW_PASSWORD: &str = "a different horse, stapled";
const IP: &str = "127.0.0.1";

/// Two instances on one database: `a` through the hooks of `gated`, `b` straight on it.
struct Pair {
    a: Keyslot,
    gated: Arc<Gated>,
    b: Keyslot,
    _dir: tempfile::TempDir,
}

/// `None` when PostgreSQL is asked for but not configured (and this is not CI).
async fn pair(postgres: bool, name: &str) -> Option<Pair> {
    let dir = tempfile::tempdir().unwrap();
    let url = if postgres {
        keyslot_store_tests::postgres::fresh_database_url(name).await?
    } else {
        format!("sqlite://{}", dir.path().join("keyslot.db").display())
    };
    let raw: Arc<dyn Store> = Arc::new(keyslot_store::open(&url, Schema::Migrate).await.unwrap());
    let gated = Arc::new(Gated::new(raw.clone(), 1, &[]));
    let seal: Arc<dyn SealKey> = Arc::new(LocalSealKey::generate().unwrap());
    let config = Config {
        sweep_interval_secs: 0,
        ..Config::default()
    };
    let a = Keyslot::open(gated.clone(), seal.clone(), config.clone())
        .await
        .unwrap();
    let b = Keyslot::open(raw, seal, config).await.unwrap();
    Some(Pair {
        a,
        gated,
        b,
        _dir: dir,
    })
}

/// A signed-up user with one item in their vault.
struct User {
    name: &'static str,
    vault: Id,
    item: Id,
    session: String,
    recovery_code: String,
}

async fn user(ks: &Keyslot, name: &'static str) -> User {
    let made = ks.signup(name, Password::new(PASSWORD), IP).await.unwrap();
    let session = ks
        .login(name, Password::new(PASSWORD), IP, None)
        .await
        .unwrap()
        .session
        .to_string();
    let principal = ks.authenticate_session(&session, None).await.unwrap();
    let (item, _) = ks
        .create_item(&principal, &made.vault_id, "kept", &json!("still here"))
        .await
        .unwrap();
    User {
        name,
        vault: made.vault_id,
        item,
        session,
        recovery_code: made.recovery_code.to_string(),
    }
}

/// B rotates `user`'s key with their session (kept and re-keyed by the rotation) and
/// `password`.
fn b_rotates(
    p: &Pair,
    user: &User,
    password: &'static str,
) -> impl Fn() -> HookFuture + Send + Sync + use<> {
    let (b, session) = (p.b.clone(), user.session.clone());
    move || {
        let (b, session) = (b.clone(), session.clone());
        Box::pin(async move {
            let principal = b.authenticate_session(&session, None).await.unwrap();
            b.rotate_user_key(&principal, &session, Password::new(password), false, IP)
                .await
                .unwrap();
            None
        })
    }
}

/// The item reads with a fresh login with `password`.
async fn opens_with(ks: &Keyslot, user: &User, password: &str) {
    let session = ks
        .login(user.name, Password::new(password), IP, None)
        .await
        .unwrap_or_else(|e| panic!("login with the password: {e:?}"))
        .session;
    let principal = ks.authenticate_session(&session, None).await.unwrap();
    let read = ks
        .get_item(&principal, &user.vault, &user.item)
        .await
        .unwrap_or_else(|e| panic!("the account no longer opens its data: {e:?}"));
    assert_eq!(read.value, json!("still here"));
}

async fn a_recovery_racing_a_rotation_changes_nothing(postgres: bool) {
    let name = format!(
        "recover_racing_ukr_{}",
        if postgres { "pg" } else { "sqlite" }
    );
    let Some(p) = pair(postgres, &name).await else {
        return;
    };
    let u = user(&p.a, "rita").await;
    // A opened the recovery slot (the old user key) and made the new password slot; B's
    // rotation commits before A's store call.
    p.gated
        .before(Gate::Recover, 1, b_rotates(&p, &u, PASSWORD));
    let recovered =
        p.a.recover(
            u.name,
            &u.recovery_code,
            Password::new(NEW_PASSWORD),
            false,
            IP,
        )
        .await;
    assert_eq!(p.gated.hook_runs(Gate::Recover), 1, "the race happened");
    assert!(
        matches!(recovered, Err(Error::Conflict(_))),
        "409, nothing changed: {recovered:?}"
    );
    // The password still opens everything; so does the code, tried again.
    opens_with(&p.b, &u, PASSWORD).await;
    p.gated.disarm(Gate::Recover);
    p.a.recover(
        u.name,
        &u.recovery_code,
        Password::new(NEW_PASSWORD),
        false,
        IP,
    )
    .await
    .unwrap();
    opens_with(&p.b, &u, NEW_PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_racing_a_rotation_changes_nothing_sqlite() {
    a_recovery_racing_a_rotation_changes_nothing(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovery_racing_a_rotation_changes_nothing_postgres() {
    a_recovery_racing_a_rotation_changes_nothing(true).await;
}

async fn a_password_change_racing_a_rotation_changes_nothing(postgres: bool) {
    let name = format!(
        "pwchange_racing_ukr_{}",
        if postgres { "pg" } else { "sqlite" }
    );
    let Some(p) = pair(postgres, &name).await else {
        return;
    };
    let u = user(&p.a, "pete").await;
    // The same session asks for both: A opened the password slot (the old user key) and
    // made the new one; B's rotation (keeping and re-keying that session) commits first.
    p.gated
        .before(Gate::ChangePassword, 1, b_rotates(&p, &u, PASSWORD));
    let principal = p.a.authenticate_session(&u.session, None).await.unwrap();
    let changed =
        p.a.change_password(
            &principal,
            Password::new(PASSWORD),
            Password::new(NEW_PASSWORD),
            false,
            false,
        )
        .await;
    assert_eq!(
        p.gated.hook_runs(Gate::ChangePassword),
        1,
        "the race happened"
    );
    assert!(
        matches!(changed, Err(Error::Conflict(_))),
        "409, nothing changed: {changed:?}"
    );
    opens_with(&p.b, &u, PASSWORD).await;
    // Asked again (with the re-keyed session), it changes the password.
    p.gated.disarm(Gate::ChangePassword);
    let principal = p.a.authenticate_session(&u.session, None).await.unwrap();
    p.a.change_password(
        &principal,
        Password::new(PASSWORD),
        Password::new(NEW_PASSWORD),
        false,
        false,
    )
    .await
    .unwrap();
    opens_with(&p.b, &u, NEW_PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_racing_a_rotation_changes_nothing_sqlite() {
    a_password_change_racing_a_rotation_changes_nothing(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_racing_a_rotation_changes_nothing_postgres() {
    a_password_change_racing_a_rotation_changes_nothing(true).await;
}

fn mint_request(vault: Id) -> TokenRequest {
    TokenRequest {
        name: "ci".into(),
        vaults: Scope::Vaults(vec![vault]),
        can_write: false,
        deposit: false,
        expires_in_seconds: None,
    }
}

/// A deposit token's mint racing the same session's rotation: 409, no token (its name key
/// would be under the dead user key); minted again, its name lists.
async fn a_deposit_mint_racing_a_rotation_mints_nothing(postgres: bool) {
    let name = format!(
        "dmint_racing_ukr_{}",
        if postgres { "pg" } else { "sqlite" }
    );
    let Some(p) = pair(postgres, &name).await else {
        return;
    };
    let u = user(&p.a, "dina").await;
    let deposit = || TokenRequest {
        deposit: true,
        ..mint_request(u.vault)
    };
    p.gated
        .before(Gate::CreateToken, 1, b_rotates(&p, &u, PASSWORD));
    let principal = p.a.authenticate_session(&u.session, None).await.unwrap();
    let minted =
        p.a.mint_token(&principal, Password::new(PASSWORD), deposit(), IP)
            .await;
    assert_eq!(p.gated.hook_runs(Gate::CreateToken), 1, "the race happened");
    assert!(
        matches!(minted, Err(Error::Conflict(_))),
        "409, no token: {:?}",
        minted.map(|_| "minted")
    );
    p.gated.disarm(Gate::CreateToken);
    let principal = p.b.authenticate_session(&u.session, None).await.unwrap();
    assert!(p.b.list_tokens(&principal).await.unwrap().is_empty());
    p.a.mint_token(&principal, Password::new(PASSWORD), deposit(), IP)
        .await
        .unwrap();
    let listed = p.b.list_tokens(&principal).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "ci");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_mint_racing_a_rotation_mints_nothing_sqlite() {
    a_deposit_mint_racing_a_rotation_mints_nothing(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_mint_racing_a_rotation_mints_nothing_postgres() {
    a_deposit_mint_racing_a_rotation_mints_nothing(true).await;
}

async fn a_mint_racing_a_rotation_mints_nothing(postgres: bool) {
    let name = format!("mint_racing_ukr_{}", if postgres { "pg" } else { "sqlite" });
    let Some(p) = pair(postgres, &name).await else {
        return;
    };
    let u = user(&p.a, "mina").await;
    // The same session asks for both: A wrapped the token's name key under the old user
    // key; B's rotation (keeping and re-keying that session) commits before A's store call.
    p.gated
        .before(Gate::CreateToken, 1, b_rotates(&p, &u, PASSWORD));
    let principal = p.a.authenticate_session(&u.session, None).await.unwrap();
    let minted =
        p.a.mint_token(
            &principal,
            Password::new(PASSWORD),
            mint_request(u.vault),
            IP,
        )
        .await;
    assert_eq!(p.gated.hook_runs(Gate::CreateToken), 1, "the race happened");
    assert!(
        matches!(minted, Err(Error::Conflict(_))),
        "409, no token: {:?}",
        minted.map(|_| "minted")
    );
    p.gated.disarm(Gate::CreateToken);
    let principal = p.b.authenticate_session(&u.session, None).await.unwrap();
    assert!(p.b.list_tokens(&principal).await.unwrap().is_empty());
    // Asked again (with the re-keyed session), it mints, and its name lists.
    p.a.mint_token(
        &principal,
        Password::new(PASSWORD),
        mint_request(u.vault),
        IP,
    )
    .await
    .unwrap();
    let listed = p.b.list_tokens(&principal).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "ci");
    opens_with(&p.b, &u, PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mint_racing_a_rotation_mints_nothing_sqlite() {
    a_mint_racing_a_rotation_mints_nothing(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mint_racing_a_rotation_mints_nothing_postgres() {
    a_mint_racing_a_rotation_mints_nothing(true).await;
}

async fn recover_and_rotate_answers_the_code_that_works(postgres: bool) {
    let name = format!(
        "recover_rotate_code_{}",
        if postgres { "pg" } else { "sqlite" }
    );
    let Some(p) = pair(postgres, &name).await else {
        return;
    };
    let u = user(&p.a, "rosa").await;
    // The recovery's new code is stored without its public key (best effort, and here it
    // fails), so the rotation that follows cannot seal to it and issues another code.
    p.gated.before(Gate::RecoveryPublicKey, 1, || {
        Box::pin(async { Some(keyslot_core::StoreError::Unavailable("hooked".into())) })
    });
    let (code, done) =
        p.a.recover_and_rotate(
            u.name,
            &u.recovery_code,
            Password::new(NEW_PASSWORD),
            false,
            IP,
        )
        .await
        .unwrap();
    assert_eq!(
        p.gated.hook_runs(Gate::RecoveryPublicKey),
        1,
        "the publish failed"
    );
    assert!(
        done.recovery_code.is_none(),
        "one code is answered, not two"
    );
    opens_with(&p.b, &u, NEW_PASSWORD).await;
    // The answered code recovers the account.
    p.b.recover(u.name, &code, Password::new(PASSWORD), false, IP)
        .await
        .unwrap_or_else(|e| panic!("the code recover_and_rotate answered is dead: {e:?}"));
    opens_with(&p.b, &u, PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_and_rotate_answers_the_code_that_works_sqlite() {
    recover_and_rotate_answers_the_code_that_works(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_and_rotate_answers_the_code_that_works_postgres() {
    recover_and_rotate_answers_the_code_that_works(true).await;
}

/// A user-key rotation whose vault rotations all fail after its swap committed still
/// answers, with the recovery code the swap had to replace: that answer is the only copy
/// of it. The vaults are left due and rotate at their next use.
async fn a_rotation_whose_vaults_fail_still_answers_the_new_code(postgres: bool) {
    let name = format!("ukr_vaults_fail_{}", if postgres { "pg" } else { "sqlite" });
    let Some(p) = pair(postgres, &name).await else {
        return;
    };
    let u = user(&p.a, "vera").await;
    // A recovery code whose public key could not be stored: a rotation must replace it.
    p.gated.before(Gate::RecoveryPublicKey, 1, || {
        Box::pin(async { Some(keyslot_core::StoreError::Unavailable("hooked".into())) })
    });
    p.a.recover(
        u.name,
        &u.recovery_code,
        Password::new(NEW_PASSWORD),
        false,
        IP,
    )
    .await
    .unwrap();
    let session =
        p.a.login(u.name, Password::new(NEW_PASSWORD), IP, None)
            .await
            .unwrap()
            .session
            .to_string();
    let principal = p.a.authenticate_session(&session, None).await.unwrap();
    // Every vault rotation after the swap fails.
    p.gated.before(Gate::RotateVault, 1000, || {
        Box::pin(async { Some(keyslot_core::StoreError::Unavailable("hooked".into())) })
    });
    let done =
        p.a.rotate_user_key(&principal, &session, Password::new(NEW_PASSWORD), false, IP)
            .await
            .unwrap_or_else(|e| panic!("the swap committed, yet the rotation answered {e:?}"));
    assert!(
        p.gated.disarm(Gate::RotateVault) >= 1,
        "a vault rotation was tried"
    );
    assert_eq!(done.vaults_rotated, 0);
    assert!(done.vaults_due >= 1, "{done:?}");
    let fresh = done
        .recovery_code
        .as_ref()
        .expect("the code the swap issued is answered")
        .to_string();
    // That code recovers the account, and everything still opens.
    p.b.recover(u.name, &fresh, Password::new(PASSWORD), false, IP)
        .await
        .unwrap_or_else(|e| panic!("the answered code is dead: {e:?}"));
    opens_with(&p.b, &u, PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_whose_vaults_fail_still_answers_the_new_code_sqlite() {
    a_rotation_whose_vaults_fail_still_answers_the_new_code(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_whose_vaults_fail_still_answers_the_new_code_postgres() {
    a_rotation_whose_vaults_fail_still_answers_the_new_code(true).await;
}
