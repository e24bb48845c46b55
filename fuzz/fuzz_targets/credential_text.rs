//! `kst_…` / `kss_…` parsing: never a panic, and whatever parses formats back to exactly
//! the same text (one spelling per credential).
#![no_main]

use keyslot_crypto::{SessionCredential, TokenCredential};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(token) = TokenCredential::parse(text) {
        assert_eq!(token.expose_text().as_str(), text);
    }
    if let Ok(session) = SessionCredential::parse(text) {
        assert_eq!(session.expose_text().as_str(), text);
    }
});
