//! Properties of the end-to-end formats (FORMAT §11): round trips for any id, secret,
//! name and value, and no panic on any input a server or a peer could send — a client
//! parses what the server answers, and the server parses what any client sends.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyslot_crypto::identity::role;
use keyslot_crypto::text_credential::CredentialFormatError;
use keyslot_crypto::{
    AuthProof, AuthSealedKey, E2eTokenCredential, Error, Id, IdentityKeyPair, IdentityPublic,
    NameIndexKey, Signature, TokenCredential, VaultKey, open_item, open_vault_name, seal_item,
    seal_vault_name,
};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn kse_and_ksa_round_trip_and_never_read_as_each_other(id in any::<[u8; 16]>(), secret in any::<[u8; 32]>()) {
        let token = E2eTokenCredential::from_parts(Id::from_bytes(id), secret);
        let text = token.expose_text();
        let back = E2eTokenCredential::parse(&text).unwrap();
        prop_assert_eq!(back.expose_secret(), &secret);
        prop_assert_eq!(
            TokenCredential::parse(&text).err(),
            Some(CredentialFormatError::WrongPrefix("kst_"))
        );
        let proof = token.unlock().auth_proof();
        let proof_text = proof.to_text();
        prop_assert_eq!(proof_text.len(), 75);
        let parsed = AuthProof::parse(&proof_text).unwrap();
        prop_assert_eq!(parsed.id(), &Id::from_bytes(id));
        prop_assert_eq!(parsed.verifier(), *token.unlock().verifier());
        let b64 = AuthProof::from_base64url(Id::from_bytes(id), &proof.auth_base64url()).unwrap();
        prop_assert_eq!(b64.verifier(), *token.unlock().verifier());
        prop_assert!(E2eTokenCredential::parse(&proof_text).is_err());
    }

    #[test]
    fn parsers_never_panic_on_any_text(text in ".{0,100}") {
        let _ = AuthProof::parse(&text);
        let _ = E2eTokenCredential::parse(&text);
        let _ = AuthProof::from_base64url(Id::from_bytes([0; 16]), &text);
        let _ = Signature::from_base64(&text);
        let _ = AuthSealedKey::from_base64(&text);
        let prefixed = format!("ksa_{text}");
        let _ = AuthProof::parse(&prefixed);
    }

    #[test]
    fn byte_parsers_never_panic_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        let _ = IdentityPublic::from_slice(&bytes);
        let _ = Signature::from_slice(&bytes);
        let _ = AuthSealedKey::from_bytes(&bytes);
    }

    #[test]
    fn any_32_bytes_as_an_identity_key_and_signature_verify_nothing_they_did_not_sign(
        key in any::<[u8; 32]>(),
        sig in proptest::collection::vec(any::<u8>(), 64..=64),
    ) {
        let Ok(public) = IdentityPublic::from_slice(&key) else { return Ok(()) };
        let signature = Signature::from_slice(&sig).unwrap();
        let members = [(Id::from_bytes([1; 16]), role::OWNER, public)];
        prop_assert_eq!(
            public.verify_members(&Id::from_bytes([2; 16]), 1, &members, &signature),
            Err(Error::BadSignature)
        );
    }

    #[test]
    fn items_and_vault_names_round_trip_for_any_name_and_value(
        name in "\\PC{1,64}",
        value in proptest::collection::vec(any::<u8>(), 0..512),
        ids in any::<[[u8; 16]; 3]>(),
        version in 1u64..u64::MAX,
        key_version in 1u32..u32::MAX,
    ) {
        let vk = VaultKey::generate().unwrap();
        let [owner, vault, item] = ids.map(Id::from_bytes);
        let sealed = seal_item(&vk, &owner, &vault, &item, version, key_version, &name, &value).unwrap();
        let (n, v) = open_item(&vk, &owner, &vault, &item, version, key_version, &sealed).unwrap();
        prop_assert_eq!(n, name.clone());
        prop_assert_eq!(v.as_slice(), value.as_slice());
        let sealed_name = seal_vault_name(&vk, &owner, &vault, key_version, &name).unwrap();
        prop_assert_eq!(open_vault_name(&vk, &owner, &vault, key_version, &sealed_name).unwrap(), name);
    }

    #[test]
    fn distinct_names_get_distinct_indexes(a in "\\PC{1,32}", b in "\\PC{1,32}") {
        let key = NameIndexKey::derive(&VaultKey::from_bytes([9; 32]), &Id::from_bytes([2; 16]), 1);
        prop_assert_eq!(a == b, key.index(&a) == key.index(&b));
    }

    #[test]
    fn a_member_list_signature_does_not_depend_on_order(seed in any::<[u8; 32]>(), n in 1usize..6) {
        let owner = IdentityKeyPair::from_seed(&seed);
        let mut members: Vec<_> = (0..n)
            .map(|i| (Id::from_bytes([i as u8; 16]), role::READ, IdentityKeyPair::from_seed(&[i as u8; 32]).public()))
            .collect();
        let vault = Id::from_bytes([0xaa; 16]);
        let signature = owner.sign_members(&vault, 2, &members).unwrap();
        members.reverse();
        prop_assert!(owner.public().verify_members(&vault, 2, &members, &signature).is_ok());
    }
}
