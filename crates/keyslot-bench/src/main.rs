//! `keyslot-bench`: tools for `bench/run`, never shipped.
//!
//! - `ceiling`: the honest ceilings on this machine, on Keyslot's own stack (axum, tokio,
//!   keyslot-crypto): `GET /static` returns 1 KiB from memory; the row routes read one
//!   1 KiB sealed row and open one AEAD, each through another database access (sqlx or
//!   rusqlite for SQLite, sqlx or tokio-postgres for PostgreSQL; see `ceiling.rs`).
//! - `seed`: users, vaults, 1 KiB items and tokens through the HTTP API.
//! - `fill`: filler item rows by SQL (copies of one real row's ciphertext under new ids,
//!   which do not open: the AAD binds the id) to grow the database to a given size fast.
//! - `argon2-rate`: Argon2id hashes/s at the default parameters on every core.
//! - `pwchange`: time password changes for one user.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

mod ceiling;
mod tools;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the ceiling routes.
    Ceiling {
        #[arg(long)]
        listen: std::net::SocketAddr,
        #[arg(long)]
        db: std::path::PathBuf,
        /// Also serve the PostgreSQL routes, on this database (its `ceiling_rows` table).
        #[arg(long)]
        postgres_url: Option<String>,
        /// Connections of the tokio-postgres route (requests on one are pipelined).
        #[arg(long, default_value_t = 4)]
        pg_clients: usize,
    },
    /// Seed through the API and print JSON with ids and credentials.
    Seed {
        #[arg(long)]
        addr: String,
        #[arg(long, default_value_t = 100)]
        items: usize,
    },
    /// Add filler rows to the vault of `--user` until it holds `--total` items.
    Fill {
        #[arg(long)]
        db: std::path::PathBuf,
        #[arg(long)]
        user: String,
        #[arg(long)]
        total: u64,
    },
    /// Argon2id hashes/s at OWASP parameters over `--threads` threads.
    Argon2Rate {
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long, default_value_t = 5)]
        secs: u64,
    },
    /// Median time of `--n` password changes for a user (alternating two passwords).
    Pwchange {
        #[arg(long)]
        addr: String,
        #[arg(long)]
        user: String,
        #[arg(long, default_value_t = 7)]
        n: usize,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cli.command {
            Command::Ceiling {
                listen,
                db,
                postgres_url,
                pg_clients,
            } => {
                ceiling::serve(ceiling::Options {
                    listen,
                    db,
                    postgres_url,
                    pg_clients,
                })
                .await
            }
            Command::Seed { addr, items } => tools::seed(&addr, items).await,
            Command::Fill { db, user, total } => tools::fill(&db, &user, total).await,
            Command::Argon2Rate { threads, secs } => tools::argon2_rate(threads, secs),
            Command::Pwchange { addr, user, n } => tools::pwchange(&addr, &user, n).await,
        }
    })
}
