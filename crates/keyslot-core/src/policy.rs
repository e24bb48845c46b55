//! Input rules (DESIGN.md §6.1): usernames, passwords, names, token lifetimes. Each check
//! returns field errors a user can act on; none echoes a password.

use crate::error::FieldError;

/// Username: 3–128 characters of letters, digits and `._@+-`.
pub fn username(name: &str) -> Option<FieldError> {
    let len = name.chars().count();
    if !(3..=128).contains(&len) {
        return Some(FieldError::new("username", "must be 3 to 128 characters"));
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || "._@+-".contains(c))
    {
        return Some(FieldError::new(
            "username",
            "may contain only letters, digits and . _ @ + -",
        ));
    }
    None
}

/// The case-insensitive form usernames are compared in.
pub fn username_key(name: &str) -> String {
    name.to_lowercase()
}

/// Words an attacker tries first against this service (ASVS 6.1.2): zxcvbn counts a
/// password built from them, or from the username, as no stronger than the rest of it.
pub const CONTEXT_WORDS: &[&str] = &[
    "keyslot",
    "key slot",
    "vault",
    "vaults",
    "secret",
    "secrets",
    "token",
    "recovery",
    "password",
    "passphrase",
];

/// Password: 12–1024 characters, not the username, not trivially guessable (zxcvbn
/// score of at least 3, "safely unguessable" against online attacks and throttled ones),
/// the username and [`CONTEXT_WORDS`] counting as already known. Any characters; no
/// composition rules; checked exactly as typed.
pub fn password(field: &'static str, password: &str, username: &str) -> Option<FieldError> {
    let len = password.chars().count();
    if len < 12 {
        return Some(FieldError::new(field, "must be at least 12 characters"));
    }
    if len > 1024 {
        return Some(FieldError::new(field, "must be at most 1024 characters"));
    }
    if password.to_lowercase() == username.to_lowercase() {
        return Some(FieldError::new(field, "must not be the username"));
    }
    let mut known = vec![username];
    known.extend_from_slice(CONTEXT_WORDS);
    let estimate = zxcvbn::zxcvbn(password, &known);
    if (estimate.score() as u8) < 3 {
        return Some(FieldError::new(
            field,
            "is too easy to guess: use a longer passphrase of unrelated words",
        ));
    }
    None
}

/// A vault, item or token name: 1–256 characters, no control characters.
pub fn name(field: &'static str, name: &str) -> Option<FieldError> {
    let len = name.chars().count();
    if !(1..=256).contains(&len) {
        return Some(FieldError::new(field, "must be 1 to 256 characters"));
    }
    if name.chars().any(char::is_control) {
        return Some(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    None
}

/// Collect the problems of several checks into one list.
pub fn collect(checks: impl IntoIterator<Item = Option<FieldError>>) -> Result<(), crate::Error> {
    let errors: Vec<FieldError> = checks.into_iter().flatten().collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(crate::Error::Invalid(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_words_and_the_username_do_not_make_a_password_strong() {
        // The first two pass zxcvbn's score of 3 when it is not told about Keyslot.
        for weak in ["KeyslotPassword1", "Keyslot2026!", "keyslotkeyslot"] {
            assert!(
                password("password", weak, "alice").is_some(),
                "{weak} was accepted"
            );
        }
        assert!(password("password", "correct horse battery staple", "alice").is_none());
        // Passwords from the top of breach lists are refused (ASVS 6.2.4).
        for common in [
            "password1234",
            "qwertyuiop123",
            "iloveyou1234",
            "123456789012",
        ] {
            assert!(
                password("password", common, "alice").is_some(),
                "{common} was accepted"
            );
        }
        // No composition rules; 64 characters and more are fine (ASVS 6.2.5, 6.2.9).
        let long = "plain lowercase words only make a long enough passphrase for this";
        assert!(long.len() >= 64);
        assert!(password("password", long, "alice").is_none());
    }
}
