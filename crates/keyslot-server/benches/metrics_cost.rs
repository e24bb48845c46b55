//! What `/metrics` bookkeeping costs a request (issue 14): whole requests through the
//! router with every layer (`keyslot_server::app`, driven by `tower::ServiceExt::oneshot`,
//! no socket), so the metrics middleware is measured where it runs.
//!
//! `healthz` is the cheapest route there is, so the middleware's share is as large as it
//! gets; `token_read` is the hot path of `bench/run` (a bearer token reading one item, the
//! route template `/v1/vaults/{vault}/items/{item}`). Allocations per request are counted
//! by divan's allocation profiler: run this at two commits to see what a change to the
//! middleware adds or saves per request.
//!
//! `cargo bench -p keyslot-server --bench metrics_cost`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use keyslot_core::views::{Scope, TokenRequest};
use keyslot_crypto::Password;
use keyslot_server::ServerConfig;
use tower::ServiceExt as _;

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

const PASSWORD: &str = "correct horse battery staple";

struct Fixture {
    rt: tokio::runtime::Runtime,
    router: Router,
    token: String,
    item_path: String,
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
    // Room for every read event of a run: the bench must not meet a full buffer.
    config.core.audit_buffer = 1 << 20;
    config.core.sweep_interval_secs = 0;
    let (router, token, item_path) = rt.block_on(async {
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
        let path = format!("/v1/vaults/{}/items/{item}", signed.vault_id);
        (
            keyslot_server::app(state, 1 << 20),
            minted.token.to_string(),
            path,
        )
    });
    Fixture {
        rt,
        router,
        token,
        item_path,
        _dir: dir,
    }
}

fn request(path: &str, token: Option<&str>) -> Request<Body> {
    let mut builder = Request::get(path);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let mut request = builder.body(Body::empty()).unwrap();
    let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

fn main() {
    divan::main();
}

#[divan::bench(sample_count = 200, sample_size = 20)]
fn healthz(bencher: divan::Bencher<'_, '_>) {
    let f = fixture();
    bencher
        .with_inputs(|| request("/healthz", None))
        .bench_local_values(|req| {
            let status =
                f.rt.block_on(f.router.clone().oneshot(req))
                    .unwrap()
                    .status();
            assert_eq!(status, StatusCode::OK);
        });
}

#[divan::bench(sample_count = 200, sample_size = 20)]
fn token_read(bencher: divan::Bencher<'_, '_>) {
    let f = fixture();
    bencher
        .with_inputs(|| request(&f.item_path, Some(&f.token)))
        .bench_local_values(|req| {
            let status =
                f.rt.block_on(f.router.clone().oneshot(req))
                    .unwrap()
                    .status();
            assert_eq!(status, StatusCode::OK);
        });
}
