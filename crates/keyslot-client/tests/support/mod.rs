//! A real Keyslot server on a real socket, on SQLite or on a fresh PostgreSQL database
//! (when `KEYSLOT_TEST_DATABASE_URL` is set; CI sets it and then must run it).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;

use keyslot_client::{Client, Credential};
use keyslot_server::ServerConfig;

pub struct Server {
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    /// A server on SQLite (`postgres == false`) or on a fresh PostgreSQL database;
    /// `None` only when PostgreSQL is asked for, not configured, and this is not CI.
    pub async fn start(postgres: bool, name: &str) -> Option<Self> {
        let url = if postgres {
            Some(keyslot_store_tests::postgres::fresh_database_url(name).await?)
        } else {
            None
        };
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::new(dir.path().join("data"));
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.database_url = url;
        config.migrate = true;
        config.core.ip_failures_per_minute = 1000;
        config.core.signups_per_hour = 1000;
        let bound = keyslot_server::bind(&config).await.unwrap();
        let addr = bound.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            bound
                .serve(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Some(Self {
            addr,
            _dir: dir,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub fn client(&self) -> Client {
        Client::new(&format!("http://{}", self.addr), Credential::None)
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

/// The backends a test runs on: SQLite always, PostgreSQL when configured.
pub const BACKENDS: [(bool, &str); 2] = [(false, "sqlite"), (true, "postgres")];
