//! Command-line arguments and dispatch.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use keyslot_server::ServerConfig;

/// Keyslot keeps each user's sensitive data encrypted under keys that only their own
/// credentials (password, recovery code, session, API token) can open.
#[derive(Debug, Parser)]
#[command(name = "keyslot", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the JSON API.
    ///
    /// With no flags: creates ./keyslot-data (SQLite database and seal key, mode 0600) and
    /// listens on 127.0.0.1:8470.
    ///
    /// Example: keyslot serve --listen 127.0.0.1:9000 --data-dir /var/lib/keyslot
    Serve(ServeArgs),
    /// Apply pending database migrations, then exit.
    ///
    /// PostgreSQL deployments run this once per upgrade (or start one instance with
    /// `serve --migrate`); several instances starting at once then never race on the
    /// schema. SQLite migrates by itself at start.
    ///
    /// Example: KEYSLOT_DATABASE_URL=postgres://keyslot@db/keyslot keyslot migrate
    Migrate(MigrateArgs),
}

#[derive(Debug, clap::Args)]
struct MigrateArgs {
    /// Database URL (sqlite://PATH or postgres://…).
    #[arg(long, env = "KEYSLOT_DATABASE_URL")]
    database_url: String,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "KEYSLOT_LISTEN", default_value = "127.0.0.1:8470")]
    listen: SocketAddr,
    /// Data directory: the SQLite database and the seal key live here by default.
    #[arg(long, env = "KEYSLOT_DATA_DIR", default_value = "./keyslot-data")]
    data_dir: PathBuf,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB. Default:
    /// sqlite://<data dir>/keyslot.db.
    #[arg(long, env = "KEYSLOT_DATABASE_URL")]
    database_url: Option<String>,
    /// Apply pending PostgreSQL migrations before serving (SQLite always does).
    #[arg(long, env = "KEYSLOT_MIGRATE")]
    migrate: bool,
    /// Seal key file shared by every instance. Default: <data dir>/seal.key, created at
    /// first start. A given file must exist.
    #[arg(long, env = "KEYSLOT_SEAL_KEY_FILE")]
    seal_key_file: Option<PathBuf>,
    /// Largest item value in bytes.
    #[arg(long, env = "KEYSLOT_MAX_VALUE_BYTES", default_value_t = 1024 * 1024)]
    max_value_bytes: usize,
}

/// Run the parsed command.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(args) => {
            keyslot_server::open_store(&args.database_url, true).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> Result<()> {
    let mut config = ServerConfig::new(args.data_dir);
    config.listen = args.listen;
    config.database_url = args.database_url;
    config.migrate = args.migrate;
    config.seal_key_file = args.seal_key_file;
    config.core.max_value_bytes = args.max_value_bytes;
    let bound = keyslot_server::bind(&config).await?;
    tracing::info!(addr = %bound.local_addr()?, data_dir = %config.data_dir.display(), "keyslot listening");
    bound.serve(shutdown_signal()).await?;
    tracing::info!("keyslot stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
