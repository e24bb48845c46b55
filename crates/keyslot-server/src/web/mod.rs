//! The web app: server-rendered pages (askama) over the same use cases as the JSON API.
//!
//! Every core flow works without JavaScript: plain forms, POST for anything that changes
//! something, a hidden `csrf` field derived from the session on every form that uses the
//! cookie (on top of the Origin / Sec-Fetch-Site check in front of every route). The one
//! script, `/assets/app.js`, only adds copy buttons. No inline script or style, so the
//! strict Content-Security-Policy holds; no secret ever goes into a URL.

mod account;
mod e2e;
mod members;
mod tokens;
mod vault_keys;
mod vaults;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use keyslot_core::{Error, FieldError, Principal};
use zeroize::Zeroizing;

use crate::auth::SessionCookie;
use crate::csrf;
use crate::state::AppState;

/// The page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(account::home))
        .route("/login", get(account::login_page).post(account::login))
        .route("/signup", get(account::signup_page).post(account::signup))
        .route("/logout", post(account::logout))
        .route(
            "/recover",
            get(account::recover_page).post(account::recover),
        )
        .route(
            "/password",
            get(account::password_page).post(account::change_password),
        )
        .route("/audit", get(account::audit))
        .route("/vaults", get(vaults::list).post(vaults::create))
        .route(
            "/vaults/{vault}",
            get(vaults::items).post(vaults::create_item),
        )
        .route("/vaults/{vault}/rotate", post(vault_keys::rotate))
        .route("/vaults/{vault}/members", post(members::share))
        .route(
            "/vaults/{vault}/members/{member}/role",
            post(members::change_role),
        )
        .route(
            "/vaults/{vault}/members/{member}/remove",
            get(members::confirm_remove).post(members::remove),
        )
        .route(
            "/vaults/{vault}/items/{item}",
            get(vaults::item).post(vaults::update_item),
        )
        .route(
            "/vaults/{vault}/items/{item}/delete",
            post(vaults::delete_item),
        )
        .route("/tokens", get(tokens::list).post(tokens::create))
        .route("/tokens/{id}/revoke", post(tokens::revoke))
        .route("/e2e/vaults", get(e2e::vaults))
        .route("/e2e/vaults/{vault}", get(e2e::vault))
        .route("/e2e/vaults/{vault}/items/{item}", get(e2e::item))
        .route("/e2e/tokens", get(e2e::tokens))
        .route("/e2e/password", get(e2e::password))
        .route("/assets/e2e/{name}", get(e2e::script))
        .route(
            "/assets/app.css",
            get(|| async {
                asset(
                    "text/css; charset=utf-8",
                    include_str!("../../assets/app.css"),
                )
            }),
        )
        .route(
            "/assets/icon.svg",
            get(|| async { asset(SVG, include_str!("../../assets/icon.svg")) }),
        )
        .route(
            "/favicon.ico",
            get(|| async { asset(SVG, include_str!("../../assets/icon.svg")) }),
        )
        .route(
            "/assets/app.js",
            get(|| async {
                asset(
                    "text/javascript; charset=utf-8",
                    include_str!("../../assets/app.js"),
                )
            }),
        )
}

/// SVG is XML text: without a charset a browser may decode it by guessing (ASVS 4.1.1).
const SVG: &str = "image/svg+xml; charset=utf-8";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// A logged-in browser: the principal, and the CSRF token its forms carry. The web
/// pages' door: the session cookie parsed as for the API ([`SessionCookie`]), but a
/// missing or dead session sends the browser to the login page instead of a 401.
pub struct WebSession {
    principal: Principal,
    cookie: SessionCookie,
    csrf: Zeroizing<String>,
}

impl WebSession {
    /// Refuse a form whose `csrf` field does not match this session (see [`crate::csrf`]).
    fn check(&self, form: &FormData) -> Result<(), Page> {
        csrf::check_form(self.cookie.expose(), form)
    }
}

impl FromRequestParts<AppState> for WebSession {
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
                Error::Unauthorized => to_login(),
                other => Page::from_error(other).into_response(),
            })?;
        // An end-to-end session's pages are filled in by the browser, which holds the keys.
        if matches!(principal, Principal::Client { .. })
            && parts.method == Method::GET
            && let Some(page) = e2e::mirror(parts.uri.path())
        {
            return Err(Redirect::to(&page).into_response());
        }
        let csrf = csrf::token(cookie.expose()).ok_or_else(to_login)?;
        Ok(Self {
            principal,
            cookie,
            csrf,
        })
    }
}

/// A form body (`application/x-www-form-urlencoded`), repeated keys kept.
pub struct FormData(Vec<(String, Zeroizing<String>)>);

impl FormData {
    fn parse(body: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), Zeroizing::new(v.into_owned())))
                .collect(),
        )
    }

    /// The first value of `name`, or "".
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`.
    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

impl<S: Send + Sync> axum::extract::FromRequest<S> for FormData {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = bytes::Bytes::from_request(req, state).await.map_err(|_| {
            Page::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "That was too much to send at once.",
            )
            .into_response()
        })?;
        Ok(Self::parse(&bytes))
    }
}

/// Field errors as a template sees them.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    /// The message for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// One error on one field.
    fn one(field: &str, message: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, message)])
    }
}

/// Whether a core error is about the input (shown beside fields) or something else.
fn field_errors(e: Error) -> Result<Errors, Page> {
    match e {
        Error::Invalid(fields) => Ok(Errors(fields)),
        other => Err(Page::from_error(other)),
    }
}

/// A rendered page or an error page. A form shown again with its field errors is a page
/// that rendered fine (200); only error pages carry an error status.
pub struct Page {
    status: StatusCode,
    html: String,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate<'a> {
    title: &'a str,
    message: &'a str,
    nav: Option<Nav<'a>>,
}

/// What the header shows for a logged-in user.
pub struct Nav<'a> {
    csrf: &'a str,
}

impl Page {
    fn render(template: &impl Template) -> Self {
        match template.render() {
            Ok(html) => Self {
                status: StatusCode::OK,
                html,
            },
            Err(e) => {
                tracing::error!(error = %e, "template failed");
                Self::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on the server.",
                )
            }
        }
    }

    pub(crate) fn error(status: StatusCode, message: &str) -> Self {
        let title = status.canonical_reason().unwrap_or("Error");
        let html = ErrorTemplate {
            title,
            message,
            nav: None,
        }
        .render()
        .unwrap_or_else(|_| message.to_owned());
        Self { status, html }
    }

    fn from_error(e: Error) -> Self {
        let problem = crate::error::ApiError::from(e);
        let status = problem.status();
        let message = match status {
            StatusCode::NOT_FOUND => "There is nothing here that you can open.",
            StatusCode::FORBIDDEN => "That is not allowed.",
            StatusCode::TOO_MANY_REQUESTS => "Too many attempts. Wait a little and try again.",
            StatusCode::SERVICE_UNAVAILABLE => {
                "The server is busy or cannot reach its database. Try again in a moment."
            }
            _ => "Something went wrong on the server.",
        };
        Self::error(status, message)
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.html).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        response
    }
}

/// Either a page or a redirect.
pub type PageResult = Result<Response, Page>;

fn redirect(to: &str) -> PageResult {
    Ok(Redirect::to(to).into_response())
}

fn time(ts: i64) -> String {
    crate::routes::rfc3339(ts)
        .replace('T', " ")
        .replace('Z', " UTC")
}
