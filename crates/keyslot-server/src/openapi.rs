//! The OpenAPI document at `/v1/openapi.json`: the contract's source of truth, generated
//! from the handlers' annotations and the request/response types.

use axum::Router;
use axum::http::Method;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::error::{Problem, ProblemField};
use crate::routes::tokens;
use crate::state::AppState;

/// The document around the operations: info, security schemes, the schemas every
/// operation shares. The operations come from [`crate::routes::api`].
#[derive(OpenApi)]
#[openapi(
    info(title = "Keyslot", description = "Keep each user's sensitive data encrypted under keys only their own credentials open."),
    components(schemas(Problem, ProblemField, tokens::VaultScope)),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
)]
struct Frame;

/// The JSON API's router and its OpenAPI document, both from the one declaration of each
/// route ([`crate::routes::api`]).
pub(crate) fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = crate::routes::api(Frame::openapi()).split_for_parts();
    Problems.modify(&mut doc);
    (router, doc)
}

/// The OpenAPI document served at `/v1/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    api().1
}

/// One operation of the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The HTTP method.
    pub method: Method,
    /// The path template, e.g. `/v1/vaults/{vault}/items`.
    pub path: String,
    /// Whether it takes a JSON body.
    pub has_body: bool,
}

impl Route {
    /// The path with every parameter set to `id`, e.g. to call the route in a test.
    pub fn path_with(&self, id: &str) -> String {
        self.path
            .split('/')
            .map(|part| if part.starts_with('{') { id } else { part })
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// Every operation of the contract, read from the one declaration: the list the tests
/// walk (every route served, hostile bodies on every route that takes one), so no test
/// keeps a list of its own.
pub fn routes() -> Vec<Route> {
    let doc = document();
    let mut routes = Vec::new();
    for (path, item) in &doc.paths.paths {
        let operations = [
            (Method::GET, &item.get),
            (Method::PUT, &item.put),
            (Method::POST, &item.post),
            (Method::DELETE, &item.delete),
            (Method::PATCH, &item.patch),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                routes.push(Route {
                    method,
                    path: path.clone(),
                    has_body: operation.request_body.is_some(),
                });
            }
        }
    }
    routes
}

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
                &mut item.patch,
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
