//! `cargo bench -p keyslot-crypto --bench e2e`: what end-to-end mode adds per request.
//! The server: parsing and checking a `ksa_` proof (every end-to-end token request). The
//! client: signing and verifying an item (every write and read of a shared vault), a
//! member list of 10 (every share and rotation), a pin check, a blind name index, and a
//! deposit's HPKE auth-mode seal and open.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use divan::{Bencher, black_box};
use keyslot_crypto::identity::role;
use keyslot_crypto::{
    AuthProof, E2eTokenCredential, Id, IdentityKeyPair, ItemKey, NameIndexKey, PinKey,
    TokenKeyPair, UserKey, VaultKey, VaultKeyPair, deposit_aad, open_from_auth, seal_item,
    seal_to_auth,
};

fn main() {
    divan::main();
}

fn id(byte: u8) -> Id {
    Id::from_bytes([byte; 16])
}

/// The server's whole check of a `ksa_` proof once the row is read: parse, SHA-256,
/// constant-time compare.
#[divan::bench]
fn ksa_parse_and_check(bencher: Bencher<'_, '_>) {
    let token = E2eTokenCredential::generate().unwrap();
    let unlocked = token.unlock();
    let stored = *unlocked.verifier();
    let text = unlocked.auth_proof().to_text().to_string();
    bencher.bench(|| {
        let proof = AuthProof::parse(black_box(&text)).unwrap();
        stored.check(&proof.verifier()).unwrap();
    });
}

#[divan::bench]
fn item_sign(bencher: Bencher<'_, '_>) {
    let identity = IdentityKeyPair::generate().unwrap();
    let vk = VaultKey::generate().unwrap();
    let sealed = seal_item(&vk, &id(1), &id(2), &id(3), 1, 1, "db/password", &[7; 1024]).unwrap();
    bencher.bench(|| identity.sign_item(&id(2), &id(3), 1, black_box(&sealed)));
}

#[divan::bench]
fn item_verify(bencher: Bencher<'_, '_>) {
    let identity = IdentityKeyPair::generate().unwrap();
    let public = identity.public();
    let vk = VaultKey::generate().unwrap();
    let sealed = seal_item(&vk, &id(1), &id(2), &id(3), 1, 1, "db/password", &[7; 1024]).unwrap();
    let signature = identity.sign_item(&id(2), &id(3), 1, &sealed);
    bencher.bench(|| {
        public
            .verify_item(&id(2), &id(3), 1, black_box(&sealed), &signature)
            .unwrap();
    });
}

#[divan::bench]
fn members_10_verify(bencher: Bencher<'_, '_>) {
    let owner = IdentityKeyPair::generate().unwrap();
    let members: Vec<_> = (0..10u8)
        .map(|i| {
            (
                id(i),
                role::WRITE,
                IdentityKeyPair::generate().unwrap().public(),
            )
        })
        .collect();
    let signature = owner.sign_members(&id(0xaa), 3, &members).unwrap();
    let public = owner.public();
    bencher.bench(|| {
        public
            .verify_members(&id(0xaa), 3, black_box(&members), &signature)
            .unwrap();
    });
}

#[divan::bench]
fn pin_check(bencher: Bencher<'_, '_>) {
    let key = PinKey::derive(&UserKey::generate().unwrap(), &id(1));
    let bob = IdentityKeyPair::generate().unwrap().public();
    let pin = key.pin(&id(2), &bob);
    bencher.bench(|| key.check(&id(2), black_box(&bob), &pin).unwrap());
}

/// Derive the index key and index one name: what `keyslot read ks://vault/item` does
/// before asking for the item.
#[divan::bench]
fn name_index(bencher: Bencher<'_, '_>) {
    let vk = VaultKey::generate().unwrap();
    bencher.bench(|| NameIndexKey::derive(&vk, &id(2), 4).index(black_box("db/password")));
}

#[divan::bench]
fn deposit_auth_seal(bencher: Bencher<'_, '_>) {
    let vault = VaultKeyPair::derive(&VaultKey::generate().unwrap(), &id(2), 1);
    let token = TokenKeyPair::derive(&E2eTokenCredential::generate().unwrap());
    let key = ItemKey::generate().unwrap();
    let aad = deposit_aad(&id(1), &id(2), &id(3), 1, 1);
    bencher.bench(|| seal_to_auth(&vault.public_key(), &token, &key, &aad).unwrap());
}

#[divan::bench]
fn deposit_auth_open(bencher: Bencher<'_, '_>) {
    let vault = VaultKeyPair::derive(&VaultKey::generate().unwrap(), &id(2), 1);
    let token = TokenKeyPair::derive(&E2eTokenCredential::generate().unwrap());
    let aad = deposit_aad(&id(1), &id(2), &id(3), 1, 1);
    let sealed = seal_to_auth(
        &vault.public_key(),
        &token,
        &ItemKey::generate().unwrap(),
        &aad,
    )
    .unwrap();
    let sender = token.public_key();
    bencher.bench(|| open_from_auth::<ItemKey>(&vault, &sender, black_box(&sealed), &aad).unwrap());
}
