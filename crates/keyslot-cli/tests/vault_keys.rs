//! `keyslot vault show` and `keyslot vault rotate` against a real `keyslot serve`: the key
//! version a person sees move, the JSON a script reads, and who is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const PASSWORD: &str = "correct horse battery staple";

struct Server {
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
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_keyslot"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            addr: format!("http://127.0.0.1:{port}"),
            dir,
        }
    }

    /// A user with their own config directory, logged in.
    fn user(&self, name: &str) -> User {
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

struct User {
    addr: String,
    config: PathBuf,
    token: Option<String>,
}

impl User {
    fn keyslot(&self, args: &[&str], stdin: Option<&str>) -> Output {
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

    fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.keyslot(args, stdin);
        assert!(
            out.status.success(),
            "keyslot {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all, None)).unwrap()
    }

    /// Run and expect this exit code, with nothing on stdout; return stderr.
    fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.keyslot(args, None);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "keyslot {args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "keyslot {args:?} printed on failure");
        stderr
    }
}

#[test]
fn the_owner_sees_and_rotates_the_key_version_and_a_token_cannot_rotate() {
    let server = Server::start();
    let ann = server.user("ann");
    ann.ok(&["vault", "create", "work"], None);
    ann.ok(&["item", "set", "work", "db", "hunter2"], None);
    let id = ann
        .json(&["vault", "list"])
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "work")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let shown = ann.json(&["vault", "show", "work"]);
    assert_eq!(shown["id"], id.as_str());
    assert_eq!(shown["role"], "owner");
    assert_eq!(shown["key_version"], 1);
    assert_eq!(shown["rotation_due"], false);
    let table = ann.ok(&["vault", "show", "work"], None);
    assert!(
        table.contains("KEY VERSION") && table.contains("owner"),
        "{table}"
    );

    // --json is exactly {vault, key_version}, by vault name or id.
    let rotated = ann.json(&["vault", "rotate", "work"]);
    assert_eq!(rotated, serde_json::json!({"vault": id, "key_version": 2}));
    assert_eq!(
        ann.ok(&["vault", "rotate", &id], None),
        "vault work now has key version 3\n"
    );
    assert_eq!(ann.json(&["vault", "show", &id])["key_version"], 3);
    // The item written under version 1 still reads.
    assert_eq!(ann.ok(&["item", "get", "work", "db"], None), "hunter2\n");

    // A token (even its owner's) is refused with the permission exit code and told why;
    // the version does not move.
    let token = ann
        .ok(
            &[
                "token",
                "create",
                "--name",
                "ci",
                "--vault",
                "work",
                "--write",
                "--password-stdin",
            ],
            Some(&format!("{PASSWORD}\n")),
        )
        .trim()
        .to_owned();
    let mut script = server.user("script");
    script.token = Some(token.clone());
    let stderr = script.fails(&["vault", "rotate", "work"], 3);
    assert!(
        stderr.contains("owner") && stderr.contains("keyslot login") && !stderr.contains(&token),
        "{stderr}"
    );
    assert_eq!(ann.json(&["vault", "show", "work"])["key_version"], 3);

    // Another user cannot reach the vault; an unknown name says how to find one.
    let bob = server.user("bob");
    bob.fails(&["vault", "rotate", &id], 2);
    let stderr = ann.fails(&["vault", "rotate", "nope"], 2);
    assert!(stderr.contains("keyslot vault list"), "{stderr}");

    // Revoking the token rotates the vault before the command returns: show says so.
    let tokens = ann.json(&["token", "list"]);
    let token_id = tokens[0]["id"].as_str().unwrap().to_owned();
    ann.ok(&["token", "revoke", &token_id], None);
    assert_eq!(ann.json(&["vault", "show", "work"])["key_version"], 4);
}
