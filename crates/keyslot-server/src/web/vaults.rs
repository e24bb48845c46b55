//! Vaults and items: list, create, view (value hidden until revealed), edit, delete. The
//! vault page also shows the vault's key state and members; their forms are in
//! [`super::vault_keys`] and [`super::members`].

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use keyslot_core::memberstore::MemberRow;
use keyslot_core::views::{Item, ItemSummary, Vault, VaultInfo};
use keyslot_crypto::Id;
use serde_json::Value;

use super::{Errors, FormData, Nav, Page, PageResult, WebSession, field_errors, redirect, time};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "vaults.html")]
struct VaultsTemplate<'a> {
    vaults: Vec<Vault>,
    name: &'a str,
    errors: Errors,
    nav: Option<Nav<'a>>,
}

#[derive(Template)]
#[template(path = "vault.html")]
struct VaultTemplate<'a> {
    /// Name, the caller's role, key version and lifecycle state.
    vault: VaultInfo,
    items: Vec<(ItemSummary, String)>,
    /// Who else holds the vault, with their roles.
    members: Vec<MemberRow>,
    /// The caller, to tell their own row apart (they leave rather than remove).
    me: Id,
    name: &'a str,
    value: &'a str,
    errors: Errors,
    nav: Option<Nav<'a>>,
}

#[derive(Template)]
#[template(path = "item.html")]
struct ItemTemplate<'a> {
    vault: Vault,
    item: Item,
    /// The value as text: strings as they are, anything else as JSON.
    text: String,
    is_json: bool,
    updated: String,
    errors: Errors,
    nav: Option<Nav<'a>>,
}

pub(super) fn id(text: &str) -> Result<Id, Page> {
    text.parse().map_err(|_| {
        Page::error(
            StatusCode::NOT_FOUND,
            "There is nothing here that you can open.",
        )
    })
}

async fn vault_of(state: &AppState, session: &WebSession, vault: &Id) -> Result<Vault, Page> {
    let vaults = state
        .keyslot
        .list_vaults(&session.principal)
        .await
        .map_err(Page::from_error)?;
    vaults.into_iter().find(|v| v.id == *vault).ok_or_else(|| {
        Page::error(
            StatusCode::NOT_FOUND,
            "There is nothing here that you can open.",
        )
    })
}

/// A form's value: JSON when the box is ticked, a string otherwise.
fn form_value(form: &FormData) -> Result<Value, Errors> {
    let text = form.get("value");
    if form.get("is_json") == "on" {
        serde_json::from_str(text)
            .map_err(|e| Errors::one("value", format!("This is not valid JSON: {e}")))
    } else {
        Ok(Value::String(text.to_owned()))
    }
}

fn value_text(value: &Value) -> (String, bool) {
    match value {
        Value::String(s) => (s.clone(), false),
        other => (
            serde_json::to_string_pretty(other).unwrap_or_default(),
            true,
        ),
    }
}

pub async fn list(State(state): State<AppState>, session: WebSession) -> PageResult {
    let vaults = state
        .keyslot
        .list_vaults(&session.principal)
        .await
        .map_err(Page::from_error)?;
    Ok(Page::render(&VaultsTemplate {
        vaults,
        name: "",
        errors: Errors::default(),
        nav: Some(Nav {
            csrf: &session.csrf,
        }),
    })
    .into_response())
}

pub async fn create(
    State(state): State<AppState>,
    session: WebSession,
    form: FormData,
) -> PageResult {
    session.check(&form)?;
    let name = form.get("name");
    match state.keyslot.create_vault(&session.principal, name).await {
        Ok(v) => redirect(&format!("/vaults/{}", v.id)),
        Err(e) => {
            let errors = field_errors(e)?;
            let vaults = state
                .keyslot
                .list_vaults(&session.principal)
                .await
                .map_err(Page::from_error)?;
            Err(Page::render(&VaultsTemplate {
                vaults,
                name,
                errors,
                nav: Some(Nav {
                    csrf: &session.csrf,
                }),
            }))
        }
    }
}

pub(super) async fn vault_page(
    state: &AppState,
    session: &WebSession,
    vault: &Id,
    name: &str,
    value: &str,
    errors: Errors,
) -> Result<Page, Page> {
    let v = state
        .keyslot
        .vault_info(&session.principal, vault)
        .await
        .map_err(Page::from_error)?;
    let items = state
        .keyslot
        .list_items(&session.principal, vault)
        .await
        .map_err(Page::from_error)?;
    let items = items
        .into_iter()
        .map(|i| {
            let t = time(i.updated_at);
            (i, t)
        })
        .collect();
    let members = state
        .keyslot
        .list_members(&session.principal, vault)
        .await
        .map_err(Page::from_error)?;
    Ok(Page::render(&VaultTemplate {
        vault: v,
        items,
        members,
        me: *session.principal.user(),
        name,
        value,
        errors,
        nav: Some(Nav {
            csrf: &session.csrf,
        }),
    }))
}

pub async fn items(
    State(state): State<AppState>,
    session: WebSession,
    Path(vault): Path<String>,
) -> PageResult {
    let vault = id(&vault)?;
    Ok(
        vault_page(&state, &session, &vault, "", "", Errors::default())
            .await?
            .into_response(),
    )
}

pub async fn create_item(
    State(state): State<AppState>,
    session: WebSession,
    Path(vault): Path<String>,
    form: FormData,
) -> PageResult {
    session.check(&form)?;
    let vault = id(&vault)?;
    let name = form.get("name");
    let failed = |errors| vault_page(&state, &session, &vault, name, form.get("value"), errors);
    let value = match form_value(&form) {
        Ok(v) => v,
        Err(errors) => return Err(failed(errors).await?),
    };
    match state
        .keyslot
        .create_item(&session.principal, &vault, name, &value)
        .await
    {
        Ok((item, _)) => redirect(&format!("/vaults/{vault}/items/{item}")),
        Err(e) => Err(failed(field_errors(e)?).await?),
    }
}

async fn item_page(
    state: &AppState,
    session: &WebSession,
    vault: &Id,
    item: &Id,
    errors: Errors,
) -> Result<Page, Page> {
    let v = vault_of(state, session, vault).await?;
    let item = state
        .keyslot
        .get_item(&session.principal, vault, item)
        .await
        .map_err(Page::from_error)?;
    let (text, is_json) = value_text(&item.value);
    let updated = time(item.updated_at);
    Ok(Page::render(&ItemTemplate {
        vault: v,
        item,
        text,
        is_json,
        updated,
        errors,
        nav: Some(Nav {
            csrf: &session.csrf,
        }),
    }))
}

pub async fn item(
    State(state): State<AppState>,
    session: WebSession,
    Path((vault, item)): Path<(String, String)>,
) -> PageResult {
    let (vault, item) = (id(&vault)?, id(&item)?);
    Ok(
        item_page(&state, &session, &vault, &item, Errors::default())
            .await?
            .into_response(),
    )
}

pub async fn update_item(
    State(state): State<AppState>,
    session: WebSession,
    Path((vault, item)): Path<(String, String)>,
    form: FormData,
) -> PageResult {
    session.check(&form)?;
    let (vault, item) = (id(&vault)?, id(&item)?);
    let version = form.get("version").parse::<u64>().ok();
    let result = match form_value(&form) {
        Ok(value) => {
            state
                .keyslot
                .update_item(
                    &session.principal,
                    &vault,
                    &item,
                    form.get("name"),
                    &value,
                    version,
                )
                .await
        }
        Err(errors) => Err(keyslot_core::Error::Invalid(errors.0)),
    };
    match result {
        Ok(_) => redirect(&format!("/vaults/{vault}/items/{item}")),
        Err(keyslot_core::Error::PreconditionFailed { .. }) => {
            let errors = Errors::one(
                "value",
                "Someone changed this item meanwhile. This page now shows their version; make your change again.",
            );
            Err(item_page(&state, &session, &vault, &item, errors).await?)
        }
        Err(e) => {
            let errors = field_errors(e)?;
            Err(item_page(&state, &session, &vault, &item, errors).await?)
        }
    }
}

pub async fn delete_item(
    State(state): State<AppState>,
    session: WebSession,
    Path((vault, item)): Path<(String, String)>,
    form: FormData,
) -> PageResult {
    session.check(&form)?;
    let (vault, item) = (id(&vault)?, id(&item)?);
    state
        .keyslot
        .delete_item(&session.principal, &vault, &item)
        .await
        .map_err(Page::from_error)?;
    redirect(&format!("/vaults/{vault}"))
}
