//! Recovery-code input: never a panic; what parses re-parses from its canonical text to the
//! same 16 bytes.
#![no_main]

use keyslot_crypto::RecoveryCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(code) = RecoveryCode::parse(text) {
        let again = RecoveryCode::parse(&code.expose_text()).expect("canonical text parses");
        assert_eq!(again.expose_secret(), code.expose_secret());
    }
});
