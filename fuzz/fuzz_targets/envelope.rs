//! Envelope decoding from bytes and base64url: never a panic; what decodes re-encodes to the
//! same bytes; opening under a fixed key with any AAD fails cleanly or yields plaintext.
#![no_main]

use keyslot_crypto::{Aad, ContentKey, Envelope, ItemKey, Purpose};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = Envelope::from_bytes(data) {
        assert_eq!(env.to_bytes(), data);
        let key = ItemKey::from_bytes([7; 32]);
        let _ = key.open_content(&Aad::new(Purpose::ItemValue), &env);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(env) = Envelope::from_base64(text) {
            assert_eq!(env.to_base64(), text);
        }
    }
});
