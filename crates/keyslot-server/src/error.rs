//! One error type for every route, rendered as RFC 9457 `application/problem+json`.
//!
//! Bodies never carry internals or secrets: an internal error is logged with its cause
//! here and answered with a generic 500. 404 bodies are identical whether the thing
//! exists or not; 401 bodies are identical for every reason a credential fails.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyslot_core::{Error, FieldError};
use serde::Serialize;
use utoipa::ToSchema;

/// The problem+json body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened, and what to do about it.
    pub detail: String,
    /// For input errors: which fields, and what is wrong with each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

/// One field's problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    /// The field's name in the request, e.g. `password` or `If-Match`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: String,
    errors: Vec<ProblemField>,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with a status, a slug for `type`, a title and a detail.
    pub fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            slug,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// 400 with one field named.
    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            "the request could not be read",
        );
        e.errors.push(ProblemField {
            field: field.into(),
            message: message.into(),
        });
        e
    }

    /// 422 with field errors.
    pub fn invalid(fields: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-input",
            "Invalid input",
            "one or more fields break a rule",
        );
        e.errors = fields
            .into_iter()
            .map(|f| ProblemField {
                field: f.field,
                message: f.message,
            })
            .collect();
        e
    }

    /// 401, the same for every failure.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
            "the credential is missing, malformed, wrong, expired or revoked",
        )
    }

    /// 404, the same whether the thing exists or not.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            "nothing you can open has this id",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// 403.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Unauthorized => Self::unauthorized(),
            Error::NotFound => Self::not_found(),
            Error::Forbidden(why) => Self::forbidden(why),
            Error::PreconditionFailed { expected } => Self::new(
                StatusCode::PRECONDITION_FAILED,
                "version-conflict",
                "Version conflict",
                format!("the item is no longer at version {expected}: read it again and retry"),
            ),
            Error::Invalid(fields) => Self::invalid(fields),
            Error::Conflict(why) => Self::new(StatusCode::CONFLICT, "conflict", "Conflict", why),
            Error::StaleKeyVersion { current } => Self::new(
                StatusCode::CONFLICT,
                "stale-key-version",
                "Stale key version",
                format!(
                    "the vault key is at version {current} now: read the vault again and seal under it"
                ),
            ),
            Error::RotationDue {
                retry_after,
                detail,
            } => {
                let mut e = Self::new(StatusCode::CONFLICT, "rotation-due", "Rotation due", detail);
                e.retry_after = Some(retry_after.max(1));
                e
            }
            Error::UsernameTaken => {
                let mut e = Self::new(
                    StatusCode::CONFLICT,
                    "username-taken",
                    "Username taken",
                    "choose another username",
                );
                e.errors.push(ProblemField {
                    field: "username".into(),
                    message: "is already taken".into(),
                });
                e
            }
            Error::NameTaken => {
                let mut e = Self::new(
                    StatusCode::CONFLICT,
                    "name-taken",
                    "Name taken",
                    "another item in this vault has this name: choose another name, or write to that item",
                );
                e.errors.push(ProblemField {
                    field: "name_index".into(),
                    message: "is another item's at this key version".into(),
                });
                e
            }
            Error::TooManyAttempts { retry_after } => {
                let mut e = Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too-many-attempts",
                    "Too many attempts",
                    format!("too many attempts: wait {retry_after} s before trying again"),
                );
                e.retry_after = Some(retry_after.max(1));
                e
            }
            Error::Unavailable { retry_after } => {
                let mut e = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Temporarily unavailable",
                    "the server is busy or its database is away: retry shortly",
                );
                e.retry_after = Some(retry_after.max(1));
                e
            }
            Error::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "something went wrong on the server",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Problem {
            kind: format!("urn:keyslot:problem:{}", self.slug),
            title: self.title.into(),
            status: self.status.as_u16(),
            detail: self.detail,
            errors: self.errors,
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (self.status, bytes).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"keyslot\""),
            );
        }
        response
    }
}

/// Result of route handlers.
pub type ApiResult<T> = Result<T, ApiError>;
