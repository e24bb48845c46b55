//! The web pages of an end-to-end account (docs/END-TO-END.md): the crypto runs in the page.
//!
//! The server renders only shells here — headings, empty lists, forms — and never a name,
//! a value or a key: it has none to render. The page's scripts (`/assets/e2e/*.js`, ES
//! modules, no inline script, so the strict Content-Security-Policy holds) load the
//! keyslot-crypto wasm module, open the user key from the session's unlock slot with the
//! unlock secret this tab keeps in `sessionStorage` (END-TO-END §4, DESIGN-NOTES
//! "End-to-end web pages"), and talk to the JSON API with the session cookie and the
//! `X-CSRF-Token` header. Argon2id runs in a Web Worker so the page does not freeze.
//!
//! These pages need JavaScript: without it the page says so. Server-mode accounts keep the
//! server-rendered pages of the sibling modules; a server-rendered page asked for by an
//! end-to-end session redirects here ([`mirror`]), and a page here asked for by a
//! server-mode session redirects back.

use askama::Template;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use keyslot_core::Principal;
use keyslot_crypto::Id;
use zeroize::Zeroizing;

use super::{Nav, Page, asset};
use crate::auth::SessionCookie;
use crate::csrf;
use crate::state::AppState;

/// The scripts of these pages, served under `/assets/e2e/{name}`. A fixed table, so a
/// request can name nothing else.
const SCRIPTS: &[(&str, &str)] = &[
    ("api.js", include_str!("../../assets/e2e/api.js")),
    ("ks.js", include_str!("../../assets/e2e/ks.js")),
    ("session.js", include_str!("../../assets/e2e/session.js")),
    ("storage.js", include_str!("../../assets/e2e/storage.js")),
    ("ui.js", include_str!("../../assets/e2e/ui.js")),
    ("worker.js", include_str!("../../assets/e2e/worker.js")),
    ("argon.js", include_str!("../../assets/e2e/argon.js")),
    ("login.js", include_str!("../../assets/e2e/login.js")),
    ("signup.js", include_str!("../../assets/e2e/signup.js")),
    ("recover.js", include_str!("../../assets/e2e/recover.js")),
    ("vaults.js", include_str!("../../assets/e2e/vaults.js")),
    ("vault.js", include_str!("../../assets/e2e/vault.js")),
    ("item.js", include_str!("../../assets/e2e/item.js")),
    ("tokens.js", include_str!("../../assets/e2e/tokens.js")),
    ("password.js", include_str!("../../assets/e2e/password.js")),
];

/// `GET /assets/e2e/{name}`: one of [`SCRIPTS`], or 404.
pub async fn script(Path(name): Path<String>) -> Response {
    match SCRIPTS.iter().find(|(n, _)| *n == name) {
        Some((_, body)) => asset("text/javascript; charset=utf-8", body),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The end-to-end page for a server-rendered path, when there is one: what an end-to-end
/// session is sent to instead of a page the server cannot fill (it holds no key).
pub(super) fn mirror(path: &str) -> Option<String> {
    let mirrored = ["/vaults", "/tokens", "/password"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")));
    mirrored.then(|| format!("/e2e{path}"))
}

/// A logged-in end-to-end session: its CSRF token, for the page's JSON requests and the
/// header's log-out form. A server-mode session is sent to the server-rendered page of
/// the same path; no live session, to the login page.
pub struct E2eSession {
    csrf: Zeroizing<String>,
}

impl FromRequestParts<AppState> for E2eSession {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let to_login = || Redirect::to("/login").into_response();
        let cookie = SessionCookie::from_headers(&parts.headers).ok_or_else(to_login)?;
        let ip = crate::auth::client_addr(parts);
        let principal = cookie
            .verify(&state.keyslot, ip)
            .await
            .map_err(|e| match e {
                keyslot_core::Error::Unauthorized => to_login(),
                other => Page::from_error(other).into_response(),
            })?;
        if !matches!(principal, Principal::Client { .. }) {
            return Err(Redirect::to(server_mode_path(&parts.uri)).into_response());
        }
        let csrf = csrf::token(cookie.expose()).ok_or_else(to_login)?;
        Ok(Self { csrf })
    }
}

fn server_mode_path(uri: &Uri) -> &str {
    uri.path()
        .strip_prefix("/e2e")
        .filter(|p| p.starts_with('/'))
        .unwrap_or("/vaults")
}

#[derive(Template)]
#[template(path = "e2e/vaults.html")]
struct VaultsShell<'a> {
    nav: Option<Nav<'a>>,
}

#[derive(Template)]
#[template(path = "e2e/vault.html")]
struct VaultShell<'a> {
    nav: Option<Nav<'a>>,
    vault: Id,
}

#[derive(Template)]
#[template(path = "e2e/item.html")]
struct ItemShell<'a> {
    nav: Option<Nav<'a>>,
    vault: Id,
    item: Id,
}

#[derive(Template)]
#[template(path = "e2e/tokens.html")]
struct TokensShell<'a> {
    nav: Option<Nav<'a>>,
    lifetimes: &'static [(i64, &'static str)],
}

#[derive(Template)]
#[template(path = "e2e/password.html")]
struct PasswordShell<'a> {
    nav: Option<Nav<'a>>,
}

impl E2eSession {
    fn nav(&self) -> Option<Nav<'_>> {
        Some(Nav { csrf: &self.csrf })
    }
}

/// `GET /e2e/vaults`: the vault list, decrypted in the page.
pub async fn vaults(session: E2eSession) -> Page {
    Page::render(&VaultsShell { nav: session.nav() })
}

/// `GET /e2e/vaults/{vault}`: a vault's items, decrypted in the page.
pub async fn vault(session: E2eSession, Path(vault): Path<String>) -> Result<Page, Page> {
    let vault = super::vaults::id(&vault)?;
    Ok(Page::render(&VaultShell {
        nav: session.nav(),
        vault,
    }))
}

/// `GET /e2e/vaults/{vault}/items/{item}`: one item, decrypted in the page.
pub async fn item(
    session: E2eSession,
    Path((vault, item)): Path<(String, String)>,
) -> Result<Page, Page> {
    let (vault, item) = (super::vaults::id(&vault)?, super::vaults::id(&item)?);
    Ok(Page::render(&ItemShell {
        nav: session.nav(),
        vault,
        item,
    }))
}

/// `GET /e2e/tokens`: the tokens, and a form whose token is generated in the page.
pub async fn tokens(session: E2eSession) -> Page {
    Page::render(&TokensShell {
        nav: session.nav(),
        lifetimes: &super::tokens::LIFETIMES,
    })
}

/// `GET /e2e/password`: the password change, computed in the page.
pub async fn password(session: E2eSession) -> Page {
    Page::render(&PasswordShell { nav: session.nav() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_pages_the_server_cannot_fill_are_mirrored() {
        assert_eq!(mirror("/vaults").as_deref(), Some("/e2e/vaults"));
        assert_eq!(
            mirror("/vaults/abc/items/def").as_deref(),
            Some("/e2e/vaults/abc/items/def")
        );
        assert_eq!(mirror("/tokens").as_deref(), Some("/e2e/tokens"));
        assert_eq!(mirror("/password").as_deref(), Some("/e2e/password"));
        assert_eq!(mirror("/audit"), None);
        assert_eq!(mirror("/vaultsx"), None);
    }

    #[test]
    fn a_server_mode_session_goes_back_to_the_same_page() {
        let uri: Uri = "/e2e/vaults/abc".parse().unwrap();
        assert_eq!(server_mode_path(&uri), "/vaults/abc");
        let odd: Uri = "/e2eoops".parse().unwrap();
        assert_eq!(server_mode_path(&odd), "/vaults");
    }
}
