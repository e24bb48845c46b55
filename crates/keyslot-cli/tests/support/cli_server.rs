//! A real `keyslot serve` on a fresh data directory and people who run the `keyslot` CLI
//! against it, each with their own config directory: the harness the vault CLI tests
//! share (`#[path]`-included by `vault_keys.rs` and `vault_members.rs`).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct Server {
    child: Child,
    addr: String,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyslot"));
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(dir.path().join("data"));
        let (child, port) = crate::support::serve_on_free_port(cmd);
        Self {
            child,
            addr: format!("http://127.0.0.1:{port}"),
            dir,
        }
    }

    /// Run SQL statements on the server's SQLite database (the harness's way to put an
    /// account in a state a test needs, as an operator with the database could).
    #[allow(dead_code)]
    pub fn sql(&self, statements: &[&'static str]) {
        let db = self.dir.path().join("data").join("keyslot.db");
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
                .await
                .unwrap();
            for &statement in statements {
                sqlx::query(statement).execute(&pool).await.unwrap();
            }
            pool.close().await;
        });
    }

    /// A user with their own config directory, logged in.
    pub fn user(&self, name: &str) -> User {
        let user = User {
            addr: self.addr.clone(),
            config: self.dir.path().join(format!("config-{name}")),
            token: None,
        };
        let password = format!("{PASSWORD}\n");
        user.ok(&["signup", name, "--password-stdin"], Some(&password));
        user.ok(&["login", name, "--password-stdin"], Some(&password));
        user
    }
}

pub struct User {
    addr: String,
    config: PathBuf,
    pub token: Option<String>,
}

impl User {
    pub fn keyslot(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyslot"));
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

    pub fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.keyslot(args, stdin);
        assert!(
            out.status.success(),
            "keyslot {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all, None)).unwrap()
    }

    /// Run and expect this exit code, with nothing on stdout; return stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.keyslot(args, None);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "keyslot {args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "keyslot {args:?} printed on failure");
        stderr
    }
}
