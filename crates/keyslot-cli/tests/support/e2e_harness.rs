//! `keyslot serve` (SQLite, or PostgreSQL on a fresh database) behind a
//! [`RecordingProxy`], and people who run the `keyslot` CLI through that proxy, each with
//! their own config directory. The test that includes this file declares `support`,
//! `recording_proxy` and `canary` beside it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::recording_proxy::RecordingProxy;
use crate::support::{Instance, keyslot_bin, seal_key_file, start};

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A server and the proxy in front of it.
pub struct Recorded {
    pub proxy: RecordingProxy,
    /// The server itself, for set-up that must not be recorded.
    pub direct: String,
    instance: Instance,
    pub dir: tempfile::TempDir,
}

impl Recorded {
    /// `None` only for PostgreSQL without `KEYSLOT_TEST_DATABASE_URL` outside CI (under
    /// CI=true that fails instead of skipping).
    pub fn start(backend: Backend, test: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let seal = seal_key_file(dir.path());
        let (url, migrate) = match backend {
            Backend::Sqlite => {
                std::fs::create_dir_all(dir.path().join("data")).unwrap();
                let db = dir.path().join("data").join("keyslot.db");
                (format!("sqlite://{}", db.display()), false)
            }
            Backend::Postgres => {
                let url = tokio::runtime::Runtime::new()
                    .unwrap()
                    .block_on(keyslot_store_tests::postgres::fresh_database_url(test))?;
                (url, true)
            }
        };
        let instance = start(dir.path(), "data", &url, &seal, migrate).instance();
        let proxy = RecordingProxy::start(&instance.base);
        Some(Self {
            proxy,
            direct: instance.base.clone(),
            instance,
            dir,
        })
    }

    /// Someone with their own config directory who talks to the server through the proxy.
    pub fn user(&self, name: &str) -> User {
        User {
            addr: self.proxy.addr.clone(),
            config: self.dir.path().join(format!("config-{name}")),
            token: None,
        }
    }
}

pub struct User {
    pub addr: String,
    pub config: PathBuf,
    /// KEYSLOT_TOKEN for the commands this user runs, when set.
    pub token: Option<String>,
}

impl User {
    /// The same person (config directory) against another address: the malicious proxy.
    pub fn at(&self, addr: &str) -> Self {
        Self {
            addr: addr.to_owned(),
            config: self.config.clone(),
            token: self.token.clone(),
        }
    }

    pub fn keyslot(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(keyslot_bin());
        cmd.args(args)
            .env("KEYSLOT_ADDR", &self.addr)
            .env("KEYSLOT_CONFIG_DIR", &self.config)
            .env_remove("KEYSLOT_TOKEN")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(t) = &self.token {
            cmd.env("KEYSLOT_TOKEN", t);
        }
        let mut child = cmd.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// Run and expect success; return stdout.
    pub fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.keyslot(args, stdin);
        assert!(
            out.status.success(),
            "keyslot {args:?} failed ({:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Run with --json and expect success; return the parsed output.
    pub fn json(&self, args: &[&str], stdin: Option<&str>) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all, stdin)).unwrap()
    }

    /// Run and expect this exit code with nothing on stdout; return stderr.
    pub fn fails(&self, args: &[&str], stdin: Option<&str>, code: i32) -> String {
        let out = self.keyslot(args, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "keyslot {args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "keyslot {args:?} printed on failure");
        stderr
    }
}

/// A made-up secret: `prefix` then 24 random base62 characters, so that no two canaries
/// (nor the protocol's own words) share a 16-byte window.
pub fn random_text(prefix: &str) -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let random = keyslot_crypto::Id::random().unwrap();
    let more = keyslot_crypto::Id::random().unwrap();
    let bytes: Vec<u8> = random
        .as_bytes()
        .iter()
        .chain(more.as_bytes())
        .take(24)
        .copied()
        .collect();
    let tail: String = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % 62]))
        .collect();
    format!("{prefix}{tail}")
}

/// What `POST /v1/prelogin` answers for a username.
pub struct Prelogin {
    pub params: keyslot_crypto::Argon2Params,
    pub salt: Vec<u8>,
    pub credential_id: keyslot_crypto::Id,
    pub recovery_credential_id: Option<keyslot_crypto::Id>,
}

/// Ask `base` (the server itself, not the proxy) for `username`'s prelogin.
pub fn prelogin(base: &str, username: &str) -> Prelogin {
    let answer: Value = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let client = crate::support::Client::new();
        let (status, body) = client
            .send(
                base,
                reqwest::Method::POST,
                "/v1/prelogin",
                crate::support::As::Nobody,
                Some(serde_json::json!({"username": username})),
            )
            .await;
        assert_eq!(status, 200, "prelogin: {body}");
        body
    });
    let number = |name: &str| u32::try_from(answer[name].as_u64().unwrap()).unwrap();
    Prelogin {
        params: keyslot_crypto::Argon2Params {
            m_cost_kib: number("m_cost"),
            t_cost: number("t_cost"),
            p_cost: number("p_cost"),
        },
        salt: base64url_decode(answer["salt"].as_str().unwrap()),
        credential_id: wire_id(answer["credential_id"].as_str().unwrap()),
        recovery_credential_id: answer["recovery_credential_id"].as_str().map(wire_id),
    }
}

/// The end-to-end session's unlock secret in `user`'s session file: its id, its 32
/// bytes, and the text as saved.
pub fn unlock_secret(user: &User) -> (keyslot_crypto::Id, [u8; 32], String) {
    let saved: Value =
        serde_json::from_slice(&std::fs::read(user.config.join("session.json")).unwrap()).unwrap();
    let text = saved["unlock_secret"]
        .as_str()
        .expect("an end-to-end session file keeps the unlock secret")
        .to_owned();
    let (id, secret) = text.split_once('.').unwrap();
    let secret: [u8; 32] = base64url_decode(secret).try_into().unwrap();
    (wire_id(id), secret, text)
}

/// An id as the API spells it: 32 hex characters or 22 base64url ones.
pub fn wire_id(text: &str) -> keyslot_crypto::Id {
    if text.len() == 32 {
        return text.parse().unwrap();
    }
    keyslot_crypto::Id::from_slice(&base64url_decode(text)).unwrap()
}

/// Base64url (padding optional).
pub fn base64url_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => panic!("not base64url: {text}"),
        }
    };
    let digits: Vec<u32> = text.trim_end_matches('=').bytes().map(value).collect();
    let mut out = Vec::new();
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, d)| n | d << (18 - 6 * i));
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

/// Base64url without padding.
pub fn base64url(bytes: &[u8]) -> String {
    const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(URL[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// 32 random bytes: a public key of the server's own making.
pub fn random_key() -> [u8; 32] {
    let (a, b) = (
        keyslot_crypto::Id::random().unwrap(),
        keyslot_crypto::Id::random().unwrap(),
    );
    let mut out = [0u8; 32];
    out[..16].copy_from_slice(a.as_bytes());
    out[16..].copy_from_slice(b.as_bytes());
    out
}

/// `GET path` on `base` (the server itself) with the session saved in `user`'s session
/// file; the answer must be 200.
pub fn as_session(user: &User, base: &str, path: &str) -> Value {
    let (status, body) = session_request(user, base, reqwest::Method::GET, path);
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// `method path` on `base` with the session saved in `user`'s session file: the status
/// and the answer.
pub fn session_request(
    user: &User,
    base: &str,
    method: reqwest::Method,
    path: &str,
) -> (reqwest::StatusCode, Value) {
    let saved: Value =
        serde_json::from_slice(&std::fs::read(user.config.join("session.json")).unwrap()).unwrap();
    let session = crate::support::Session {
        cookie: saved["session"].as_str().unwrap().to_owned(),
        csrf: saved["csrf"].as_str().unwrap().to_owned(),
    };
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        crate::support::Client::new()
            .send(
                base,
                method,
                path,
                crate::support::As::Session(&session),
                None,
            )
            .await
    })
}
