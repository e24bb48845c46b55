//! The OpenAPI document at `/v1/openapi.json`: the contract's source of truth, generated
//! from the handlers' annotations and the request/response types.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
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
    modifiers(&Security, &Problems),
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

/// Problem answers as they are sent: `application/problem+json` (RFC 9457), and the ones
/// any operation can give whatever its handler says: on operations with a body, 400 for a
/// body that is not JSON, 413 for one over the limit, 415 for one that is not
/// `application/json` and 422 for one that does not fit the schema; everywhere, 503 when
/// the database or the Argon2 workers cannot take the request. Found missing by
/// schemathesis (`keyslot-cli/tests/api_fuzz.rs`).
struct Problems;

const PROBLEM_JSON: &str = "application/problem+json";

impl Modify for Problems {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for item in doc.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                problems_as_sent(operation);
            }
        }
    }
}

fn problems_as_sent(operation: &mut Operation) {
    let responses = &mut operation.responses.responses;
    for response in responses.values_mut() {
        if let RefOr::T(response) = response
            && let Some(content) = response.content.shift_remove("application/json")
        {
            let is_problem = matches!(&content, RefOr::T(c)
                if matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem")));
            let media = if is_problem {
                PROBLEM_JSON
            } else {
                "application/json"
            };
            response.content.insert(media.to_owned(), content);
        }
    }
    let mut add = |status: &str, description: &str| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(problem(description)));
    };
    if operation.request_body.is_some() {
        add("400", "The body is not valid JSON.");
        add("413", "The body is over the size limit.");
        add("415", "The body is not `application/json`.");
        add(
            "422",
            "A field is missing, unknown or invalid: `errors` names each one.",
        );
    }
    add(
        "503",
        "Busy or the database is unreachable: retry after `Retry-After` seconds.",
    );
}

fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}
