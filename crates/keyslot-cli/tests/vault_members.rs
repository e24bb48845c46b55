//! `keyslot vault share|unshare|members` against a real `keyslot serve`: a person shares a
//! vault, the member reads it within the role, and unsharing rotates the key before the
//! command returns.
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
fn the_owner_shares_changes_the_role_and_unshares_and_the_key_rotates() {
    let server = Server::start();
    let ann = server.user("ann");
    let bob = server.user("bob");
    ann.ok(&["vault", "create", "work"], None);
    ann.ok(&["item", "set", "work", "db", "hunter2"], None);

    // Shared read: bob lists it with his role and reads; he cannot write.
    let shared = ann.json(&["vault", "share", "work", "bob", "--role", "read"]);
    assert_eq!(shared["role"], "read");
    let members = ann.json(&["vault", "members", "work"]);
    let names: Vec<(&str, &str)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["username"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(names, vec![("ann", "owner"), ("bob", "read")]);
    let listed = bob.json(&["vault", "list"]);
    let id = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "work")
        .expect("bob lists the shared vault")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(bob.ok(&["item", "get", &id, "db"], None), "hunter2\n");
    assert_eq!(bob.json(&["vault", "show", &id])["role"], "read");
    bob.fails(&["item", "set", &id, "x", "1"], 3);
    // A read member changes no members, and is told why.
    let stderr = bob.fails(&["vault", "share", &id, "ann", "--role", "read"], 3);
    assert!(stderr.contains("owner"), "{stderr}");

    // Sharing again changes the role: bob writes.
    let table = ann.ok(&["vault", "share", "work", "bob", "--role", "write"], None);
    assert!(table.contains("bob") && table.contains("write"), "{table}");
    bob.ok(&["item", "set", &id, "x", "1"], None);

    // Unsharing rotates before it returns; bob reaches nothing.
    let before = ann.json(&["vault", "show", "work"])["key_version"]
        .as_u64()
        .unwrap();
    let out = ann.ok(&["vault", "unshare", "work", "bob"], None);
    assert!(out.contains("rotated"), "{out}");
    assert_eq!(
        ann.json(&["vault", "show", "work"])["key_version"],
        before + 1
    );
    bob.fails(&["item", "get", &id, "db"], 2);
    let stderr = ann.fails(&["vault", "unshare", "work", "bob"], 2);
    assert!(stderr.contains("keyslot vault members"), "{stderr}");
    // A bad role is refused by the command line itself.
    let out = ann.keyslot(&["vault", "share", "work", "bob", "--role", "admin"], None);
    assert!(!out.status.success() && out.stdout.is_empty());
}
