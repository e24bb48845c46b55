//! `--json` on the operator commands, as a deployment script uses them: one JSON object on
//! standard output naming what was done and the paths written; the human messages stay
//! on standard error; a failure prints nothing on standard output and exits non-zero with
//! its message on standard error, as the user commands do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{As, Client};

const PASSWORD: &str = "correct horse battery staple";

fn keyslot(args: &[&str], dir: &Path) -> Output {
    Command::new(support::keyslot_bin())
        .args(args)
        .current_dir(dir)
        .env_remove("KEYSLOT_SEAL_KEY_FILE")
        .env_remove("KEYSLOT_DATABASE_URL")
        .env_remove("KEYSLOT_DATA_DIR")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The one JSON object a successful `--json` command printed on standard output.
fn json_of(out: &Output) -> Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let value: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    assert!(value.is_object(), "{value}");
    value
}

fn path_of(value: &Value) -> &Path {
    Path::new(
        value
            .as_str()
            .unwrap_or_else(|| panic!("not a path: {value}")),
    )
}

#[test]
fn dev_cert_json_names_the_files_and_when_the_certificate_expires() {
    let dir = tempfile::tempdir().unwrap();
    let out = keyslot(
        &[
            "--json",
            "dev-cert",
            "--out-dir",
            "tls",
            "--host",
            "keyslot.test",
        ],
        dir.path(),
    );
    let made = json_of(&out);
    let (cert, key) = (
        dir.path().join(path_of(&made["cert"])),
        dir.path().join(path_of(&made["key"])),
    );
    assert!(
        std::fs::read_to_string(&cert)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert!(
        std::fs::read_to_string(&key)
            .unwrap()
            .contains("PRIVATE KEY")
    );
    let expires = time::OffsetDateTime::parse(
        made["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let days = (expires - time::OffsetDateTime::now_utc()).whole_days();
    assert!((89..=90).contains(&days), "expires in {days} days");
    assert!(
        made["hosts"]
            .as_array()
            .unwrap()
            .contains(&json!("keyslot.test")),
        "{made}"
    );
    // The text mode is unchanged: nothing on standard output.
    let text = keyslot(&["dev-cert", "--out-dir", "tls2"], dir.path());
    assert!(text.status.success());
    assert!(text.stdout.is_empty());
    assert!(String::from_utf8_lossy(&text.stderr).contains("Wrote"));
    // A failure: no JSON, a message, a non-zero code.
    let again = keyslot(&["--json", "dev-cert", "--out-dir", "tls"], dir.path());
    assert_eq!(again.status.code(), Some(1));
    assert!(again.stdout.is_empty());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_backup_restore_and_migrate_print_json_for_scripts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let seal = support::seal_key_file(dir);
    let seal_arg = seal.to_str().unwrap();
    let url = format!("sqlite://{}", dir.join("data/keyslot.db").display());
    // An account, made through the server, which then stops.
    let client = Client::new();
    let mut server = support::spawn(dir, "data", &url, &seal, false);
    support::wait_ready(&client.http, &mut server).await;
    let (status, body) = client
        .send(
            &server.base,
            Method::POST,
            "/v1/signup",
            As::Nobody,
            Some(json!({"username": "mallory", "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    server.kill();

    // keyslot migrate: the backend and the schema it is at.
    let migrated = json_of(&keyslot(&["--json", "migrate", "--data-dir", "data"], dir));
    assert_eq!(migrated["backend"], "sqlite", "{migrated}");
    assert!(
        migrated["schema_version"].as_i64().unwrap() > 0,
        "{migrated}"
    );
    assert!(
        migrated["applied_count"].as_u64().unwrap() > 0,
        "{migrated}"
    );

    // keyslot user disable / enable: the account and the state it is now in.
    let disabled = json_of(&keyslot(
        &["--json", "user", "disable", "mallory", "--data-dir", "data"],
        dir,
    ));
    assert_eq!(
        disabled,
        json!({"username": "mallory", "state": "disabled"})
    );
    let listed = keyslot(&["--json", "user", "list", "--data-dir", "data"], dir);
    assert!(listed.status.success());
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["state"], "disabled", "{listed}");
    let enabled = json_of(&keyslot(
        &["--json", "user", "enable", "mallory", "--data-dir", "data"],
        dir,
    ));
    assert_eq!(enabled, json!({"username": "mallory", "state": "active"}));
    // Without --json the text stays on standard error, and standard output is empty.
    let text = keyslot(&["user", "disable", "mallory", "--data-dir", "data"], dir);
    assert!(text.status.success());
    assert!(text.stdout.is_empty());
    assert!(String::from_utf8_lossy(&text.stderr).contains("mallory disabled"));
    // An unknown account: no JSON, exit 2, the message on standard error.
    let unknown = keyslot(
        &["--json", "user", "disable", "nobody", "--data-dir", "data"],
        dir,
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(unknown.stdout.is_empty());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no such user"));

    // keyslot backup: the database copy and where the seal key was copied.
    let kept_apart = dir.join("seal-copy.key");
    let backed = json_of(&keyslot(
        &[
            "--json",
            "backup",
            "backup",
            "--data-dir",
            "data",
            "--seal-key-file",
            seal_arg,
            "--seal-key-out",
            kept_apart.to_str().unwrap(),
        ],
        dir,
    ));
    assert!(dir.join(path_of(&backed["database"])).is_file(), "{backed}");
    assert_eq!(path_of(&backed["seal_key"]), kept_apart, "{backed}");
    assert_eq!(
        std::fs::read(&kept_apart).unwrap(),
        std::fs::read(&seal).unwrap()
    );
    assert_eq!(path_of(&backed["seal_key_file"]), seal, "{backed}");
    // Without --seal-key-out, the seal key is null: nothing but the database was written.
    let alone = json_of(&keyslot(
        &[
            "--json",
            "backup",
            "backup2",
            "--data-dir",
            "data",
            "--seal-key-file",
            seal_arg,
        ],
        dir,
    ));
    assert_eq!(alone["seal_key"], Value::Null, "{alone}");
    // A directory that already holds a backup: no JSON.
    let twice = keyslot(&["--json", "backup", "backup", "--data-dir", "data"], dir);
    assert!(!twice.status.success());
    assert!(twice.stdout.is_empty());

    // keyslot restore: what was restored, where, and where the replaced database is kept.
    let restored = json_of(&keyslot(
        &[
            "--json",
            "restore",
            "backup",
            "--data-dir",
            "data",
            "--seal-key-file",
            kept_apart.to_str().unwrap(),
        ],
        dir,
    ));
    assert_eq!(
        dir.join(path_of(&restored["restored_from"])),
        dir.join("backup/keyslot.db"),
        "{restored}"
    );
    assert_eq!(
        dir.join(path_of(&restored["database"])),
        dir.join("data/keyslot.db"),
        "{restored}"
    );
    let previous = dir.join(path_of(&restored["kept_previous_at"]));
    assert!(previous.is_file(), "{restored}");
    assert!(
        previous
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("keyslot.db.before-restore-"),
        "{restored}"
    );
    // Into an empty data directory nothing is kept aside: null.
    let fresh = json_of(&keyslot(
        &[
            "--json",
            "restore",
            "backup",
            "--data-dir",
            "fresh",
            "--seal-key-file",
            seal_arg,
        ],
        dir,
    ));
    assert_eq!(fresh["kept_previous_at"], Value::Null, "{fresh}");
    // The wrong seal key: refused, no JSON.
    let other = support::seal_key_file(&dir.join("fresh"));
    let refused = keyslot(
        &[
            "--json",
            "restore",
            "backup",
            "--data-dir",
            "data",
            "--seal-key-file",
            other.to_str().unwrap(),
        ],
        dir,
    );
    assert!(!refused.status.success());
    assert!(refused.stdout.is_empty());
}

#[tokio::test]
async fn migrate_json_on_postgres_reports_the_schema() {
    let Some(url) = keyslot_store_tests::postgres::fresh_database_url("migrate json").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = keyslot(&["--json", "migrate", "--database-url", &url], dir.path());
    let migrated = json_of(&out);
    assert_eq!(migrated["backend"], "postgres", "{migrated}");
    assert!(
        migrated["applied_count"].as_u64().unwrap() > 0,
        "{migrated}"
    );
    // Run again: nothing left to apply, the same schema.
    let again = json_of(&keyslot(
        &["--json", "migrate", "--database-url", &url],
        dir.path(),
    ));
    assert_eq!(again, migrated);
}
