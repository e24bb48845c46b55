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
use keyslot_crypto::public_key_mac::public_key_mac_input;
use keyslot_crypto::sealed_key::seal_with_ephemeral_ikm;
use keyslot_crypto::slot::item_key_aad;
use keyslot_crypto::slot::password::derive;
use keyslot_crypto::x25519::token_public_key;
use keyslot_crypto::{
    Aad, Argon2Params, Id, LocalSealKey, Password, Purpose, RecipientKind, RecoveryCode,
    RecoveryKeyPair, SealKey, SealedKey, SessionCredential, TokenCredential, TokenKeyPair,
    VaultKey, VaultKeyPair, chain_aad, deposit_aad, grant_aad, public_key_mac, user_key_grant_aad,
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
    v.extend(lifecycle_vectors());
    v
}

/// The fixed inputs of the key-lifecycle vectors (`docs/FORMAT.md` §9, §10).
const GRANT_VK: [u8; 32] = [0x5a; 32];
const GRANT_IKM_E: [u8; 32] = [0x0e; 32];
const VK_1: [u8; 32] = [0x61; 32];
const VK_2: [u8; 32] = [0x62; 32];
const CHAIN_NONCE: [u8; 24] = [0x25; 24];

fn grant_vector_aad() -> Aad {
    let (user, vault, _, cred) = ids();
    grant_aad(&user, &vault, 2, RecipientKind::Token, &cred)
}

fn lifecycle_vectors() -> Vec<(&'static str, String)> {
    let (user, vault, item, cred) = ids();
    let mut v = vec![
        (
            "aad.vault_key_grant",
            hex::encode(grant_vector_aad().encode()),
        ),
        (
            "aad.user_key_grant",
            hex::encode(user_key_grant_aad(&user, &cred).encode()),
        ),
        (
            "aad.deposit_item_key",
            hex::encode(deposit_aad(&user, &vault, &item, 7, 2).encode()),
        ),
        (
            "aad.vault_key_chain",
            hex::encode(chain_aad(&user, &vault, 1).encode()),
        ),
    ];

    let token = TokenCredential::from_parts(cred, [0x55; 32]);
    let token_pair = TokenKeyPair::derive(&token);
    let code = RecoveryCode::from_bytes([0x77; 16]);
    let recovery_pk = RecoveryKeyPair::derive(&code, &cred).public_key();
    v.push((
        "recovery.x25519_public",
        hex::encode(recovery_pk.as_bytes()),
    ));
    let vault_pk = VaultKeyPair::derive(&VaultKey::from_bytes(VK_2), &vault, 2).public_key();
    v.push(("vault.x25519_public", hex::encode(vault_pk.as_bytes())));

    let sealed = seal_with_ephemeral_ikm(
        &token_pair.public_key(),
        &VaultKey::from_bytes(GRANT_VK),
        &grant_vector_aad(),
        &GRANT_IKM_E,
    )
    .unwrap();
    v.push(("sealed_key.vault_key_grant", hex::encode(sealed.to_bytes())));
    v.push(("sealed_key.vault_key_grant.base64url", sealed.to_base64()));

    let link = seal_with_nonce(&VK_2, 2, CHAIN_NONCE, &chain_aad(&user, &vault, 1), &VK_1).unwrap();
    v.push(("envelope.vault_key_chain", hex::encode(link.to_bytes())));

    let seal = LocalSealKey::from_bytes([0x99; 32]);
    let token_pk = token_pair.public_key();
    v.push((
        "public_key_mac.token.input",
        hex::encode(public_key_mac_input(
            RecipientKind::Token,
            &cred,
            &user,
            None,
            None,
            &token_pk,
        )),
    ));
    v.push((
        "public_key_mac.token",
        hex::encode(
            public_key_mac(
                &seal,
                RecipientKind::Token,
                &cred,
                &user,
                None,
                None,
                &token_pk,
            )
            .unwrap(),
        ),
    ));
    v.push((
        "public_key_mac.vault.input",
        hex::encode(public_key_mac_input(
            RecipientKind::Vault,
            &vault,
            &user,
            Some(&vault),
            Some(2),
            &vault_pk,
        )),
    ));
    v.push((
        "public_key_mac.vault",
        hex::encode(
            public_key_mac(
                &seal,
                RecipientKind::Vault,
                &vault,
                &user,
                Some(&vault),
                Some(2),
                &vault_pk,
            )
            .unwrap(),
        ),
    ));
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

#[test]
fn documented_sealed_key_opens_with_the_documented_token_and_chain_link_with_vk_2() {
    let (user, vault, _, cred) = ids();
    let sealed =
        SealedKey::from_base64(documented("sealed_key.vault_key_grant.base64url").unwrap())
            .unwrap();
    let token = TokenCredential::from_parts(cred, [0x55; 32]);
    let opened: VaultKey =
        keyslot_crypto::open_from(&TokenKeyPair::derive(&token), &sealed, &grant_vector_aad())
            .unwrap();
    assert_eq!(opened.expose_secret(), &GRANT_VK);
    let link = keyslot_crypto::Envelope::from_bytes(
        &hex::decode(documented("envelope.vault_key_chain").unwrap()).unwrap(),
    )
    .unwrap();
    let older =
        keyslot_crypto::open_chain(&VaultKey::from_bytes(VK_2), &link, &user, &vault, 1).unwrap();
    assert_eq!(older.expose_secret(), &VK_1);
}

/// The document, not the code, is the specification: rebuild the grant from the text of
/// §9 with the `hpke` crate and HKDF directly (the token's private key from §5.1's PRK and
/// label, `info` = the documented AAD, the AEAD's associated data = the two header bytes),
/// and open the documented bytes.
#[test]
fn documented_sealed_key_opens_by_the_documented_recipe() {
    use hpke::{Deserializable, Kem as _, OpModeR};
    let bytes = hex::decode(documented("sealed_key.vault_key_grant").unwrap()).unwrap();
    assert_eq!(bytes.len(), 82);
    assert_eq!(&bytes[..2], &[1, 1]);
    let mut sk = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(&[0x44; 16]), &[0x55; 32])
        .expand(b"keyslot/v1/token/x25519", &mut sk)
        .unwrap();
    type Kem = hpke::kem::X25519HkdfSha256;
    let sk = <Kem as hpke::Kem>::PrivateKey::from_bytes(&sk).unwrap();
    assert_eq!(
        hex::encode(hpke::Serializable::to_bytes(&Kem::sk_to_pk(&sk))),
        documented("token.x25519_public").unwrap()
    );
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&bytes[2..34]).unwrap();
    let info = hex::decode(documented("aad.vault_key_grant").unwrap()).unwrap();
    let mut ctx = hpke::setup_receiver::<hpke::aead::ChaCha20Poly1305, hpke::kdf::HkdfSha256, Kem>(
        &OpModeR::Base,
        &sk,
        &enc,
        &info,
    )
    .unwrap();
    assert_eq!(ctx.open(&bytes[34..], &bytes[..2]).unwrap(), GRANT_VK);
}

/// §9.3 from its text: the key-file pk-mac key by HKDF, then HMAC-SHA256 over the
/// documented input, gives the documented MAC.
#[test]
fn documented_public_key_macs_follow_the_documented_recipe() {
    use hmac::{KeyInit, Mac};
    let mut key = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, &[0x99; 32])
        .expand(b"keyslot/v1/seal/public-key-mac", &mut key)
        .unwrap();
    for name in ["public_key_mac.token", "public_key_mac.vault"] {
        let input = hex::decode(documented(&format!("{name}.input")).unwrap()).unwrap();
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
        mac.update(&input);
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            documented(name).unwrap(),
            "{name}"
        );
    }
}
