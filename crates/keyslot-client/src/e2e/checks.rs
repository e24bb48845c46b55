//! The checks on what the server sends, before any of it is used: Argon2 parameters
//! against the floor, the ceiling and the last ones seen; public keys against signatures
//! of a pinned identity.
//!
//! Each refusal is a [`Refusal`] that names the problem in words a user can act on. The
//! malicious-server tests assert them (a proxy rewrites the server's answers).

use core::fmt;

use keyslot_crypto::{Argon2Params, KdfPolicy};

/// Why the client refused what the server sent. Nothing is sent after a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// Prelogin's Argon2 parameters are below this client's floor (a server asking for a
    /// cheap hash, to guess the password faster from `auth`).
    ParamsBelowFloor {
        /// What the server asked for.
        offered: Argon2Params,
        /// The floor.
        floor: Argon2Params,
    },
    /// Prelogin's parameters are above this client's ceiling (an attempt to tie it up).
    ParamsAboveCeiling {
        /// What the server asked for.
        offered: Argon2Params,
    },
    /// Prelogin's parameters are lower than the ones last seen for this username: a
    /// downgrade (an account's parameters only rise).
    ParamsBelowLastSeen {
        /// What the server asked for.
        offered: Argon2Params,
        /// What this client saw before.
        last_seen: Argon2Params,
    },
    /// A public key did not verify under the identity that must have signed it: the
    /// server (or someone in between) substituted a key. `what` names the key.
    UnverifiedKey {
        /// Which key, e.g. "alice's X25519 key", "token 1a2b…'s key".
        what: String,
    },
    /// The identity key's fingerprint is not the one the user confirmed.
    FingerprintMismatch {
        /// The fingerprint the server's key has.
        presented: String,
        /// The fingerprint the user confirmed.
        confirmed: String,
    },
    /// An identity pinned earlier no longer matches (the server returned another key
    /// for the user, or a pin that does not check under this user's key).
    PinMismatch {
        /// Whose pin.
        user: String,
    },
    /// A holder this user ended (a token it revoked, a member it removed) that the
    /// server lists again: sealing to it would hand the new key to a key the server may
    /// hold, under a signature that is old but still valid.
    EndedHolder {
        /// Which holder, e.g. "token 1a2b…".
        what: String,
    },
    /// A holder whose identity this user never confirmed: sealing to it would trust the
    /// server's word. Confirm their fingerprint (share with them) first.
    NotPinned {
        /// Whose identity.
        user: String,
    },
    /// The account is not an end-to-end account (the server says so, or the keys say
    /// so): the client never sends it `auth` or seals to it.
    NotEndToEnd {
        /// Which user.
        user: String,
    },
    /// An item or listing that does not answer what was asked (another name, id or
    /// version than the one requested).
    Mismatch {
        /// What did not match.
        what: String,
    },
    /// A deposit made while the vault's rotation is due must be sealed to every
    /// remaining reader, but a deposit token can verify only keys its owner's identity
    /// signed (its id commits to that identity and to nothing else): another member's key
    /// could be the server's. Nothing was sent; once the owner rotates, the deposit goes
    /// to the vault's new key, which the owner signed.
    DepositReadersUnverifiable {
        /// The vault.
        vault: String,
        /// The readers this token cannot vouch for (user ids).
        readers: Vec<String>,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p =
            |a: &Argon2Params| format!("m={} KiB, t={}, p={}", a.m_cost_kib, a.t_cost, a.p_cost);
        match self {
            Self::ParamsBelowFloor { offered, floor } => write!(
                f,
                "the server asked for Argon2 parameters ({}) below this client's floor ({}); \
                 not logging in",
                p(offered),
                p(floor)
            ),
            Self::ParamsAboveCeiling { offered } => write!(
                f,
                "the server asked for Argon2 parameters ({}) above this client's ceiling; \
                 not logging in",
                p(offered)
            ),
            Self::ParamsBelowLastSeen { offered, last_seen } => write!(
                f,
                "the server asked for Argon2 parameters ({}) lower than last time ({}) for \
                 this username: a downgrade; not logging in",
                p(offered),
                p(last_seen)
            ),
            Self::UnverifiedKey { what } => write!(
                f,
                "{what} is not signed by its owner's identity key: the server may have \
                 substituted it; nothing was sealed to it"
            ),
            Self::FingerprintMismatch {
                presented,
                confirmed,
            } => write!(
                f,
                "the identity fingerprint is {presented}, not the confirmed {confirmed}; \
                 nothing was shared"
            ),
            Self::PinMismatch { user } => write!(
                f,
                "{user}'s identity key is not the one pinned earlier; nothing was sealed to it"
            ),
            Self::NotPinned { user } => write!(
                f,
                "{user}'s identity was never confirmed on this account; confirm their \
                 fingerprint first"
            ),
            Self::EndedHolder { what } => write!(
                f,
                "{what} was revoked or removed by this user earlier, yet the server lists it \
                 as a holder; nothing was sealed to it"
            ),
            Self::NotEndToEnd { user } => write!(f, "{user} is not an end-to-end account"),
            Self::Mismatch { what } => write!(f, "the server's answer does not match: {what}"),
            Self::DepositReadersUnverifiable { vault, readers } => write!(
                f,
                "vault {vault} is due for a key rotation, so a deposit must be sealed to each \
                 of its readers, and this token cannot verify the keys of {} (only its owner's \
                 identity vouches for keys to a deposit token); nothing was sent: retry after \
                 the vault's owner rotates its key",
                readers.join(", ")
            ),
        }
    }
}

/// The Argon2 parameter check at login: floor and ceiling (this client's [`KdfPolicy`],
/// whatever the server's is), then no lower than the last parameters seen for the
/// username (the caller keeps those: the CLI in its config file, the browser in
/// `localStorage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParamsCheck {
    /// Floor and ceiling. The default is keyslot-crypto's: OWASP's minimum as the floor.
    pub policy: KdfPolicy,
    /// The parameters last seen for this username, if any.
    pub last_seen: Option<Argon2Params>,
}

impl ParamsCheck {
    /// The default floor and ceiling, and `last_seen`.
    pub fn after(last_seen: Option<Argon2Params>) -> Self {
        Self {
            last_seen,
            ..Self::default()
        }
    }

    /// Refuse `offered` unless it lies within the floor and ceiling and is no lower, in
    /// any component, than the last parameters seen.
    pub fn check(&self, offered: Argon2Params) -> Result<(), Refusal> {
        let floor = self.policy.floor;
        if below(&offered, &floor) {
            return Err(Refusal::ParamsBelowFloor { offered, floor });
        }
        let ceiling = self.policy.ceiling;
        if offered.m_cost_kib > ceiling.m_cost_kib
            || offered.t_cost > ceiling.t_cost
            || offered.p_cost > ceiling.p_cost
        {
            return Err(Refusal::ParamsAboveCeiling { offered });
        }
        if let Some(last_seen) = self.last_seen
            && below(&offered, &last_seen)
        {
            return Err(Refusal::ParamsBelowLastSeen { offered, last_seen });
        }
        Ok(())
    }
}

fn below(a: &Argon2Params, b: &Argon2Params) -> bool {
    a.m_cost_kib < b.m_cost_kib || a.t_cost < b.t_cost || a.p_cost < b.p_cost
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLOOR: Argon2Params = Argon2Params::OWASP;

    #[test]
    fn parameters_below_the_floor_or_the_last_seen_are_refused() {
        let check = ParamsCheck::default();
        assert_eq!(check.check(FLOOR), Ok(()));
        let cheap = Argon2Params {
            m_cost_kib: 8,
            ..FLOOR
        };
        assert!(matches!(
            check.check(cheap),
            Err(Refusal::ParamsBelowFloor { .. })
        ));
        let one_pass = Argon2Params { t_cost: 1, ..FLOOR };
        assert!(matches!(
            check.check(one_pass),
            Err(Refusal::ParamsBelowFloor { .. })
        ));
        let huge = Argon2Params {
            m_cost_kib: 64 * 1024 * 1024,
            ..FLOOR
        };
        assert!(matches!(
            check.check(huge),
            Err(Refusal::ParamsAboveCeiling { .. })
        ));
        let seen = Argon2Params {
            m_cost_kib: 64 * 1024,
            t_cost: 3,
            p_cost: 1,
        };
        let after = ParamsCheck::after(Some(seen));
        assert_eq!(after.check(seen), Ok(()));
        // Above the floor, but below what this username had: a downgrade.
        let refused = after.check(FLOOR).unwrap_err();
        assert!(matches!(refused, Refusal::ParamsBelowLastSeen { .. }));
        assert!(
            refused.to_string().contains("lower than last time"),
            "{refused}"
        );
    }
}
