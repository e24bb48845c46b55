//! Seal key files: never a panic; what parses formats back to a file that parses to the
//! same key.
#![no_main]

use keyslot_crypto::{LocalSealKey, SealKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(key) = LocalSealKey::from_file_text(text) {
        let again = LocalSealKey::from_file_text(&key.to_file_text()).expect("formatted file parses");
        assert_eq!(again.fingerprint(), key.fingerprint());
    }
});
