//! A vault's members from the browser: share with a user by username and role, change a
//! member's role, remove a member (or leave) after a confirmation page that says removal
//! rotates the vault key. The list itself is on the vault page ([`super::vaults`]).
//!
//! Every change goes through the core's member use cases, which check the owner role and
//! the session; the pages only offer the forms to an owner, they do not decide.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use keyslot_core::Error;
use keyslot_core::views::VaultInfo;
use keyslot_crypto::Id;

use super::vaults::{id, vault_page};
use super::{Errors, FormData, Nav, Page, PageResult, WebSession, field_errors, redirect};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "remove_member.html")]
struct RemoveTemplate<'a> {
    vault: VaultInfo,
    member: Id,
    username: String,
    /// The member is the one asking: leaving rather than removing.
    leaving: bool,
    nav: Option<Nav<'a>>,
}

/// The vault page again, with `errors` beside the members' forms.
async fn with_errors(
    state: &AppState,
    session: &WebSession,
    vault: &Id,
    errors: Errors,
) -> Result<Page, Page> {
    vault_page(state, session, vault, "", "", errors).await
}

/// A refusal the vault page can show next to the members (a 409's reason), or an error
/// page for anything else.
async fn shown(state: &AppState, session: &WebSession, vault: &Id, e: Error) -> Page {
    let errors = match e {
        Error::Conflict(reason) => Errors::one("members", reason),
        other => match field_errors(other) {
            Ok(errors) => errors,
            Err(page) => return page,
        },
    };
    with_errors(state, session, vault, errors)
        .await
        .unwrap_or_else(|page| page)
}

/// `POST /vaults/{vault}/members`: share the vault with `username` as `role`.
pub async fn share(
    State(state): State<AppState>,
    session: WebSession,
    Path(vault): Path<String>,
    form: FormData,
) -> PageResult {
    session.check(&form)?;
    let vault = id(&vault)?;
    match state
        .keyslot
        .add_member(
            &session.principal,
            &vault,
            form.get("username"),
            form.get("role"),
        )
        .await
    {
        Ok(_) => redirect(&format!("/vaults/{vault}")),
        Err(e) => Err(shown(&state, &session, &vault, e).await),
    }
}

/// `POST /vaults/{vault}/members/{user}/role`: give a member another role.
pub async fn change_role(
    State(state): State<AppState>,
    session: WebSession,
    Path((vault, member)): Path<(String, String)>,
    form: FormData,
) -> PageResult {
    session.check(&form)?;
    let (vault, member) = (id(&vault)?, id(&member)?);
    match state
        .keyslot
        .set_member_role(&session.principal, &vault, &member, form.get("role"))
        .await
    {
        Ok(_) => redirect(&format!("/vaults/{vault}")),
        Err(e) => Err(shown(&state, &session, &vault, e).await),
    }
}

/// `GET /vaults/{vault}/members/{user}/remove`: the confirmation, saying what removal does.
pub async fn confirm_remove(
    State(state): State<AppState>,
    session: WebSession,
    Path((vault, member)): Path<(String, String)>,
) -> PageResult {
    let (vault, member) = (id(&vault)?, id(&member)?);
    let info = state
        .keyslot
        .vault_info(&session.principal, &vault)
        .await
        .map_err(Page::from_error)?;
    let members = state
        .keyslot
        .list_members(&session.principal, &vault)
        .await
        .map_err(Page::from_error)?;
    let username = members
        .into_iter()
        .find(|m| m.user_id == member)
        .map(|m| m.username)
        .ok_or_else(|| {
            Page::error(
                StatusCode::NOT_FOUND,
                "There is nothing here that you can open.",
            )
        })?;
    Ok(Page::render(&RemoveTemplate {
        vault: info,
        member,
        username,
        leaving: member == *session.principal.user(),
        nav: Some(Nav {
            csrf: &session.csrf,
        }),
    })
    .into_response())
}

/// `POST /vaults/{vault}/members/{user}/remove`: remove the member (or leave), which
/// rotates the vault key before the answer.
pub async fn remove(
    State(state): State<AppState>,
    session: WebSession,
    Path((vault, member)): Path<(String, String)>,
    form: FormData,
) -> PageResult {
    session.check(&form)?;
    let (vault, member) = (id(&vault)?, id(&member)?);
    match state
        .keyslot
        .remove_member(&session.principal, &vault, &member)
        .await
    {
        Ok(()) if member == *session.principal.user() => redirect("/vaults"),
        Ok(()) => redirect(&format!("/vaults/{vault}")),
        Err(e) => Err(shown(&state, &session, &vault, e).await),
    }
}
