//! `cargo bench -p keyslot-crypto`: seal/open at 1 KiB and 64 KiB, token
//! parse + verify + unwrap, and Argon2id at the default parameters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use divan::{Bencher, black_box};
use keyslot_crypto::slot::password::derive;
use keyslot_crypto::{
    Aad, Argon2Params, ContentKey, Id, ItemKey, Password, Purpose, TokenCredential, VaultKey,
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
