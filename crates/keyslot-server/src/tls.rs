//! TLS for `keyslot serve --tls-cert --tls-key`: rustls on the ring provider, TLS 1.3 and
//! 1.2 only, AEAD suites with forward secrecy only (rustls offers nothing weaker: no CBC,
//! no RSA key exchange, no renegotiation), HTTP/1.1 by ALPN.
//!
//! The pair is re-read without a restart on SIGHUP and whenever either file's modification
//! time changes (checked every [`POLL`]), so a renewal by certbot or a secret mount is
//! picked up by itself. A pair that does not load is logged and ignored: the server goes
//! on with the last good one rather than stop serving TLS.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result, bail};
use axum_server::tls_rustls::RustlsConfig;
use rustls::crypto::ring as provider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// How often the files are looked at for a change.
pub const POLL: Duration = Duration::from_secs(5);

/// The certificate chain and private key files, both PEM.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// A request extension present on every request that came in over Keyslot's own TLS
/// listener, so that pages can name the scheme they were served over.
#[derive(Debug, Clone, Copy)]
pub struct ServedOverTls;

/// The rustls configuration for a pair of files.
pub fn server_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .with_context(|| format!("reading the certificate {}", files.cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", files.cert.display()))?;
    if certs.is_empty() {
        bail!("{} holds no certificate", files.cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("{} is not a PEM private key", files.key.display()))?;
    let provider = rustls::crypto::CryptoProvider {
        cipher_suites: vec![
            provider::cipher_suite::TLS13_AES_256_GCM_SHA384,
            provider::cipher_suite::TLS13_AES_128_GCM_SHA256,
            provider::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
            provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            provider::cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            provider::cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            provider::cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            provider::cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ],
        ..provider::default_provider()
    };
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("choosing TLS versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and the private key do not make a usable pair")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // The server prefers its own order: TLS 1.3's AES-256 first, ChaCha for clients without AES.
    config.ignore_client_order = true;
    Ok(Arc::new(config))
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Keep `live` in step with the files: on SIGHUP, and when either file changes.
pub fn spawn_reloader(files: TlsFiles, live: RustlsConfig) {
    tokio::spawn(async move {
        let stamp = |f: &TlsFiles| (modified(&f.cert), modified(&f.key));
        let mut seen = stamp(&files);
        #[cfg(unix)]
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let asked = match hup.as_mut() {
                Some(hup) => tokio::select! {
                    _ = hup.recv() => true,
                    () = tokio::time::sleep(POLL) => false,
                },
                None => {
                    tokio::time::sleep(POLL).await;
                    false
                }
            };
            #[cfg(not(unix))]
            let asked = {
                tokio::time::sleep(POLL).await;
                false
            };
            let now = stamp(&files);
            if !asked && now == seen {
                continue;
            }
            seen = now;
            match server_config(&files) {
                Ok(config) => {
                    live.reload_from_config(config);
                    tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded");
                }
                Err(e) => tracing::error!(
                    error = format!("{e:#}"),
                    "TLS certificate not reloaded; still serving the previous one"
                ),
            }
        }
    });
}
