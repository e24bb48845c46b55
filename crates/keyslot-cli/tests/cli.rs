//! The `keyslot` command line against a real running server: as a person would use it, as
//! a script would, and as an operator would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

mod support;

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
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyslot"));
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(dir.path().join("data"));
        let (child, port) = support::serve_on_free_port(cmd);
        let addr = format!("http://127.0.0.1:{port}");
        Self { child, addr, dir }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A user of this server with their own config directory.
    fn user(&self, name: &str) -> User {
        let config = self.dir.path().join(format!("config-{name}"));
        User {
            addr: self.addr.clone(),
            config,
            token: None,
        }
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

    /// Run and expect success; return stdout.
    fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.keyslot(args, stdin);
        assert!(
            out.status.success(),
            "keyslot {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Run and expect this exit code; return stderr.
    fn fails(&self, args: &[&str], stdin: Option<&str>, code: i32) -> String {
        let out = self.keyslot(args, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "keyslot {args:?}: {stderr}");
        stderr
    }

    fn signed_up_and_logged_in(&self, name: &str) -> String {
        let code = self.ok(
            &["signup", name, "--password-stdin"],
            Some(&format!("{PASSWORD}\n")),
        );
        self.ok(
            &["login", name, "--password-stdin"],
            Some(&format!("{PASSWORD}\n")),
        );
        code.trim().to_owned()
    }
}

#[test]
fn a_person_logs_in_stores_and_reads_secrets() {
    let server = Server::start();
    let alice = server.user("alice");
    let code = alice.signed_up_and_logged_in("alice");
    assert_eq!(code.len(), 32, "recovery code printed once: {code}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(alice.config.join("session.json"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    alice.ok(&["vault", "create", "work"], None);
    assert!(alice.ok(&["vault", "list"], None).contains("work"));
    alice.ok(
        &["item", "set", "work", "stripe", "--stdin"],
        Some("sk_live_abc123"),
    );
    assert_eq!(
        alice.ok(&["item", "get", "work", "stripe"], None),
        "sk_live_abc123\n"
    );
    assert_eq!(
        alice.ok(&["read", "ks://work/stripe"], None),
        "sk_live_abc123\n"
    );
    alice.ok(
        &[
            "item",
            "set",
            "work",
            "db",
            "--value-json",
            r#"{"user":"app","password":"pw-123"}"#,
        ],
        None,
    );
    assert_eq!(
        alice.ok(&["read", "ks://work/db/password"], None),
        "pw-123\n"
    );
    // Updating keeps one item and bumps its version.
    alice.ok(
        &["item", "set", "work", "stripe", "--stdin"],
        Some("sk_live_rotated"),
    );
    let listed: serde_json::Value =
        serde_json::from_str(&alice.ok(&["--json", "item", "list", "work"], None)).unwrap();
    let stripe = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "stripe")
        .unwrap();
    assert_eq!(stripe["version"], 2);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    alice.ok(&["item", "rm", "work", "stripe"], None);
    alice.fails(&["read", "ks://work/stripe"], None, 2);
    alice.fails(&["read", "ks://nowhere/x"], None, 2);
    alice.fails(&["read", "ks://work/db/missing-field"], None, 2);
    alice.fails(&["read", "not-a-reference"], None, 1);

    alice.ok(&["logout"], None);
    let stderr = alice.fails(&["vault", "list"], None, 3);
    assert!(stderr.contains("keyslot login"), "{stderr}");
}

#[test]
fn run_puts_secrets_only_in_the_childs_environment() {
    let server = Server::start();
    let bob = server.user("bob");
    bob.signed_up_and_logged_in("bob");
    bob.ok(
        &["item", "set", "Personal", "api", "--stdin"],
        Some("SECRET-VALUE-4f2a"),
    );
    let out_file = server.dir.path().join("child-saw");
    let script = format!(
        "printf %s \"$API_KEY\" > {out}; tr '\\0' ' ' < /proc/$$/cmdline > {out}.args; exit 7",
        out = out_file.display()
    );
    let out = bob.keyslot(
        &[
            "run",
            "--env",
            "API_KEY=ks://Personal/api",
            "--",
            "sh",
            "-c",
            &script,
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(7),
        "run exits with the command's code"
    );
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap(),
        "SECRET-VALUE-4f2a"
    );
    let args = std::fs::read_to_string(out_file.with_extension("args")).unwrap();
    assert!(
        !args.contains("SECRET-VALUE"),
        "secret in the child's arguments: {args}"
    );
    assert!(
        std::env::var_os("API_KEY").is_none(),
        "the parent's environment is untouched"
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("SECRET")
            && !String::from_utf8_lossy(&out.stderr).contains("SECRET")
    );
    // One unresolvable reference: nothing runs.
    let marker = server.dir.path().join("ran");
    let touch = format!("touch {}", marker.display());
    bob.fails(
        &[
            "run",
            "--env",
            "A=ks://Personal/api",
            "--env",
            "B=ks://Personal/nope",
            "--",
            "sh",
            "-c",
            &touch,
        ],
        None,
        2,
    );
    assert!(!marker.exists());
    bob.fails(
        &["run", "--env", "bad name=ks://Personal/api", "--", "true"],
        None,
        1,
    );
}

/// A CI job runs `keyslot run` with a token: the command it starts gets the values it
/// was given, and neither that token nor any other Keyslot credential from the
/// environment, so it cannot read the rest of what the token opens.
#[test]
fn run_with_a_token_gives_the_child_the_values_and_not_the_token() {
    let server = Server::start();
    let erin = server.user("erin");
    erin.signed_up_and_logged_in("erin");
    erin.ok(&["vault", "create", "ci"], None);
    erin.ok(
        &["item", "set", "ci", "deploy-key", "--stdin"],
        Some("DEPLOY-SECRET-77"),
    );
    let token = erin
        .ok(
            &[
                "token",
                "create",
                "--name",
                "ci-job",
                "--vault",
                "ci",
                "--password-stdin",
            ],
            Some(&format!("{PASSWORD}\n")),
        )
        .trim()
        .to_owned();
    let saw = server.dir.path().join("child-env");
    let script = format!(
        "printf %s \"$DEPLOY_KEY\" > {out}; env > {out}.env",
        out = saw.display()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_keyslot"))
        .args(["run", "--env", "DEPLOY_KEY=ks://ci/deploy-key", "--"])
        .args(["sh", "-c", &script])
        .env("KEYSLOT_ADDR", &server.addr)
        .env("KEYSLOT_CONFIG_DIR", server.dir.path().join("config-ci"))
        .env("KEYSLOT_TOKEN", &token)
        .env(
            "KEYSLOT_DATABASE_URL",
            "postgres://keyslot:db-password-31@db.internal/keyslot",
        )
        .env("KEYSLOT_SEAL_PKCS11_PIN", "hsm-pin-5150")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&saw).unwrap(), "DEPLOY-SECRET-77");
    let env = std::fs::read_to_string(saw.with_extension("env")).unwrap();
    for leaked in [
        "KEYSLOT_TOKEN",
        &token[4..],
        "KEYSLOT_DATABASE_URL",
        "db-password-31",
        "KEYSLOT_SEAL_PKCS11_PIN",
        "hsm-pin-5150",
    ] {
        assert!(!env.contains(leaked), "the child saw {leaked}");
    }
    // Where the server is stays, for a child that calls `keyslot` with its own credential.
    assert!(
        env.contains(&format!("KEYSLOT_ADDR={}", server.addr)),
        "{env}"
    );
}

#[test]
fn tokens_from_the_cli_work_for_scripts_until_revoked() {
    let server = Server::start();
    let carol = server.user("carol");
    carol.signed_up_and_logged_in("carol");
    carol.ok(&["vault", "create", "ci"], None);
    carol.ok(
        &["item", "set", "ci", "deploy-key", "--stdin"],
        Some("DEPLOY-SECRET"),
    );
    let token = carol
        .ok(
            &[
                "token",
                "create",
                "--name",
                "pipeline",
                "--vault",
                "ci",
                "--password-stdin",
            ],
            Some(&format!("{PASSWORD}\n")),
        )
        .trim()
        .to_owned();
    assert!(token.starts_with("kst_") && token.len() == 75, "{token}");
    // Minting asks for the password again: a wrong one mints nothing (exit 3).
    carol.fails(
        &[
            "token",
            "create",
            "--name",
            "nope",
            "--vault",
            "ci",
            "--password-stdin",
        ],
        Some("not the password of carol\n"),
        3,
    );

    let mut script = server.user("script");
    script.token = Some(token.clone());
    assert_eq!(
        script.ok(&["read", "ks://ci/deploy-key"], None),
        "DEPLOY-SECRET\n"
    );
    // Read-only: writing is refused with the permission exit code.
    script.fails(&["item", "set", "ci", "x", "--stdin"], Some("v"), 3);
    // Out of scope: the Personal vault does not exist for this token.
    script.fails(&["read", "ks://Personal/anything"], None, 2);

    let listed = carol.ok(&["token", "list"], None);
    assert!(
        listed.contains("pipeline") && !listed.contains(&token[4..]),
        "{listed}"
    );
    let list: serde_json::Value =
        serde_json::from_str(&carol.ok(&["--json", "token", "list"], None)).unwrap();
    let id = list[0]["id"].as_str().unwrap().to_owned();
    carol.ok(&["token", "revoke", &id], None);
    let stderr = script.fails(&["read", "ks://ci/deploy-key"], None, 3);
    assert!(
        !stderr.contains(&token[4..]),
        "the token is never echoed: {stderr}"
    );
}

#[test]
fn a_deposit_token_from_the_cli_reads_nothing() {
    let server = Server::start();
    let erin = server.user("erin");
    erin.signed_up_and_logged_in("erin");
    erin.ok(&["vault", "create", "inbox"], None);
    erin.ok(&["item", "set", "inbox", "kept", "--stdin"], Some("KEPT"));
    // --deposit combines with neither --vault nor --write (a usage error: exit 1).
    let stderr = erin.fails(
        &[
            "token",
            "create",
            "--name",
            "x",
            "--deposit",
            "inbox",
            "--write",
        ],
        None,
        1,
    );
    assert!(stderr.contains("cannot be used with"), "{stderr}");
    let token = erin
        .ok(
            &[
                "token",
                "create",
                "--name",
                "intake",
                "--deposit",
                "inbox",
                "--password-stdin",
            ],
            Some(&format!("{PASSWORD}\n")),
        )
        .trim()
        .to_owned();
    assert!(token.starts_with("kst_"), "{token}");
    let list: serde_json::Value =
        serde_json::from_str(&erin.ok(&["--json", "token", "list"], None)).unwrap();
    assert_eq!(list[0]["permissions"], serde_json::json!(["deposit"]));
    let mut depositor = server.user("depositor");
    depositor.token = Some(token);
    // It reads nothing in its vault, not even by a ks:// reference (permission: exit 3).
    depositor.fails(&["read", "ks://inbox/kept"], None, 3);
}

#[test]
fn export_then_import_round_trips_a_thousand_items_exactly() {
    let server = Server::start();
    let dana = server.user("dana");
    dana.signed_up_and_logged_in("dana");
    let mut source = String::new();
    let mut expected = Vec::new();
    for i in 0..1000 {
        let value = match i % 4 {
            0 => serde_json::json!(format!("secret-{i} with ünïcödé and \"quotes\"")),
            1 => serde_json::json!({"user": format!("u{i}"), "n": i, "nested": [1, null, true]}),
            2 => serde_json::json!(i),
            _ => serde_json::json!(["a", i]),
        };
        let line = serde_json::json!({"name": format!("item-{i:04}"), "value": value});
        source.push_str(&line.to_string());
        source.push('\n');
        expected.push(line);
    }
    dana.ok(&["vault", "create", "original"], None);
    dana.ok(&["import", "original"], Some(&source));
    let file = server.dir.path().join("export.jsonl");
    let out = dana.keyslot(
        &["export", "original", "--output", file.to_str().unwrap()],
        None,
    );
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Warning: writing the plaintext"),
        "a warning before plaintext goes to a file"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    dana.ok(&["vault", "create", "copy"], None);
    dana.ok(&["import", "copy", "--input", file.to_str().unwrap()], None);
    let copied = dana.ok(&["export", "copy"], None);
    let mut got: Vec<serde_json::Value> = copied
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    got.sort_by_key(|v| v["name"].as_str().unwrap().to_owned());
    assert_eq!(got.len(), 1000);
    assert_eq!(got, expected);
    // A malformed line imports nothing.
    dana.ok(&["vault", "create", "empty"], None);
    dana.fails(
        &["import", "empty"],
        Some("{\"name\":\"a\",\"value\":1}\nnot json\n"),
        5,
    );
    assert_eq!(
        dana.ok(&["item", "list", "empty"], None).lines().count(),
        1,
        "only the header"
    );
}

#[test]
fn errors_say_what_to_do_and_never_echo_secrets() {
    let server = Server::start();
    let erin = server.user("erin");
    erin.ok(
        &["signup", "erin", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    let stderr = erin.fails(
        &["login", "erin", "--password-stdin"],
        Some("wrong but long password\n"),
        3,
    );
    assert!(!stderr.contains("wrong but long password"), "{stderr}");
    let mut forged = server.user("forged");
    forged.token = Some("kst_notarealtokenatall".into());
    let stderr = forged.fails(&["vault", "list"], None, 3);
    assert!(!stderr.contains("notarealtoken"), "{stderr}");
    let weak = erin.fails(
        &["signup", "erin2", "--password-stdin"],
        Some("password\n"),
        5,
    );
    assert!(weak.contains("password"), "names the field: {weak}");
    let mut away = server.user("away");
    away.addr = "http://127.0.0.1:9".into();
    away.token = Some("kst_x".into());
    let stderr = away.fails(&["vault", "list"], None, 6);
    assert!(stderr.contains("KEYSLOT_ADDR"), "{stderr}");
    erin.fails(&["item", "set", "v", "i"], None, 1);
    erin.fails(&["no-such-command"], None, 1);
    assert!(erin.ok(&["completions", "bash"], None).contains("keyslot"));
}

#[test]
fn operators_back_up_and_disable_accounts() {
    let server = Server::start();
    let frank = server.user("frank");
    frank.signed_up_and_logged_in("frank");
    frank.ok(&["item", "set", "Personal", "k", "--stdin"], Some("v"));
    let token = frank
        .ok(
            &[
                "token",
                "create",
                "--name",
                "t",
                "--all-vaults",
                "--password-stdin",
            ],
            Some(&format!("{PASSWORD}\n")),
        )
        .trim()
        .to_owned();
    let data = server.data_dir();
    let op = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--data-dir", data.to_str().unwrap()]);
        frank.keyslot(&all, None)
    };

    let backup = server.dir.path().join("backup");
    let out = op(&["backup", backup.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in the backup"));
    assert!(backup.join("keyslot.db").is_file());
    assert!(
        !backup.join("seal.key").exists(),
        "a backup never holds the seal key: with both, a thief could test password guesses offline"
    );
    assert_private(&backup, 0o700);
    assert_private(&backup.join("keyslot.db"), 0o600);
    assert!(
        !op(&["backup", backup.to_str().unwrap()]).status.success(),
        "never overwrites a backup"
    );
    let refused = server.dir.path().join("refused");
    let inside = refused.join("seal.key");
    let out = op(&[
        "backup",
        refused.to_str().unwrap(),
        "--seal-key-out",
        inside.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the seal key may not go inside a backup directory"
    );
    assert!(!refused.exists(), "a refused backup writes nothing");
    let backup = server.dir.path().join("backup2");
    let seal_copy = server.dir.path().join("seal-copy.key");
    let out = op(&[
        "backup",
        backup.to_str().unwrap(),
        "--seal-key-out",
        seal_copy.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&seal_copy).unwrap(),
        std::fs::read(data.join("seal.key")).unwrap()
    );
    assert_private(&seal_copy, 0o600);
    // Restoring is putting the two back together in one data directory.
    std::fs::copy(&seal_copy, backup.join("seal.key")).unwrap();
    check_backup_opens(&backup);

    let out = op(&["--json", "user", "list"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"frank\""));
    assert!(op(&["user", "disable", "frank"]).status.success());
    frank.fails(&["vault", "list"], None, 3);
    let mut script = server.user("script");
    script.token = Some(token);
    script.fails(&["read", "ks://Personal/k"], None, 3);
    frank.fails(
        &["login", "frank", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
        3,
    );
    assert!(op(&["user", "enable", "frank"]).status.success());
    assert_eq!(script.ok(&["read", "ks://Personal/k"], None), "v\n");
    assert_eq!(op(&["user", "disable", "nobody"]).status.code(), Some(2));
}

#[cfg(unix)]
fn assert_private(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    let actual = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(actual, mode, "{} has mode {actual:o}", path.display());
}

/// A backup is a complete deployment: serve it and read the item with the same account.
fn check_backup_opens(backup: &Path) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyslot"));
    cmd.arg("serve").arg("--data-dir").arg(backup);
    let (mut child, port) = support::serve_on_free_port(cmd);
    let user = User {
        addr: format!("http://127.0.0.1:{port}"),
        config: backup.join("cfg"),
        token: None,
    };
    user.ok(
        &["login", "frank", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(user.ok(&["read", "ks://Personal/k"], None), "v\n");
    let _ = child.kill();
    let _ = child.wait();
}
