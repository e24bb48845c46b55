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
//! - `rotation-populate`, `rotation-time`, `rotation-rewrap`: the key-rotation scenario
//!   (issue 15; see `rotation.rs`).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

mod ceiling;
mod rotation;
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
    /// Microseconds an end-to-end client spends opening one 1 KiB item it read.
    ClientOpen {
        #[arg(long, default_value_t = 3)]
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
    /// Sign a user up, create `--items` items in their vault through the API over `--conns`
    /// connections, mint `--tokens` read tokens scoped to it and one read-write token.
    RotationPopulate {
        #[arg(long)]
        addr: String,
        #[arg(long)]
        user: String,
        #[arg(long)]
        items: usize,
        #[arg(long, default_value_t = 50)]
        tokens: usize,
        #[arg(long, default_value_t = 8)]
        conns: usize,
    },
    /// Time `POST /v1/vaults/{vault}/rotate` on each `--target USER/VAULT_ID`, `--rounds`
    /// times, interleaved.
    RotationTime {
        #[arg(long)]
        addr: String,
        #[arg(long = "target", required = true)]
        targets: Vec<String>,
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// Drive a vault's re-wrap with back-to-back writes until nothing is left under an
    /// older key version (or, with `--secs`, write for that long).
    RotationRewrap {
        #[arg(long)]
        addr: String,
        #[arg(long)]
        vault: String,
        /// A read-write token of the vault (read from the environment, not an argument:
        /// other users of the machine can read the process list).
        #[arg(long, env = "KS_WRITE_TOKEN", hide_env_values = true)]
        token: String,
        #[arg(long)]
        item: String,
        #[arg(long)]
        secs: Option<f64>,
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
            Command::ClientOpen { secs } => tools::client_open(secs),
            Command::Pwchange { addr, user, n } => tools::pwchange(&addr, &user, n).await,
            Command::RotationPopulate {
                addr,
                user,
                items,
                tokens,
                conns,
            } => rotation::populate(&addr, &user, items, tokens, conns).await,
            Command::RotationTime {
                addr,
                targets,
                rounds,
            } => rotation::time_rotations(&addr, &targets, rounds).await,
            Command::RotationRewrap {
                addr,
                vault,
                token,
                item,
                secs,
            } => rotation::rewrap(&addr, &vault, &token, &item, secs).await,
        }
    })
}
