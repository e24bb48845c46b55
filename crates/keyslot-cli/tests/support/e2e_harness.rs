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
