//! The test vectors of `docs/FORMAT.md`, recomputed here and compared with the document,
//! so the document cannot drift from the code. Every vector line in the document has the
//! form `name = hex-or-text` inside a fenced block; run with `KEYSLOT_PRINT_VECTORS=1` to
//! print the computed lines.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use keyslot_crypto::envelope::seal_with_nonce;
use keyslot_crypto::slot::item_key_aad;
use keyslot_crypto::slot::password::derive;
use keyslot_crypto::x25519::token_public_key;
use keyslot_crypto::{
    Aad, Argon2Params, Id, LocalSealKey, Password, Purpose, RecoveryCode, SealKey,
    SessionCredential, TokenCredential,
};

const FORMAT_MD: &str = include_str!("../../../docs/FORMAT.md");

fn ids() -> (Id, Id, Id, Id) {
    (
        Id::from_bytes([0x11; 16]),
        Id::from_bytes([0x22; 16]),
        Id::from_bytes([0x33; 16]),
        Id::from_bytes([0x44; 16]),
    )
}

fn computed() -> Vec<(&'static str, String)> {
    let (user, vault, item, cred) = ids();
    let key = [0x42u8; 32];
    let nonce = [0x24u8; 24];
    let mut v = Vec::new();

    let aad = Aad::new(Purpose::ItemValue)
        .user(&user)
        .vault(&vault)
        .item(&item)
        .item_version(7)
        .key_version(1);
    v.push(("aad.item_value", hex::encode(aad.encode())));
    let env = seal_with_nonce(&key, 1, nonce, &aad, b"hello keyslot").unwrap();
    v.push(("envelope.item_value", hex::encode(env.to_bytes())));
    v.push(("envelope.item_value.base64url", env.to_base64()));
    let ik_aad = item_key_aad(&user, &vault, &item, 7, 1);
    v.push(("aad.item_key", hex::encode(ik_aad.encode())));

    let token = TokenCredential::from_parts(cred, [0x55; 32]);
    v.push(("token.text", token.expose_text().to_string()));
    let t = token.unlock();
    v.push(("token.verifier", hex::encode(t.verifier().as_bytes())));
    v.push((
        "token.wrap_key",
        hex::encode(t.expose_wrap_key().expose_secret()),
    ));
    v.push(("token.x25519_public", hex::encode(token_public_key(&token))));

    let session = SessionCredential::from_parts(cred, [0x66; 32]);
    v.push(("session.text", session.expose_text().to_string()));
    let s = session.unlock();
    v.push(("session.verifier", hex::encode(s.verifier().as_bytes())));
    v.push((
        "session.wrap_key",
        hex::encode(s.expose_wrap_key().expose_secret()),
    ));
    v.push(("session.csrf_token", session.csrf_token().to_string()));
    v.push((
        "aad.session_user_key_slot",
        hex::encode(
            Aad::new(Purpose::UserKeySlot)
                .user(&user)
                .credential(keyslot_crypto::CredentialKind::Session, &cred)
                .encode(),
        ),
    ));

    let code = RecoveryCode::from_bytes([0x77; 16]);
    v.push(("recovery.text", code.expose_text().to_string()));
    let r = code.unlock(cred);
    v.push(("recovery.verifier", hex::encode(r.verifier().as_bytes())));
    v.push((
        "recovery.wrap_key",
        hex::encode(r.expose_wrap_key().expose_secret()),
    ));

    let p = derive(
        &Password::new("correct horse battery staple"),
        &[0x88; 16],
        &Argon2Params::OWASP,
        cred,
    )
    .unwrap();
    v.push(("password.verifier", hex::encode(p.verifier().as_bytes())));
    v.push((
        "password.wrap_key",
        hex::encode(p.expose_wrap_key().expose_secret()),
    ));

    let seal = LocalSealKey::from_bytes([0x99; 32]);
    v.push(("seal_key.file", seal.to_file_text().trim_end().to_string()));
    v.push(("seal_key.fingerprint", seal.fingerprint()));
    v
}

fn documented(name: &str) -> Option<&'static str> {
    FORMAT_MD.lines().find_map(|line| {
        let (k, val) = line.split_once(" = ")?;
        (k.trim() == name).then(|| val.trim())
    })
}

#[test]
fn format_md_vectors_match_the_code() {
    let all = computed();
    if std::env::var_os("KEYSLOT_PRINT_VECTORS").is_some() {
        for (name, value) in &all {
            println!("{name} = {value}");
        }
    }
    for (name, value) in &all {
        assert_eq!(
            documented(name),
            Some(value.as_str()),
            "vector {name} in docs/FORMAT.md"
        );
    }
}

#[test]
fn documented_envelope_opens_and_documented_token_parses() {
    let (user, vault, item, cred) = ids();
    let aad = Aad::new(Purpose::ItemValue)
        .user(&user)
        .vault(&vault)
        .item(&item)
        .item_version(7)
        .key_version(1);
    let env =
        keyslot_crypto::Envelope::from_base64(documented("envelope.item_value.base64url").unwrap())
            .unwrap();
    let key = keyslot_crypto::ItemKey::from_bytes([0x42; 32]);
    let plain = keyslot_crypto::ContentKey::open_content(&key, &aad, &env).unwrap();
    assert_eq!(plain.as_slice(), b"hello keyslot");
    let token = TokenCredential::parse(documented("token.text").unwrap()).unwrap();
    assert_eq!(token.id(), &cred);
    assert_eq!(token.expose_secret(), &[0x55; 32]);
    let seal = LocalSealKey::from_file_text(documented("seal_key.file").unwrap()).unwrap();
    assert_eq!(
        seal.fingerprint(),
        documented("seal_key.fingerprint").unwrap()
    );
}
