//! `keyslot audit` and `keyslot serve --audit-log`, as an operator and a user meet them:
//! the user's own activity from the command line, and a log file that logrotate can move
//! away and signal without losing a line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{Instance, http, keyslot_bin, seal_key_file, serve_on_free_port, wait_ready};

const PASSWORD: &str = "correct horse battery staple";

fn keyslot(addr: &str, config: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(keyslot_bin())
        .args(args)
        .env("KEYSLOT_ADDR", addr)
        .env("KEYSLOT_CONFIG_DIR", config)
        .env_remove("KEYSLOT_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "keyslot {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The `--audit-log` file's lines, parsed.
fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Poll `probe` for up to 10 s (read events are flushed in batches).
async fn eventually<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    for _ in 0..100 {
        if let Some(found) = probe() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not within 10 s");
}

#[tokio::test]
async fn keyslot_audit_shows_the_users_reads_and_the_log_file_survives_logrotate() {
    let dir = tempfile::tempdir().unwrap();
    let seal = seal_key_file(dir.path());
    let log = dir.path().join("audit.jsonl");
    let mut cmd = Command::new(keyslot_bin());
    cmd.arg("serve")
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--seal-key-file")
        .arg(&seal)
        .env("KEYSLOT_AUDIT_LOG", &log);
    let (child, port) = serve_on_free_port(cmd);
    let mut server = Instance {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    wait_ready(&http().build().unwrap(), &mut server).await;
    let (addr, config) = (server.base.clone(), dir.path().join("config"));
    let pw = format!("{PASSWORD}\n");
    keyslot(
        &addr,
        &config,
        &["signup", "vera", "--password-stdin"],
        Some(&pw),
    );
    keyslot(
        &addr,
        &config,
        &["login", "vera", "--password-stdin"],
        Some(&pw),
    );
    keyslot(
        &addr,
        &config,
        &[
            "item",
            "set",
            "Personal",
            "stripe",
            "--value-json",
            "\"sk_live_cli\"",
        ],
        None,
    );
    keyslot(&addr, &config, &["read", "ks://Personal/stripe"], None);

    // The user's reads, from the command line, with where they came from.
    let reads: Vec<Value> = eventually("the read in keyslot audit", || {
        let out = keyslot(
            &addr,
            &config,
            &["--json", "audit", "--action", "item.read"],
            None,
        );
        let events: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        (!events.is_empty()).then_some(events)
    })
    .await;
    assert_eq!(reads.len(), 1, "{reads:#?}");
    assert_eq!(reads[0]["ip"], "127.0.0.1");
    assert!(reads[0]["actor"].as_str().unwrap().starts_with("session:"));
    let table = keyslot(&addr, &config, &["audit", "--limit", "3"], None);
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.starts_with("AT"), "{table}");
    assert_eq!(table.lines().count(), 4, "header and 3 events: {table}");
    assert!(
        !table.contains("sk_live_cli") && !table.contains("stripe"),
        "{table}"
    );

    // The file has the same read; logrotate moves it away and signals.
    eventually("the read in the log file", || {
        lines(&log)
            .iter()
            .any(|l| l["action"] == "item.read")
            .then_some(())
    })
    .await;
    let rotated = dir.path().join("audit.jsonl.1");
    std::fs::rename(&log, &rotated).unwrap();
    let before = lines(&rotated).len();
    let hup = Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    // Signals are asynchronous: read until a read lands in a new file at the path.
    let fresh = eventually("a new log file after SIGHUP", || {
        keyslot(&addr, &config, &["read", "ks://Personal/stripe"], None);
        std::thread::sleep(Duration::from_millis(300));
        let fresh = lines(&log);
        fresh
            .iter()
            .any(|l| l["action"] == "item.read")
            .then_some(fresh)
    })
    .await;
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "SIGHUP ended serve"
    );
    assert!(
        fresh.iter().all(|l| l["v"] == 1 && l["ip"] == "127.0.0.1"),
        "{fresh:#?}"
    );
    // Nothing was lost in the move: every read is in one file or the other.
    let all_reads = lines(&rotated)
        .iter()
        .chain(&fresh)
        .filter(|l| l["action"] == "item.read")
        .count();
    let in_db = keyslot(
        &addr,
        &config,
        &["--json", "audit", "--action", "item.read"],
        None,
    );
    let in_db: Vec<Value> = serde_json::from_slice(&in_db.stdout).unwrap();
    assert!(lines(&rotated).len() >= before);
    assert_eq!(
        all_reads,
        in_db.len(),
        "reads in the files and in the database"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&log).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
}
