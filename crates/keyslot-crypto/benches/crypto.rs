//! `cargo bench -p keyslot-crypto`: seal/open at 1 KiB and 64 KiB, token
//! parse + verify + unwrap, Argon2id at the default parameters, and the key lifecycle's
//! HPKE: sealing a grant (once per holder in a rotation) and converting one (a token's
//! next request after a rotation).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use divan::{Bencher, black_box};
use keyslot_crypto::slot::password::derive;
use keyslot_crypto::{
    Aad, Argon2Params, ContentKey, Id, ItemKey, Password, Purpose, RecipientKind, TokenCredential,
    TokenKeyPair, VaultKey, grant_aad, open_from, seal_to,
};

fn main() {
    divan::main();
}

fn aad() -> Aad {
    let id = Id::from_bytes([7; 16]);
    Aad::new(Purpose::ItemValue)
        .user(&id)
        .vault(&id)
        .item(&id)
        .item_version(1)
        .key_version(1)
}

#[divan::bench(args = [1024, 65536])]
fn seal(bencher: Bencher<'_, '_>, len: usize) {
    let key = ItemKey::generate().unwrap();
    let plain = vec![0xabu8; len];
    let aad = aad();
    bencher
        .counter(divan::counter::BytesCount::new(len))
        .bench(|| key.seal_content(&aad, black_box(&plain)).unwrap());
}

#[divan::bench(args = [1024, 65536])]
fn open(bencher: Bencher<'_, '_>, len: usize) {
    let key = ItemKey::generate().unwrap();
    let aad = aad();
    let sealed = key.seal_content(&aad, &vec![0xabu8; len]).unwrap();
    bencher
        .counter(divan::counter::BytesCount::new(len))
        .bench(|| key.open_content(&aad, black_box(&sealed)).unwrap());
}

/// What every token request does before touching the item: parse the text, derive, check
/// the verifier in constant time, open the vault-key slot.
#[divan::bench]
fn token_parse_verify_unwrap(bencher: Bencher<'_, '_>) {
    let user = Id::from_bytes([1; 16]);
    let vault = Id::from_bytes([2; 16]);
    let token = TokenCredential::generate().unwrap();
    let text = token.expose_text().to_string();
    let unlocked = token.unlock();
    let stored = *unlocked.verifier();
    let slot = unlocked
        .wrap_vault_key(&user, &vault, 1, &VaultKey::generate().unwrap())
        .unwrap();
    bencher.bench(|| {
        let parsed = TokenCredential::parse(black_box(&text)).unwrap();
        let cred = parsed.unlock();
        cred.check(&stored).unwrap();
        cred.open_vault_key(&user, &vault, 1, &slot).unwrap()
    });
}

#[divan::bench(sample_count = 20)]
fn argon2id_default_params(bencher: Bencher<'_, '_>) {
    let password = Password::new("correct horse battery staple");
    bencher.bench(|| {
        derive(
            &password,
            &[9; 16],
            &Argon2Params::OWASP,
            Id::from_bytes([3; 16]),
        )
        .unwrap()
    });
}

/// One grant of a rotation: seal the new vault key to one holder's public key (HPKE:
/// an ephemeral X25519 key, one DH, the key schedule, ChaCha20-Poly1305 of 32 bytes).
/// A rotation does this once per holder, never per item.
#[divan::bench]
fn grant_seal(bencher: Bencher<'_, '_>) {
    let token = TokenCredential::generate().unwrap();
    let pk = TokenKeyPair::derive(&token).public_key();
    let key = VaultKey::generate().unwrap();
    let aad = grant_aad(
        &Id::from_bytes([1; 16]),
        &Id::from_bytes([2; 16]),
        2,
        RecipientKind::Token,
        token.id(),
    );
    bencher.bench(|| seal_to(black_box(&pk), &key, &aad).unwrap());
}

/// A token's first request after a rotation: derive its key pair from the presented
/// secret, open the pending grant, wrap the vault key into an ordinary slot.
#[divan::bench]
fn grant_convert(bencher: Bencher<'_, '_>) {
    let (user, vault) = (Id::from_bytes([1; 16]), Id::from_bytes([2; 16]));
    let token = TokenCredential::generate().unwrap();
    let aad = grant_aad(&user, &vault, 2, RecipientKind::Token, token.id());
    let grant = seal_to(
        &TokenKeyPair::derive(&token).public_key(),
        &VaultKey::generate().unwrap(),
        &aad,
    )
    .unwrap();
    let unlocked = token.unlock();
    bencher.bench(|| {
        let key: VaultKey =
            open_from(&TokenKeyPair::derive(&token), black_box(&grant), &aad).unwrap();
        unlocked.wrap_vault_key(&user, &vault, 2, &key).unwrap()
    });
}
