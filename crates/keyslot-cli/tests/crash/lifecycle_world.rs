//! The key-lifecycle crash test's world: one user, one vault with enough items that a
//! re-wrap takes several batches, and tokens scoped to it. What the harness knows the
//! server holds, the workload that rotates, revokes (which rotates) and writes until the
//! kill, and the checks after each restart.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub use crate::lifecycle_http::{Http, Reply, Who};
use crate::rng::Rng;
use crate::support::Session;
use crate::workload::fresh_password;

pub type Check<T = ()> = Result<T, String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// Items written before the first kill: with batches of [`super::lifecycle::BATCH`], a
/// re-wrap of them all takes several transactions.
pub const ITEMS: usize = 16;

/// The tokens the vault always has one live of each: a revoked one is replaced at the
/// next step of the workload.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// `["read"]`, scoped to the vault: holds a token slot.
    Read,
    /// `["read", "write"]`, scoped to the vault.
    Write,
    /// `["read", "write"]` over `"*"`: reaches the vault through a member-style slot.
    Everything,
}

const KINDS: [Kind; 3] = [Kind::Read, Kind::Write, Kind::Everything];

/// A token as minted.
pub struct Token {
    pub id: String,
    pub secret: String,
    pub kind: Kind,
    pub revoked: bool,
}

/// A write that was sent but never answered.
#[derive(Debug)]
pub enum Doubt {
    /// Create or update of the item `name` to `value`.
    Item { name: String, value: Value },
    /// A rotation: the version may or may not have moved.
    Rotate,
    /// A revocation of `tokens[_]`.
    Revoke(usize),
    /// A mint: its secret went with the answer.
    Mint,
}

/// What the harness knows.
pub struct World {
    pub user: String,
    pub password: String,
    pub vault: String,
    /// Name -> (id, acknowledged value).
    pub items: BTreeMap<String, (String, Value)>,
    pub tokens: Vec<Token>,
    /// The highest key version seen: acknowledged by a rotation or read after a restart.
    pub version: u64,
    pub doubt: Option<Doubt>,
    /// The known-device cookie from the first login: the owner's own logins are then not
    /// held to the per-username budget meant for guessers.
    pub device: Option<String>,
}

fn fresh_value(rng: &mut Rng) -> Value {
    json!({"n": rng.next(), "pad": "y".repeat(rng.below(400) as usize)})
}

impl World {
    /// Sign up, write [`ITEMS`] items, mint one token of each [`Kind`].
    pub async fn create(http: &Http, rng: &mut Rng) -> Check<Self> {
        let password = fresh_password(rng);
        let user = format!("rotator{:08x}", rng.next() as u32);
        let body = json!({"username": user, "password": password});
        let (status, body, _) = http
            .send(Method::POST, "/v1/signup", Who::Nobody, None, Some(body))
            .await
            .map_err(|e| format!("sign-up: {e}"))?;
        ensure!(status == StatusCode::CREATED, "sign-up: {status}: {body}");
        let mut world = Self {
            user,
            password,
            vault: body["vault_id"].as_str().unwrap_or_default().to_owned(),
            items: BTreeMap::new(),
            tokens: Vec::new(),
            version: 1,
            doubt: None,
            device: None,
        };
        let session = world.login(http).await?;
        for i in 0..ITEMS {
            ensure!(
                world
                    .write_item(http, &session, None, format!("item-{i:02}"), rng)
                    .await?,
                "setup write lost"
            );
        }
        ensure!(world.top_up(http, &session).await?, "setup mint lost");
        Ok(world)
    }

    /// Log in with the password (it must work), keeping the device cookie.
    pub async fn login(&mut self, http: &Http) -> Check<Session> {
        let body = json!({"username": self.user, "password": self.password});
        let (status, body, set) = http
            .send(
                Method::POST,
                "/v1/login",
                Who::Nobody,
                self.device.as_deref(),
                Some(body),
            )
            .await
            .map_err(|e| format!("login: no answer: {e}"))?;
        ensure!(
            status == StatusCode::OK,
            "the password does not log in: {status}: {body}"
        );
        let mut cookie = None;
        for c in set {
            if let Some(v) = c.strip_prefix("__Host-keyslot-device=") {
                self.device = Some(v.to_owned());
            } else if let Some(v) = c.strip_prefix("__Host-keyslot=") {
                cookie = Some(v.to_owned());
            }
        }
        Ok(Session {
            cookie: cookie.ok_or("login set no session cookie")?,
            csrf: body["csrf_token"].as_str().unwrap_or_default().to_owned(),
        })
    }

    pub fn live(&self) -> impl Iterator<Item = (usize, &Token)> {
        self.tokens.iter().enumerate().filter(|(_, t)| !t.revoked)
    }

    fn item_path(&self, id: &str) -> String {
        format!("/v1/vaults/{}/items/{id}", self.vault)
    }

    /// Create or update `name` through the session or `token`. `Ok(false)`: answer lost.
    async fn write_item(
        &mut self,
        http: &Http,
        session: &Session,
        token: Option<usize>,
        name: String,
        rng: &mut Rng,
    ) -> Check<bool> {
        let value = fresh_value(rng);
        let body = Some(json!({"name": name, "value": value}));
        let existing = self.items.get(&name).map(|(id, _)| id.clone());
        let secret = token.map(|t| self.tokens[t].secret.clone());
        let who = secret.as_deref().map_or(Who::Session(session), Who::Token);
        let reply = match &existing {
            Some(id) => {
                http.write(Method::PUT, &self.item_path(id), who, body, StatusCode::OK)
                    .await?
            }
            None => {
                let path = format!("/v1/vaults/{}/items", self.vault);
                http.write(Method::POST, &path, who, body, StatusCode::CREATED)
                    .await?
            }
        };
        Ok(match reply {
            Reply::Done(body) => {
                let id =
                    existing.unwrap_or_else(|| body["id"].as_str().unwrap_or_default().to_owned());
                self.items.insert(name, (id, value));
                true
            }
            Reply::Refused => true,
            Reply::Lost => {
                self.doubt = Some(Doubt::Item { name, value });
                false
            }
        })
    }

    /// Mint a token of each kind that has no live one. `Ok(false)`: an answer was lost.
    async fn top_up(&mut self, http: &Http, session: &Session) -> Check<bool> {
        for kind in KINDS {
            if !self.live().any(|(_, t)| t.kind == kind) && !self.mint(http, session, kind).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    async fn mint(&mut self, http: &Http, session: &Session, kind: Kind) -> Check<bool> {
        let permissions = if kind == Kind::Read {
            json!(["read"])
        } else {
            json!(["read", "write"])
        };
        let vaults = if kind == Kind::Everything {
            json!("*")
        } else {
            json!([self.vault])
        };
        let body = json!({
            "name": format!("t{}", self.tokens.len()),
            "vaults": vaults,
            "permissions": permissions,
            "current_password": self.password,
        });
        let Ok((status, body, _)) = http
            .send(
                Method::POST,
                "/v1/tokens",
                Who::Session(session),
                self.device.as_deref(),
                Some(body),
            )
            .await
        else {
            self.doubt = Some(Doubt::Mint);
            return Ok(false);
        };
        match status {
            StatusCode::CREATED => {
                self.tokens.push(Token {
                    id: body["id"].as_str().unwrap_or_default().to_owned(),
                    secret: body["token"].as_str().unwrap_or_default().to_owned(),
                    kind,
                    revoked: false,
                });
                Ok(true)
            }
            StatusCode::TOO_MANY_REQUESTS => Ok(true),
            s if s.is_server_error() => {
                self.doubt = Some(Doubt::Mint);
                Ok(false)
            }
            s => Err(format!("mint: unexpected {s}: {body}")),
        }
    }

    /// Rotate, revoke (the next step mints a replacement) or write, until an answer is
    /// lost.
    pub async fn run(mut self, http: Http, session: Session, seed: u64) -> Check<Self> {
        let mut rng = Rng::new(seed);
        loop {
            if !self.top_up(&http, &session).await? {
                return Ok(self);
            }
            let done = match rng.below(100) {
                0..=24 => {
                    let path = format!("/v1/vaults/{}/rotate", self.vault);
                    match http
                        .write(
                            Method::POST,
                            &path,
                            Who::Session(&session),
                            None,
                            StatusCode::OK,
                        )
                        .await?
                    {
                        Reply::Done(body) => {
                            let v = body["key_version"].as_u64().unwrap_or(0);
                            ensure!(
                                v > self.version,
                                "a rotation answered key_version {v}, not above {}",
                                self.version
                            );
                            self.version = v;
                            true
                        }
                        Reply::Refused => true,
                        Reply::Lost => {
                            self.doubt = Some(Doubt::Rotate);
                            false
                        }
                    }
                }
                25..=39 => {
                    let live: Vec<usize> = self.live().map(|(t, _)| t).collect();
                    if live.is_empty() {
                        // Every mint was refused (rate limit): nothing to revoke.
                        continue;
                    }
                    let t = live[rng.below(live.len() as u64) as usize];
                    let path = format!("/v1/tokens/{}", self.tokens[t].id);
                    match http
                        .write(
                            Method::DELETE,
                            &path,
                            Who::Session(&session),
                            None,
                            StatusCode::NO_CONTENT,
                        )
                        .await?
                    {
                        Reply::Done(_) => {
                            self.tokens[t].revoked = true;
                            true
                        }
                        Reply::Refused => true,
                        Reply::Lost => {
                            self.doubt = Some(Doubt::Revoke(t));
                            false
                        }
                    }
                }
                _ => {
                    let name = format!("item-{:02}", rng.below(ITEMS as u64 + 4));
                    let writers: Vec<usize> = self
                        .live()
                        .filter(|(_, t)| t.kind != Kind::Read)
                        .map(|(t, _)| t)
                        .collect();
                    let token = (self.items.contains_key(&name)
                        && !writers.is_empty()
                        && rng.below(2) == 0)
                        .then(|| writers[rng.below(writers.len() as u64) as usize]);
                    self.write_item(&http, &session, token, name, &mut rng)
                        .await?
                }
            };
            if !done {
                return Ok(self);
            }
        }
    }

    /// After a restart: the password logs in, the version has not gone back, a lost write
    /// happened whole or not at all, every item opens at its acknowledged value through
    /// the session and every live token, and revoked tokens get 401. Returns the session
    /// and whether a re-wrap was left pending by the kill.
    pub async fn verify(&mut self, http: &Http) -> Check<(Session, bool)> {
        let session = self.login(http).await?;
        let (version, pending) = self.state(http, &session).await?;
        ensure!(
            version >= self.version,
            "key_version went back: {version} after {}",
            self.version
        );
        self.version = version;
        let (status, list) = http
            .get(
                &format!("/v1/vaults/{}/items", self.vault),
                Who::Session(&session),
            )
            .await?;
        ensure!(status == StatusCode::OK, "listing the vault: {status}");
        let listed: BTreeMap<String, String> = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                (
                    i["name"].as_str().unwrap_or_default().to_owned(),
                    i["id"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        match self.doubt.take() {
            Some(Doubt::Item { name, value }) => {
                if let Some(id) = listed.get(&name) {
                    let (status, body) = http
                        .get(&self.item_path(id), Who::Session(&session))
                        .await?;
                    ensure!(
                        status == StatusCode::OK,
                        "item {name} (lost write) does not open: {status}"
                    );
                    let was = self.items.get(&name).map(|(_, v)| v);
                    ensure!(
                        body["value"] == value || Some(&body["value"]) == was,
                        "item {name} after a lost write is neither the old nor the new value"
                    );
                    self.items.insert(name, (id.clone(), body["value"].clone()));
                }
            }
            Some(Doubt::Revoke(t)) => {
                let (status, _) = http
                    .get(
                        &format!("/v1/vaults/{}/items", self.vault),
                        Who::Token(&self.tokens[t].secret),
                    )
                    .await?;
                ensure!(
                    status == StatusCode::OK || status == StatusCode::UNAUTHORIZED,
                    "a token whose revocation was cut off answers {status}"
                );
                self.tokens[t].revoked = status == StatusCode::UNAUTHORIZED;
            }
            Some(Doubt::Rotate | Doubt::Mint) | None => {}
        }
        let names: Vec<&String> = listed.keys().collect();
        let known: Vec<&String> = self.items.keys().collect();
        ensure!(
            names == known,
            "the vault lists {names:?}, acknowledged were {known:?}"
        );
        self.items_open(http, &session).await?;
        Ok((session, pending))
    }

    /// `(key_version, rewrap_pending)` from GET /v1/vaults/{vault}.
    pub async fn state(&self, http: &Http, session: &Session) -> Check<(u64, bool)> {
        let (status, body) = http
            .get(&format!("/v1/vaults/{}", self.vault), Who::Session(session))
            .await?;
        ensure!(status == StatusCode::OK, "vault state: {status}: {body}");
        Ok((
            body["key_version"].as_u64().ok_or("no key_version")?,
            body["rewrap_pending"]
                .as_bool()
                .ok_or("no rewrap_pending")?,
        ))
    }

    /// Every item through the session and every live token; revoked tokens get 401.
    pub async fn items_open(&self, http: &Http, session: &Session) -> Check {
        let mut readers = vec![("the password's session", Who::Session(session))];
        for (_, token) in self.live() {
            readers.push(("a live token", Who::Token(&token.secret)));
        }
        for (who, as_) in readers {
            for (name, (id, value)) in &self.items {
                let (status, body) = http.get(&self.item_path(id), as_).await?;
                ensure!(
                    status == StatusCode::OK && body["value"] == *value,
                    "item {name} does not open at its acknowledged value with {who}: {status}"
                );
            }
        }
        for t in self.tokens.iter().filter(|t| t.revoked) {
            let (status, _) = http
                .get(
                    &format!("/v1/vaults/{}/items", self.vault),
                    Who::Token(&t.secret),
                )
                .await?;
            ensure!(
                status == StatusCode::UNAUTHORIZED,
                "a revoked token answers {status}"
            );
        }
        Ok(())
    }

    /// Drive the re-wrap to its end with session writes (each write runs one batch), within
    /// `limit`: `rewrap_pending` must turn false. Returns the writes it took.
    pub async fn finish_rewrap(
        &mut self,
        http: &Http,
        session: &Session,
        rng: &mut Rng,
        limit: Duration,
    ) -> Check<u32> {
        let deadline = Instant::now() + limit;
        let mut writes = 0;
        loop {
            let (version, pending) = self.state(http, session).await?;
            ensure!(
                version >= self.version,
                "key_version went back: {version} after {}",
                self.version
            );
            self.version = version;
            if !pending {
                return Ok(writes);
            }
            ensure!(
                Instant::now() < deadline,
                "the re-wrap did not finish within {limit:?} ({writes} writes)"
            );
            let name = format!("item-{:02}", rng.below(ITEMS as u64));
            ensure!(
                self.write_item(http, session, None, name, rng).await?,
                "a write to advance the re-wrap got no answer"
            );
            writes += 1;
        }
    }
}
