//! Test harness: a real Keyslot server on a real socket over a real SQLite file, and a
//! small client that speaks its HTTP API (session cookie + CSRF, or bearer token).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::PathBuf;

use keyslot_server::ServerConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const PASSWORD: &str = "correct horse battery staple";
pub const NEW_PASSWORD: &str = "a different long passphrase 7";

pub struct TestServer {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    pub http: reqwest::Client,
    /// The use cases behind the server (tests hold the audit flusher through it).
    pub keyslot: keyslot_core::Keyslot,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tune: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("data");
        let mut config = ServerConfig::new(&data_dir);
        config.listen = "127.0.0.1:0".parse().unwrap();
        // Plenty of room so tests do not trip the per-IP budget unless they mean to.
        config.core.ip_failures_per_minute = 1000;
        config.core.signups_per_hour = 1000;
        tune(&mut config);
        let bound = keyslot_server::bind(&config).await.unwrap();
        let addr = bound.local_addr().unwrap();
        let keyslot = bound.keyslot().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            bound
                .serve(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            addr,
            data_dir,
            _dir: dir,
            stop: Some(stop),
            task: Some(task),
            http: http().build().unwrap(),
            keyslot,
        }
    }

    /// Stop serving and wait until the listener is closed.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A request with the given auth, returning status, headers and JSON (or Null).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Option<Value>,
    ) -> Reply {
        self.call_with(&self.http, method, path, auth, body).await
    }

    /// [`Self::call`] through another client (e.g. one bound to its own source address).
    pub async fn call_with(
        &self,
        http: &reqwest::Client,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Option<Value>,
    ) -> Reply {
        let mut req = http.request(method.clone(), self.url(path));
        match auth {
            Auth::None => {}
            Auth::Token(t) => req = req.bearer_auth(t),
            Auth::Session(s) => {
                req = req.header("cookie", format!("__Host-keyslot={}", s.cookie));
                if method != Method::GET {
                    req = req.header("x-csrf-token", &s.csrf);
                }
            }
            Auth::SessionNoCsrf(s) => {
                req = req.header("cookie", format!("__Host-keyslot={}", s.cookie))
            }
            Auth::SessionCsrf(s, csrf) => {
                req = req
                    .header("cookie", format!("__Host-keyslot={}", s.cookie))
                    .header("x-csrf-token", csrf.as_str())
            }
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        Reply::from(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, auth: &Auth) -> Reply {
        self.call(Method::GET, path, auth, None).await
    }
    pub async fn post(&self, path: &str, auth: &Auth, body: Value) -> Reply {
        self.call(Method::POST, path, auth, Some(body)).await
    }
    pub async fn put(&self, path: &str, auth: &Auth, body: Value) -> Reply {
        self.call(Method::PUT, path, auth, Some(body)).await
    }
    pub async fn delete(&self, path: &str, auth: &Auth) -> Reply {
        self.call(Method::DELETE, path, auth, None).await
    }

    /// Sign up; returns (user id, default vault id, recovery code).
    pub async fn signup(&self, username: &str) -> Account {
        let r = self
            .post(
                "/v1/signup",
                &Auth::None,
                json!({"username": username, "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        Account {
            username: username.into(),
            user_id: r.str("user_id"),
            vault: r.str("vault_id"),
            recovery_code: r.str("recovery_code"),
        }
    }

    pub async fn login(&self, username: &str, password: &str) -> Reply {
        self.post(
            "/v1/login",
            &Auth::None,
            json!({"username": username, "password": password}),
        )
        .await
    }

    pub async fn session(&self, username: &str, password: &str) -> Auth {
        let r = self.login(username, password).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        let set_cookie = r
            .headers
            .get("set-cookie")
            .expect("set-cookie")
            .to_str()
            .unwrap()
            .to_owned();
        let cookie = set_cookie
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("__Host-keyslot=")
            .to_owned();
        Auth::Session(Session {
            cookie,
            csrf: r.str("csrf_token"),
            set_cookie,
        })
    }

    pub async fn create_item(&self, auth: &Auth, vault: &str, name: &str, value: Value) -> String {
        let r = self
            .post(
                &format!("/v1/vaults/{vault}/items"),
                auth,
                json!({"name": name, "value": value}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.str("id")
    }

    pub async fn mint(
        &self,
        session: &Auth,
        vaults: Value,
        permissions: Value,
    ) -> (String, String) {
        let r = self
            .post(
                "/v1/tokens",
                session,
                json!({"name": "test token", "vaults": vaults, "permissions": permissions, "current_password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        (r.str("id"), r.str("token"))
    }

    pub async fn create_vault(&self, session: &Auth, name: &str) -> String {
        let r = self
            .post("/v1/vaults", session, json!({"name": name}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.str("id")
    }

    /// A direct connection to the server's SQLite file, to look at or tamper with rows.
    pub async fn db(&self) -> sqlx::SqlitePool {
        let url = format!("sqlite://{}", self.data_dir.join("keyslot.db").display());
        sqlx::SqlitePool::connect(&url).await.unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub struct Account {
    pub username: String,
    pub user_id: String,
    pub vault: String,
    pub recovery_code: String,
}

#[derive(Clone, Debug)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
    pub set_cookie: String,
}

#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Token(String),
    Session(Session),
    SessionNoCsrf(Session),
    SessionCsrf(Session, String),
}

impl Auth {
    pub fn session(&self) -> Session {
        match self {
            Self::Session(s) | Self::SessionNoCsrf(s) | Self::SessionCsrf(s, _) => s.clone(),
            _ => panic!("not a session"),
        }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    async fn from(r: reqwest::Response) -> Self {
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            headers,
            body,
            text,
        }
    }

    pub fn str(&self, key: &str) -> String {
        self.body[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key} in {}", self.text))
            .to_owned()
    }

    /// Assert a problem+json answer with this status.
    pub fn problem(&self, status: StatusCode) -> &Self {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(
            self.headers.get("content-type").unwrap(),
            "application/problem+json",
            "{}",
            self.text
        );
        assert_eq!(self.body["status"], status.as_u16());
        self
    }

    /// The field names of a problem's `errors`.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["field"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A reqwest builder. reqwest's TLS (which the workspace's HTTPS client enables) takes
/// rustls's process-wide provider; install ring's first, or building panics.
/// A server on SQLite, or on a fresh PostgreSQL database named after `name` (`None` when
/// PostgreSQL is not configured and this is not CI), tuned by `tune`; and the store opened
/// beside it, through which tests read raw rows as an attacker with a database copy would.
pub async fn with_store(
    postgres: bool,
    name: &str,
    tune: impl FnOnce(&mut ServerConfig),
) -> Option<(TestServer, std::sync::Arc<dyn keyslot_core::Store>)> {
    let url = if postgres {
        Some(keyslot_store_tests::postgres::fresh_database_url(name).await?)
    } else {
        None
    };
    let s = TestServer::start_with(|c| {
        c.database_url = url.clone();
        tune(c);
    })
    .await;
    let url = url.unwrap_or_else(|| s.data_dir.join("keyslot.db").display().to_string());
    let store = keyslot_store::open(&url, keyslot_store::Schema::Existing)
        .await
        .unwrap();
    Some((s, std::sync::Arc::new(store)))
}

pub fn http() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}
