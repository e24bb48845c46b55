//! Server configuration, validated once at start-up. What was given (flags, environment)
//! is parsed by the CLI; this is the checked result.

use std::net::SocketAddr;
use std::path::PathBuf;

use keyslot_core::Config as CoreConfig;

/// A validated server configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Data directory (database and seal key by default).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; `None` means `<data_dir>/keyslot.db`.
    pub database_url: Option<String>,
    /// Apply pending PostgreSQL migrations at start (SQLite always migrates: one process
    /// owns the file).
    pub migrate: bool,
    /// Seal key file; `None` means `<data_dir>/seal.key`, created at first start.
    pub seal_key_file: Option<PathBuf>,
    /// The seal key in a PKCS#11 HSM. With it, new password slots are sealed by the HSM,
    /// and the key file (if there is one) only opens the slots still sealed under it until
    /// `keyslot seal migrate` has moved them.
    pub seal_pkcs11: Option<keyslot_hsm::Pkcs11Config>,
    /// Serve HTTPS with this certificate and key; `None` serves plain HTTP (behind a
    /// TLS-terminating proxy, or on loopback).
    pub tls: Option<crate::tls::TlsFiles>,
    /// Allow plain HTTP on an address other than loopback (`--insecure-http`), for TLS
    /// terminated by a proxy in front. Off by default: passwords, cookies and tokens
    /// would otherwise cross the network in clear because a flag was forgotten.
    pub insecure_http: bool,
    /// Also append every audit event to this file, one JSON line each (docs/AUDIT.md).
    pub audit_log: Option<PathBuf>,
    /// Use-case tunables.
    pub core: CoreConfig,
    /// Reverse proxies whose forwarding headers name the client ([`crate::forwarded`]);
    /// none by default, so the TCP peer is the client.
    pub trusted_proxies: Vec<crate::forwarded::Cidr>,
    /// How often the `/metrics` gauges that need a database query are recomputed, by a
    /// background task (never by a scrape). 60 s; tests shorten it.
    pub metrics_refresh: std::time::Duration,
}

impl ServerConfig {
    /// Defaults for a data directory: listen on 127.0.0.1:8470.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8470)),
            data_dir: data_dir.into(),
            database_url: None,
            migrate: false,
            seal_key_file: None,
            seal_pkcs11: None,
            tls: None,
            insecure_http: false,
            audit_log: None,
            core: CoreConfig::default(),
            trusted_proxies: Vec::new(),
            metrics_refresh: std::time::Duration::from_secs(60),
        }
    }

    /// The database URL in force.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("keyslot.db").display()))
    }

    /// The seal key file in force.
    pub fn seal_key_path(&self) -> PathBuf {
        self.seal_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("seal.key"))
    }

    /// Refuse plain HTTP on a non-loopback address unless [`Self::insecure_http`] says
    /// TLS is terminated in front: the mistake it catches (`--listen 0.0.0.0:8470` with
    /// the TLS flags forgotten) works perfectly and leaks every credential, so it has to
    /// fail loudly at start, naming both ways out.
    pub fn check_transport(&self) -> Result<(), String> {
        let ip = self.listen.ip().to_canonical();
        if self.tls.is_some() || self.insecure_http || ip.is_loopback() {
            return Ok(());
        }
        Err(format!(
            "refusing to serve plain HTTP on {}, which is not a loopback address: passwords, \
             session cookies and tokens would cross the network unencrypted. Serve HTTPS with \
             --tls-cert and --tls-key (KEYSLOT_TLS_CERT, KEYSLOT_TLS_KEY), or, if a proxy in \
             front terminates TLS, pass --insecure-http (KEYSLOT_INSECURE_HTTP=true)",
            self.listen
        ))
    }

    /// Largest request body: an item value at the limit plus room for its name and JSON.
    /// An end-to-end client sends the value sealed and in base64url (4 characters per 3
    /// bytes), so the limit leaves room for that: the value's own limit is checked by the
    /// use case, which names the field (422).
    pub fn body_limit(&self) -> usize {
        self.core.max_value_bytes.div_ceil(3) * 4 + 64 * 1024
    }
}
