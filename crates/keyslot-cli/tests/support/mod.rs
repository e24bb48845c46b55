//! What the tests that run `keyslot serve` as a process share: spawning it, waiting for
//! it, a seal key file, and a small JSON client that speaks with a session or a token.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A running `keyslot serve`; killed (SIGKILL) when dropped.
pub struct Instance {
    pub child: Child,
    pub base: String,
}

impl Instance {
    /// SIGKILL, at once: no shutdown handler runs, nothing is flushed.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The binary under test: this build's, or `KEYSLOT_TEST_BIN` (a release build, or a
/// copy that a long run keeps while the tree is rebuilt).
pub fn keyslot_bin() -> PathBuf {
    std::env::var_os("KEYSLOT_TEST_BIN")
        .map_or_else(|| env!("CARGO_BIN_EXE_keyslot").into(), PathBuf::from)
}

/// `keyslot serve` on a free port, its data directory `dir/name`.
pub fn spawn(dir: &Path, name: &str, url: &str, seal: &Path, migrate: bool) -> Instance {
    let port = free_port();
    let mut cmd = Command::new(keyslot_bin());
    cmd.arg("serve")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.join(name))
        .args(["--database-url", url])
        .arg("--seal-key-file")
        .arg(seal)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if migrate {
        cmd.arg("--migrate");
    }
    Instance {
        child: cmd.spawn().unwrap(),
        base: format!("http://127.0.0.1:{port}"),
    }
}

/// Wait until `/readyz` answers 200; fail if the process exits first.
pub async fn wait_ready(http: &reqwest::Client, instance: &mut Instance) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{}/readyz", instance.base)).send().await
            && r.status() == StatusCode::OK
        {
            return;
        }
        assert!(
            instance.child.try_wait().unwrap().is_none(),
            "instance exited before it was ready"
        );
        assert!(Instant::now() < deadline, "instance not ready in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A fresh seal key file (mode 0600) in `dir`.
pub fn seal_key_file(dir: &Path) -> PathBuf {
    let path = dir.join("shared-seal.key");
    std::fs::write(
        &path,
        keyslot_crypto::LocalSealKey::generate()
            .unwrap()
            .to_file_text()
            .as_bytes(),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

/// A logged-in browser session: the cookie and its CSRF token.
#[derive(Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

/// Who a request speaks as.
#[derive(Clone, Copy)]
pub enum As<'a> {
    Nobody,
    Session(&'a Session),
    Token(&'a str),
}

/// A reqwest builder. reqwest's TLS (the CLI's HTTPS client enables it) takes rustls's
/// process-wide provider; install ring's first, or building panics.
pub fn http() -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// A JSON client over one `reqwest::Client`.
pub struct Client {
    pub http: reqwest::Client,
}

impl Client {
    pub fn new() -> Self {
        Self {
            http: http().build().unwrap(),
        }
    }

    /// One request; `Err` when no answer came (refused, reset, timed out).
    pub async fn try_send(
        &self,
        base: &str,
        method: Method,
        path: &str,
        who: As<'_>,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value), reqwest::Error> {
        let mut req = self.http.request(method, format!("{base}{path}"));
        match who {
            As::Nobody => {}
            As::Session(s) => {
                req = req
                    .header("cookie", format!("__Host-keyslot={}", s.cookie))
                    .header("x-csrf-token", &s.csrf);
            }
            As::Token(t) => req = req.bearer_auth(t),
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await?;
        let status = r.status();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }

    /// One request that must be answered.
    pub async fn send(
        &self,
        base: &str,
        method: Method,
        path: &str,
        who: As<'_>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.try_send(base, method, path, who, body).await.unwrap()
    }

    /// Log in; `Err(status)` when refused, `Ok(Err)` never: no answer panics.
    pub async fn login(
        &self,
        base: &str,
        user: &str,
        password: &str,
    ) -> Result<Session, StatusCode> {
        self.try_login(base, user, password).await.unwrap()
    }

    /// Log in; the outer `Err` when no answer came.
    pub async fn try_login(
        &self,
        base: &str,
        user: &str,
        password: &str,
    ) -> Result<Result<Session, StatusCode>, reqwest::Error> {
        let r = self
            .http
            .post(format!("{base}/v1/login"))
            .json(&json!({"username": user, "password": password}))
            .send()
            .await?;
        if r.status() != StatusCode::OK {
            return Ok(Err(r.status()));
        }
        let cookie = r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("__Host-keyslot=")
            .to_owned();
        let body: Value = r.json().await?;
        Ok(Ok(Session {
            cookie,
            csrf: body["csrf_token"].as_str().unwrap().to_owned(),
        }))
    }
}
