//! The password-slot record parser, reached the way a server reaches it: the input is the
//! record's plaintext, sealed under a fixed seal key, then unsealed. Never a panic; a
//! record that parses is refused by the default KDF policy before any hashing unless its
//! parameters are within floor and ceiling (checked without running Argon2).
#![no_main]

use keyslot_crypto::{Aad, CredentialKind, Id, KdfPolicy, LocalSealKey, Purpose, SealKey, SealedPasswordSlot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let seal = LocalSealKey::from_bytes([3; 32]);
    let (user, cred) = (Id::from_bytes([1; 16]), Id::from_bytes([2; 16]));
    let aad = Aad::new(Purpose::SealedPasswordSlot).user(&user).credential(CredentialKind::Password, &cred);
    let Ok(envelope) = seal.seal(&aad, data) else { return };
    let sealed = SealedPasswordSlot::from_bytes(&envelope.to_bytes()).expect("a sealed envelope decodes");
    if let Ok(slot) = sealed.unseal(&seal, &user, &cred) {
        let _ = KdfPolicy::default().check(slot.params());
    }
    // Raw bytes as a stored slot: decoding never panics.
    let _ = SealedPasswordSlot::from_bytes(data);
});
