//! HTTPS: `keyslot dev-cert`, `keyslot serve --tls-cert --tls-key`, what a TLS client
//! sees (versions, suites, HSTS), a certificate swapped without a restart, and Debian's
//! testssl.sh against the running server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::TlsConnector;

use support::{free_port, keyslot_bin};

fn keyslot(args: &[&str]) -> Output {
    Command::new(keyslot_bin()).args(args).output().unwrap()
}

fn dev_cert(dir: &Path) -> (PathBuf, PathBuf) {
    let out = keyslot(&["dev-cert", "--out-dir", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir.join("cert.pem"), dir.join("key.pem"))
}

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_tls(data: &Path, cert: &Path, key: &Path) -> Server {
    let port = free_port();
    let child = Command::new(keyslot_bin())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data)
        .arg("--tls-cert")
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Server { child, port }
}

fn roots(cert: &Path) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(cert).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    roots
}

/// What one HTTPS request saw.
struct Seen {
    version: rustls::ProtocolVersion,
    suite: rustls::SupportedCipherSuite,
    peer: Vec<u8>,
    response: String,
}

async fn https_get(
    port: u16,
    trusted: &Path,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> std::io::Result<Seen> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots(trusted))
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await?;
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut response = String::new();
    tls.read_to_string(&mut response).await?;
    let (_, conn) = tls.get_ref();
    Ok(Seen {
        version: conn.protocol_version().unwrap(),
        suite: conn.negotiated_cipher_suite().unwrap(),
        peer: conn.peer_certificates().unwrap()[0].to_vec(),
        response,
    })
}

async fn wait_tls(server: &mut Server, trusted: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while https_get(server.port, trusted, &[&rustls::version::TLS13])
        .await
        .is_err()
    {
        assert!(
            server.child.try_wait().unwrap().is_none(),
            "keyslot serve exited"
        );
        assert!(
            Instant::now() < deadline,
            "keyslot serve never answered over TLS"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Ask the server to re-read its certificate now.
fn hup(pid: &str) {
    let sent = Command::new("kill").args(["-HUP", pid]).status().unwrap();
    assert!(sent.success());
}

fn der(cert: &Path) -> Vec<u8> {
    CertificateDer::from_pem_file(cert).unwrap().to_vec()
}

#[cfg(unix)]
#[test]
fn dev_cert_writes_a_private_key_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = dev_cert(dir.path());
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        std::fs::read_to_string(&cert)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    let key_before = std::fs::read(&key).unwrap();
    let again = keyslot(&["dev-cert", "--out-dir", dir.path().to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1), "usage error");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(
        std::fs::read(&key).unwrap(),
        key_before,
        "the key was not replaced"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_speaks_tls13_and_tls12_aead_only_sends_hsts_and_reloads_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    std::fs::create_dir(&live).unwrap();
    let (cert, key) = dev_cert(&live);
    let mut server = serve_tls(&dir.path().join("data"), &cert, &key);
    wait_tls(&mut server, &cert).await;

    // TLS 1.3 by default, with HSTS on the answer.
    let seen = https_get(
        server.port,
        &cert,
        &[&rustls::version::TLS13, &rustls::version::TLS12],
    )
    .await
    .unwrap();
    assert_eq!(seen.version, rustls::ProtocolVersion::TLSv1_3);
    assert!(
        seen.response.starts_with("HTTP/1.1 200"),
        "{}",
        seen.response
    );
    assert!(
        seen.response
            .to_ascii_lowercase()
            .contains("strict-transport-security: max-age=63072000; includesubdomains"),
        "{}",
        seen.response
    );
    // A TLS 1.2 client gets an ECDHE suite with an AEAD.
    let seen = https_get(server.port, &cert, &[&rustls::version::TLS12])
        .await
        .unwrap();
    assert_eq!(seen.version, rustls::ProtocolVersion::TLSv1_2);
    let suite = format!("{:?}", seen.suite.suite());
    assert!(
        suite.starts_with("TLS_ECDHE_") && (suite.contains("GCM") || suite.contains("CHACHA20")),
        "{suite}"
    );

    // The CLI over HTTPS: refused while the certificate is unknown, fine with --ca-cert.
    let addr = format!("https://localhost:{}", server.port);
    let cli = |extra: &[&str]| {
        let mut cmd = Command::new(keyslot_bin());
        cmd.args(["--addr", &addr])
            .args(extra)
            .args(["signup", "alice", "--password-stdin"])
            .env("KEYSLOT_CONFIG_DIR", dir.path().join("config"))
            .env_remove("KEYSLOT_CA_CERT")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"correct horse battery staple\n")
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let untrusted = cli(&[]);
    assert!(
        !untrusted.status.success(),
        "an unknown certificate must be refused"
    );
    assert!(
        String::from_utf8_lossy(&untrusted.stderr).contains("cannot reach"),
        "{}",
        String::from_utf8_lossy(&untrusted.stderr)
    );
    let trusted = cli(&["--ca-cert", cert.to_str().unwrap()]);
    assert!(
        trusted.status.success(),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );

    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut buf)).await;
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));

    // A renewed pair written over the old one is served without a restart (SIGHUP makes it
    // immediate; the file watch would find it within seconds anyway).
    let fresh = dir.path().join("fresh");
    std::fs::create_dir(&fresh).unwrap();
    let (new_cert, new_key) = dev_cert(&fresh);
    assert_ne!(der(&new_cert), der(&cert));
    std::fs::copy(&new_key, &key).unwrap();
    std::fs::copy(&new_cert, &cert).unwrap();
    let pid = server.child.id().to_string();
    hup(&pid);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let seen = https_get(server.port, &new_cert, &[&rustls::version::TLS13]).await;
        if let Ok(seen) = seen {
            assert_eq!(seen.peer, der(&new_cert));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server kept running"
    );

    // A broken pair is refused and the last good one stays.
    std::fs::write(&cert, "not a certificate").unwrap();
    hup(&pid);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = https_get(server.port, &new_cert, &[&rustls::version::TLS13])
        .await
        .unwrap();
    assert_eq!(seen.peer, der(&new_cert));
}

#[test]
fn a_bad_certificate_stops_the_start_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    std::fs::write(&cert, "not a certificate").unwrap();
    let (_, key) = {
        let other = dir.path().join("k");
        std::fs::create_dir(&other).unwrap();
        dev_cert(&other)
    };
    let out = Command::new(keyslot_bin())
        .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cert.pem"), "{stderr}");
    // --tls-cert without --tls-key is a usage error.
    let out = keyslot(&["serve", "--tls-cert", cert.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "usage error");
}

/// Debian's testssl.sh against the running server: protocols, cipher categories, forward
/// secrecy, server preferences, HTTP headers and the known vulnerabilities. Nothing it
/// reports may rank above OK/INFO. The certificate checks are left out on purpose: the
/// dev certificate is self-signed, which testssl.sh rightly calls untrusted.
/// Installed by `.ci/run`; elsewhere the test says it did not run, and fails under CI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testssl_sh_flags_no_weak_protocol_cipher_or_missing_header() {
    let Some(testssl) = ["testssl", "testssl.sh"]
        .into_iter()
        .find(|bin| Command::new(bin).arg("--version").output().is_ok())
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "testssl.sh is not installed, and CI must run this check (apt-get install testssl.sh)"
        );
        eprintln!(
            "SKIPPED: testssl.sh is not installed (apt-get install testssl.sh); the TLS scan did NOT run"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = dev_cert(dir.path());
    let mut server = serve_tls(&dir.path().join("data"), &cert, &key);
    wait_tls(&mut server, &cert).await;
    let report = dir.path().join("testssl.json");
    let out = Command::new(testssl)
        .args(["--quiet", "--color", "0", "--warnings", "off", "--jsonfile"])
        .arg(&report)
        .args(["-p", "-s", "-f", "-P", "-h", "-U"])
        .arg(format!("https://127.0.0.1:{}/login", server.port))
        .output()
        .unwrap();
    let findings: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&report).unwrap_or_else(|e| {
            panic!(
                "testssl.sh wrote no report ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        }))
        .unwrap();
    let severity = |id: &str| {
        findings
            .iter()
            .find(|f| f["id"] == id)
            .and_then(|f| f["severity"].as_str())
            .unwrap_or_else(|| panic!("testssl.sh reported nothing on {id}"))
            .to_owned()
    };
    let flagged: Vec<String> = findings
        .iter()
        .filter(|f| !matches!(f["severity"].as_str(), Some("OK" | "INFO")))
        .map(|f| format!("{} [{}] {}", f["id"], f["severity"], f["finding"]))
        .collect();
    assert!(
        flagged.is_empty(),
        "testssl.sh flags:\n{}",
        flagged.join("\n")
    );
    for (id, expected) in [
        ("SSLv2", "OK"),
        ("SSLv3", "OK"),
        ("TLS1_3", "OK"),
        ("PFS", "OK"),
        ("HSTS_time", "OK"),
        ("X-Content-Type-Options", "OK"),
        ("Content-Security-Policy", "OK"),
    ] {
        assert_eq!(severity(id), expected, "{id}");
    }
    for old in ["TLS1", "TLS1_1"] {
        let finding = findings.iter().find(|f| f["id"] == old).unwrap();
        assert_eq!(finding["finding"], "not offered", "{old}");
    }
}
