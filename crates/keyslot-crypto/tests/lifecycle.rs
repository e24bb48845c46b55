//! The key lifecycle's crypto as an attacker would probe it: keys sealed to public keys
//! (grants, the recovery grant, deposits), the backward chain, and public-key MACs. Every
//! round trip is paired with the wrong-context cases that must fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyslot_crypto::sealed_key::SEALED_KEY_LEN;
use keyslot_crypto::{
    Aad, Error, Id, ItemKey, LocalSealKey, Purpose, RecipientKind, RecoveryCode, RecoveryKeyPair,
    SealKey, SealedKey, TokenCredential, TokenKeyPair, UserKey, UserKeyPair, VaultKey,
    VaultKeyPair, X25519Identity, chain_aad, deposit_aad, grant_aad, open_chain, open_from,
    public_key_mac, seal_to, user_key_grant_aad, verify_public_key_mac, wrap_chain,
};

fn id(byte: u8) -> Id {
    Id::from_bytes([byte; 16])
}

fn vk(byte: u8) -> VaultKey {
    VaultKey::from_bytes([byte; 32])
}

struct World {
    owner: Id,
    vault: Id,
    token_a: TokenCredential,
    token_b: TokenCredential,
}

fn world() -> World {
    World {
        owner: id(1),
        vault: id(2),
        token_a: TokenCredential::generate().unwrap(),
        token_b: TokenCredential::generate().unwrap(),
    }
}

#[test]
fn a_vault_key_granted_to_a_token_opens_only_for_that_token_in_that_context() {
    let w = world();
    let a = TokenKeyPair::derive(&w.token_a);
    let b = TokenKeyPair::derive(&w.token_b);
    let key = vk(0x42);
    let aad = grant_aad(&w.owner, &w.vault, 3, RecipientKind::Token, w.token_a.id());
    let grant = seal_to(&a.public_key(), &key, &aad).unwrap();

    let opened: VaultKey = open_from(&a, &grant, &aad).unwrap();
    assert_eq!(opened.expose_secret(), key.expose_secret());
    // The same token, re-derived from its text (what a request presents), opens it too.
    let again = TokenKeyPair::derive(&TokenCredential::parse(&w.token_a.expose_text()).unwrap());
    assert!(open_from::<VaultKey>(&again, &grant, &aad).is_ok());

    // Another token's identity: neither under A's context nor under its own.
    assert_eq!(
        open_from::<VaultKey>(&b, &grant, &aad).unwrap_err(),
        Error::Decrypt
    );
    let b_aad = grant_aad(&w.owner, &w.vault, 3, RecipientKind::Token, w.token_b.id());
    assert_eq!(
        open_from::<VaultKey>(&b, &grant, &b_aad).unwrap_err(),
        Error::Decrypt
    );
    // Every other context: recipient id, vault, owner, key version.
    for wrong in [
        b_aad,
        grant_aad(&w.owner, &id(9), 3, RecipientKind::Token, w.token_a.id()),
        grant_aad(&id(9), &w.vault, 3, RecipientKind::Token, w.token_a.id()),
        grant_aad(&w.owner, &w.vault, 2, RecipientKind::Token, w.token_a.id()),
        grant_aad(&w.owner, &w.vault, 4, RecipientKind::Token, w.token_a.id()),
    ] {
        assert_eq!(
            open_from::<VaultKey>(&a, &grant, &wrong).unwrap_err(),
            Error::Decrypt
        );
    }
    // Another recipient kind naming the same id is refused before any decryption.
    let as_user = grant_aad(&w.owner, &w.vault, 3, RecipientKind::User, w.token_a.id());
    assert!(matches!(
        open_from::<VaultKey>(&a, &grant, &as_user).unwrap_err(),
        Error::Malformed { .. }
    ));
}

#[test]
fn a_grant_sealed_to_a_user_opens_after_the_pair_is_unwrapped_from_the_user_key() {
    let w = world();
    let member = id(7);
    let user_key = UserKey::generate().unwrap();
    let pair = UserKeyPair::generate().unwrap();
    let stored_public = pair.public_key();
    let wrapped_private = pair.wrap(&user_key, &member).unwrap();
    drop(pair);

    let key = vk(0x43);
    let aad = grant_aad(&w.owner, &w.vault, 1, RecipientKind::User, &member);
    let grant = seal_to(&stored_public, &key, &aad).unwrap();

    let pair = UserKeyPair::unwrap(&user_key, &member, &wrapped_private).unwrap();
    assert_eq!(pair.public_key(), stored_public);
    let opened: VaultKey = open_from(&pair, &grant, &aad).unwrap();
    assert_eq!(opened.expose_secret(), key.expose_secret());

    // A rotated user key pair (user-key rotation makes a new one) opens nothing old.
    let new_pair = UserKeyPair::generate().unwrap();
    assert_eq!(
        open_from::<VaultKey>(&new_pair, &grant, &aad).unwrap_err(),
        Error::Decrypt
    );
}

#[test]
fn a_new_user_key_sealed_to_the_recovery_code_opens_only_with_that_code_and_id() {
    let user = id(1);
    let recovery_id = id(5);
    let code = RecoveryCode::generate().unwrap();
    let pair = RecoveryKeyPair::derive(&code, &recovery_id);
    let new_uk = UserKey::generate().unwrap();
    let aad = user_key_grant_aad(&user, &recovery_id);
    let grant = seal_to(&pair.public_key(), &new_uk, &aad).unwrap();

    // At recovery the user types the code; it is parsed and derived again.
    let typed = RecoveryCode::parse(&code.expose_text()).unwrap();
    let opened: UserKey =
        open_from(&RecoveryKeyPair::derive(&typed, &recovery_id), &grant, &aad).unwrap();
    assert_eq!(opened.expose_secret(), new_uk.expose_secret());

    let other_code = RecoveryCode::generate().unwrap();
    for (pair, aad) in [
        (
            RecoveryKeyPair::derive(&other_code, &recovery_id),
            aad.clone(),
        ),
        // The right code under another credential id derives another pair.
        (RecoveryKeyPair::derive(&code, &id(6)), aad.clone()),
        (
            RecoveryKeyPair::derive(&code, &recovery_id),
            user_key_grant_aad(&id(9), &recovery_id),
        ),
    ] {
        assert_eq!(
            open_from::<UserKey>(&pair, &grant, &aad).unwrap_err(),
            Error::Decrypt
        );
    }
}

#[test]
fn a_deposit_opens_with_the_vault_pair_of_its_version_and_not_with_the_depositors_token() {
    let w = world();
    let (item, version) = (id(3), 1u64);
    let vk2 = vk(0x52);
    let pair = VaultKeyPair::derive(&vk2, &w.vault, 2);
    let item_key = ItemKey::generate().unwrap();
    let aad = deposit_aad(&w.owner, &w.vault, &item, version, 2);
    let deposit = seal_to(&pair.public_key(), &item_key, &aad).unwrap();

    let opened: ItemKey = open_from(&VaultKeyPair::derive(&vk2, &w.vault, 2), &deposit, &aad)
        .expect("a holder of VK_2 opens the deposit");
    assert_eq!(opened.expose_secret(), item_key.expose_secret());

    // The depositing token's own identity cannot read back what it deposited.
    let depositor = TokenKeyPair::derive(&w.token_a);
    let as_token = aad.clone().recipient(RecipientKind::Token, w.token_a.id());
    assert_eq!(
        open_from::<ItemKey>(&depositor, &deposit, &as_token).unwrap_err(),
        Error::Decrypt
    );
    // Another version's pair, another vault's, another key: all fail.
    for pair in [
        VaultKeyPair::derive(&vk2, &w.vault, 1),
        VaultKeyPair::derive(&vk2, &id(9), 2),
        VaultKeyPair::derive(&vk(0x51), &w.vault, 2),
    ] {
        assert_eq!(
            open_from::<ItemKey>(&pair, &deposit, &aad).unwrap_err(),
            Error::Decrypt
        );
    }
    // Another item, item version or key version in the context: fails.
    for wrong in [
        deposit_aad(&w.owner, &w.vault, &id(4), version, 2),
        deposit_aad(&w.owner, &w.vault, &item, version + 1, 2),
        deposit_aad(&w.owner, &w.vault, &item, version, 3),
    ] {
        assert_eq!(
            open_from::<ItemKey>(&pair, &deposit, &wrong).unwrap_err(),
            Error::Decrypt
        );
    }
}

#[test]
fn a_deposit_made_while_a_rotation_is_due_is_sealed_to_each_reader() {
    let w = world();
    let reader = TokenKeyPair::derive(&w.token_b);
    let item_key = ItemKey::generate().unwrap();
    let aad = deposit_aad(&w.owner, &w.vault, &id(3), 1, 1)
        .recipient(RecipientKind::Token, w.token_b.id());
    let sealed = seal_to(&reader.public_key(), &item_key, &aad).unwrap();
    let opened: ItemKey = open_from(&reader, &sealed, &aad).unwrap();
    assert_eq!(opened.expose_secret(), item_key.expose_secret());
    // Presented as a deposit to the vault, it is refused (kind differs from the identity).
    let vault_pair = VaultKeyPair::derive(&vk(1), &w.vault, 1);
    let as_vault = deposit_aad(&w.owner, &w.vault, &id(3), 1, 1);
    assert_eq!(
        open_from::<ItemKey>(&vault_pair, &sealed, &as_vault).unwrap_err(),
        Error::Decrypt
    );
}

#[test]
fn keys_are_sealed_only_along_the_allowed_arrows() {
    let w = world();
    let pk = TokenKeyPair::derive(&w.token_a).public_key();
    let (o, v, t) = (&w.owner, &w.vault, w.token_a.id());
    // A vault key to a recovery code or to a vault; a user key to a token; an item key as
    // a grant; any key with no recipient in its AAD.
    let refused = [
        seal_to(
            &pk,
            &vk(1),
            &grant_aad(o, v, 1, RecipientKind::RecoveryCode, t),
        ),
        seal_to(&pk, &vk(1), &grant_aad(o, v, 1, RecipientKind::Vault, v)),
        seal_to(&pk, &vk(1), &deposit_aad(o, v, t, 1, 1)),
        seal_to(&pk, &vk(1), &Aad::new(Purpose::VaultKeyGrant).user(o)),
        seal_to(
            &pk,
            &UserKey::from_bytes([1; 32]),
            &user_key_grant_aad(o, t).recipient(RecipientKind::Token, t),
        ),
        seal_to(
            &pk,
            &UserKey::from_bytes([1; 32]),
            &grant_aad(o, v, 1, RecipientKind::Token, t),
        ),
        seal_to(
            &pk,
            &ItemKey::from_bytes([1; 32]),
            &grant_aad(o, v, 1, RecipientKind::Token, t),
        ),
        seal_to(
            &pk,
            &ItemKey::from_bytes([1; 32]),
            &user_key_grant_aad(o, t),
        ),
    ];
    for (i, result) in refused.into_iter().enumerate() {
        assert!(
            matches!(result, Err(Error::Malformed { .. })),
            "case {i}: {result:?}"
        );
    }
}

#[test]
fn a_low_order_public_key_is_refused_not_sealed_to() {
    let w = world();
    let aad = grant_aad(&w.owner, &w.vault, 1, RecipientKind::Token, w.token_a.id());
    let zero = keyslot_crypto::PublicKey::from_bytes([0; 32]);
    assert!(matches!(
        seal_to(&zero, &vk(1), &aad),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn every_changed_byte_of_a_sealed_key_is_refused() {
    let w = world();
    let pair = TokenKeyPair::derive(&w.token_a);
    let aad = grant_aad(&w.owner, &w.vault, 1, RecipientKind::Token, w.token_a.id());
    let bytes = seal_to(&pair.public_key(), &vk(7), &aad)
        .unwrap()
        .to_bytes();
    assert_eq!(bytes.len(), SEALED_KEY_LEN);
    assert_eq!(&bytes[..2], &[1, 1]);
    for i in 0..bytes.len() {
        for bit in [0x01u8, 0x80] {
            let mut changed = bytes.clone();
            changed[i] ^= bit;
            let outcome = SealedKey::from_bytes(&changed)
                .and_then(|sealed| open_from::<VaultKey>(&pair, &sealed, &aad));
            assert!(outcome.is_err(), "byte {i} bit {bit:#x} still opened");
        }
    }
    // Structure: every length but 82, an unknown version or suite.
    for len in [0, 1, 2, 33, 81, 83, 200] {
        let mut b = bytes.clone();
        b.resize(len, 0);
        assert!(SealedKey::from_bytes(&b).is_err(), "length {len}");
    }
    let mut v2 = bytes.clone();
    v2[0] = 2;
    assert_eq!(
        SealedKey::from_bytes(&v2).unwrap_err(),
        Error::UnsupportedVersion {
            what: "sealed key",
            version: 2
        }
    );
    let mut s2 = bytes.clone();
    s2[1] = 2;
    assert_eq!(
        SealedKey::from_bytes(&s2).unwrap_err(),
        Error::UnknownAlgorithm(2)
    );
    // base64url round trip.
    let sealed = SealedKey::from_bytes(&bytes).unwrap();
    assert_eq!(SealedKey::from_base64(&sealed.to_base64()).unwrap(), sealed);
    assert!(SealedKey::from_base64("not base64!").is_err());
}

#[test]
fn the_chain_lets_the_newer_key_read_the_older_and_nothing_else() {
    let (owner, vault) = (id(1), id(2));
    let (v3, v4) = (vk(3), vk(4));
    let link = wrap_chain(&v4, &v3, &owner, &vault, 3).unwrap();
    assert_eq!(
        link.key_version(),
        4,
        "the header names the wrapping version"
    );
    let opened = open_chain(&v4, &link, &owner, &vault, 3).unwrap();
    assert_eq!(opened.expose_secret(), v3.expose_secret());

    // Opened as another version's link, for another vault or owner, or by the older key.
    assert_eq!(
        open_chain(&v4, &link, &owner, &vault, 2).unwrap_err(),
        Error::Decrypt
    );
    assert_eq!(
        open_chain(&v4, &link, &owner, &vault, 4).unwrap_err(),
        Error::Decrypt
    );
    assert_eq!(
        open_chain(&v4, &link, &owner, &id(9), 3).unwrap_err(),
        Error::Decrypt
    );
    assert_eq!(
        open_chain(&v4, &link, &id(9), &vault, 3).unwrap_err(),
        Error::Decrypt
    );
    assert_eq!(
        open_chain(&v3, &link, &owner, &vault, 3).unwrap_err(),
        Error::Decrypt
    );
    // A link made with the raw impl (header version 1) is not a chain link of version 3.
    let raw =
        keyslot_crypto::Wraps::<VaultKey>::wrap(&v4, &v3, &chain_aad(&owner, &vault, 3)).unwrap();
    assert_eq!(
        open_chain(&v4, &raw, &owner, &vault, 3).unwrap_err(),
        Error::Decrypt
    );
    // Tampered bytes.
    let mut bytes = link.to_bytes();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let tampered = keyslot_crypto::Envelope::from_bytes(&bytes).unwrap();
    assert_eq!(
        open_chain(&v4, &tampered, &owner, &vault, 3).unwrap_err(),
        Error::Decrypt
    );
    // No version follows u32::MAX.
    assert!(wrap_chain(&v4, &v3, &owner, &vault, u32::MAX).is_err());
}

#[test]
fn derived_pairs_are_deterministic_and_separated_by_secret_id_and_version() {
    let token = TokenCredential::generate().unwrap();
    assert_eq!(
        TokenKeyPair::derive(&token).public_key().to_bytes(),
        keyslot_crypto::x25519::token_public_key(&token)
    );
    let code = RecoveryCode::from_bytes([0x77; 16]);
    assert_eq!(
        RecoveryKeyPair::derive(&code, &id(1)).public_key(),
        RecoveryKeyPair::derive(&code, &id(1)).public_key()
    );
    assert_ne!(
        RecoveryKeyPair::derive(&code, &id(1)).public_key(),
        RecoveryKeyPair::derive(&code, &id(2)).public_key()
    );
    let k = vk(9);
    let base = VaultKeyPair::derive(&k, &id(1), 1).public_key();
    assert_eq!(base, VaultKeyPair::derive(&k, &id(1), 1).public_key());
    assert_ne!(base, VaultKeyPair::derive(&k, &id(1), 2).public_key());
    assert_ne!(base, VaultKeyPair::derive(&k, &id(2), 1).public_key());
    assert_ne!(base, VaultKeyPair::derive(&vk(8), &id(1), 1).public_key());
    assert_eq!(<VaultKeyPair as X25519Identity>::KIND, RecipientKind::Vault);
}

#[test]
fn debug_shows_public_halves_and_never_private_ones() {
    let token = TokenCredential::from_parts(id(4), [0x55; 32]);
    let pair = TokenKeyPair::derive(&token);
    // The private scalar, derived independently.
    let mut private = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(&[4; 16]), &[0x55; 32])
        .expand(b"keyslot/v1/token/x25519", &mut private)
        .unwrap();
    let printed = format!("{pair:?}");
    assert!(printed.contains(&hex::encode(pair.public_key().as_bytes())));
    assert!(printed.contains("***"));
    assert!(!printed.contains(&hex::encode(private)));
    assert_eq!(
        format!("{:?}", pair.public_key()),
        format!("PublicKey({})", hex::encode(pair.public_key().as_bytes()))
    );
}

fn mac_of(seal: &dyn SealKey, holder: &Id, pk: &keyslot_crypto::PublicKey) -> [u8; 32] {
    public_key_mac(seal, RecipientKind::Token, holder, &id(1), None, None, pk).unwrap()
}

#[test]
fn a_public_key_copied_into_another_holders_row_fails_its_mac() {
    let seal = LocalSealKey::from_bytes([0x99; 32]);
    let (victim, attacker) = (id(20), id(21));
    let victim_pk = TokenKeyPair::derive(&TokenCredential::generate().unwrap()).public_key();
    let attacker_pk = TokenKeyPair::derive(&TokenCredential::generate().unwrap()).public_key();
    let victim_mac = mac_of(&seal, &victim, &victim_pk);
    let attacker_mac = mac_of(&seal, &attacker, &attacker_pk);
    let user = id(1);
    let check = |holder: &Id, pk, mac: &[u8]| {
        verify_public_key_mac(
            &seal,
            RecipientKind::Token,
            holder,
            &user,
            None,
            None,
            pk,
            mac,
        )
    };
    assert_eq!(check(&victim, &victim_pk, &victim_mac), Ok(()));
    // The attacker copies their own key, with or without their own MAC, into the victim's row.
    assert_eq!(
        check(&victim, &attacker_pk, &attacker_mac),
        Err(Error::PublicKeyMac)
    );
    assert_eq!(
        check(&victim, &attacker_pk, &victim_mac),
        Err(Error::PublicKeyMac)
    );
    // Truncated or empty MACs.
    assert_eq!(
        check(&victim, &victim_pk, &victim_mac[..31]),
        Err(Error::PublicKeyMac)
    );
    assert_eq!(check(&victim, &victim_pk, &[]), Err(Error::PublicKeyMac));
    // Every bound field: kind, user, vault, version.
    let vault_mac = public_key_mac(
        &seal,
        RecipientKind::Vault,
        &id(2),
        &user,
        Some(&id(2)),
        Some(3),
        &victim_pk,
    )
    .unwrap();
    let vault_check = |kind, user: &Id, vault: Option<&Id>, version| {
        verify_public_key_mac(
            &seal,
            kind,
            &id(2),
            user,
            vault,
            version,
            &victim_pk,
            &vault_mac,
        )
    };
    assert_eq!(
        vault_check(RecipientKind::Vault, &user, Some(&id(2)), Some(3)),
        Ok(())
    );
    for wrong in [
        vault_check(RecipientKind::User, &user, Some(&id(2)), Some(3)),
        vault_check(RecipientKind::Vault, &id(9), Some(&id(2)), Some(3)),
        vault_check(RecipientKind::Vault, &user, Some(&id(9)), Some(3)),
        vault_check(RecipientKind::Vault, &user, None, Some(3)),
        vault_check(RecipientKind::Vault, &user, Some(&id(2)), Some(4)),
        vault_check(RecipientKind::Vault, &user, Some(&id(2)), None),
    ] {
        assert_eq!(wrong, Err(Error::PublicKeyMac));
    }
    // Another seal key (another deployment) computes another MAC.
    let other = LocalSealKey::from_bytes([0x98; 32]);
    assert_ne!(mac_of(&other, &victim, &victim_pk), victim_mac);
}

#[test]
fn a_seal_key_without_macs_refuses_rather_than_skips_the_check() {
    #[derive(Debug)]
    struct NoMacs;
    impl SealKey for NoMacs {
        fn seal(&self, _: &Aad, _: &[u8]) -> keyslot_crypto::Result<keyslot_crypto::Envelope> {
            Err(Error::SealUnavailable)
        }
        fn open(
            &self,
            _: &Aad,
            _: &keyslot_crypto::Envelope,
        ) -> keyslot_crypto::Result<zeroize::Zeroizing<Vec<u8>>> {
            Err(Error::SealUnavailable)
        }
        fn fingerprint(&self) -> String {
            "none".into()
        }
    }
    let pk = keyslot_crypto::PublicKey::from_bytes([9; 32]);
    assert!(
        public_key_mac(
            &NoMacs,
            RecipientKind::User,
            &id(1),
            &id(1),
            None,
            None,
            &pk
        )
        .is_err()
    );
    assert!(
        verify_public_key_mac(
            &NoMacs,
            RecipientKind::User,
            &id(1),
            &id(1),
            None,
            None,
            &pk,
            &[0; 32]
        )
        .is_err()
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever a row holds, parsing and opening answer with an error, never a panic
        /// and never a key.
        #[test]
        fn arbitrary_bytes_never_panic_or_open(bytes in proptest::collection::vec(any::<u8>(), 0..120), text in ".{0,120}") {
            let pair = TokenKeyPair::derive(&TokenCredential::from_parts(id(4), [5; 32]));
            let aad = grant_aad(&id(1), &id(2), 1, RecipientKind::Token, &id(4));
            if let Ok(sealed) = SealedKey::from_bytes(&bytes) {
                prop_assert!(open_from::<VaultKey>(&pair, &sealed, &aad).is_err());
            }
            let _ = SealedKey::from_base64(&text);
            let _ = keyslot_crypto::PublicKey::from_slice(&bytes);
        }

        /// A grant opens under exactly its own (owner, vault, version, recipient) and under
        /// no context that differs in any one of them.
        #[test]
        fn a_grant_opens_only_in_its_own_context(owner in any::<[u8; 16]>(), vault in any::<[u8; 16]>(), version in 1u32..u32::MAX, other in any::<[u8; 16]>()) {
            let token = TokenCredential::generate().unwrap();
            let pair = TokenKeyPair::derive(&token);
            let (owner, vault, other) = (Id::from_bytes(owner), Id::from_bytes(vault), Id::from_bytes(other));
            let aad = grant_aad(&owner, &vault, version, RecipientKind::Token, token.id());
            let sealed = seal_to(&pair.public_key(), &vk(3), &aad).unwrap();
            prop_assert!(open_from::<VaultKey>(&pair, &sealed, &aad).is_ok());
            let mut changed = vec![
                grant_aad(&owner, &vault, version - 1, RecipientKind::Token, token.id()),
            ];
            if other != owner {
                changed.push(grant_aad(&other, &vault, version, RecipientKind::Token, token.id()));
            }
            if other != vault {
                changed.push(grant_aad(&owner, &other, version, RecipientKind::Token, token.id()));
            }
            if &other != token.id() {
                changed.push(grant_aad(&owner, &vault, version, RecipientKind::Token, &other));
            }
            for wrong in &changed {
                prop_assert_eq!(open_from::<VaultKey>(&pair, &sealed, wrong).unwrap_err(), Error::Decrypt);
            }
        }
    }
}
