//! RFC 9180 known-answer test for exactly the suite Keyslot seals keys with: Appendix
//! A.2.1, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, base mode. The values
//! are the RFC's public test data.
//!
//! The `hpke` crate draws the ephemeral key as `DeriveKeyPair(Nsk random bytes)`, so an RNG
//! that yields the RFC's `ikmE` reproduces the RFC's sender exactly: `enc`, every
//! ciphertext and every exported secret (which proves the key schedule). The receiver
//! side opens the RFC's ciphertexts with `skRm`. Finally Keyslot's own sealing
//! (`seal_with_ephemeral_ikm`, the path `seal_to` takes with OS randomness) yields the
//! RFC's `enc` for the RFC's `ikmE` and recipient.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::convert::Infallible;

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::rand_core::{TryCryptoRng, TryRng};
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use keyslot_crypto::sealed_key::seal_with_ephemeral_ikm;
use keyslot_crypto::{Id, PublicKey, RecipientKind, VaultKey, grant_aad};

const INFO: &str = "4f6465206f6e2061204772656369616e2055726e";
const IKM_E: &str = "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b";
const PK_EM: &str = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
const SK_EM: &str = "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600";
const IKM_R: &str = "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df";
const PK_RM: &str = "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a";
const SK_RM: &str = "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb";
const PT: &str = "4265617574792069732074727574682c20747275746820626561757479";
/// (aad, ciphertext) for sequence numbers 0, 1, 2.
const ENCRYPTIONS: [(&str, &str); 3] = [
    (
        "436f756e742d30",
        "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28",
    ),
    (
        "436f756e742d31",
        "6b53c051e4199c518de79594e1c4ab18b96f081549d45ce015be002090bb119e85285337cc95ba5f59992dc98c",
    ),
    (
        "436f756e742d32",
        "71146bd6795ccc9c49ce25dda112a48f202ad220559502cef1f34271e0cb4b02b4f10ecac6f48c32f878fae86b",
    ),
];
/// (exporter context, 32-byte exported value).
const EXPORTS: [(&str, &str); 3] = [
    (
        "",
        "4bbd6243b8bb54cec311fac9df81841b6fd61f56538a775e7c80a9f40160606e",
    ),
    (
        "00",
        "8c1df14732580e5501b00f82b10a1647b40713191b7c1240ac80e2b68808ba69",
    ),
    (
        "54657374436f6e74657874",
        "5acb09211139c43b3090489a9da433e8a30ee7188ba8b0a9a1ccf0c229283e53",
    ),
];

fn h(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap()
}

/// Yields the given bytes once, then fails the test if asked for more.
struct Fixed(Vec<u8>);

impl TryRng for Fixed {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        panic!("the KEM asked for a u32")
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        panic!("the KEM asked for a u64")
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        assert_eq!(dst.len(), self.0.len(), "the KEM asked for another length");
        dst.copy_from_slice(&self.0);
        self.0.clear();
        Ok(())
    }
}
impl TryCryptoRng for Fixed {}

/// RFC 7748 clamping. The appendix prints `sk` as DeriveKeyPair's expand step makes it;
/// `SerializePrivateKey` clamps (RFC 9180 §7.1.2), and the two name the same scalar.
fn clamped(text: &str) -> String {
    let mut b = h(text);
    b[0] &= 248;
    b[31] &= 127;
    b[31] |= 64;
    hex::encode(b)
}

#[test]
fn derive_key_pair_matches_rfc_9180_a_2_1() {
    let (sk_e, pk_e) = X25519HkdfSha256::derive_keypair(&h(IKM_E));
    assert_eq!(hex::encode(sk_e.to_bytes()), clamped(SK_EM));
    assert_eq!(hex::encode(pk_e.to_bytes()), PK_EM);
    let (sk_r, pk_r) = X25519HkdfSha256::derive_keypair(&h(IKM_R));
    assert_eq!(hex::encode(sk_r.to_bytes()), clamped(SK_RM));
    assert_eq!(hex::encode(pk_r.to_bytes()), PK_RM);
}

#[test]
fn sender_matches_rfc_9180_a_2_1() {
    let pk_r = <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(&h(PK_RM)).unwrap();
    let (enc, mut ctx) = hpke::setup_sender_with_rng::<
        ChaCha20Poly1305,
        HkdfSha256,
        X25519HkdfSha256,
    >(&OpModeS::Base, &pk_r, &h(INFO), &mut Fixed(h(IKM_E)))
    .unwrap();
    assert_eq!(hex::encode(enc.to_bytes()), PK_EM, "enc");
    // Exports depend only on the key schedule's exporter secret: they prove the schedule.
    for (context, value) in EXPORTS {
        let mut out = [0u8; 32];
        ctx.export(&h(context), &mut out).unwrap();
        assert_eq!(hex::encode(out), value, "export {context:?}");
    }
    for (seq, (aad, ct)) in ENCRYPTIONS.iter().enumerate() {
        let sealed = ctx.seal(&h(PT), &h(aad)).unwrap();
        assert_eq!(hex::encode(sealed), *ct, "ciphertext {seq}");
    }
}

#[test]
fn receiver_opens_rfc_9180_a_2_1_and_refuses_a_changed_byte() {
    let sk_r = <X25519HkdfSha256 as Kem>::PrivateKey::from_bytes(&h(SK_RM)).unwrap();
    let enc = <X25519HkdfSha256 as Kem>::EncappedKey::from_bytes(&h(PK_EM)).unwrap();
    let mut ctx = hpke::setup_receiver::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        &sk_r,
        &enc,
        &h(INFO),
    )
    .unwrap();
    for (context, value) in EXPORTS {
        let mut out = [0u8; 32];
        ctx.export(&h(context), &mut out).unwrap();
        assert_eq!(hex::encode(out), value, "export {context:?}");
    }
    for (seq, (aad, ct)) in ENCRYPTIONS.iter().enumerate() {
        assert_eq!(ctx.open(&h(ct), &h(aad)).unwrap(), h(PT), "open {seq}");
    }
    // Another info (context) derives another key: the first ciphertext no longer opens.
    let mut other = hpke::setup_receiver::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        &sk_r,
        &enc,
        b"Ode on a Grecian Urm",
    )
    .unwrap();
    assert!(
        other
            .open(&h(ENCRYPTIONS[0].1), &h(ENCRYPTIONS[0].0))
            .is_err()
    );
}

#[test]
fn keyslot_sealing_draws_the_rfc_ephemeral_from_ikm_e() {
    let recipient = PublicKey::from_slice(&h(PK_RM)).unwrap();
    let id = Id::from_bytes([0x11; 16]);
    let aad = grant_aad(&id, &id, 1, RecipientKind::Token, &id);
    let ikm: [u8; 32] = h(IKM_E).try_into().unwrap();
    let sealed =
        seal_with_ephemeral_ikm(&recipient, &VaultKey::from_bytes([0x42; 32]), &aad, &ikm).unwrap();
    assert_eq!(hex::encode(sealed.enc()), PK_EM);
}
