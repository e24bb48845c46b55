//! The OpenAPI document at `/v1/openapi.json`: the contract's source of truth, generated
//! from the handlers' annotations and the request/response types.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{Problem, ProblemField};
use crate::routes::{account, audit, tokens, vaults};

/// The API document.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Keyslot", description = "Keep each user's sensitive data encrypted under keys only their own credentials open."),
    paths(
        account::signup, account::login, account::logout, account::me, account::change_password, account::recover,
        vaults::list_vaults, vaults::create_vault, vaults::list_items, vaults::create_item, vaults::get_item,
        vaults::update_item, vaults::delete_item,
        tokens::mint, tokens::list, tokens::revoke,
        audit::list,
    ),
    components(schemas(Problem, ProblemField, tokens::VaultScope)),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("kst_…")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("__Host-keyslot"))),
        );
    }
}
