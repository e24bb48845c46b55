//! vault share|unshare|members: who shares a vault, and with which role.

use std::io::Write as _;

use keyslot_client::Member;

use super::{Remote, json, table, vault};
use crate::exit::{AUTH, CmdResult, Failure, NOT_FOUND, USAGE};

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
///
/// For an end-to-end account the vault key is sealed here to the member's X25519 key,
/// and only after their identity's fingerprint matched `fingerprint` (which they read
/// out from `keyslot whoami`) and their key's signature verified under it; their
/// identity is then pinned, and a server that later presents another one is refused.
pub async fn share(
    remote: &Remote,
    as_json: bool,
    wanted: &str,
    username: &str,
    role: &str,
    fingerprint: Option<&str>,
) -> CmdResult {
    let v = vault(remote, wanted).await?;
    if let Some(session) = remote.session("sharing a vault")? {
        let fingerprint = fingerprint.ok_or_else(|| {
            Failure::new(
                USAGE,
                format!(
                    "sharing an end-to-end vault needs --fingerprint: ask {username} to run \
                     `keyslot whoami` and read you the fingerprint, then pass it here"
                ),
            )
        })?;
        let id =
            v.id.parse()
                .map_err(|_| Failure::new(NOT_FOUND, "malformed vault id"))?;
        let user_id = session
            .share_vault(&id, username, role, fingerprint)
            .await?;
        if as_json {
            return json(&serde_json::json!({"user_id": user_id.to_string(), "role": role}));
        }
        writeln!(
            std::io::stdout().lock(),
            "vault {} is shared with {username} ({role}), whose fingerprint you confirmed",
            v.name
        )?;
        return Ok(());
    }
    let client = remote.server_mode("sharing")?;
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
///
/// For an end-to-end account the server only removes the member and marks the vault due;
/// the rotation runs here, sealing the new key to the remaining holders' verified keys.
pub async fn unshare(remote: &Remote, as_json: bool, wanted: &str, username: &str) -> CmdResult {
    let v = vault(remote, wanted).await?;
    let session = remote.session("unsharing a vault")?;
    let client = remote.client();
    let members = client.members(&v.id).await?;
    let member = find(&members, username, &v.name)?;
    if let Some(session) = session {
        let id =
            v.id.parse()
                .map_err(|_| Failure::new(NOT_FOUND, "malformed vault id"))?;
        let user = member
            .user_id
            .parse()
            .map_err(|_| Failure::new(NOT_FOUND, "malformed user id"))?;
        // Recorded first (a server listing them again as a holder is refused), then
        // removed; the owner's client rotates at once.
        let removed = session.remove_member(&id, &user, true).await;
        crate::known_accounts::save_ended(session)?;
        removed?;
    } else {
        client
            .remove_member(&v.id, &member.user_id)
            .await
            .map_err(owner_only)?;
    }
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
pub async fn members(remote: &Remote, as_json: bool, wanted: &str) -> CmdResult {
    let v = vault(remote, wanted).await?;
    let members = remote.client().members(&v.id).await?;
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
