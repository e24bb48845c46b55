//! Properties: round trips, and every tampering fails cleanly (an error, never a panic and
//! never the wrong plaintext).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use keyslot_crypto::slot::item_key_aad;
use keyslot_crypto::{
    Aad, ContentKey, Envelope, Id, ItemKey, Purpose, RecoveryCode, SessionCredential,
    TokenCredential, VaultKey, Wraps,
};
use proptest::prelude::*;

fn id(seed: [u8; 16]) -> Id {
    Id::from_bytes(seed)
}

/// The item-value AAD of a fixed record, and each single-field change of it.
fn aad_variants(user: Id, vault: Id, item: Id, version: u64) -> (Aad, Vec<Aad>) {
    let other = Id::from_bytes([0xee; 16]);
    let base = Aad::new(Purpose::ItemValue)
        .user(&user)
        .vault(&vault)
        .item(&item)
        .item_version(version)
        .key_version(1);
    let changed = vec![
        Aad::new(Purpose::ItemName)
            .user(&user)
            .vault(&vault)
            .item(&item)
            .item_version(version)
            .key_version(1),
        Aad::new(Purpose::ItemValue)
            .user(&other)
            .vault(&vault)
            .item(&item)
            .item_version(version)
            .key_version(1),
        Aad::new(Purpose::ItemValue)
            .user(&user)
            .vault(&other)
            .item(&item)
            .item_version(version)
            .key_version(1),
        Aad::new(Purpose::ItemValue)
            .user(&user)
            .vault(&vault)
            .item(&other)
            .item_version(version)
            .key_version(1),
        Aad::new(Purpose::ItemValue)
            .user(&user)
            .vault(&vault)
            .item(&item)
            .item_version(version + 1)
            .key_version(1),
        Aad::new(Purpose::ItemValue)
            .user(&user)
            .vault(&vault)
            .item(&item)
            .item_version(version)
            .key_version(2),
        Aad::new(Purpose::ItemValue)
            .user(&user)
            .vault(&vault)
            .item(&item)
            .item_version(version),
    ];
    (base, changed)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn envelope_round_trips(plain in proptest::collection::vec(any::<u8>(), 0..2048), u in any::<[u8; 16]>(), v in any::<[u8; 16]>(), i in any::<[u8; 16]>(), ver in 1u64..u64::MAX) {
        let key = ItemKey::generate().unwrap();
        let (aad, _) = aad_variants(id(u), id(v), id(i), ver);
        let sealed = key.seal_content(&aad, &plain).unwrap();
        let decoded = Envelope::from_bytes(&sealed.to_bytes()).unwrap();
        prop_assert_eq!(&decoded, &sealed);
        prop_assert_eq!(Envelope::from_base64(&sealed.to_base64()).unwrap(), sealed);
        let opened = key.open_content(&aad, &decoded).unwrap();
        prop_assert_eq!(opened.as_slice(), &plain[..]);
    }

    #[test]
    fn any_flipped_bit_fails_to_open(plain in proptest::collection::vec(any::<u8>(), 0..256), bit in any::<prop::sample::Index>()) {
        let key = ItemKey::generate().unwrap();
        let (aad, _) = aad_variants(id([1; 16]), id([2; 16]), id([3; 16]), 1);
        let mut bytes = key.seal_content(&aad, &plain).unwrap().to_bytes();
        let bit = bit.index(bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        // Either the structure is refused or the tag is: never a panic, never plaintext.
        match Envelope::from_bytes(&bytes) {
            Err(_) => {}
            Ok(env) => prop_assert!(key.open_content(&aad, &env).is_err()),
        }
    }

    #[test]
    fn changing_any_aad_component_fails(plain in proptest::collection::vec(any::<u8>(), 0..256), ver in 1u64..1000) {
        let key = ItemKey::generate().unwrap();
        let (aad, changed) = aad_variants(id([1; 16]), id([2; 16]), id([3; 16]), ver);
        let sealed = key.seal_content(&aad, &plain).unwrap();
        for other in &changed {
            prop_assert!(key.open_content(other, &sealed).is_err());
        }
    }

    #[test]
    fn wrapped_item_key_is_bound_to_its_item(ver in 1u64..1000) {
        let vault_key = VaultKey::generate().unwrap();
        let item_key = ItemKey::generate().unwrap();
        let (u, v, i) = (id([1; 16]), id([2; 16]), id([3; 16]));
        let wrapped = vault_key.wrap(&item_key, &item_key_aad(&u, &v, &i, ver, 1)).unwrap();
        let opened: ItemKey = vault_key.unwrap_key(&wrapped, &item_key_aad(&u, &v, &i, ver, 1)).unwrap();
        prop_assert_eq!(opened.expose_secret(), item_key.expose_secret());
        let moved: Result<ItemKey, _> = vault_key.unwrap_key(&wrapped, &item_key_aad(&u, &v, &id([4; 16]), ver, 1));
        prop_assert!(moved.is_err());
        let replayed: Result<ItemKey, _> = vault_key.unwrap_key(&wrapped, &item_key_aad(&u, &v, &i, ver + 1, 1));
        prop_assert!(replayed.is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(bytes in proptest::collection::vec(any::<u8>(), 0..200), text in ".{0,100}") {
        let _ = Envelope::from_bytes(&bytes);
        let _ = Envelope::from_base64(&text);
        let _ = TokenCredential::parse(&text);
        let _ = SessionCredential::parse(&text);
        let _ = RecoveryCode::parse(&text);
        let _ = text.parse::<Id>();
    }

    #[test]
    fn token_text_round_trips(idb in any::<[u8; 16]>(), secret in any::<[u8; 32]>()) {
        let token = TokenCredential::from_parts(Id::from_bytes(idb), secret);
        let text = token.expose_text();
        prop_assert_eq!(text.len(), 75);
        prop_assert!(text.starts_with("kst_"));
        let parsed = TokenCredential::parse(&text).unwrap();
        prop_assert_eq!(parsed.id(), token.id());
        prop_assert_eq!(parsed.expose_secret(), token.expose_secret());
        // A token is not a session, and vice versa.
        prop_assert!(SessionCredential::parse(&text).is_err());
    }

    #[test]
    fn any_single_character_change_to_a_token_is_rejected(idb in any::<[u8; 16]>(), secret in any::<[u8; 32]>(), pos in any::<prop::sample::Index>(), replacement in any::<char>()) {
        let text = TokenCredential::from_parts(Id::from_bytes(idb), secret).expose_text().to_string();
        let pos = pos.index(text.len());
        let original = text.as_bytes()[pos] as char;
        prop_assume!(replacement != original);
        let mut changed: String = text[..pos].to_string();
        changed.push(replacement);
        changed.push_str(&text[pos + 1..]);
        prop_assert!(TokenCredential::parse(&changed).is_err());
    }

    #[test]
    fn recovery_code_round_trips_loosely_typed(bytes in any::<[u8; 16]>()) {
        let code = RecoveryCode::from_bytes(bytes);
        let text = code.expose_text();
        prop_assert_eq!(text.len(), 26 + 6);
        let retyped = text.to_lowercase().replace('-', " ");
        let (a, b) = (RecoveryCode::parse(&retyped).unwrap(), RecoveryCode::parse(&text).unwrap());
        prop_assert_eq!(a.expose_secret(), &bytes);
        prop_assert_eq!(b.expose_secret(), &bytes);
    }
}

#[test]
fn recovery_code_refuses_wrong_lengths_and_characters() {
    let text = RecoveryCode::from_bytes([0xff; 16])
        .expose_text()
        .to_string();
    assert!(RecoveryCode::parse(&text[..text.len() - 1]).is_err());
    assert!(RecoveryCode::parse(&format!("{text}0")).is_err());
    assert!(RecoveryCode::parse(&text.replace('Z', "U")).is_err() || !text.contains('Z'));
    // The first digit carries only three bits: 8 and above cannot come from a real code.
    let mut too_big = text.clone();
    too_big.replace_range(0..1, "8");
    assert!(RecoveryCode::parse(&too_big).is_err());
}

#[test]
fn ids_parse_only_their_canonical_form() {
    let id = Id::random().unwrap();
    let text = id.to_string();
    assert_eq!(text.parse::<Id>().unwrap(), id);
    assert!(text.to_uppercase().parse::<Id>().is_err() || text.chars().all(|c| c.is_ascii_digit()));
    assert!(text[..31].parse::<Id>().is_err());
    assert!("../../etc/passwd".parse::<Id>().is_err());
}

#[test]
fn secrets_do_not_leak_through_debug() {
    let token = TokenCredential::generate().unwrap();
    let text = token.expose_text().to_string();
    let secret_hex = hex::encode(token.expose_secret());
    let debug = format!("{token:?}");
    assert!(
        !debug.contains(&text[4..20]) && !debug.contains(&secret_hex[..16]),
        "{debug}"
    );
    let key = VaultKey::generate().unwrap();
    assert_eq!(format!("{key:?}"), "VaultKey(***)");
    let code = RecoveryCode::generate().unwrap();
    assert_eq!(format!("{code:?}"), "RecoveryCode(***)");
    assert_eq!(
        format!("{:?}", keyslot_crypto::Password::new("hunter2 hunter2")),
        "Password(***)"
    );
}
