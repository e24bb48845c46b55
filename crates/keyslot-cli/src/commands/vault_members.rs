//! vault share|unshare|members: who shares a vault, and with which role.

use std::io::Write as _;

use keyslot_client::{Client, Member};

use super::{json, table, vault};
use crate::exit::{AUTH, CmdResult, Failure, NOT_FOUND};

/// A 403 from a member route: only an owner (logged in, not a token) changes members.
fn owner_only(e: keyslot_client::Error) -> Failure {
    if e.status() == Some(403) {
        Failure::new(
            AUTH,
            format!(
                "{e} — only the vault's owner changes its members, logged in with `keyslot login` (not with KEYSLOT_TOKEN)"
            ),
        )
    } else {
        e.into()
    }
}

fn find<'m>(members: &'m [Member], username: &str, vault: &str) -> Result<&'m Member, Failure> {
    members
        .iter()
        .find(|m| m.username.eq_ignore_ascii_case(username))
        .ok_or_else(|| {
            Failure::new(
                NOT_FOUND,
                format!("{username} is not a member of vault {vault}: see `keyslot vault members {vault}`"),
            )
        })
}

/// `keyslot vault share VAULT USERNAME --role ROLE`; a member already gets the new role.
pub async fn share(
    client: &Client,
    as_json: bool,
    wanted: &str,
    username: &str,
    role: &str,
) -> CmdResult {
    let v = vault(client, wanted).await?;
    let added = match client.add_member(&v.id, username, role).await {
        Ok(added) => added,
        Err(e) if e.status() == Some(409) => {
            let members = client.members(&v.id).await?;
            let member = find(&members, username, &v.name)?;
            client
                .set_member_role(&v.id, &member.user_id, role)
                .await
                .map_err(owner_only)?
        }
        Err(e) => return Err(owner_only(e)),
    };
    if as_json {
        return json(&added);
    }
    writeln!(
        std::io::stdout().lock(),
        "vault {} is shared with {username} ({})",
        v.name,
        added.role
    )?;
    Ok(())
}

/// `keyslot vault unshare VAULT USERNAME`: removes the member; the vault is rotated.
pub async fn unshare(client: &Client, as_json: bool, wanted: &str, username: &str) -> CmdResult {
    let v = vault(client, wanted).await?;
    let members = client.members(&v.id).await?;
    let member = find(&members, username, &v.name)?;
    client
        .remove_member(&v.id, &member.user_id)
        .await
        .map_err(owner_only)?;
    if as_json {
        return json(
            &serde_json::json!({"vault": v.id, "user_id": member.user_id, "removed": true}),
        );
    }
    writeln!(
        std::io::stdout().lock(),
        "{username} no longer shares vault {}; its key was rotated",
        v.name
    )?;
    Ok(())
}

/// `keyslot vault members VAULT`.
pub async fn members(client: &Client, as_json: bool, wanted: &str) -> CmdResult {
    let v = vault(client, wanted).await?;
    let members = client.members(&v.id).await?;
    if as_json {
        return json(&members);
    }
    table(
        &["USERNAME", "ROLE", "USER ID", "GRANT PENDING"],
        &members
            .into_iter()
            .map(|m| {
                vec![
                    m.username,
                    m.role,
                    m.user_id,
                    if m.grant_pending { "yes" } else { "no" }.to_owned(),
                ]
            })
            .collect::<Vec<_>>(),
    )
}
