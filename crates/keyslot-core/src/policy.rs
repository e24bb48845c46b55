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

/// Password: 12–1024 characters, not the username, not trivially guessable (zxcvbn
/// score of at least 3, "safely unguessable" against online attacks and throttled ones).
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
    let estimate = zxcvbn::zxcvbn(password, &[username]);
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
