//! A vault's key from the browser: rotating it now (its owner). The vault page shows the
//! key version, whether a rotation is due and whether a re-wrap is pending
//! ([`super::vaults`]); the form posts here.
//!
//! The form is the explanation: the page says, beside the button, what a rotation does, so
//! no confirmation page stands between the owner and it (it loses nothing: every holder
//! that keeps access gets the new key, and old items stay readable through the chain).

use axum::extract::{Path, State};

use super::vaults::id;
use super::{FormData, Page, PageResult, WebSession, redirect};
use crate::state::AppState;

/// `POST /vaults/{vault}/rotate`: a new vault key now, then back to the vault page, which
/// shows the new version. Anyone but the owner's session gets the core's refusal (403 for
/// a member who is not the owner, 404 for a vault the caller cannot open).
pub async fn rotate(
    State(state): State<AppState>,
    session: WebSession,
    Path(vault): Path<String>,
    form: FormData,
) -> PageResult {
    session.check(&form)?;
    let vault = id(&vault)?;
    state
        .keyslot
        .rotate_vault(&session.principal, &vault)
        .await
        .map_err(Page::from_error)?;
    redirect(&format!("/vaults/{vault}"))
}
