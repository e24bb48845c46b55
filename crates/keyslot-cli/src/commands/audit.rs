//! `keyslot audit`: the caller's audit events, newest first, filtered and paged through
//! the server's cursor.

use clap::Args;
use keyslot_client::AuditQuery;

use super::{json, remote, table};
use crate::exit::{CmdResult, Failure, USAGE};

/// Events per request: the server's largest page.
const PAGE: u32 = 1000;

/// `keyslot audit` arguments.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Only events at or after this time (RFC 3339, e.g. 2026-12-01T07:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Only events before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Only this action, e.g. item.read, login, token.mint.
    #[arg(long)]
    pub action: Option<String>,
    /// Only this actor, e.g. token:<id> or session:<id>.
    #[arg(long)]
    pub actor: Option<String>,
    /// At most this many events (the newest).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}

/// `keyslot audit`: needs a session (a token reads data, not the account's history).
pub async fn audit(addr: &str, as_json: bool, args: &AuditArgs) -> CmdResult {
    if args.limit == 0 {
        return Err(Failure::new(USAGE, "--limit must be at least 1"));
    }
    let remote = remote(addr).await?;
    let client = remote.client();
    let mut query = AuditQuery {
        limit: PAGE,
        since: args.since.clone(),
        until: args.until.clone(),
        action: args.action.clone(),
        actor: args.actor.clone(),
        cursor: None,
    };
    let mut events = Vec::new();
    loop {
        let wanted = args.limit.saturating_sub(events.len());
        query.limit = u32::try_from(wanted).unwrap_or(PAGE).min(PAGE);
        let page = client.audit_page(&query).await?;
        events.extend(page.events);
        match page.next_cursor {
            Some(next) if events.len() < args.limit => query.cursor = Some(next),
            _ => break,
        }
    }
    if as_json {
        return json(&events);
    }
    let rows: Vec<Vec<String>> = events
        .into_iter()
        .map(|e| {
            vec![
                e.at,
                e.action,
                e.actor,
                e.outcome,
                e.ip.unwrap_or_else(|| "-".into()),
                e.detail,
            ]
        })
        .collect();
    table(&["AT", "ACTION", "ACTOR", "OUTCOME", "IP", "DETAIL"], &rows)
}
