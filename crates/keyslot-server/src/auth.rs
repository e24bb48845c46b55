//! Authentication: the one door every authenticated API request goes through.
//!
//! [`Caller`] is the extractor. It *parses* the credential, once: `Authorization: Bearer
//! kst_…` for an API token, otherwise the `__Host-keyslot` session cookie, whose unsafe
//! requests must also carry the session's CSRF token (checked by [`crate::csrf`]). It
//! does not *verify* it: unlocking costs a store round trip and key unwrapping, and the
//! hot path, a token reading one item, does both together in one query
//! ([`Caller::read_item`]). Every other handler takes [`Auth`]: the same `Caller`, verified
//! ([`Caller::verify`]) where it stands among the handler's arguments, so that, as
//! before, a bad credential answers before any path id or body is looked at.
//!
//! Answers are the same whichever way in: 401 with one body for every bad credential
//! (missing, malformed, wrong, expired, revoked), 403 for a CSRF failure (after the
//! session itself checked out, so a dead session is still a 401).
//!
//! A bearer token comes in three forms (docs/END-TO-END.md §1): `kst_` (a server-mode
//! secret), `ksa_` (an end-to-end proof: the caller does its own crypto and becomes a
//! `Principal::Client`) and `kse_` (an end-to-end secret, which must never reach the
//! server: a live token's is revoked on sight and answered 403).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use keyslot_core::client_views::ClientItem;
use keyslot_core::views::Item;
use keyslot_core::{Keyslot, Principal};
use keyslot_crypto::Id;
use zeroize::Zeroizing;

use crate::csrf;
use crate::error::ApiError;
use crate::forwarded::TrustedProxies;
use crate::state::AppState;

/// The session cookie's name. `__Host-` makes browsers insist on `Secure`, `Path=/` and
/// no `Domain`, so no subdomain can set or shadow it.
pub const COOKIE_NAME: &str = "__Host-keyslot";

/// The credential a request presents: parsed, not yet verified; and the address it came
/// from, which every audit event made on its behalf names.
pub struct Caller {
    credential: Credential,
    ip: Option<IpAddr>,
}

enum Credential {
    /// An API token. Holds the `Authorization` header itself: cloning a `HeaderValue`
    /// shares the request's bytes, so the hot path copies nothing.
    Token(HeaderValue),
    /// A session cookie, with the outcome of this request's CSRF check, reported only
    /// once the session itself has been verified (a dead session is a 401, not a 403).
    Session {
        cookie: SessionCookie,
        csrf: Result<(), ApiError>,
    },
}

/// By hand: a credential never shows in logs.
impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.credential {
            Credential::Token(_) => f.write_str("Caller::Token(***)"),
            Credential::Session { .. } => f.write_str("Caller::Session(***)"),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = client_addr(parts);
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            // A present header that is not `Bearer …` is a 401, whatever else is sent.
            bearer(value).ok_or_else(ApiError::unauthorized)?;
            return Ok(Self {
                credential: Credential::Token(value.clone()),
                ip,
            });
        }
        let cookie =
            SessionCookie::from_headers(&parts.headers).ok_or_else(ApiError::unauthorized)?;
        let csrf = csrf::check_header(&parts.method, &parts.headers, cookie.expose());
        Ok(Self {
            credential: Credential::Session { cookie, csrf },
            ip,
        })
    }
}

impl Caller {
    /// Verify the credential: the principal holding the keys it unlocks, for this request.
    pub async fn verify(self, keyslot: &Keyslot) -> Result<Principal, ApiError> {
        match self.credential {
            Credential::Token(value) => {
                let text = bearer(&value).ok_or_else(ApiError::unauthorized)?;
                Ok(match TokenText::of(text) {
                    TokenText::Secret => keyslot.authenticate_token(text, self.ip).await?,
                    TokenText::Proof => keyslot.authenticate_auth_proof(text, self.ip).await?,
                    TokenText::Disclosed => {
                        return Err(keyslot.token_disclosed(text, self.ip).await.into());
                    }
                })
            }
            Credential::Session { cookie, csrf } => {
                let principal = cookie.verify(keyslot, self.ip).await?;
                csrf?;
                Ok(principal)
            }
        }
    }

    /// Read one item. For a token, verifying it and reading the item are one store round
    /// trip (`Store::token_read`): the benchmark's hot path, and the reason this extractor
    /// is lazy. A session verifies, then reads.
    ///
    /// A caller that does its own crypto (`ksa_`, or an end-to-end account's session)
    /// gets the item's envelopes instead ([`ItemRead::Client`]).
    pub async fn read_item(
        self,
        keyslot: &Keyslot,
        vault: &Id,
        item: &Id,
    ) -> Result<ItemRead, ApiError> {
        if let Credential::Token(value) = &self.credential {
            let text = bearer(value).ok_or_else(ApiError::unauthorized)?;
            match TokenText::of(text) {
                TokenText::Secret => {
                    return Ok(ItemRead::Plain(
                        keyslot
                            .get_item_with_token(text, self.ip, vault, item)
                            .await?,
                    ));
                }
                // The same single round trip for an end-to-end client's read.
                TokenText::Proof => {
                    return Ok(ItemRead::Client(Box::new(
                        keyslot
                            .client_item_with_proof(text, self.ip, vault, item)
                            .await?,
                    )));
                }
                TokenText::Disclosed => {}
            }
        }
        let principal = self.verify(keyslot).await?;
        if principal.is_client_side() {
            return Ok(ItemRead::Client(Box::new(
                keyslot.client_item(&principal, vault, item).await?,
            )));
        }
        Ok(ItemRead::Plain(
            keyslot.get_item(&principal, vault, item).await?,
        ))
    }
}

/// One item as its reader gets it.
pub enum ItemRead {
    /// Decrypted by the server (server mode).
    Plain(Item),
    /// Envelopes, for a caller that does its own crypto.
    Client(Box<ClientItem>),
}

/// Which kind of token text a bearer value is, by its prefix (the parsers check the
/// rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenText {
    /// `kst_` (or anything unknown, which its parser refuses with the usual 401): the
    /// server-mode secret.
    Secret,
    /// `ksa_`: an end-to-end proof (id and `auth`, never the secret).
    Proof,
    /// `kse_`: an end-to-end secret, which must never be sent.
    Disclosed,
}

impl TokenText {
    fn of(text: &str) -> Self {
        if text.starts_with(keyslot_crypto::auth_proof::PREFIX) {
            Self::Proof
        } else if text.starts_with("kse_") {
            Self::Disclosed
        } else {
            Self::Secret
        }
    }
}

/// An authenticated caller, verified at its place among the handler's arguments: for
/// handlers whose later extractors (path ids, body) must not answer before the
/// credential does, so a bad credential is a 401 whatever the path or body.
#[derive(Debug)]
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.verify(&state.keyslot).await.map(Self)
    }
}

/// The token of an `Authorization: Bearer …` value; `None` for any other value.
fn bearer(value: &HeaderValue) -> Option<&str> {
    value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The session credential of the `__Host-keyslot` cookie, as presented: the API's
/// [`Caller`] and the web pages' session both start here.
pub struct SessionCookie(Zeroizing<String>);

/// By hand: the cookie is a credential.
impl std::fmt::Debug for SessionCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionCookie(***)")
    }
}

impl SessionCookie {
    /// The session cookie from the `Cookie` header(s), if any.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| {
                pair.trim()
                    .strip_prefix(COOKIE_NAME)
                    .and_then(|rest| rest.strip_prefix('='))
            })
            .map(|v| Self(Zeroizing::new(v.to_owned())))
    }

    /// Verify the session (expiry, verifier, its slot): the principal it unlocks, for a
    /// request from `ip` ([`client_addr`]).
    pub async fn verify(
        &self,
        keyslot: &Keyslot,
        ip: Option<IpAddr>,
    ) -> keyslot_core::Result<Principal> {
        keyslot.authenticate_session(&self.0, ip).await
    }

    /// The credential's text, for the CSRF checks that derive from it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(session: &str, max_age_secs: i64) -> Option<HeaderValue> {
    let text = Zeroizing::new(format!(
        "{COOKIE_NAME}={session}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}"
    ));
    let mut value = HeaderValue::from_str(&text).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static(
        "__Host-keyslot=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
    )
}

/// The client's address: the one place a request's origin is decided, for the per-IP
/// login budget and every audit event ([`Caller`], [`ClientIp`], the web pages' session).
///
/// It is the TCP peer (both listeners serve with `ConnectInfo<SocketAddr>`), unless that
/// peer is a reverse proxy the operator listed (`--trusted-proxy`): then the rightmost hop
/// of `X-Forwarded-For` / `Forwarded` that is not one of them ([`crate::forwarded`]).
/// `X-Real-IP` is never read, nor any forwarding header from another peer: a client could
/// write them. `None` when the connection's address is unknown (a router driven without a
/// socket).
pub fn client_addr(parts: &Parts) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_canonical())?;
    Some(match parts.extensions.get::<TrustedProxies>() {
        Some(proxies) => proxies.client(peer, &parts.headers),
        None => peer,
    })
}

/// The client's address as text ([`client_addr`]), `unknown` when it is not known: the
/// per-IP login budget needs a key either way.
#[derive(Debug)]
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            client_addr(parts).map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
        ))
    }
}

/// End the session this request presented, if any, once a login has made a new one: a
/// login replaces the browser's session rather than adding one beside it (ASVS 7.2.4).
/// Nothing to end (no cookie, or one already expired) is not an error.
pub async fn end_presented_session(state: &AppState, headers: &HeaderMap, ip: &str) {
    if let Some(cookie) = SessionCookie::from_headers(headers)
        && let Ok(principal) = cookie.verify(&state.keyslot, ip.parse().ok()).await
    {
        let _ = state.keyslot.logout(&principal).await;
    }
}

/// The known-device cookie's name: set at each successful login, presented at the next
/// ones, it exempts the owner's browser from the per-username ceiling an attacker can push
/// (`keyslot_core`'s attempt counters). `__Host-`, like the session cookie.
pub const DEVICE_COOKIE_NAME: &str = "__Host-keyslot-device";

/// The device cookie the request presents, if any (verified by the login, not here).
pub fn device_cookie(headers: &HeaderMap) -> Option<Zeroizing<String>> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            pair.trim()
                .strip_prefix(DEVICE_COOKIE_NAME)
                .and_then(|rest| rest.strip_prefix('='))
        })
        .map(|v| Zeroizing::new(v.to_owned()))
}

/// `Set-Cookie` for a fresh device cookie, kept `max_age_secs` (long: it names a browser,
/// not a session, and opens nothing by itself).
pub fn set_device_cookie(value: &str, max_age_secs: i64) -> Option<HeaderValue> {
    let text = Zeroizing::new(format!(
        "{DEVICE_COOKIE_NAME}={value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}"
    ));
    let mut value = HeaderValue::from_str(&text).ok()?;
    value.set_sensitive(true);
    Some(value)
}
