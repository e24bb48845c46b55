//! API tokens: create (shown once, with a copy button and the curl line that uses it),
//! list with last use, revoke.

use askama::Template;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use keyslot_core::Error;
use keyslot_core::views::{Scope, Token, TokenRequest, Vault};
use keyslot_crypto::{Id, Password};

use super::{Errors, FormData, Nav, Page, PageResult, WebSession, field_errors, redirect, time};
use crate::auth::ClientIp;
use crate::state::AppState;
use crate::tls::ServedOverTls;

/// Lifetimes offered by the form, in days.
pub(super) const LIFETIMES: [(i64, &str); 4] = [
    (7, "7 days"),
    (30, "30 days"),
    (90, "90 days"),
    (365, "1 year"),
];

struct TokenRow {
    token: Token,
    scope: String,
    expires: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensTemplate<'a> {
    tokens: Vec<TokenRow>,
    vaults: Vec<Vault>,
    lifetimes: &'static [(i64, &'static str)],
    name: &'a str,
    errors: Errors,
    nav: Option<Nav<'a>>,
}

#[derive(Template)]
#[template(path = "token_created.html")]
struct CreatedTemplate<'a> {
    name: &'a str,
    token: &'a str,
    expires: String,
    curl: String,
    nav: Option<Nav<'a>>,
}

async fn tokens_page(
    state: &AppState,
    session: &WebSession,
    name: &str,
    errors: Errors,
) -> Result<Page, Page> {
    let tokens = state
        .keyslot
        .list_tokens(&session.principal)
        .await
        .map_err(Page::from_error)?;
    let vaults = state
        .keyslot
        .list_vaults(&session.principal)
        .await
        .map_err(Page::from_error)?;
    let tokens = tokens
        .into_iter()
        .map(|t| {
            let scope = match &t.vaults {
                Scope::All => "All vaults".to_owned(),
                Scope::Vaults(ids) => ids
                    .iter()
                    .map(|id| {
                        vaults
                            .iter()
                            .find(|v| v.id == *id)
                            .map_or_else(|| id.to_string(), |v| v.name.clone())
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let expires = time(t.expires_at);
            let last_used = t.last_used_at.map_or_else(|| "never".to_owned(), time);
            TokenRow {
                token: t,
                scope,
                expires,
                last_used,
            }
        })
        .collect();
    Ok(Page::render(&TokensTemplate {
        tokens,
        vaults,
        lifetimes: &LIFETIMES,
        name,
        errors,
        nav: Some(Nav {
            csrf: &session.csrf,
        }),
    }))
}

pub async fn list(State(state): State<AppState>, session: WebSession) -> PageResult {
    Ok(tokens_page(&state, &session, "", Errors::default())
        .await?
        .into_response())
}

pub async fn create(
    State(state): State<AppState>,
    session: WebSession,
    ClientIp(ip): ClientIp,
    tls: Option<Extension<ServedOverTls>>,
    headers: HeaderMap,
    form: FormData,
) -> PageResult {
    session.check(&form)?;
    let name = form.get("name");
    let all = form.get("scope") == "all";
    let vaults: Vec<Id> = form
        .all("vault")
        .iter()
        .filter_map(|v| v.parse().ok())
        .collect();
    let days = form
        .get("days")
        .parse::<i64>()
        .ok()
        .filter(|d| LIFETIMES.iter().any(|(l, _)| l == d))
        .unwrap_or(30);
    if !all && vaults.is_empty() {
        let errors = Errors::one("vaults", "Choose at least one vault, or all vaults.");
        return Err(tokens_page(&state, &session, name, errors).await?);
    }
    let request = TokenRequest {
        name: name.to_owned(),
        vaults: if all {
            Scope::All
        } else {
            Scope::Vaults(vaults.clone())
        },
        can_write: form.get("permissions") == "read-write",
        deposit: form.get("permissions") == "deposit",
        expires_in_seconds: Some(days * 86_400),
    };
    let password = Password::new(form.get("current_password"));
    match state
        .keyslot
        .mint_token(&session.principal, password, request, &ip)
        .await
    {
        Ok(minted) => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("127.0.0.1:8470");
            let scheme = scheme(tls.is_some(), &headers);
            let path = match vaults.first() {
                Some(v) if !all => format!("/v1/vaults/{v}/items"),
                _ => "/v1/vaults".to_owned(),
            };
            let curl = format!(
                "curl -H 'Authorization: Bearer {}' {scheme}://{host}{path}",
                minted.token.as_str()
            );
            let page = CreatedTemplate {
                name,
                token: &minted.token,
                expires: time(minted.expires_at),
                curl,
                nav: Some(Nav {
                    csrf: &session.csrf,
                }),
            };
            Ok(Page::render(&page).into_response())
        }
        Err(Error::Forbidden(_)) => {
            let errors = Errors::one("current_password", "This is not your current password.");
            Err(tokens_page(&state, &session, name, errors).await?)
        }
        Err(e) => {
            let errors = field_errors(e)?;
            Err(tokens_page(&state, &session, name, errors).await?)
        }
    }
}

/// The scheme this page was served over, for the curl line: `https` on Keyslot's own TLS
/// listener. On plain HTTP the browser may still have used HTTPS to a proxy that
/// terminates TLS in front (`--insecure-http`); its `Origin` header, which browsers send
/// with every form POST, says which scheme it used. A curl line that said `http://` there
/// would send the new token in clear (or to nothing) the first time it is pasted.
fn scheme(tls: bool, headers: &HeaderMap) -> &'static str {
    let origin_https = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .is_some_and(|o| o.starts_with("https://"));
    if tls || origin_https { "https" } else { "http" }
}

pub async fn revoke(
    State(state): State<AppState>,
    session: WebSession,
    Path(token): Path<String>,
    form: FormData,
) -> PageResult {
    session.check(&form)?;
    let token: Id = token
        .parse()
        .map_err(|_| Page::error(StatusCode::NOT_FOUND, "There is no such token."))?;
    state
        .keyslot
        .revoke_token(&session.principal, &token, true)
        .await
        .map_err(Page::from_error)?;
    redirect("/tokens")
}
