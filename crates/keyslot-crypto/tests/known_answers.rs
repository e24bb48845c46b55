//! Known-answer tests of the primitives as this crate uses them: XChaCha20-Poly1305 and

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! HKDF-SHA256 against Project Wycheproof, Argon2id against RFC 9106 §5.3.

use argon2::{Algorithm, Argon2, AssociatedData, ParamsBuilder, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;
use wycheproof::TestResult;

#[test]
fn xchacha20poly1305_matches_wycheproof() {
    let set =
        wycheproof::aead::TestSet::load(wycheproof::aead::TestName::XChaCha20Poly1305).unwrap();
    let mut checked = 0;
    for group in &set.test_groups {
        if group.nonce_size != 192 || group.key_size != 256 || group.tag_size != 128 {
            continue;
        }
        for test in &group.tests {
            let cipher = XChaCha20Poly1305::new_from_slice(&test.key).unwrap();
            let nonce = XNonce::try_from(&test.nonce[..]).unwrap();
            let mut sealed = test.ct.to_vec();
            sealed.extend_from_slice(&test.tag);
            let opened = cipher.decrypt(
                &nonce,
                Payload {
                    msg: &sealed,
                    aad: &test.aad,
                },
            );
            match test.result {
                TestResult::Valid | TestResult::Acceptable => {
                    assert_eq!(opened.as_deref(), Ok(&test.pt[..]), "tc {}", test.tc_id);
                    let ct = cipher
                        .encrypt(
                            &nonce,
                            Payload {
                                msg: &test.pt,
                                aad: &test.aad,
                            },
                        )
                        .unwrap();
                    assert_eq!(ct, sealed, "tc {}", test.tc_id);
                }
                TestResult::Invalid => assert!(opened.is_err(), "tc {} must fail", test.tc_id),
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} vectors checked");
}

#[test]
fn hkdf_sha256_matches_wycheproof() {
    let set = wycheproof::hkdf::TestSet::load(wycheproof::hkdf::TestName::HkdfSha256).unwrap();
    let mut checked = 0;
    for group in &set.test_groups {
        for test in &group.tests {
            let salt = if test.salt.is_empty() {
                None
            } else {
                Some(&test.salt[..])
            };
            let hk = Hkdf::<Sha256>::new(salt, &test.ikm);
            let mut okm = vec![0u8; test.size];
            let result = hk.expand(&test.info, &mut okm);
            match test.result {
                TestResult::Valid | TestResult::Acceptable => {
                    result.unwrap();
                    assert_eq!(okm, test.okm.to_vec(), "tc {}", test.tc_id);
                }
                TestResult::Invalid => assert!(result.is_err(), "tc {} must fail", test.tc_id),
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} vectors checked");
}

/// RFC 9106 §5.3: Argon2id, version 0x13, m=32 KiB, t=3, p=4, with secret and associated data.
#[test]
fn argon2id_matches_rfc9106() {
    let params = ParamsBuilder::new()
        .m_cost(32)
        .t_cost(3)
        .p_cost(4)
        .data(AssociatedData::new(&[0x04; 12]).unwrap())
        .build()
        .unwrap();
    let secret = [0x03; 8];
    let ctx =
        Argon2::new_with_secret(&secret, Algorithm::Argon2id, Version::V0x13, params).unwrap();
    let mut out = [0u8; 32];
    ctx.hash_password_into(&[0x01; 32], &[0x02; 16], &mut out)
        .unwrap();
    assert_eq!(
        hex::encode(out),
        "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
    );
}
