//! Hostile request bodies through the whole HTTP stack: the real router (extractors,
//! CSRF, auth, validation, use cases) over a real SQLite store, with a live session and a
//! live token. The first byte picks the route and the credential; the rest is the body,
//! sent as `application/json`. Whatever the bytes: no panic, no 5xx other than a 503
//! saying to retry, and every refusal a problem+json.
#![no_main]

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt as _;

struct World {
    runtime: tokio::runtime::Runtime,
    app: Router,
    cookie: String,
    csrf: String,
    token: String,
    vault: String,
    item: String,
}

const PASSWORD: &str = "correct horse battery staple";

async fn call(
    app: &Router,
    request: Request<Body>,
) -> (StatusCode, serde_json::Value, Option<String>) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or_default(),
        cookie,
    )
}

fn json(method: Method, uri: &str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // tmpfs when there is one: fsyncs there cost nothing, and every accepted write
        // makes one.
        let shm = std::path::Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("keyslot-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut config = keyslot_server::ServerConfig::new(&dir);
        // A token Argon2 cost: every parseable login, recovery or password change hashes,
        // and at the real cost (under the sanitizer) the fuzzer would do little else.
        let cheap = keyslot_crypto::Argon2Params {
            m_cost_kib: 64,
            t_cost: 1,
            p_cost: 1,
        };
        config.core.kdf = keyslot_crypto::KdfPolicy {
            floor: cheap,
            target: cheap,
            ..keyslot_crypto::KdfPolicy::default()
        };
        let (app, cookie, csrf, token, vault, item) = runtime.block_on(async {
            let state = keyslot_server::open(&config).await.unwrap();
            let app = keyslot_server::app(state, config.body_limit());
            let signup = format!(r#"{{"username":"fuzz","password":"{PASSWORD}"}}"#);
            let (status, body, _) = call(
                &app,
                json(Method::POST, "/v1/signup")
                    .body(Body::from(signup.clone()))
                    .unwrap(),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED);
            let vault = body["vault_id"].as_str().unwrap().to_owned();
            let (status, body, cookie) = call(
                &app,
                json(Method::POST, "/v1/login")
                    .body(Body::from(signup))
                    .unwrap(),
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            let cookie = cookie.unwrap();
            let csrf = body["csrf_token"].as_str().unwrap().to_owned();
            let with_session = |b: http::request::Builder| {
                b.header(header::COOKIE, &cookie)
                    .header("x-csrf-token", &csrf)
            };
            let mint = format!(
                r#"{{"name":"fuzz","vaults":"*","permissions":["read","write"],"current_password":"{PASSWORD}"}}"#
            );
            let (status, body, _) = call(
                &app,
                with_session(json(Method::POST, "/v1/tokens"))
                    .body(Body::from(mint))
                    .unwrap(),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED);
            let token = body["token"].as_str().unwrap().to_owned();
            let item = r#"{"name":"seed","value":{"a":[1,2,3]}}"#;
            let (status, body, _) = call(
                &app,
                with_session(json(Method::POST, &format!("/v1/vaults/{vault}/items")))
                    .body(Body::from(item))
                    .unwrap(),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED);
            let item = body["id"].as_str().unwrap().to_owned();
            (app, cookie, csrf, token, vault, item)
        });
        World {
            runtime,
            app,
            cookie,
            csrf,
            token,
            vault,
            item,
        }
    })
}

/// Routes that take a body (logout is left out: it would end the session under test).
const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/signup"),
    ("POST", "/v1/login"),
    ("POST", "/v1/password"),
    ("POST", "/v1/recover"),
    ("POST", "/v1/vaults"),
    ("POST", "/v1/vaults/{vault}/items"),
    ("PUT", "/v1/vaults/{vault}/items/{item}"),
    ("POST", "/v1/tokens"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let w = world();
    let (method, path) = ROUTES[usize::from(pick) % ROUTES.len()];
    let path = path.replace("{vault}", &w.vault).replace("{item}", &w.item);
    let mut request = json(method.parse().unwrap(), &path);
    request = match (pick / 16) % 3 {
        0 => request
            .header(header::COOKIE, &w.cookie)
            .header("x-csrf-token", &w.csrf),
        1 => request.header(header::AUTHORIZATION, format!("Bearer {}", w.token)),
        _ => request,
    };
    let request = request.body(Body::from(body.to_vec())).unwrap();
    let response = w.runtime.block_on(w.app.clone().oneshot(request)).unwrap();
    let status = response.status();
    assert!(
        !status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
        "{method} {path}: {status}"
    );
    if status.is_client_error() {
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        assert_eq!(
            content_type,
            Some("application/problem+json"),
            "{method} {path}: {status}"
        );
    }
});
