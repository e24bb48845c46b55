//! The caller's own keys: `POST /v1/keys/rotate` ("sign out everywhere and rotate keys").

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::{Client, Result};

/// What a user-key rotation did. Its `Debug` never shows the recovery code.
#[derive(Clone, Deserialize, Serialize)]
pub struct KeysRotated {
    /// Vaults whose key this request rotated.
    pub vaults_rotated: u64,
    /// Vaults left due: they rotate before their next write (or at their next read).
    pub vaults_due: u64,
    /// Other sessions ended (the one that asked stays signed in).
    pub sessions_ended: u64,
    /// Tokens revoked (`revoke_tokens`).
    pub tokens_revoked: u64,
    /// A new recovery code, only when the old one could not receive the new key (it
    /// predates user-key rotation): shown once, the old one no longer works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_code: Option<String>,
}

impl std::fmt::Debug for KeysRotated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeysRotated")
            .field("vaults_rotated", &self.vaults_rotated)
            .field("vaults_due", &self.vaults_due)
            .field("sessions_ended", &self.sessions_ended)
            .field("tokens_revoked", &self.tokens_revoked)
            .field(
                "recovery_code",
                &self.recovery_code.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Client {
    /// `POST /v1/keys/rotate`, with the account's current password (a session only; a
    /// wrong password is a 403 and counts against the account's back-off like a failed
    /// login).
    pub async fn rotate_user_key(
        &self,
        current_password: &str,
        revoke_tokens: bool,
    ) -> Result<KeysRotated> {
        self.send(
            Method::POST,
            "/v1/keys/rotate",
            &serde_json::json!({
                "current_password": current_password,
                "revoke_tokens": revoke_tokens,
            }),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::KeysRotated;

    #[test]
    fn debug_never_shows_the_recovery_code() {
        let done = KeysRotated {
            vaults_rotated: 1,
            vaults_due: 0,
            sessions_ended: 0,
            tokens_revoked: 0,
            recovery_code: Some("ABCD-EFGH-SECRET".into()),
        };
        let shown = format!("{done:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("vaults_rotated: 1"), "{shown}");
    }
}
