//! The world a model-test case runs in: a real server (SQLite or a fresh PostgreSQL
//! database) with its raw rows beside it, the [`Model`] of what it should hold, and the
//! trace of what each step did (printed with any failure, in the model's own names).
//! Minting lives here; writes in `writes.rs`; members, rotation and credential ends in
//! `lifecycle_ops.rs`; the checks after each step in `checks.rs`.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Auth, PASSWORD, Reply, TestServer};
use crate::db::Db;
use crate::model::{Access, Actor, Cred, ItemM, Life, Model, Role, Target, TokenM, UserM, VaultM};

const USERNAMES: [&str; 3] = ["ada", "bob", "cyd"];

/// Answers the design leaves open, counted over a run (the report names them).
#[derive(Default, Debug, Clone, Copy)]
pub struct Seen {
    /// Deposits while the vault's rotation was due: created (§3.1: sealed to each
    /// reader), the only answer accepted since f983189; refused 409 `rotation-due` was
    /// this server's answer before it (and is now a failure).
    pub due_deposit_created: u32,
    pub due_deposit_refused: u32,
    /// Deposits by a token whose user is now a read member of the vault: 403 or 404.
    pub read_member_deposit_403: u32,
    pub read_member_deposit_404: u32,
}

pub struct World {
    pub pg_url: Option<String>,
    dir: tempfile::TempDir,
    pub server: Option<TestServer>,
    pub db: Db,
    pub m: Model,
    pub trace: Vec<String>,
    pub seen: Seen,
}

/// `Err` with a message unless `cond`.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+));
        }
    };
}
pub(crate) use ensure;

impl World {
    /// A server with `users` signed-up users, each with a session and one item in their
    /// personal vault. `None` when PostgreSQL is asked for and not configured (outside CI).
    pub async fn new(postgres: bool, users: usize) -> Option<Self> {
        let pg_url = if postgres {
            Some(keyslot_store_tests::postgres::fresh_database_url("lifecycle model").await?)
        } else {
            None
        };
        let dir = tempfile::tempdir().unwrap();
        let server = start(&dir, pg_url.as_deref()).await;
        let db = Db::connect(pg_url.as_deref(), &dir.path().join("data")).await;
        let mut w = Self {
            pg_url,
            dir,
            server: Some(server),
            db,
            m: Model::default(),
            trace: Vec::new(),
            seen: Seen::default(),
        };
        for name in &USERNAMES[..users] {
            let s = w.s();
            let account = s.signup(name).await;
            let session = s.session(name, PASSWORD).await;
            let u = w.m.users.len();
            w.m.users.push(UserM {
                name: (*name).to_owned(),
                id: account.user_id,
                session,
            });
            w.m.lookups.push(0);
            w.add_vault(u, account.vault, "Personal".to_owned()).await;
        }
        Some(w)
    }

    pub fn s(&self) -> &TestServer {
        self.server.as_ref().unwrap()
    }

    /// Stop the server and start another on the same database and data directory.
    pub async fn restart(&mut self) {
        if let Some(mut old) = self.server.take() {
            old.stop().await;
        }
        self.server = Some(start(&self.dir, self.pg_url.as_deref()).await);
    }

    pub async fn finish(mut self) {
        if let Some(mut s) = self.server.take() {
            s.stop().await;
        }
        self.db.close().await;
        if let Some(url) = &self.pg_url {
            keyslot_store_tests::postgres::drop_database(url).await;
        }
    }

    pub fn auth(&self, cred: Cred) -> Auth {
        match cred {
            Cred::Session(u) => self.m.users[u].session.clone(),
            Cred::Token(t) => Auth::Token(self.m.tokens[t].secret.clone()),
        }
    }

    pub fn log(&mut self, line: String) {
        self.trace.push(line);
    }

    /// A vault the model now knows of, with one item written by its creator's session.
    async fn add_vault(&mut self, user: usize, id: String, name: String) {
        self.m.vaults.push(VaultM {
            id,
            name,
            creator: user,
            members: [(user, Role::Owner)].into(),
            items: Vec::new(),
            version: 1,
        });
        let v = self.m.vaults.len() - 1;
        let n = self.m.next();
        let (name, value) = (format!("first {n}"), json!({"n": n}));
        let auth = self.auth(Cred::Session(user));
        let id = self
            .s()
            .create_item(&auth, &self.m.vaults[v].id, &name, value.clone())
            .await;
        self.m.vaults[v].items.push(ItemM {
            id,
            name,
            value,
            version: 1,
            deposited_by: None,
        });
    }

    pub async fn create_vault(&mut self, user: usize) -> Result<(), String> {
        let user = user % self.m.users.len();
        let name = format!("Vault {}", self.m.next());
        let session = self.auth(Cred::Session(user));
        let id = self.s().create_vault(&session, &name).await;
        self.log(format!(
            "{} creates v{} \"{name}\"",
            self.m.users[user].name,
            self.m.vaults.len()
        ));
        self.add_vault(user, id, name).await;
        Ok(())
    }

    /// `Cred` for an actor (a session when there is no token to choose from).
    pub fn resolve(&self, actor: Actor) -> Cred {
        let live: Vec<usize> = (0..self.m.tokens.len())
            .filter(|t| self.m.tokens[*t].life == Life::Live)
            .collect();
        let depositors: Vec<usize> = live
            .iter()
            .copied()
            .filter(|t| self.m.tokens[*t].is_deposit())
            .collect();
        match actor {
            Actor::Depositor(t) if !depositors.is_empty() => {
                Cred::Token(depositors[t % depositors.len()])
            }
            Actor::LiveToken(t) | Actor::Depositor(t) if !live.is_empty() => {
                Cred::Token(live[t % live.len()])
            }
            Actor::AnyToken(t) if !self.m.tokens.is_empty() => Cred::Token(t % self.m.tokens.len()),
            Actor::LiveToken(u) | Actor::Depositor(u) | Actor::AnyToken(u) | Actor::Session(u) => {
                Cred::Session(u % self.m.users.len())
            }
        }
    }

    /// The vault a write targets: among the due ones, or those the credential reaches or
    /// deposits into, when asked and there are any; else among all.
    pub fn target(&self, cred: Cred, target: Target) -> usize {
        let (Target::Reached(i) | Target::Due(i) | Target::Any(i)) = target;
        let mut reached: Vec<usize> = self
            .m
            .reach(cred)
            .map(|r| r.into_keys().collect())
            .unwrap_or_default();
        if let Cred::Token(t) = cred {
            reached.extend(self.m.deposit_scope(t));
        }
        let due: Vec<usize> = self.m.due_now.iter().copied().collect();
        let due_reached: Vec<usize> = due
            .iter()
            .copied()
            .filter(|v| reached.contains(v))
            .collect();
        let from = match target {
            Target::Due(_) if !due_reached.is_empty() => due_reached,
            Target::Due(_) if !due.is_empty() => due,
            Target::Reached(_) | Target::Due(_) if !reached.is_empty() => reached,
            _ => (0..self.m.vaults.len()).collect(),
        };
        from[i % from.len()]
    }

    /// Mint a token for `user`: `vaults` is `"*"` or a list of vault indices.
    pub async fn mint(&mut self, user: usize, access: Access, short: bool) -> Result<(), String> {
        let ids = |set: &std::collections::BTreeSet<usize>| -> Value {
            set.iter().map(|v| json!(self.m.vaults[*v].id)).collect()
        };
        let (vaults, permissions) = match &access {
            Access::Scoped { vaults, write } => (
                ids(vaults),
                if *write {
                    json!(["read", "write"])
                } else {
                    json!(["read"])
                },
            ),
            Access::All { write } => (
                json!("*"),
                if *write {
                    json!(["read", "write"])
                } else {
                    json!(["read"])
                },
            ),
            Access::Deposit { vaults } => (ids(vaults), json!(["deposit"])),
        };
        let mut body = json!({"name": "model token", "vaults": vaults,
                              "permissions": permissions, "current_password": PASSWORD});
        if short {
            body["expires_in_seconds"] = json!(3600);
        }
        let session = self.auth(Cred::Session(user));
        let r = self.s().post("/v1/tokens", &session, body).await;
        let t = self.m.tokens.len();
        self.m.tokens.push(TokenM {
            id: String::new(),
            secret: String::new(),
            user,
            access,
            short,
            life: Life::Live,
        });
        self.log(format!(
            "{} mints {}",
            self.m.users[user].name,
            self.m.token_label(t)
        ));
        ensure!(
            r.status == StatusCode::CREATED,
            "mint {}: expected 201, got {} {}",
            self.m.token_label(t),
            r.status,
            r.text
        );
        self.m.tokens[t].id = r.str("id");
        self.m.tokens[t].secret = r.str("token");
        Ok(())
    }
}

async fn start(dir: &tempfile::TempDir, pg_url: Option<&str>) -> TestServer {
    let data_dir = dir.path().join("data");
    std::fs::create_dir_all(&data_dir).unwrap();
    let url = pg_url.map(str::to_owned);
    TestServer::start_with(move |c| {
        c.data_dir = data_dir;
        c.database_url = url;
        // A long run (KEYSLOT_MODEL_STEPS) may deposit often with one token: the per-token
        // deposit rate is deposit_limits.rs's subject, not this test's.
        c.core.deposits_per_minute = 1_000_000;
    })
    .await
}

/// The reply's status is one of `allowed`.
pub fn expect(r: &Reply, allowed: &[u16], what: &str) -> Result<(), String> {
    ensure!(
        allowed.contains(&r.status.as_u16()),
        "{what}: expected {allowed:?}, got {} {}",
        r.status.as_u16(),
        r.text
    );
    Ok(())
}

/// `PUT` with `If-Match`, which the common client does not send.
pub async fn put_if_match(
    s: &TestServer,
    auth: &Auth,
    path: &str,
    body: Value,
    version: u64,
) -> StatusCode {
    let mut req = s
        .http
        .request(Method::PUT, s.url(path))
        .header("if-match", format!("\"{version}\""))
        .json(&body);
    match auth {
        Auth::Token(t) => req = req.bearer_auth(t),
        Auth::Session(session) => {
            req = req
                .header("cookie", format!("__Host-keyslot={}", session.cookie))
                .header("x-csrf-token", &session.csrf);
        }
        _ => unreachable!("the model only uses sessions and tokens"),
    }
    req.send().await.unwrap().status()
}
