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
    start(dir, name, url, seal, migrate).instance()
}

/// [`spawn`] without waiting for the port: start several with this, then take each
/// [`Starting::instance`], so they start (and migrate) at the same time.
pub fn start(dir: &Path, name: &str, url: &str, seal: &Path, migrate: bool) -> Starting {
    let mut cmd = Command::new(keyslot_bin());
    cmd.arg("serve")
        .arg("--data-dir")
        .arg(dir.join(name))
        .args(["--database-url", url])
        .arg("--seal-key-file")
        .arg(seal);
    if migrate {
        cmd.arg("--migrate");
    }
    Starting::new(cmd)
}

/// Start `cmd` (a `keyslot serve` without `--listen`) listening on a port the kernel
/// chooses, and return it with that port once it is bound.
pub fn serve_on_free_port(cmd: Command) -> (Child, u16) {
    Starting::new(cmd).listening()
}

/// A `keyslot serve` started on port 0 whose port is not known yet: it is read from its
/// "keyslot listening" log line.
///
/// Why not pick a free port first and pass it: between the probe releasing it and the
/// server binding it, a parallel test (or any outgoing connection) can take the same
/// port, and the test then talks to another test's server, which goes away under it
/// ("connection refused" mid-test). Binding port 0 in the server itself cannot collide.
pub struct Starting {
    child: Child,
    port: std::sync::mpsc::Receiver<Option<u16>>,
}

impl Starting {
    fn new(mut cmd: Command) -> Self {
        use std::io::BufRead as _;
        cmd.args(["--listen", "127.0.0.1:0"])
            .env("KEYSLOT_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (found, port) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut found = Some(found);
            // Keep draining after the port is known, so a chatty server never blocks on
            // a full pipe.
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(tx) = found.take_if(|_| line.contains("keyslot listening")) {
                    let _ = tx.send(listening_port(&line));
                }
            }
        });
        Self { child, port }
    }

    /// Wait until it listens: the process and its port.
    pub fn listening(mut self) -> (Child, u16) {
        match self.port.recv_timeout(Duration::from_secs(60)) {
            Ok(Some(port)) => (self.child, port),
            Ok(None) => {
                let _ = self.child.kill();
                panic!("the server's listening line named no port");
            }
            Err(_) => {
                let status = self.child.try_wait().ok().flatten();
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("the server did not start listening (exit status: {status:?})");
            }
        }
    }

    /// Wait until it listens: an [`Instance`] (not yet ready: see [`wait_ready`]).
    pub fn instance(self) -> Instance {
        let (child, port) = self.listening();
        Instance {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

/// The port in a "keyslot listening addr=127.0.0.1:PORT ..." log line (colour codes, if
/// any, skipped).
fn listening_port(line: &str) -> Option<u16> {
    let after = &line[line.find("addr")? + 4..];
    let digits: String = after
        .split_once("127.0.0.1:")?
        .1
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
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
