//! Route handlers, one module per subject. Handlers are thin: extract, call one use case,
//! shape the answer.

pub mod account;
pub mod audit;
pub mod ops;
pub mod tokens;
pub mod vaults;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// RFC 3339 UTC text of a Unix timestamp.
pub fn rfc3339(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}
