//! Key-lifecycle races a review found (issue 15), each forced to happen every time: two
//! use-case instances share one database (two servers), and instance A's store is
//! [`Gated`], whose hooks run B's request at the exact point of A's that the race needs.
//! On SQLite and PostgreSQL:
//!
//! - a read whose item the re-wrap moves (dropping the chain link below it) between the
//!   item's fetch and the chain walk reads the moved item, never 500;
//! - a member demoted to `read` between their write's key opening and its commit gets
//!   403 and the write is not there (create, update and delete);
//! - a rotation that loses every attempt (as to mints that keep changing the holders)
//!   answers the holder 503, retryable — never 404 — and a revocation waiting on it says
//!   so instead of a 204 while nothing rotated; a caller without a key still gets 404.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use keyslot_core::views::{Scope, TokenRequest};
use keyslot_core::{Config, Error, Keyslot, Principal, Store, StoreError};
use keyslot_crypto::{Id, LocalSealKey, Password, SealKey};
use keyslot_store::Schema;
use keyslot_store_tests::{Gate, Gated, HookFuture};
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";
const IP: &str = "127.0.0.1";

/// Two instances on one database: `a` through the hooks of `gated`, `b` straight on the
/// store (`raw`, also read by the checks as an attacker with the database would).
struct Pair {
    a: Keyslot,
    gated: Arc<Gated>,
    b: Keyslot,
    raw: Arc<dyn Store>,
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
    // A moves nothing on its own (so items stay under old versions until B moves them).
    let a = Keyslot::open(
        gated.clone(),
        seal.clone(),
        Config {
            rewrap_batch: 0,
            ..config.clone()
        },
    )
    .await
    .unwrap();
    let b = Keyslot::open(raw.clone(), seal, config).await.unwrap();
    Some(Pair {
        a,
        gated,
        b,
        raw,
        _dir: dir,
    })
}

/// A signed-up user: id, default vault, and a session credential both instances accept.
struct User {
    id: Id,
    vault: Id,
    session: String,
}

impl Pair {
    async fn user(&self, name: &str) -> User {
        let made = self
            .a
            .signup(name, Password::new(PASSWORD), IP)
            .await
            .unwrap();
        let login = self
            .a
            .login(name, Password::new(PASSWORD), IP, None)
            .await
            .unwrap();
        User {
            id: made.user_id,
            vault: made.vault_id,
            session: login.session.to_string(),
        }
    }
}

async fn on(ks: &Keyslot, user: &User) -> Principal {
    ks.authenticate_session(&user.session, None).await.unwrap()
}

/// The item key's version as stored.
async fn stored_version(raw: &dyn Store, owner: &User, item: &Id) -> u32 {
    raw.item(&owner.id, &owner.vault, item)
        .await
        .unwrap()
        .unwrap()
        .key_version
}

/// B writes one item to `owner`'s vault: a write advances the re-wrap, which moves every
/// item to the newest version and drops the chain links nothing is under any more.
fn b_writes_and_rewraps(p: &Pair, owner: &User) -> impl Fn() -> HookFuture + Send + Sync + use<> {
    let (b, session, vault) = (p.b.clone(), owner.session.clone(), owner.vault);
    move || {
        let (b, session) = (b.clone(), session.clone());
        Box::pin(async move {
            let principal = b.authenticate_session(&session, None).await.unwrap();
            b.create_item(&principal, &vault, "written by B", &json!("b"))
                .await
                .unwrap();
            None
        })
    }
}

async fn a_read_racing_the_rewrap_reads_the_moved_item(postgres: bool) {
    let name = format!(
        "read_racing_rewrap_{}",
        if postgres { "pg" } else { "sqlite" }
    );
    let Some(p) = pair(postgres, &name).await else {
        return;
    };
    let alice = p.user("alice").await;
    let pa = on(&p.a, &alice).await;
    let (x, _) =
        p.a.create_item(&pa, &alice.vault, "x", &json!("under version 1"))
            .await
            .unwrap();
    assert_eq!(p.a.rotate_vault(&pa, &alice.vault).await.unwrap(), 2);
    assert_eq!(stored_version(p.raw.as_ref(), &alice, &x).await, 1);

    // A fetched x under version 1; B's re-wrap moves it and drops the 2 -> 1 link before
    // A walks the chain.
    p.gated
        .before(Gate::ChainLinks, 1, b_writes_and_rewraps(&p, &alice));
    let read = p.a.get_item(&pa, &alice.vault, &x).await;
    assert_eq!(p.gated.hook_runs(Gate::ChainLinks), 1, "the race happened");
    assert_eq!(
        stored_version(p.raw.as_ref(), &alice, &x).await,
        2,
        "x moved"
    );
    let read = read.unwrap_or_else(|e| panic!("the read follows the moved item, got {e:?}"));
    assert_eq!(read.value, json!("under version 1"));

    // The same for a listing: rotated again, everything is under version 2 when A lists.
    assert_eq!(p.a.rotate_vault(&pa, &alice.vault).await.unwrap(), 3);
    p.gated
        .before(Gate::ChainLinks, 1, b_writes_and_rewraps(&p, &alice));
    let listed =
        p.a.list_items(&pa, &alice.vault)
            .await
            .unwrap_or_else(|e| panic!("the listing follows the moved items, got {e:?}"));
    assert_eq!(p.gated.hook_runs(Gate::ChainLinks), 1, "the race happened");
    assert_eq!(
        stored_version(p.raw.as_ref(), &alice, &x).await,
        3,
        "x moved"
    );
    let mut names: Vec<_> = listed.into_iter().map(|i| i.name).collect();
    names.sort();
    assert_eq!(names, ["written by B", "written by B", "x"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_racing_the_rewrap_reads_the_moved_item_sqlite() {
    a_read_racing_the_rewrap_reads_the_moved_item(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_racing_the_rewrap_reads_the_moved_item_postgres() {
    a_read_racing_the_rewrap_reads_the_moved_item(true).await;
}

/// B (the owner's other session) sets `member`'s role in the owner's vault.
fn b_sets_role(
    p: &Pair,
    owner: &User,
    member: &User,
    role: &'static str,
) -> impl Fn() -> HookFuture + Send + Sync + use<> {
    let (b, session, vault, member) = (p.b.clone(), owner.session.clone(), owner.vault, member.id);
    move || {
        let (b, session) = (b.clone(), session.clone());
        Box::pin(async move {
            let principal = b.authenticate_session(&session, None).await.unwrap();
            b.set_member_role(&principal, &vault, &member, role)
                .await
                .unwrap();
            None
        })
    }
}

fn is_forbidden<T: std::fmt::Debug>(r: &Result<T, Error>) -> bool {
    matches!(r, Err(Error::Forbidden(_)))
}

async fn a_write_demoted_before_its_commit_is_refused(postgres: bool) {
    let name = format!("write_demoted_{}", if postgres { "pg" } else { "sqlite" });
    let Some(p) = pair(postgres, &name).await else {
        return;
    };
    let alice = p.user("alice").await;
    let bob = p.user("bob").await;
    let pa = on(&p.a, &alice).await;
    p.a.add_member(&pa, &alice.vault, "bob", "write")
        .await
        .unwrap();
    let pbob = on(&p.a, &bob).await;
    let (kept, _) =
        p.a.create_item(&pbob, &alice.vault, "kept", &json!("bob wrote it"))
            .await
            .expect("a write member writes");
    let items = |p: &Pair| {
        let (a, session, vault) = (p.a.clone(), alice.session.clone(), alice.vault);
        async move {
            let principal = a.authenticate_session(&session, None).await.unwrap();
            let mut names: Vec<_> = a
                .list_items(&principal, &vault)
                .await
                .unwrap()
                .into_iter()
                .map(|i| (i.name, i.version))
                .collect();
            names.sort();
            names
        }
    };

    // Create: bob opened the key as a writer; the owner demotes him before the commit.
    p.gated
        .before(Gate::CreateItem, 1, b_sets_role(&p, &alice, &bob, "read"));
    let late =
        p.a.create_item(&pbob, &alice.vault, "late", &json!("after the demotion"))
            .await;
    assert_eq!(p.gated.hook_runs(Gate::CreateItem), 1, "the race happened");
    assert!(is_forbidden(&late), "{late:?}");
    assert_eq!(items(&p).await, [("kept".to_owned(), 1)]);

    // Update, the same.
    b_sets_role(&p, &alice, &bob, "write")().await;
    p.gated
        .before(Gate::UpdateItem, 1, b_sets_role(&p, &alice, &bob, "read"));
    let late =
        p.a.update_item(&pbob, &alice.vault, &kept, "kept", &json!("changed"), None)
            .await;
    assert_eq!(p.gated.hook_runs(Gate::UpdateItem), 1, "the race happened");
    assert!(is_forbidden(&late), "{late:?}");
    let read = p.a.get_item(&pa, &alice.vault, &kept).await.unwrap();
    assert_eq!((read.version, read.value), (1, json!("bob wrote it")));

    // Delete, the same.
    b_sets_role(&p, &alice, &bob, "write")().await;
    p.gated
        .before(Gate::DeleteItem, 1, b_sets_role(&p, &alice, &bob, "read"));
    let late = p.a.delete_item(&pbob, &alice.vault, &kept).await;
    assert_eq!(p.gated.hook_runs(Gate::DeleteItem), 1, "the race happened");
    assert!(is_forbidden(&late), "{late:?}");
    assert_eq!(items(&p).await, [("kept".to_owned(), 1)]);

    // Without a demotion in between, the same writes go through.
    b_sets_role(&p, &alice, &bob, "write")().await;
    p.a.update_item(&pbob, &alice.vault, &kept, "kept", &json!("changed"), None)
        .await
        .unwrap();
    p.a.delete_item(&pbob, &alice.vault, &kept).await.unwrap();
    assert_eq!(items(&p).await, []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_demoted_before_its_commit_is_refused_sqlite() {
    a_write_demoted_before_its_commit_is_refused(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_demoted_before_its_commit_is_refused_postgres() {
    a_write_demoted_before_its_commit_is_refused(true).await;
}

/// Every rotation A tries loses, as when mints keep changing the vault's holders between
/// its holder read and its commit (the store answers `KeyVersionMoved` then too).
fn every_rotation_loses() -> HookFuture {
    Box::pin(async { Some(StoreError::KeyVersionMoved) })
}

fn is_unavailable<T: std::fmt::Debug>(r: &Result<T, Error>) -> bool {
    matches!(r, Err(Error::Unavailable { retry_after }) if *retry_after >= 1)
}

async fn a_starved_rotation_is_503_never_404_or_a_false_204(postgres: bool) {
    let name = format!(
        "starved_rotation_{}",
        if postgres { "pg" } else { "sqlite" }
    );
    let Some(p) = pair(postgres, &name).await else {
        return;
    };
    let alice = p.user("alice").await;
    let bob = p.user("bob").await;
    let pa = on(&p.a, &alice).await;
    let pbob = on(&p.a, &bob).await;
    let (x, _) =
        p.a.create_item(&pa, &alice.vault, "x", &json!("v"))
            .await
            .unwrap();
    let minted =
        p.a.mint_token(
            &pa,
            Password::new(PASSWORD),
            TokenRequest {
                name: "ci".into(),
                vaults: Scope::Vaults(vec![alice.vault]),
                can_write: false,
                deposit: false,
                expires_in_seconds: None,
            },
            IP,
        )
        .await
        .unwrap();

    p.gated
        .before(Gate::RotateVault, usize::MAX, every_rotation_loses);
    // The revocation commits (the token is gone, the vault due), but the rotation it
    // waits on never does: 503, not a 204 claiming it ran.
    let revoked = p.a.revoke_token(&pa, &minted.id, true).await;
    assert!(is_unavailable(&revoked), "{revoked:?}");
    assert!(p.gated.hook_runs(Gate::RotateVault) > 1, "it was retried");
    assert_eq!(
        p.raw.vault_key_version(&alice.vault).await.unwrap(),
        Some(1)
    );
    // The holder's read runs the due rotation first: 503 (retry), never 404.
    let read = p.a.get_item(&pa, &alice.vault, &x).await;
    assert!(is_unavailable(&read), "{read:?}");
    // Who holds no key of the vault still gets 404, at once.
    let outsider = p.a.get_item(&pbob, &alice.vault, &x).await;
    assert!(matches!(outsider, Err(Error::NotFound)), "{outsider:?}");

    // Once rotations can commit, the same read rotates first and answers.
    p.gated.disarm(Gate::RotateVault);
    let read = p.a.get_item(&pa, &alice.vault, &x).await.unwrap();
    assert_eq!(read.value, json!("v"));
    assert_eq!(
        p.raw.vault_key_version(&alice.vault).await.unwrap(),
        Some(2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_starved_rotation_is_503_never_404_or_a_false_204_sqlite() {
    a_starved_rotation_is_503_never_404_or_a_false_204(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_starved_rotation_is_503_never_404_or_a_false_204_postgres() {
    a_starved_rotation_is_503_never_404_or_a_false_204(true).await;
}
