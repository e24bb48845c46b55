//! # keyslot-server
//!
//! Keyslot over HTTP: axum routes for the contract of DESIGN.md §6 (the OpenAPI document at
//! `/v1/openapi.json` is generated from them), authentication extractors, CSRF, security
//! headers, metrics, and [`serve`], which opens the store and the seal key and listens.
#![forbid(unsafe_code)]

pub mod audit_log;
mod auth;
pub mod config;
mod csrf;
mod error;
mod extract;
pub mod forwarded;
mod headers;
mod metrics;
pub mod openapi;
mod routes;
pub use routes::rfc3339;
pub mod seal_file;
pub mod serving_lock;
mod state;
pub mod tls;
mod wasm_assets;
mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::routing::get;
use keyslot_core::{Keyslot, Store};
use tower_http::sensitive_headers::{
    SetSensitiveRequestHeadersLayer, SetSensitiveResponseHeadersLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use config::ServerConfig;
pub use state::AppState;

/// The router over `state`, with every layer. `body_limit` bounds request bodies.
///
/// The JSON API's routes come with their OpenAPI document from one declaration
/// ([`routes::api`]); the operational endpoints and the web pages are not part of that
/// contract and are routed here and in [`web::routes`].
pub fn app(state: AppState, body_limit: usize) -> Router {
    let (api, doc) = openapi::api();
    api.route("/v1/openapi.json", routes::ops::openapi(&doc))
        .route("/healthz", get(routes::ops::healthz))
        .route("/readyz", get(routes::ops::readyz))
        .route("/metrics", get(metrics::render))
        .merge(web::routes())
        .merge(wasm_assets::routes())
        .fallback(|| async { error::ApiError::not_found() })
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::count,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(csrf::layer())
        .layer(axum::middleware::from_fn(headers::security_headers))
        .layer(TraceLayer::new_for_http())
        .layer(SetSensitiveResponseHeadersLayer::new([header::SET_COOKIE]))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            csrf::HEADER,
        ]))
        .with_state(state)
}

/// Open the data directory, the seal key and the store; build the state.
pub async fn open(config: &ServerConfig) -> Result<AppState> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    restrict_dir(&config.data_dir)?;
    let serving = serving_lock::hold(&config.data_dir)?;
    let seal = seal_file::open(config)?;
    let mut store = open_store(&config.database_url(), config.migrate).await?;
    seal.check_hsm(store.as_ref()).await?;
    let audit_log = match &config.audit_log {
        Some(path) => {
            let log = audit_log::AuditLog::open(path)?;
            log.reopen_on_sighup();
            store = Arc::new(audit_log::Shipping::new(store, log.clone()));
            Some(log)
        }
        None => None,
    };
    let keyslot = Keyslot::open(store, seal.key(), config.core.clone())
        .await
        .map_err(|e| anyhow::anyhow!("{e:#}").context(describe(&e)))?;
    let metrics = Arc::new(metrics::Metrics::new(keyslot.clone(), audit_log.clone()));
    metrics.spawn_refresh(config.metrics_refresh);
    Ok(AppState::new(state::Shared {
        keyslot,
        metrics,
        serving: Arc::new(serving),
        audit_log,
    }))
}

/// The store for a database URL (`keyslot_store::open` chooses the backend): migrated
/// when `migrate`; otherwise an empty database is initialised and an out-of-date one
/// refused. SQLite always migrates.
pub async fn open_store(url: &str, migrate: bool) -> Result<Arc<dyn Store>> {
    let schema = if migrate {
        keyslot_store::Schema::Migrate
    } else {
        keyslot_store::Schema::RequireCurrent
    };
    let store = keyslot_store::open(url, schema)
        .await
        .map_err(|e| anyhow::anyhow!("opening the database: {e}"))?;
    Ok(Arc::new(store))
}

fn describe(e: &keyslot_core::Error) -> String {
    match e {
        keyslot_core::Error::Internal(why) => why.clone(),
        other => other.to_string(),
    }
}

#[cfg(unix)]
fn restrict_dir(dir: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut perms = std::fs::metadata(dir)?.permissions();
    if perms.mode() & 0o077 != 0 {
        perms.set_mode(0o700);
        std::fs::set_permissions(dir, perms)?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict_dir(_: &std::path::Path) -> Result<()> {
    Ok(())
}

/// A bound, not yet serving, server.
pub struct Bound {
    listener: tokio::net::TcpListener,
    router: Router,
    /// The use cases the router serves (a handle, for the process around the server).
    keyslot: Keyslot,
    /// The TLS files and the configuration loaded from them at bind.
    tls: Option<(tls::TlsFiles, Arc<rustls::ServerConfig>)>,
}

/// By hand: the TLS configuration holds the private key, so only the files are shown.
impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound")
            .field("listener", &self.listener)
            .field("tls", &self.tls.as_ref().map(|(files, _)| files))
            .finish_non_exhaustive()
    }
}

/// `Strict-Transport-Security` when serving TLS: two years, subdomains included. Sent only
/// over TLS (RFC 6797 §7.2), where a browser will honour it.
const HSTS: &str = "max-age=63072000; includeSubDomains";

impl Bound {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// The use cases this server serves: a handle sharing their state (tests use it to
    /// hold the audit flusher).
    pub fn keyslot(&self) -> &Keyslot {
        &self.keyslot
    }

    /// Whether this server speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Serve until `shutdown` completes, then finish in-flight requests, then write every
    /// audit event still buffered (at most [`AUDIT_FLUSH_AT_EXIT`]; what is left then is
    /// counted in an error log): a read that was answered leaves its event even when the
    /// process stops right after it.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let keyslot = self.keyslot.clone();
        let served = self.serve_requests(shutdown).await;
        tracing::info!("writing the audit events still buffered");
        let unwritten = keyslot.flush_audit(AUDIT_FLUSH_AT_EXIT).await;
        if unwritten > 0 {
            tracing::error!(
                unwritten,
                "audit events (or token last-use marks) still buffered were not written to the database within {} s of shutdown and are lost",
                AUDIT_FLUSH_AT_EXIT.as_secs()
            );
        }
        served
    }

    async fn serve_requests(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let Some((files, config)) = self.tls else {
            return axum::serve(
                self.listener,
                self.router
                    .into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving");
        };
        let live = axum_server::tls_rustls::RustlsConfig::from_config(config);
        tls::spawn_reloader(files, live.clone());
        let handle = axum_server::Handle::new();
        let stopping = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            stopping.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
        });
        let router = self
            .router
            .layer(axum::Extension(tls::ServedOverTls))
            .layer(SetResponseHeaderLayer::overriding(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static(HSTS),
            ));
        axum_server::from_tcp_rustls(self.listener.into_std()?, live)?
            .handle(handle)
            .serve(router.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .context("serving TLS")
    }
}

/// How long a stopping server waits for the audit events still buffered to be written.
pub const AUDIT_FLUSH_AT_EXIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Open everything and bind the listener. A TLS pair that does not load, or plain HTTP on
/// a non-loopback address without [`ServerConfig::insecure_http`], stops the start here,
/// with the reason, before anything listens.
pub async fn bind(config: &ServerConfig) -> Result<Bound> {
    config.check_transport().map_err(anyhow::Error::msg)?;
    let tls = match &config.tls {
        Some(files) => Some((files.clone(), tls::server_config(files)?)),
        None => None,
    };
    let state = open(config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    Ok(Bound {
        listener,
        keyslot: state.keyslot.clone(),
        router: app(state, config.body_limit()).layer(axum::Extension(
            forwarded::TrustedProxies::new(&config.trusted_proxies),
        )),
        tls,
    })
}
