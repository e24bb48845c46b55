//! What the complete audit trail (issue 14) costs a token's item read: the hot path of
//! `bench/run`, measured below HTTP (`Keyslot::get_item_with_token`: one store query, the
//! token check, the decryption, the queued `item.read` event) so the difference is not
//! lost in the noise of sockets.
//!
//! `with_address` is the read as served now (the event carries the client address);
//! `without_address` is the same read with no address known. The buffer's fast path
//! (`try_send`) is the one the read path always had, so `without_address` stands for the
//! read before issue 14, and the difference is what the address costs. Allocations per
//! read are counted by divan's allocation profiler.
//!
//! `cargo bench -p keyslot-server --bench audit_cost`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};

use keyslot_core::Keyslot;
use keyslot_core::views::{Scope, TokenRequest};
use keyslot_crypto::{Id, Password};
use keyslot_server::ServerConfig;

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

const PASSWORD: &str = "correct horse battery staple";

struct Fixture {
    rt: tokio::runtime::Runtime,
    keyslot: Keyslot,
    _state: keyslot_server::AppState,
    token: String,
    vault: Id,
    item: Id,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServerConfig::new(dir.path().join("data"));
    // Room for every event of a run: the flusher keeps up, but the bench must not meet a
    // full buffer (that path is the 503 one, not the hot one).
    config.core.audit_buffer = 1 << 20;
    config.core.sweep_interval_secs = 0;
    let (state, token, vault, item) = rt.block_on(async {
        let state = keyslot_server::open(&config).await.unwrap();
        let ks = state.keyslot.clone();
        let ip = "127.0.0.1";
        let signed = ks
            .signup("bench", Password::new(PASSWORD), ip)
            .await
            .unwrap();
        let login = ks
            .login("bench", Password::new(PASSWORD), ip, None)
            .await
            .unwrap();
        let session = ks.authenticate_session(&login.session, None).await.unwrap();
        let value = serde_json::json!({"key": "x".repeat(1000)});
        let (item, _) = ks
            .create_item(&session, &signed.vault_id, "bench", &value)
            .await
            .unwrap();
        let request = TokenRequest {
            name: "bench".into(),
            vaults: Scope::Vaults(vec![signed.vault_id]),
            can_write: false,
            deposit: false,
            expires_in_seconds: None,
        };
        let minted = ks
            .mint_token(&session, Password::new(PASSWORD), request, ip)
            .await
            .unwrap();
        (state, minted.token.to_string(), signed.vault_id, item)
    });
    Fixture {
        rt,
        keyslot: state.keyslot.clone(),
        _state: state,
        token,
        vault,
        item,
        _dir: dir,
    }
}

fn read(bencher: divan::Bencher<'_, '_>, ip: Option<IpAddr>) {
    let f = fixture();
    bencher.bench_local(|| {
        f.rt.block_on(
            f.keyslot
                .get_item_with_token(&f.token, ip, &f.vault, &f.item),
        )
        .unwrap()
    });
}

#[divan::bench]
fn without_address(bencher: divan::Bencher<'_, '_>) {
    read(bencher, None);
}

#[divan::bench]
fn with_address(bencher: divan::Bencher<'_, '_>) {
    read(bencher, Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 77))));
}

fn main() {
    divan::main();
}
