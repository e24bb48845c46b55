//! The PKCS#11 seal key against a real module: Debian's SoftHSM2, one token per test (in a
//! child process each, see `keyslot_hsm::testing::in_child`). Skipped loudly without
//! SoftHSM2; failing under CI.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use keyslot_crypto::{Aad, Algorithm, Envelope, Error, Id, LocalSealKey, Purpose, SealKey};
use keyslot_hsm::testing::{SoftHsm, in_child};
use keyslot_hsm::{MacKey, MigratingSealKey, Pkcs11SealKey};

fn slot_aad(user: u8) -> Aad {
    Aad::new(Purpose::SealedPasswordSlot)
        .user(&Id::from_bytes([user; 16]))
        .credential(
            keyslot_crypto::CredentialKind::Password,
            &Id::from_bytes([0x44; 16]),
        )
}

fn opened(hsm: &SoftHsm, key: &str) -> Pkcs11SealKey {
    keyslot_hsm::init(&hsm.config(key)).unwrap();
    Pkcs11SealKey::open(hsm.config(key)).unwrap()
}

#[test]
fn round_trip_binds_the_aad_and_refuses_tampering() {
    in_child("round_trip_binds_the_aad_and_refuses_tampering", |hsm| {
        let seal = opened(hsm, "seal");
        let sealed = seal.seal(&slot_aad(1), b"password slot record").unwrap();
        let bytes = sealed.to_bytes();
        // Format: version 1, algorithm 2 (AES-256-GCM), key version 1, 12-byte IV,
        // ciphertext and a 16-byte tag.
        assert_eq!(&bytes[..6], &[1, 2, 0, 0, 0, 1]);
        assert_eq!(bytes.len(), 6 + 12 + 20 + 16);
        let parsed = Envelope::from_bytes(&bytes).unwrap();
        assert_eq!(parsed.algorithm(), Algorithm::Aes256Gcm);
        assert_eq!(
            &seal.open(&slot_aad(1), &parsed).unwrap()[..],
            b"password slot record"
        );
        // Fresh IV each time: the same record never seals to the same bytes.
        assert_ne!(
            seal.seal(&slot_aad(1), b"password slot record")
                .unwrap()
                .to_bytes(),
            bytes
        );

        // Another user's AAD, a flipped IV bit, a flipped tag bit, a changed key version:
        // each one fails to open, as a decryption failure (not an outage).
        assert_eq!(seal.open(&slot_aad(2), &parsed), Err(Error::Decrypt));
        for at in [6, 17, bytes.len() - 1, 20] {
            let mut t = bytes.clone();
            t[at] ^= 1;
            let t = Envelope::from_bytes(&t).unwrap();
            assert_eq!(
                seal.open(&slot_aad(1), &t),
                Err(Error::Decrypt),
                "byte {at}"
            );
        }
        let mut other_version = bytes.clone();
        other_version[5] = 2;
        let other_version = Envelope::from_bytes(&other_version).unwrap();
        assert_eq!(seal.open(&slot_aad(1), &other_version), Err(Error::Decrypt));
        // After all those refusals the session still works.
        assert_eq!(
            &seal.open(&slot_aad(1), &parsed).unwrap()[..],
            b"password slot record"
        );
        // The fingerprint is stable and tells keys apart.
        assert!(seal.fingerprint().starts_with("pkcs11:"));
        let again = Pkcs11SealKey::open(hsm.config("seal")).unwrap();
        assert_eq!(again.fingerprint(), seal.fingerprint());
        assert_ne!(opened(hsm, "other").fingerprint(), seal.fingerprint());
        // And the PIN appears in no Debug output.
        assert!(!format!("{:?} {seal:?}", hsm.config("seal")).contains(keyslot_hsm::testing::PIN));
    });
}

#[test]
fn a_wrong_pin_label_or_token_refuses_to_open() {
    in_child("a_wrong_pin_label_or_token_refuses_to_open", |hsm| {
        keyslot_hsm::init(&hsm.config("seal")).unwrap();
        let mut wrong_pin = hsm.config("seal");
        wrong_pin.pin = "0000-wrong".to_string().into();
        let e = Pkcs11SealKey::open(wrong_pin).unwrap_err().to_string();
        assert!(
            e.contains("refused the PIN") && e.contains("PinIncorrect"),
            "{e}"
        );
        assert!(!e.contains("0000-wrong"), "{e}");

        let e = Pkcs11SealKey::open(hsm.config("no-such-key"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("0 keys labelled \"no-such-key\""), "{e}");
        assert!(e.contains("keyslot seal init-hsm"), "{e}");

        let mut wrong_token = hsm.config("seal");
        wrong_token.token = "no-such-token".into();
        let e = Pkcs11SealKey::open(wrong_token).unwrap_err().to_string();
        assert!(
            e.contains("no PKCS#11 token labelled \"no-such-token\""),
            "{e}"
        );

        // init refuses to make the keys twice.
        let e = keyslot_hsm::init(&hsm.config("seal"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("already holds"), "{e}");
    });
}

#[test]
fn mac_keys_are_separate_and_deterministic() {
    in_child("mac_keys_are_separate_and_deterministic", |hsm| {
        let seal = opened(hsm, "seal");
        let a = seal.mac(MacKey::DeviceCookie, b"device").unwrap();
        assert_eq!(a, seal.mac(MacKey::DeviceCookie, b"device").unwrap());
        assert_ne!(a, seal.mac(MacKey::DeviceCookie, b"device2").unwrap());
        let all: std::collections::HashSet<[u8; 32]> = MacKey::ALL
            .iter()
            .map(|k| seal.mac(*k, b"same input").unwrap())
            .collect();
        assert_eq!(all.len(), MacKey::ALL.len(), "each MAC key is its own key");
        // The service asks through the SealKey trait, during a migration too: the HSM's
        // keys answer, never the key file's.
        let via_trait = SealKey::mac(&seal, keyslot_crypto::MacLabel::DeviceCookie, b"device");
        assert_eq!(via_trait.unwrap(), a);
        let file = LocalSealKey::from_bytes([7; 32]);
        let from_file = file
            .mac(keyslot_crypto::MacLabel::DeviceCookie, b"device")
            .unwrap();
        let both = MigratingSealKey::new(Arc::new(seal), Some(file));
        let migrating = both
            .mac(keyslot_crypto::MacLabel::DeviceCookie, b"device")
            .unwrap();
        assert_eq!(migrating, a);
        assert_ne!(migrating, from_file);
    });
}

#[test]
fn the_migrating_key_opens_both_formats_and_seals_with_the_hsm() {
    in_child(
        "the_migrating_key_opens_both_formats_and_seals_with_the_hsm",
        |hsm| {
            let file = LocalSealKey::from_bytes([7; 32]);
            let old = file.seal(&slot_aad(1), b"old").unwrap();
            let both = MigratingSealKey::new(
                Arc::new(opened(hsm, "seal")),
                Some(LocalSealKey::from_bytes([7; 32])),
            );
            assert_eq!(&both.open(&slot_aad(1), &old).unwrap()[..], b"old");
            let new = both.seal(&slot_aad(1), b"new").unwrap();
            assert_eq!(new.algorithm(), Algorithm::Aes256Gcm);
            assert_eq!(&both.open(&slot_aad(1), &new).unwrap()[..], b"new");
            // The key file alone cannot open what the HSM sealed.
            assert!(file.open(&slot_aad(1), &new).is_err());
            // Without the key file, a key-file record does not open.
            let hsm_only = MigratingSealKey::new(
                Arc::new(Pkcs11SealKey::open(hsm.config("seal")).unwrap()),
                None,
            );
            assert_eq!(hsm_only.open(&slot_aad(1), &old), Err(Error::Decrypt));
        },
    );
}

#[test]
fn the_session_reopens_after_the_hsm_goes_away_and_comes_back() {
    in_child(
        "the_session_reopens_after_the_hsm_goes_away_and_comes_back",
        |hsm| {
            let seal = opened(hsm, "seal");
            let sealed = seal.seal(&slot_aad(1), b"record").unwrap();
            let away = hsm.tokens().with_extension("away");
            std::fs::rename(hsm.tokens(), &away).unwrap();
            assert_eq!(
                seal.open(&slot_aad(1), &sealed),
                Err(Error::SealUnavailable)
            );
            assert_eq!(
                seal.seal(&slot_aad(1), b"x").map(drop),
                Err(Error::SealUnavailable)
            );
            std::fs::rename(&away, hsm.tokens()).unwrap();
            assert_eq!(&seal.open(&slot_aad(1), &sealed).unwrap()[..], b"record");
        },
    );
}

#[test]
fn fixture_skips_without_softhsm_only_outside_ci() {
    // Documents the contract: `SoftHsm::new` returns a token or, outside CI, None.
    if let Some(hsm) = SoftHsm::new("fixture_skips_without_softhsm_only_outside_ci") {
        assert!(hsm.conf().exists() && hsm.tokens().exists());
    }
}
