//! The binary as a newcomer runs it: `keyslot serve` with no flags in an empty directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    stream.read_to_string(&mut out).ok()?;
    Some(out)
}

fn wait_ready(child: &mut Child, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Some(reply) = get(port, "/readyz") {
            assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
            return;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "keyslot serve exited early"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("keyslot serve did not become ready");
}

#[cfg(unix)]
fn terminate(child: &Child) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn serve_with_no_flags_creates_the_data_dir_and_stops_cleanly_on_sigterm() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // Only the listen address is moved off 8470 (tests run in parallel); everything else
    // is the zero-configuration default.
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyslot"))
        .arg("serve")
        .env("KEYSLOT_LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("KEYSLOT_DATA_DIR")
        .env_remove("KEYSLOT_DATABASE_URL")
        .env_remove("KEYSLOT_SEAL_KEY_FILE")
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(&mut child, port);
    let data = dir.path().join("keyslot-data");
    assert!(data.join("keyslot.db").is_file());
    let key_mode = std::fs::metadata(data.join("seal.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(key_mode, 0o600);
    let dir_mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o700);
    assert!(get(port, "/healthz").unwrap().ends_with("ok"));

    terminate(&child);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(log.contains("keyslot stopped"), "{log}");

    // A second start reuses the same seal key and database.
    let key_before = std::fs::read(data.join("seal.key")).unwrap();
    let mut again = Command::new(env!("CARGO_BIN_EXE_keyslot"))
        .arg("serve")
        .env("KEYSLOT_LISTEN", format!("127.0.0.1:{port}"))
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(&mut again, port);
    assert_eq!(std::fs::read(data.join("seal.key")).unwrap(), key_before);
    terminate(&again);
    assert!(again.wait().unwrap().success());
}

#[test]
fn a_wrong_seal_key_refuses_to_start_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let data = dir.path().join("data");
    let mut first = Command::new(env!("CARGO_BIN_EXE_keyslot"))
        .args(["serve", "--data-dir"])
        .arg(&data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(&mut first, port);
    first.kill().unwrap();
    first.wait().unwrap();

    // Another key file, for instance a second instance configured with the wrong one.
    let other = dir.path().join("other.key");
    std::fs::write(&other, keyslot_crypto_key_text()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_keyslot"))
        .args(["serve", "--data-dir"])
        .arg(&data)
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .arg("--seal-key-file")
        .arg(&other)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("seal key") && stderr.contains("KEYSLOT_SEAL_KEY_FILE"),
        "{stderr}"
    );
}

/// A valid seal key file that is not the one the database was created with.
fn keyslot_crypto_key_text() -> String {
    "keyslot-seal-key-v1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n".to_owned()
}
