//! The account's audit log as its user reads it: filtered and paged.

use super::Keyslot;
use super::views::{AuditEntry, AuditPage};
use crate::store::AuditFilter;
use crate::{Principal, Result};

impl Keyslot {
    /// The caller's audit events matching `filter`, newest first (sessions of either mode
    /// only: a token reads data, not the account's history). `filter.limit` is clamped to 1–1000. The
    /// page carries the cursor of the next one when it is full.
    pub async fn audit_page(
        &self,
        principal: &Principal,
        filter: AuditFilter,
    ) -> Result<AuditPage> {
        let user = super::e2e_accounts::any_session(principal)?;
        let filter = AuditFilter {
            limit: filter.limit.clamp(1, 1000),
            ..filter
        };
        let rows = self.store.audit_page(user, &filter).await?;
        let full = rows.len() >= filter.limit as usize;
        let next = if full {
            rows.last().map(|(position, _)| *position)
        } else {
            None
        };
        Ok(AuditPage {
            events: rows
                .into_iter()
                .map(|(_, e)| AuditEntry {
                    at: e.at,
                    action: e.action,
                    actor: e.actor,
                    outcome: e.outcome.as_str().into(),
                    ip: e.ip,
                    detail: e.detail,
                })
                .collect(),
            next,
        })
    }
}
