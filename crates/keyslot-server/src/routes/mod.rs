//! Route handlers, one module per subject. Handlers are thin: extract, call one use case,
//! shape the answer.
//!
//! [`api`] is the one place an API route is declared: each handler's `#[utoipa::path]`
//! names its method and path once, and `utoipa-axum` turns that single annotation into
//! both the axum route and the OpenAPI operation, so the router, the document and the
//! contract test (which walks the document) cannot disagree.

pub mod account;
pub mod audit;
pub mod e2e_account;
pub mod e2e_data;
pub mod e2e_deposits;
pub mod keys;
pub mod lifecycle;
pub mod members;
pub mod ops;
pub mod tokens;
pub mod vaults;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Every route of the JSON API's contract, with its OpenAPI operation; one `routes!` per
/// path (a path's methods share one axum method router). `base` carries the document's
/// info, security schemes and shared schemas.
pub fn api(base: utoipa::openapi::OpenApi) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(base)
        .routes(routes!(account::signup))
        .routes(routes!(account::login))
        .routes(routes!(account::logout))
        .routes(routes!(account::me))
        .routes(routes!(account::change_password))
        .routes(routes!(account::recover))
        .routes(routes!(e2e_account::prelogin))
        .routes(routes!(e2e_account::recover_begin))
        .routes(routes!(e2e_account::recover_finish))
        .routes(routes!(
            e2e_account::put_session_key,
            e2e_account::get_session_key
        ))
        .routes(routes!(e2e_account::own_keys))
        .routes(routes!(e2e_account::user_keys))
        .routes(routes!(e2e_account::put_pin))
        .routes(routes!(e2e_account::list_pins))
        .routes(routes!(keys::rotate))
        .routes(routes!(vaults::list_vaults, vaults::create_vault))
        .routes(routes!(lifecycle::get_vault))
        .routes(routes!(lifecycle::rotate_vault))
        .routes(routes!(lifecycle::holders))
        .routes(routes!(e2e_deposits::deposit_key))
        .routes(routes!(e2e_deposits::pending, e2e_deposits::deposit))
        .routes(routes!(e2e_deposits::claim))
        .routes(routes!(e2e_data::put_slot))
        .routes(routes!(members::list, members::add))
        .routes(routes!(members::set_role, members::remove))
        .routes(routes!(vaults::list_items, vaults::create_item))
        .routes(routes!(
            vaults::get_item,
            vaults::update_item,
            vaults::delete_item
        ))
        .routes(routes!(tokens::list, tokens::mint))
        .routes(routes!(tokens::revoke))
        .routes(routes!(audit::list))
}

/// RFC 3339 UTC text of a Unix timestamp.
pub fn rfc3339(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}
