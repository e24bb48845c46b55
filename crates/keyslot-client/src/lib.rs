//! # keyslot-client
//!
//! A typed async client for every route of Keyslot's HTTP API (DESIGN.md §6). The CLI and
//! the tests use it. Errors carry the server's problem+json (status, title, detail, field
//! errors), never a credential: the credential lives in [`Credential`], whose `Debug`
//! prints `***`.
//!
//! For end-to-end accounts (docs/END-TO-END.md) the client also performs every key
//! operation: [`e2e`] signs up, logs in, reads and writes, mints and uses `kse_` tokens,
//! shares and rotates, and checks every key the server hands it before using it.

pub mod e2e;
mod members;
mod types;
mod user_keys;

use std::fmt;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use zeroize::Zeroizing;

pub use members::{Member, MemberRole};
pub use types::*;
pub use user_keys::KeysRotated;

/// How requests authenticate.
#[derive(Clone)]
pub enum Credential {
    /// No credential (sign-up, login, recovery).
    None,
    /// `Authorization: Bearer kst_…`.
    Token(Zeroizing<String>),
    /// The session cookie and its CSRF token.
    Session {
        /// The `kss_…` session credential.
        session: Zeroizing<String>,
        /// The CSRF token from login.
        csrf: Zeroizing<String>,
    },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "Credential::None",
            Self::Token(_) => "Credential::Token(***)",
            Self::Session { .. } => "Credential::Session(***)",
        })
    }
}

/// A problem+json answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// HTTP status.
    pub status: u16,
    /// Short title.
    pub title: String,
    /// What happened.
    pub detail: String,
    /// Field errors, as `(field, message)`.
    pub errors: Vec<(String, String)>,
    /// `Retry-After`, when given.
    pub retry_after: Option<u64>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.detail)?;
        for (field, message) in &self.errors {
            write!(f, "; {field} {message}")?;
        }
        Ok(())
    }
}

/// What a call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with a problem.
    #[error("{0}")]
    Problem(Problem),
    /// The server could not be reached.
    #[error("cannot reach the Keyslot server at {addr}: {reason}")]
    Connect {
        /// The address tried.
        addr: String,
        /// Why (no credential in it).
        reason: String,
    },
    /// The answer was not what the API promises.
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
}

impl Error {
    /// The HTTP status, for a problem.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Problem(p) => Some(p.status),
            _ => None,
        }
    }
}

/// The HTTP client: rustls on ring (TLS 1.2 and 1.3), the system's roots plus
/// `extra_roots` (PEM).
fn transport(extra_roots: &[u8]) -> Result<reqwest::Client> {
    // reqwest's rustls takes the process-wide provider; installing it again is a no-op.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder();
    if !extra_roots.is_empty() {
        let certs = reqwest::Certificate::from_pem_bundle(extra_roots)
            .map_err(|e| Error::Protocol(format!("reading the extra root certificates: {e}")))?;
        if certs.is_empty() {
            return Err(Error::Protocol(
                "no PEM certificate among the extra root certificates".into(),
            ));
        }
        builder = builder.tls_certs_merge(certs);
    }
    builder
        .build()
        .map_err(|e| Error::Protocol(format!("setting up HTTPS: {e}")))
}

/// Result of client calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A Keyslot API client for one server and one credential.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    credential: Credential,
}

impl Client {
    /// A client for `base` (`http://127.0.0.1:8470`, or `https://…`, verified against the
    /// system's trusted roots).
    pub fn new(base: &str, credential: Credential) -> Self {
        Self {
            http: transport(&[]).unwrap_or_default(),
            base: base.trim_end_matches('/').to_owned(),
            credential,
        }
    }

    /// A client that also trusts the PEM certificates in `extra_roots` (a private CA, or
    /// the self-signed certificate from `keyslot dev-cert`), beside the system's roots.
    pub fn with_roots(base: &str, credential: Credential, extra_roots: &[u8]) -> Result<Self> {
        Ok(Self {
            http: transport(extra_roots)?,
            base: base.trim_end_matches('/').to_owned(),
            credential,
        })
    }

    /// The same server with another credential.
    pub fn with_credential(&self, credential: Credential) -> Self {
        Self {
            http: self.http.clone(),
            base: self.base.clone(),
            credential,
        }
    }

    /// The credential in use.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        if_match: Option<u64>,
    ) -> Result<(T, reqwest::header::HeaderMap)> {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        match &self.credential {
            Credential::None => {}
            Credential::Token(t) => req = req.bearer_auth(t.as_str()),
            Credential::Session { session, csrf } => {
                req = req.header("cookie", format!("__Host-keyslot={}", session.as_str()));
                if method != Method::GET {
                    req = req.header("x-csrf-token", csrf.as_str());
                }
            }
        }
        if let Some(v) = if_match {
            req = req.header("if-match", format!("\"{v}\""));
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let response = req.send().await.map_err(|e| Error::Connect {
            addr: self.base.clone(),
            reason: short_reason(&e),
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(|e| Error::Connect {
            addr: self.base.clone(),
            reason: short_reason(&e),
        })?;
        if !status.is_success() {
            return Err(Error::Problem(problem(status, &headers, &bytes)));
        }
        let text = if bytes.is_empty() {
            b"null".as_slice()
        } else {
            &bytes
        };
        let value = serde_json::from_slice(text)
            .map_err(|e| Error::Protocol(format!("{e} (status {status})")))?;
        Ok((value, headers))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call(Method::GET, path, None, None)
            .await
            .map(|(v, _)| v)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Result<T> {
        self.call(method, path, Some(body), None)
            .await
            .map(|(v, _)| v)
    }

    /// `POST /v1/signup`.
    pub async fn signup(&self, username: &str, password: &str) -> Result<SignedUp> {
        self.send(
            Method::POST,
            "/v1/signup",
            &serde_json::json!({"username": username, "password": password}),
        )
        .await
    }

    /// `POST /v1/login`: returns a client for the new session.
    pub async fn login(&self, username: &str, password: &str) -> Result<(Self, LoggedIn)> {
        let body = serde_json::json!({"username": username, "password": password});
        let (logged, headers): (LoggedIn, _) = self
            .call(Method::POST, "/v1/login", Some(&body), None)
            .await?;
        let session = session_cookie(&headers)
            .ok_or_else(|| Error::Protocol("login answered without a session cookie".into()))?;
        let credential = Credential::Session {
            session: Zeroizing::new(session),
            csrf: Zeroizing::new(logged.csrf_token.clone()),
        };
        Ok((self.with_credential(credential), logged))
    }

    /// `POST /v1/logout`.
    pub async fn logout(&self) -> Result<()> {
        self.send::<Value>(Method::POST, "/v1/logout", &serde_json::json!({}))
            .await
            .map(drop)
    }

    /// `GET /v1/me`.
    pub async fn me(&self) -> Result<Me> {
        self.get("/v1/me").await
    }

    /// `POST /v1/password`.
    pub async fn change_password(
        &self,
        current: &str,
        new: &str,
        end_other_sessions: bool,
    ) -> Result<()> {
        let body = serde_json::json!({"current_password": current, "new_password": new, "end_other_sessions": end_other_sessions});
        self.send::<Value>(Method::POST, "/v1/password", &body)
            .await
            .map(drop)
    }

    /// `POST /v1/recover`: returns the new recovery code.
    pub async fn recover(&self, username: &str, code: &str, new_password: &str) -> Result<String> {
        let body = serde_json::json!({"username": username, "recovery_code": code, "new_password": new_password});
        let r: Recovered = self.send(Method::POST, "/v1/recover", &body).await?;
        Ok(r.recovery_code)
    }

    /// `GET /v1/vaults`.
    pub async fn vaults(&self) -> Result<Vec<Vault>> {
        self.get::<Vaults>("/v1/vaults").await.map(|v| v.vaults)
    }

    /// `POST /v1/vaults`.
    pub async fn create_vault(&self, name: &str) -> Result<Vault> {
        self.send(
            Method::POST,
            "/v1/vaults",
            &serde_json::json!({"name": name}),
        )
        .await
    }

    /// `GET /v1/vaults/{vault}`: name, role, key version and lifecycle state.
    pub async fn vault_detail(&self, vault: &str) -> Result<VaultDetail> {
        self.get(&format!("/v1/vaults/{}", segment(vault))).await
    }

    /// `POST /v1/vaults/{vault}/rotate`: a new vault key now (the owner's session).
    pub async fn rotate_vault(&self, vault: &str) -> Result<Rotated> {
        self.send(
            Method::POST,
            &format!("/v1/vaults/{}/rotate", segment(vault)),
            &serde_json::json!({}),
        )
        .await
    }

    /// `GET /v1/vaults/{vault}/items`.
    pub async fn items(&self, vault: &str) -> Result<Vec<ItemSummary>> {
        self.get::<Items>(&format!("/v1/vaults/{}/items", segment(vault)))
            .await
            .map(|i| i.items)
    }

    /// `POST /v1/vaults/{vault}/items`.
    pub async fn create_item(&self, vault: &str, name: &str, value: &Value) -> Result<ItemVersion> {
        self.send(
            Method::POST,
            &format!("/v1/vaults/{}/items", segment(vault)),
            &serde_json::json!({"name": name, "value": value}),
        )
        .await
    }

    /// `GET /v1/vaults/{vault}/items/{item}`.
    pub async fn item(&self, vault: &str, item: &str) -> Result<Item> {
        self.get(&format!(
            "/v1/vaults/{}/items/{}",
            segment(vault),
            segment(item)
        ))
        .await
    }

    /// `PUT /v1/vaults/{vault}/items/{item}`, conditional on `if_match` when given.
    pub async fn update_item(
        &self,
        vault: &str,
        item: &str,
        name: &str,
        value: &Value,
        if_match: Option<u64>,
    ) -> Result<ItemVersion> {
        let body = serde_json::json!({"name": name, "value": value});
        let path = format!("/v1/vaults/{}/items/{}", segment(vault), segment(item));
        self.call(Method::PUT, &path, Some(&body), if_match)
            .await
            .map(|(v, _)| v)
    }

    /// `DELETE /v1/vaults/{vault}/items/{item}`.
    pub async fn delete_item(&self, vault: &str, item: &str) -> Result<()> {
        let path = format!("/v1/vaults/{}/items/{}", segment(vault), segment(item));
        self.call::<Value>(Method::DELETE, &path, None, None)
            .await
            .map(drop)
    }

    /// `POST /v1/tokens`, with the account's current password: the server asks for it
    /// because a token outlives the session that mints it (a wrong one is a 403 and counts
    /// against the account's back-off like a failed login).
    pub async fn mint_token(&self, current_password: &str, request: &MintToken) -> Result<Minted> {
        let mut body = serde_json::to_value(request).map_err(|e| Error::Protocol(e.to_string()))?;
        if let Value::Object(fields) = &mut body {
            fields.insert("current_password".into(), current_password.into());
        }
        self.send(Method::POST, "/v1/tokens", &body).await
    }

    /// `GET /v1/tokens`.
    pub async fn tokens(&self) -> Result<Vec<TokenInfo>> {
        self.get::<Tokens>("/v1/tokens").await.map(|t| t.tokens)
    }

    /// `DELETE /v1/tokens/{id}`.
    pub async fn revoke_token(&self, id: &str) -> Result<()> {
        self.call::<Value>(
            Method::DELETE,
            &format!("/v1/tokens/{}", segment(id)),
            None,
            None,
        )
        .await
        .map(drop)
    }

    /// `GET /v1/audit`.
    pub async fn audit(&self, limit: u32) -> Result<Vec<AuditEvent>> {
        self.get::<AuditPage>(&format!("/v1/audit?limit={limit}"))
            .await
            .map(|a| a.events)
    }

    /// `GET /v1/audit` with filters and a cursor: one page, newest first.
    pub async fn audit_page(&self, query: &AuditQuery) -> Result<AuditPage> {
        let mut path = format!("/v1/audit?limit={}", query.limit);
        for (name, value) in [
            ("since", &query.since),
            ("until", &query.until),
            ("action", &query.action),
            ("actor", &query.actor),
            ("cursor", &query.cursor),
        ] {
            if let Some(value) = value {
                path.push_str(&format!("&{name}={}", segment(value)));
            }
        }
        self.get::<AuditPage>(&path).await
    }
}

/// The session credential a login's `Set-Cookie` carries.
fn session_cookie(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.split(';')
                .next()?
                .trim()
                .strip_prefix("__Host-keyslot=")
                .map(str::to_owned)
        })
}

/// A path segment: ids are hex, but a name typed by mistake must not reshape the URL.
fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn short_reason(e: &reqwest::Error) -> String {
    if let Some(tls) = tls_failure(e) {
        return format!(
            "the TLS handshake failed ({tls}); for a private CA or `keyslot dev-cert`, give --ca-cert FILE"
        );
    }
    if e.is_connect() {
        "connection refused or unreachable (is `keyslot serve` running? set KEYSLOT_ADDR)".into()
    } else if e.is_timeout() {
        "timed out".into()
    } else {
        // reqwest's message may hold the URL (never a credential: those go in headers).
        e.to_string()
    }
}

/// rustls's reason, when a request failed in the TLS handshake. It sits in the source
/// chain, often inside io::Errors, whose `source()` skips what they wrap.
fn tls_failure(e: &reqwest::Error) -> Option<&rustls::Error> {
    let mut next = std::error::Error::source(e);
    while let Some(inner) = next {
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        next = match inner.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|e| e as &(dyn std::error::Error + 'static)),
            None => inner.source(),
        };
    }
    None
}

fn problem(status: StatusCode, headers: &reqwest::header::HeaderMap, bytes: &[u8]) -> Problem {
    let body: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let text = |k: &str| body[k].as_str().map(str::to_owned);
    Problem {
        status: status.as_u16(),
        title: text("title")
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned()),
        detail: text("detail").unwrap_or_else(|| format!("the server answered {status}")),
        errors: body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        (
                            e["field"].as_str().unwrap_or("").to_owned(),
                            e["message"].as_str().unwrap_or("").to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        retry_after: headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok()),
    }
}
