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

/// zxcvbn reads at most this many characters of a password (the *scored prefix*).
pub const SCORED_CHARS: usize = 64;

/// ... and at most this many of them from its l33t table: its l33t matcher tries every
/// reading of every such character, so its cost grows steeply with their number (a
/// 100-character password of them took 2 s of CPU; docs/PERFORMANCE.md).
pub const SCORED_LEET_CHARS: usize = 16;

/// The characters zxcvbn's l33t matcher reads as letters (its `L33T_TABLE`).
const LEET: &str = "4@8({[<369!1|70$5+%2";

/// Password: 12–1024 characters, not the username, not trivially guessable (zxcvbn
/// score of at least 3, "safely unguessable" against online attacks and throttled ones),
/// the username and [`CONTEXT_WORDS`] counting as already known. Any characters; no
/// composition rules; checked exactly as typed.
///
/// zxcvbn's cost is not linear in the input (a crafted 100-character password cost most
/// of a second of CPU, per unauthenticated sign-up), so it scores a bounded prefix: the
/// first [`SCORED_CHARS`] characters, cut earlier at the [`SCORED_LEET_CHARS`]-th
/// character of zxcvbn's l33t table, and that prefix must score 3 on its own. What lies
/// beyond it earns nothing: every way tried of crediting the rest (distinct characters,
/// summing the scores of later pieces) let padding, sequences or a phrase cut across a
/// piece boundary pass (`"!"×17 + "abcd…"`, `"a"×64 + "bcd…"`), and 64 characters are
/// more than any strong passphrase needs. Called off the async runtime, behind the Argon2
/// admission (`Keyslot::signup` and the password changes), since even bounded it is
/// milliseconds of CPU.
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
    let prefix = &password[..scored_prefix_len(password)];
    if (zxcvbn::zxcvbn(prefix, &known).score() as u8) < 3 {
        return Some(FieldError::new(
            field,
            "is too easy to guess: use a longer passphrase of unrelated words (the first 64 characters must be strong on their own)",
        ));
    }
    None
}

/// Length in bytes of the part of `password` zxcvbn scores (see [`password`]).
fn scored_prefix_len(password: &str) -> usize {
    let mut leet = 0;
    for (n, (at, c)) in password.char_indices().enumerate() {
        if n == SCORED_CHARS {
            return at;
        }
        if LEET.contains(c) {
            leet += 1;
            if leet > SCORED_LEET_CHARS {
                return at;
            }
        }
    }
    password.len()
}

/// A vault, item or token name: 1–256 characters, no control characters and no invisible
/// format characters.
///
/// Names are shown to their owner in lists, on pages and in the CLI, where they are
/// trusted to be what they look like. Bidi overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069) make `invoice`, U+202E, `fdp.exe` display as `invoiceexe.pdf` (the "Trojan
/// Source" trick), and zero-width characters make two names that look the same differ,
/// so a look-alike item or token can be slipped in beside the real one. So every
/// character of Unicode's general category Cf (format) is refused, as are the line and
/// paragraph separators (U+2028, U+2029), which break a name across lines. The price:
/// emoji built with a zero-width joiner (U+200D) or tag characters are refused in names;
/// they remain fine in values.
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
    if let Some(c) = name.chars().find(|&c| is_invisible_format(c)) {
        return Some(FieldError::new(
            field,
            format!(
                "must not contain invisible formatting characters such as bidi overrides or \
                 zero-width spaces (found U+{:04X})",
                u32::from(c)
            ),
        ));
    }
    None
}

/// Unicode general category Cf (format), from Unicode 16's `DerivedGeneralCategory.txt`
/// (unchanged through 18), plus the line and paragraph separators (Zl, Zp).
const INVISIBLE_FORMAT: &[(u32, u32)] = &[
    (0xAD, 0xAD),
    (0x600, 0x605),
    (0x61C, 0x61C),
    (0x6DD, 0x6DD),
    (0x70F, 0x70F),
    (0x890, 0x891),
    (0x8E2, 0x8E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x2028, 0x2029),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

fn is_invisible_format(c: char) -> bool {
    let c = u32::from(c);
    INVISIBLE_FORMAT
        .iter()
        .any(|&(first, last)| (first..=last).contains(&c))
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
    fn only_a_bounded_prefix_is_scored_and_the_rest_earns_nothing() {
        let leet: String = LEET.chars().cycle().take(1000).collect();
        let prefix = scored_prefix_len(&leet);
        assert_eq!(leet[..prefix].chars().count(), SCORED_LEET_CHARS);
        let words = "plain lowercase words only make a long enough passphrase ".repeat(10);
        assert_eq!(
            words[..scored_prefix_len(&words)].chars().count(),
            SCORED_CHARS
        );
        // A weak prefix is not rescued by padding or by repeating itself...
        for weak in [
            format!("password1234{}", "a".repeat(500)),
            "iloveyou".repeat(100),
            format!("{}{}", "keyslot".repeat(10), "1".repeat(300)),
            // A weak first piece and a plain sequence after it (found in review).
            format!("{}abcdefghijklmnopqrstu", "!".repeat(17)),
            format!("{}bcdefghijklmnopqrstuvwxy", "a".repeat(64)),
        ] {
            assert!(password("password", &weak, "alice").is_some(), "{weak}");
        }
        // ...while a long passphrase that is strong from its start passes.
        let long = "correct horse battery staple ".repeat(2) + "and then the quick brown fox jumps";
        assert!(password("password", &long, "alice").is_none());
        assert!(password("password", &leet, "alice").is_none());
    }

    #[test]
    fn names_with_bidi_or_invisible_characters_are_refused() {
        for bad in [
            "invoice\u{202E}fdp.exe",
            "a\u{202A}b",
            "a\u{202D}b",
            "\u{2066}isolated\u{2069}",
            "\u{2067}x",
            "\u{2068}x",
            "stripe\u{200B}",
            "zero\u{200C}width",
            "zwj\u{200D}",
            "lrm\u{200E}",
            "rlm\u{200F}",
            "\u{FEFF}bom",
            "soft\u{AD}hyphen",
            "word\u{2060}joiner",
            "tag\u{E0041}",
            "line\u{2028}break",
        ] {
            let error = name("name", bad).unwrap_or_else(|| panic!("{bad:?} was accepted"));
            assert_eq!(error.field, "name");
        }
        for good in [
            "stripe",
            "Überweisung",
            "日本語の名前",
            "prod db (eu-west-1)",
            "🔑 keys",
        ] {
            assert!(name("name", good).is_none(), "{good:?} was refused");
        }
    }

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
