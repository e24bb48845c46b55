//! The vectors of `docs/FORMAT.md` §9.4 for a deposit sealed to its readers (made while
//! the vault's rotation is due): the AAD that names the reader, and an item key sealed to
//! a token under it, recomputed here and compared with the document; the documented bytes
//! open with the token's pair, and not under the vault-recipient AAD of §3.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use keyslot_crypto::sealed_key::seal_with_ephemeral_ikm;
use keyslot_crypto::{
    Id, ItemKey, RecipientKind, SealedKey, TokenCredential, TokenKeyPair, deposit_aad, open_from,
};

const FORMAT_MD: &str = include_str!("../../../docs/FORMAT.md");
/// The item key of the vector (the key of `envelope.item_value`, §4).
const ITEM_KEY: [u8; 32] = [0x42; 32];
/// The ephemeral input of the vector only (real seals draw it from the CSPRNG).
const IKM_E: [u8; 32] = [0x0e; 32];

fn documented(name: &str) -> Option<&'static str> {
    FORMAT_MD.lines().find_map(|line| {
        let (k, val) = line.split_once(" = ")?;
        (k.trim() == name).then(|| val.trim())
    })
}

/// Owner 11…11, vault 22…22, item 33…33 at item version 7 and key version 2, the reader
/// token 44…44 (secret 55…55).
fn reader_aad() -> keyslot_crypto::Aad {
    let (user, vault, item, token) = (
        Id::from_bytes([0x11; 16]),
        Id::from_bytes([0x22; 16]),
        Id::from_bytes([0x33; 16]),
        Id::from_bytes([0x44; 16]),
    );
    deposit_aad(&user, &vault, &item, 7, 2).recipient(RecipientKind::Token, &token)
}

fn token() -> TokenCredential {
    TokenCredential::from_parts(Id::from_bytes([0x44; 16]), [0x55; 32])
}

#[test]
fn the_reader_deposit_vectors_match_the_code() {
    let sealed = seal_with_ephemeral_ikm(
        &TokenKeyPair::derive(&token()).public_key(),
        &ItemKey::from_bytes(ITEM_KEY),
        &reader_aad(),
        &IKM_E,
    )
    .unwrap();
    let computed = [
        (
            "aad.deposit_item_key.reader",
            hex::encode(reader_aad().encode()),
        ),
        (
            "sealed_key.deposit_item_key.reader",
            hex::encode(sealed.to_bytes()),
        ),
    ];
    if std::env::var_os("KEYSLOT_PRINT_VECTORS").is_some() {
        for (name, value) in &computed {
            println!("{name} = {value}");
        }
    }
    for (name, value) in &computed {
        assert_eq!(
            documented(name),
            Some(value.as_str()),
            "vector {name} in docs/FORMAT.md"
        );
    }
}

#[test]
fn the_documented_reader_copy_opens_only_as_the_readers() {
    let bytes = hex::decode(documented("sealed_key.deposit_item_key.reader").unwrap()).unwrap();
    let sealed = SealedKey::from_bytes(&bytes).unwrap();
    let pair = TokenKeyPair::derive(&token());
    let key: ItemKey = open_from(&pair, &sealed, &reader_aad()).unwrap();
    assert_eq!(key.expose_secret(), &ITEM_KEY);
    // The same bytes under the AAD of a deposit sealed to the vault, or naming another
    // token: refused.
    let (user, vault, item) = (
        Id::from_bytes([0x11; 16]),
        Id::from_bytes([0x22; 16]),
        Id::from_bytes([0x33; 16]),
    );
    let as_vault = deposit_aad(&user, &vault, &item, 7, 2);
    assert!(open_from::<ItemKey>(&pair, &sealed, &as_vault).is_err());
    let other = as_vault.recipient(RecipientKind::Token, &Id::from_bytes([0x45; 16]));
    assert!(open_from::<ItemKey>(&pair, &sealed, &other).is_err());
}
