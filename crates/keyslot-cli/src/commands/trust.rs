//! `keyslot trust USERNAME --fingerprint F`: confirm another end-to-end user's identity.
//!
//! A vault someone shares with you arrives as its key sealed to your public key, which
//! anyone can make, the server included. What tells the owner's key from one the server
//! made is the owner's identity signature over it — and that means something only once
//! you have confirmed the owner's identity: the fingerprint they read you from
//! `keyslot whoami`. This pins it (a MAC under your own key, kept on the server and
//! checked at every later use); until then their vaults are refused. The same pin lets
//! you rotate a vault you share with them.

use super::json;
use crate::exit::{CmdResult, Failure, OTHER};

/// Confirm and pin `username`'s identity.
pub async fn trust(addr: &str, as_json: bool, username: &str, fingerprint: &str) -> CmdResult {
    let remote = super::remote(addr).await?;
    let Some(session) = remote.session("confirming a user's identity")? else {
        return Err(Failure::new(
            OTHER,
            "server-mode accounts have no identity keys to confirm",
        ));
    };
    let keys = session.confirm_user(username, fingerprint).await?;
    if as_json {
        return json(&serde_json::json!({
            "username": keys.username,
            "user_id": keys.user_id.to_string(),
            "fingerprint": keys.fingerprint(),
        }));
    }
    println!(
        "{}'s identity (fingerprint {}) is confirmed and pinned: vaults they share with you \
         now open, and a different key for them will be refused.",
        keys.username,
        keys.fingerprint().unwrap_or_default()
    );
    Ok(())
}
