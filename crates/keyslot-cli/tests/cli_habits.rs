//! Habits people bring from 1Password's `op` and Infisical, against a live server:
//! `--json` on every command, `keyslot run` resolving references already in its
//! environment or in an env file and masking what it injected, and `keyslot inject`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use support::{Instance, keyslot_bin, seal_key_file, spawn, wait_ready};

const PASSWORD: &str = "correct horse battery staple";
const MASK: &str = "<concealed by keyslot>";

/// A live `keyslot serve` (SQLite) with its temporary directory.
struct Server {
    instance: Instance,
    dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let seal = seal_key_file(dir.path());
        let url = format!("sqlite://{}", dir.path().join("data/keyslot.db").display());
        let mut instance = spawn(dir.path(), "data", &url, &seal, false);
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(wait_ready(&support::http().build().unwrap(), &mut instance));
        Self { instance, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A user with their own config directory, signed up and logged in.
    fn user(&self, name: &str) -> User {
        let user = User {
            addr: self.instance.base.clone(),
            config: self.path(&format!("config-{name}")),
        };
        user.ok(
            &["signup", name, "--password-stdin"],
            Some(&format!("{PASSWORD}\n")),
        );
        user.ok(
            &["login", name, "--password-stdin"],
            Some(&format!("{PASSWORD}\n")),
        );
        user
    }
}

struct User {
    addr: String,
    config: PathBuf,
}

impl User {
    /// `keyslot ARGS` with this user's session, extra environment variables, and `stdin`.
    fn keyslot_env(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(keyslot_bin());
        cmd.args(args)
            .env("KEYSLOT_ADDR", &self.addr)
            .env("KEYSLOT_CONFIG_DIR", &self.config)
            .env_remove("KEYSLOT_TOKEN")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    fn keyslot(&self, args: &[&str], stdin: Option<&str>) -> Output {
        self.keyslot_env(args, stdin, &[])
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

    /// Run with `--json` and expect success; return stdout parsed as one JSON document.
    fn json(&self, args: &[&str], stdin: Option<&str>) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let stdout = self.ok(&all, stdin);
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("keyslot --json {args:?} printed no JSON ({e}): {stdout}"))
    }

    /// Run and expect this exit code; return stderr.
    fn fails(&self, args: &[&str], stdin: Option<&str>, code: i32) -> String {
        check_fails(self.keyslot(args, stdin), args, code)
    }
}

fn check_fails(out: Output, args: &[&str], code: i32) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "keyslot {args:?}: {stderr}");
    stderr
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn every_user_command_prints_json_with_json() {
    let server = Server::start();
    let anon = User {
        addr: server.instance.base.clone(),
        config: server.path("config-gina"),
    };
    let signed = anon.json(
        &["signup", "gina", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(signed["username"], "gina");
    assert_eq!(signed["recovery_code"].as_str().unwrap().len(), 32);
    assert!(signed["user_id"].is_string() && signed["vault_id"].is_string());
    let logged = anon.json(
        &["login", "gina", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert_eq!(logged["username"], "gina");
    assert!(logged["expires_at"].is_string(), "{logged}");
    let gina = anon;

    let vault = gina.json(&["vault", "create", "work"], None);
    assert_eq!(vault["name"], "work");
    let vaults = gina.json(&["vault", "list"], None);
    assert!(
        vaults
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["name"] == "work")
    );

    let set = gina.json(
        &["item", "set", "work", "api", "--stdin"],
        Some("api-secret-1"),
    );
    assert_eq!(
        (
            &set["name"],
            &set["vault"],
            &set["version"],
            &set["created"]
        ),
        (&"api".into(), &"work".into(), &1.into(), &true.into())
    );
    let again = gina.json(
        &["item", "set", "work", "api", "--stdin"],
        Some("api-secret-2"),
    );
    assert_eq!(
        (&again["version"], &again["created"]),
        (&2.into(), &false.into())
    );
    assert_eq!(again["id"], set["id"]);
    gina.json(
        &[
            "item",
            "set",
            "work",
            "db",
            "--value-json",
            r#"{"password":"pw-9"}"#,
        ],
        None,
    );
    assert_eq!(
        gina.json(&["item", "list", "work"], None)
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        gina.json(&["item", "get", "work", "api"], None)["value"],
        "api-secret-2"
    );

    let read = gina.json(&["read", "ks://work/db"], None);
    assert_eq!(read["reference"], "ks://work/db");
    assert_eq!(
        read["value"],
        serde_json::json!({"password": "pw-9"}),
        "as stored"
    );
    assert_eq!(
        gina.json(&["read", "ks://work/db/password"], None)["value"],
        "pw-9"
    );

    let minted = gina.json(
        &[
            "token",
            "create",
            "--name",
            "ci",
            "--vault",
            "work",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    let token = minted["token"].as_str().unwrap();
    assert!(token.starts_with("kst_"), "{minted}");
    assert!(minted["id"].is_string() && minted["expires_at"].is_string());
    let tokens = gina.json(&["token", "list"], None);
    assert_eq!(tokens[0]["id"], minted["id"]);
    let revoked = gina.json(&["token", "revoke", minted["id"].as_str().unwrap()], None);
    assert_eq!(
        (&revoked["id"], &revoked["revoked"]),
        (&minted["id"], &true.into())
    );

    let file = server.path("work.jsonl");
    let exported = gina.json(
        &["export", "work", "--output", file.to_str().unwrap()],
        None,
    );
    assert_eq!(
        (&exported["vault"], &exported["exported"]),
        (&"work".into(), &2.into())
    );
    // To standard output, an export is its JSON lines, --json or not.
    let lines = gina.ok(&["--json", "export", "work"], None);
    assert_eq!(lines, gina.ok(&["export", "work"], None));
    for line in lines.lines() {
        let _: Value = serde_json::from_str(line).unwrap();
    }
    gina.ok(&["vault", "create", "copy"], None);
    let imported = gina.json(&["import", "copy", "--input", file.to_str().unwrap()], None);
    assert_eq!(
        (&imported["created"], &imported["updated"]),
        (&2.into(), &0.into())
    );

    let rendered = gina.json(&["inject"], Some("key: {{ ks://work/api }}\n"));
    assert_eq!(
        (&rendered["rendered"], &rendered["references"]),
        (&"key: api-secret-2\n".into(), &1.into())
    );
    let out = server.path("rendered.txt");
    let written = gina.json(
        &["inject", "-o", out.to_str().unwrap()],
        Some("{{ks://work/api}}"),
    );
    assert_eq!(written["output"], out.to_str().unwrap());

    let removed = gina.json(&["item", "rm", "copy", "api"], None);
    assert_eq!(
        (&removed["name"], &removed["deleted"]),
        (&"api".into(), &true.into())
    );

    // The text output is what it was: a token alone on standard output, writes silent.
    let text = gina.ok(
        &[
            "token",
            "create",
            "--name",
            "t",
            "--vault",
            "work",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(
        text.starts_with("kst_") && text.trim().len() == 75,
        "{text}"
    );
    assert_eq!(gina.ok(&["item", "set", "work", "x", "y"], None), "");
    assert_eq!(gina.ok(&["read", "ks://work/api"], None), "api-secret-2\n");

    assert_eq!(gina.json(&["logout"], None)["logged_out"], true);
    assert_eq!(gina.json(&["logout"], None)["logged_out"], false);

    // The operator's list too, on the server's database.
    let url = format!("sqlite://{}", server.path("data/keyslot.db").display());
    let users = gina.json(&["user", "list", "--database-url", &url], None);
    assert_eq!(users[0]["username"], "gina", "{users}");
}

/// `op run` habits: references exported in the shell or written in a dotenv file.
#[test]
fn run_resolves_references_from_its_environment_and_env_files() {
    let server = Server::start();
    let hana = server.user("hana");
    hana.ok(&["vault", "create", "work"], None);
    hana.ok(
        &[
            "item",
            "set",
            "work",
            "db",
            "--value-json",
            r#"{"password":"db-pw-8841"}"#,
        ],
        None,
    );
    hana.ok(
        &["item", "set", "work", "api", "--stdin"],
        Some("api-key-5150"),
    );
    hana.ok(
        &["item", "set", "work", "other", "--stdin"],
        Some("other-value-77"),
    );
    let env_file = server.path("app.env");
    std::fs::write(
        &env_file,
        "# the app's settings\n\
         \n\
         export API_KEY=\"ks://work/api\"\n\
         LITERAL='plain value'  # not a reference\n\
         FROM_FILE=ks://work/api\n\
         OVERRIDDEN=ks://work/api\n",
    )
    .unwrap();
    let saw = server.path("child-saw");
    let script = format!(
        "printf '%s|%s|%s|%s|%s|%s' \"$DB\" \"$API_KEY\" \"$LITERAL\" \"$FROM_FILE\" \"$OVERRIDDEN\" \"$UNTOUCHED\" > {}",
        saw.display()
    );
    let out = hana.keyslot_env(
        &[
            "run",
            "--env-file",
            env_file.to_str().unwrap(),
            "--env",
            "OVERRIDDEN=ks://work/other",
            "--",
            "sh",
            "-c",
            &script,
        ],
        None,
        &[
            ("DB", "ks://work/db/password"),
            // The env file wins over the environment, --env over both.
            ("FROM_FILE", "ks://work/nope"),
            ("OVERRIDDEN", "ks://work/nope"),
            ("UNTOUCHED", "just text"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&saw).unwrap(),
        "db-pw-8841|api-key-5150|plain value|api-key-5150|other-value-77|just text"
    );
}

#[test]
fn run_names_the_variable_and_reference_that_fail_and_starts_nothing() {
    let server = Server::start();
    let ines = server.user("ines");
    ines.ok(
        &["item", "set", "Personal", "api", "--stdin"],
        Some("api-value-31"),
    );
    let marker = server.path("ran");
    let touch = format!("touch {}", marker.display());
    let run = |extra: &[&str], env: &[(&str, &str)], code: i32| {
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.extend(["--", "sh", "-c", &touch]);
        let stderr = check_fails(ines.keyslot_env(&args, None, env), &args, code);
        assert!(!marker.exists(), "the command ran: {stderr}");
        assert!(
            !stderr.contains("api-value-31") && !stderr.contains("literal-secret-4"),
            "a value in the message: {stderr}"
        );
        stderr
    };

    let stderr = run(
        &[],
        &[
            ("GOOD", "ks://Personal/api"),
            ("BROKEN", "ks://Personal/missing"),
        ],
        2,
    );
    assert!(
        stderr.contains("BROKEN=ks://Personal/missing") && stderr.contains("environment"),
        "{stderr}"
    );
    let stderr = run(&[], &[("MALFORMED", "ks://only-a-vault")], 1);
    assert!(stderr.contains("MALFORMED=ks://only-a-vault"), "{stderr}");

    let env_file = server.path("bad-ref.env");
    std::fs::write(&env_file, "SECRET=literal-secret-4\nGONE=ks://Nowhere/x\n").unwrap();
    let stderr = run(&["--env-file", env_file.to_str().unwrap()], &[], 2);
    assert!(
        stderr.contains("GONE=ks://Nowhere/x") && stderr.contains("line 2"),
        "{stderr}"
    );
    let syntax = server.path("syntax.env");
    std::fs::write(&syntax, "OK=1\nSECRET='literal-secret-4\n").unwrap();
    let stderr = run(&["--env-file", syntax.to_str().unwrap()], &[], 5);
    assert!(
        stderr.contains("line 2") && stderr.contains("quote"),
        "{stderr}"
    );
    run(
        &["--env-file", server.path("absent.env").to_str().unwrap()],
        &[],
        1,
    );
    let stderr = run(&["--env", "LITERAL=literal-secret-4"], &[], 1);
    assert!(stderr.contains("LITERAL"), "{stderr}");
}

#[test]
fn run_masks_the_values_it_injected_in_the_commands_output() {
    let server = Server::start();
    let june = server.user("june");
    june.ok(
        &["item", "set", "Personal", "api", "--stdin"],
        Some("SECRET-VALUE-4f2a"),
    );
    june.ok(&["item", "set", "Personal", "short", "--stdin"], Some("ab"));
    // The secret goes out in two writes with a pause between: two reads for keyslot.
    let script = "echo \"out: $API\"; echo \"err: $API\" >&2; \
                  printf 'split: SECRET-VAL'; sleep 0.3; printf 'UE-4f2a\\n'; \
                  echo \"short: $SHORT\"; read line; echo \"stdin: $line\"; exit 3";
    let args = [
        "run",
        "--env",
        "API=ks://Personal/api",
        "--env",
        "SHORT=ks://Personal/short",
        "--",
        "sh",
        "-c",
        script,
    ];
    let out = june.keyslot(&args, Some("from the pipe\n"));
    assert_eq!(out.status.code(), Some(3), "the command's exit code");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stdout,
        format!("out: {MASK}\nsplit: {MASK}\nshort: ab\nstdin: from the pipe\n")
    );
    assert_eq!(stderr, format!("err: {MASK}\n"));

    let mut unmasked = args.to_vec();
    unmasked.insert(1, "--no-masking");
    let out = june.keyslot(&unmasked, Some("from the pipe\n"));
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("out: SECRET-VALUE-4f2a\nsplit: SECRET-VALUE-4f2a\n"),
        "{stdout}"
    );
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "err: SECRET-VALUE-4f2a\n"
    );
}

#[test]
fn inject_renders_templates_and_writes_files_only_when_whole() {
    let server = Server::start();
    let kim = server.user("kim");
    kim.ok(&["vault", "create", "work"], None);
    kim.ok(
        &[
            "item",
            "set",
            "work",
            "db",
            "--value-json",
            r#"{"user":"app","password":"pw 7"}"#,
        ],
        None,
    );
    kim.ok(&["item", "set", "work", "api", "--stdin"], Some("api-9"));
    let template = "db:\n  user: {{ks://work/db/user}}\n  password: \"{{  ks://work/db/password }}\"\n\
                    api: {{ ks://work/api }}\nhelm: {{ .Values.x }}\n";
    let expected = "db:\n  user: app\n  password: \"pw 7\"\napi: api-9\nhelm: {{ .Values.x }}\n";
    let tpl = server.path("config.tpl");
    std::fs::write(&tpl, template).unwrap();

    assert_eq!(
        kim.ok(&["inject", "-i", tpl.to_str().unwrap()], None),
        expected
    );
    assert_eq!(kim.ok(&["inject", "-i", "-"], Some(template)), expected);
    assert_eq!(kim.ok(&["inject"], Some(template)), expected);

    let out = server.path("config.yml");
    let args = [
        "inject",
        "-i",
        tpl.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    assert_eq!(kim.ok(&args, None), "", "nothing on standard output");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), expected);
    #[cfg(unix)]
    assert_eq!(mode(&out), 0o600);

    // An existing file is kept without --force.
    std::fs::write(&out, "old").unwrap();
    let stderr = kim.fails(&args, None, 1);
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old");
    // With it, replaced, and private even if the old file was readable by all.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let mut forced = args.to_vec();
    forced.push("--force");
    kim.ok(&forced, None);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), expected);
    #[cfg(unix)]
    assert_eq!(mode(&out), 0o600);

    // One reference that does not resolve: an error naming it, and nothing written.
    let broken = "ok: {{ ks://work/api }}\nbad: {{ ks://work/db/nope }}\n";
    let fresh = server.path("fresh.yml");
    let stderr = kim.fails(&["inject", "-o", fresh.to_str().unwrap()], Some(broken), 2);
    assert!(
        stderr.contains("ks://work/db/nope") && stderr.contains("line 2"),
        "{stderr}"
    );
    assert!(!stderr.contains("api-9"), "{stderr}");
    assert!(!fresh.exists(), "a file was written");
    kim.fails(
        &["inject", "-o", out.to_str().unwrap(), "--force"],
        Some(broken),
        2,
    );
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        expected,
        "the old file stays"
    );
    let out = kim.keyslot(&["inject"], Some(broken));
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "half a template on standard output");
    kim.fails(&["inject"], Some("x: {{ ks://work/api\n"), 5);
}
