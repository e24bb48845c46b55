//! The input rules an end-to-end account's page must enforce itself (END-TO-END §6: the
//! server sees neither the password nor the names): the password policy, name rules and
//! username rules of server mode, with the same messages.
//!
//! These are keyslot-core's `policy` rules, repeated here because keyslot-core does not
//! compile to wasm32 (its tokio has networking). `tests/policy.rs` runs both on the same
//! corpus natively and fails on any difference, so they cannot drift apart unnoticed;
//! moving `policy` into a crate both depend on would remove the copy.

use wasm_bindgen::prelude::wasm_bindgen;

/// Words an attacker tries first against this service (keyslot-core's `CONTEXT_WORDS`).
const CONTEXT_WORDS: &[&str] = &[
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

/// zxcvbn scores at most this many characters (the *scored prefix*)...
const SCORED_CHARS: usize = 64;
/// ... and at most this many of them from its l33t table (its cost grows steeply with
/// their number).
const SCORED_LEET_CHARS: usize = 16;
/// The characters zxcvbn's l33t matcher reads as letters.
const LEET: &str = "4@8({[<369!1|70$5+%2";

/// What is wrong with `password` for `username`, or nothing: 12–1024 characters, not the
/// username, and a zxcvbn score of at least 3 for its first 64 characters (cut at the
/// 16th l33t character), the username and the service's own words counting as known.
#[wasm_bindgen(js_name = passwordProblem)]
pub fn password_problem(password: &str, username: &str) -> Option<String> {
    let len = password.chars().count();
    if len < 12 {
        return Some("must be at least 12 characters".into());
    }
    if len > 1024 {
        return Some("must be at most 1024 characters".into());
    }
    if password.to_lowercase() == username.to_lowercase() {
        return Some("must not be the username".into());
    }
    let mut known = vec![username];
    known.extend_from_slice(CONTEXT_WORDS);
    let prefix = &password[..scored_prefix_len(password)];
    if (zxcvbn::zxcvbn(prefix, &known).score() as u8) < 3 {
        return Some(
            "is too easy to guess: use a longer passphrase of unrelated words (the first 64 characters must be strong on their own)"
                .into(),
        );
    }
    None
}

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

/// What is wrong with a vault, item or token name, or nothing: 1–256 characters, no
/// control characters, no invisible format characters (bidi overrides, zero-width
/// characters: a name must look like what it is).
#[wasm_bindgen(js_name = nameProblem)]
pub fn name_problem(name: &str) -> Option<String> {
    let len = name.chars().count();
    if !(1..=256).contains(&len) {
        return Some("must be 1 to 256 characters".into());
    }
    if name.chars().any(char::is_control) {
        return Some("must not contain control characters".into());
    }
    if let Some(c) = name.chars().find(|&c| is_invisible_format(c)) {
        return Some(format!(
            "must not contain invisible formatting characters such as bidi overrides or \
             zero-width spaces (found U+{:04X})",
            u32::from(c)
        ));
    }
    None
}

/// What is wrong with a username, or nothing: 3–128 letters, digits and `._@+-`.
#[wasm_bindgen(js_name = usernameProblem)]
pub fn username_problem(name: &str) -> Option<String> {
    let len = name.chars().count();
    if !(3..=128).contains(&len) {
        return Some("must be 3 to 128 characters".into());
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || "._@+-".contains(c))
    {
        return Some("may contain only letters, digits and . _ @ + -".into());
    }
    None
}

/// Unicode general category Cf (format) and the line and paragraph separators.
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
