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

/// A POST with a JSON body; the whole answer (status line, headers, body).
fn post_json(port: u16, path: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}

/// Resident memory of a process, in KiB (`VmRSS` in /proc/<pid>/status).
#[cfg(target_os = "linux")]
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The issue-13 attack: logins whose clients hang up 10 ms after sending, while their
/// Argon2 hash runs. Before the fix each hang-up freed its admission while the hash ran
/// on, so hashes and their 19 MiB buffers piled up (600 took the server from 43 to 370
/// MiB). Now the server holds at most one buffer per worker, whatever the clients do.
#[cfg(target_os = "linux")]
#[test]
fn logins_that_hang_up_mid_hash_do_not_grow_the_servers_memory() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyslot"))
        .args(["serve", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _kill = KillOnDrop(child.id());
    wait_ready(&mut child, port);
    // The server sizes its Argon2 workers to the cores it sees, as this process does.
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let m_cost_kib = 19 * 1024;

    let login = r#"{"username":"alice","password":"correct horse battery staple"}"#;
    let signed_up = post_json(port, "/v1/signup", login);
    assert!(signed_up.starts_with("HTTP/1.1 201"), "{signed_up}");
    // Warm up: enough logins at once that every worker has made its buffer.
    let warm: Vec<_> = (0..workers * 2)
        .map(|_| std::thread::spawn(move || post_json(port, "/v1/login", login)))
        .collect();
    for w in warm {
        let reply = w.join().unwrap();
        assert!(
            reply.starts_with("HTTP/1.1 200") || reply.starts_with("HTTP/1.1 503"),
            "{reply}"
        );
    }
    let before = rss_kib(child.id());

    for _ in 0..200 {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            stream,
            "POST /v1/login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{login}",
            login.len()
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(10));
        drop(stream);
    }
    // Let every hash that was started finish.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !get(port, "/metrics")
        .unwrap()
        .contains("keyslot_argon2_in_flight 0\n")
    {
        assert!(Instant::now() < deadline, "hashes still running after 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let after = rss_kib(child.id());
    let grown = after.saturating_sub(before);
    eprintln!("RSS {before} KiB before, {after} KiB after 200 hung-up logins");
    assert!(
        grown < workers as u64 * m_cost_kib,
        "RSS grew by {grown} KiB ({before} → {after}) over 200 hung-up logins; \
         the bound is {workers} workers × {m_cost_kib} KiB"
    );
    // And the server still answers logins at once: past the attempt budget that these 200
    // logins spent (they were admitted, so they count), with 429 and a Retry-After.
    let reply = post_json(port, "/v1/login", login);
    assert!(
        reply.starts_with("HTTP/1.1 200")
            || (reply.starts_with("HTTP/1.1 429")
                && reply.to_ascii_lowercase().contains("retry-after:")),
        "{reply}"
    );
    assert!(get(port, "/readyz").unwrap().starts_with("HTTP/1.1 200"));
}

/// SIGKILLs a child process when the test ends, passing or not.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-KILL")
            .arg(self.0.to_string())
            .status();
    }
}

/// `--listen 0.0.0.0:…` with the TLS flags forgotten would serve passwords and tokens in
/// clear to the network: serve refuses, and says what to do instead.
#[test]
fn plain_http_on_a_public_address_is_refused_without_insecure_http() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_keyslot"))
        .args(["serve", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--listen", &format!("0.0.0.0:{port}")])
        .env_remove("KEYSLOT_INSECURE_HTTP")
        .env_remove("KEYSLOT_TLS_CERT")
        .env_remove("KEYSLOT_TLS_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _kill = KillOnDrop(child.id());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "serve is running on 0.0.0.0 over plain HTTP"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    let mut log = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        log.contains("--insecure-http") && log.contains("--tls-cert") && log.contains("--tls-key"),
        "{log}"
    );
    assert!(get(port, "/healthz").is_none(), "something answered");

    // Said explicitly (TLS ends at a proxy in front), it serves.
    for how in ["flag", "env"] {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyslot"));
        cmd.args(["serve", "--data-dir"])
            .arg(dir.path().join(format!("data-{how}")))
            .args(["--listen", &format!("0.0.0.0:{port}")])
            .env_remove("KEYSLOT_INSECURE_HTTP")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if how == "flag" {
            cmd.arg("--insecure-http");
        } else {
            cmd.env("KEYSLOT_INSECURE_HTTP", "true");
        }
        let mut child = cmd.spawn().unwrap();
        let _kill = KillOnDrop(child.id());
        wait_ready(&mut child, port);
        assert!(get(port, "/healthz").unwrap().ends_with("ok"));
    }
}
