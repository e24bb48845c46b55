//! The end-to-end formats of `docs/FORMAT.md` §11: known answers, and the refusals an
//! attacker would try.
//!
//! The vector values live in one file, `tests/vectors/e2e.json` (`{"vectors": {name:
//! value}}`), which the browser build's tests read too. This test recomputes every value
//! from the code, checks the file against it, and checks that §11 of FORMAT.md lists
//! exactly the file's vectors (`name = value` lines), so code, file and document cannot
//! drift apart. Run with `KEYSLOT_PRINT_VECTORS=1` to print the computed values as JSON.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::collections::BTreeMap;

use keyslot_crypto::envelope::seal_with_nonce;
use keyslot_crypto::identity::{
    item_message, members_message, role, token_key_message, user_x25519_message, vault_key_message,
};
use keyslot_crypto::item::vault_name_aad;
use keyslot_crypto::sealed_key_auth::seal_auth_with_ephemeral_ikm;
use keyslot_crypto::slot::password::derive;
use keyslot_crypto::text_credential::CredentialFormatError;
use keyslot_crypto::{
    Aad, Argon2Params, AuthProof, AuthSealedKey, E2eTokenCredential, Error, Id, IdentityKeyPair,
    IdentityPublic, ItemKey, ItemPlace, KdfPolicy, LocalSealKey, MacLabel, NameIndexKey, Password,
    PinKey, PublicKey, Purpose, SealKey, SealedItem, SealedKey, Signature, TokenCredential,
    TokenKeyPair, UnlockedCredential, UserKey, UserKeyPair, VaultKey, VaultKeyPair, deposit_aad,
    open_from_auth, open_item, open_item_name, open_vault_name, prelogin, seal_item, seal_to,
    seal_to_auth, seal_vault_name,
};

const FORMAT_MD: &str = include_str!("../../../docs/FORMAT.md");
const VECTORS_JSON: &str = include_str!("vectors/e2e.json");

fn id(byte: u8) -> Id {
    Id::from_bytes([byte; 16])
}

/// The password vector of §5.2: `correct horse battery staple`, salt 88…88, credential
/// 44…44, the OWASP parameters.
fn password_credential() -> UnlockedCredential {
    derive(
        &Password::new("correct horse battery staple"),
        &[0x88; 16],
        &Argon2Params::OWASP,
        id(0x44),
    )
    .unwrap()
}

fn e2e_token() -> E2eTokenCredential {
    E2eTokenCredential::from_parts(id(0x44), [0x55; 32])
}

/// §11.1: `kse_` and `ksa_` texts, `auth` of a token and a password.
fn credential_vectors(v: &mut BTreeMap<String, String>) {
    let token = e2e_token();
    v.insert("e2e_token.text".into(), token.expose_text().to_string());
    let proof = token.unlock().auth_proof();
    v.insert("e2e_token.auth".into(), hex::encode(proof.expose_auth()));
    v.insert("e2e_token.auth_proof".into(), proof.to_text().to_string());
    let password = password_credential().auth_proof();
    v.insert("password.auth".into(), hex::encode(password.expose_auth()));
    v.insert(
        "password.auth.base64url".into(),
        password.auth_base64url().to_string(),
    );
    // The anchored id of a token with secret 55…55 minted by the identity of seed 66…66.
    let anchor = keyslot_crypto::token_anchor::TokenAnchorKey::derive(&[0x55; 32]);
    v.insert(
        "token_anchor.id".into(),
        anchor
            .id_for(&IdentityKeyPair::from_seed(&[0x66; 32]).public())
            .to_string(),
    );
}

/// §11.2: the prelogin's stand-in salt and credential id, seal key 99…99 (§7).
fn prelogin_vectors(v: &mut BTreeMap<String, String>) {
    let seal = LocalSealKey::from_bytes([0x99; 32]);
    let (salt, credential_id) = prelogin::fake_parameters(&seal, "alice").unwrap();
    v.insert("prelogin.alice.salt".into(), hex::encode(salt));
    v.insert(
        "prelogin.alice.credential_id".into(),
        credential_id.to_string(),
    );
}

/// §11.3: an item and a vault name sealed with fixed nonces, and a name index. Owner
/// 11…11, vault 22…22, item 33…33 at item version 7, VK_2 = 62…62 (key version 2),
/// item key 42…42; nonces 01…01 (item key), 02…02 (name), 03…03 (value), 04…04 (vault
/// name).
fn item_vectors(v: &mut BTreeMap<String, String>) {
    let place = item_place();
    let vk = [0x62; 32];
    let wrapped = seal_with_nonce(&vk, 1, [0x01; 24], &place.item_key_aad(), &ITEM_KEY).unwrap();
    let name = seal_with_nonce(
        &ITEM_KEY,
        1,
        [0x02; 24],
        &place.content_aad(Purpose::ItemName),
        ITEM_NAME.as_bytes(),
    )
    .unwrap();
    let value = seal_with_nonce(
        &ITEM_KEY,
        1,
        [0x03; 24],
        &place.content_aad(Purpose::ItemValue),
        ITEM_VALUE,
    )
    .unwrap();
    v.insert(
        "item.wrapped_item_key".into(),
        hex::encode(wrapped.to_bytes()),
    );
    v.insert("item.sealed_name".into(), hex::encode(name.to_bytes()));
    v.insert("item.sealed_value".into(), hex::encode(value.to_bytes()));
    let vault_name = seal_with_nonce(
        &vk,
        1,
        [0x04; 24],
        &vault_name_aad(&id(0x11), &id(0x22), 2),
        VAULT_NAME.as_bytes(),
    )
    .unwrap();
    v.insert(
        "vault.sealed_name".into(),
        hex::encode(vault_name.to_bytes()),
    );
    let index_key = NameIndexKey::derive(&VaultKey::from_bytes(vk), &id(0x22), 2);
    v.insert(
        "name_index.key".into(),
        hex::encode(index_key.expose_secret()),
    );
    v.insert(
        "name_index.db_password".into(),
        hex::encode(index_key.index(ITEM_NAME)),
    );
}

const ITEM_KEY: [u8; 32] = [0x42; 32];
const ITEM_NAME: &str = "db/password";
/// A value as the server stores one: the JSON value's bytes.
const ITEM_VALUE: &[u8] = b"\"hunter2\"";
const VAULT_NAME: &str = "Production";

fn item_place() -> ItemPlace {
    ItemPlace {
        owner: id(0x11),
        vault: id(0x22),
        item: id(0x33),
        version: 7,
        key_version: 2,
    }
}

/// §11.4: identity 71…71 (user 11…11), identity 72…72 (user 13…13), and what the
/// first signs; the pin user 11…11 (user key 5b…5b) keeps for user 13…13.
fn identity_vectors(v: &mut BTreeMap<String, String>) {
    let alice = IdentityKeyPair::from_seed(&[0x71; 32]);
    let bob = IdentityKeyPair::from_seed(&[0x72; 32]);
    let mut put = |name: &str, value: String| v.insert(name.into(), value);
    put("identity.public", hex::encode(alice.public().as_bytes()));
    put("identity.fingerprint", alice.public().fingerprint());
    put("identity2.public", hex::encode(bob.public().as_bytes()));
    put(
        "aad.identity_key",
        hex::encode(Aad::new(Purpose::IdentityKey).user(&id(0x11)).encode()),
    );
    let (token_pk, vault_pk) = (token_public(), vault_public());
    let statements: [(&str, Vec<u8>); 5] = [
        ("user_x25519", user_x25519_message(&id(0x11), &token_pk)),
        (
            "token_key",
            token_key_message(&id(0x11), &id(0x44), &token_pk),
        ),
        ("vault_key", vault_key_message(&id(0x22), 2, &vault_pk)),
        (
            "members",
            members_message(&id(0x22), 2, &member_list()).unwrap(),
        ),
        (
            "item",
            item_message(&id(0x22), &id(0x33), 7, &documented_item()),
        ),
    ];
    for (name, message) in statements {
        put(&format!("sig.{name}.message"), hex::encode(&message));
    }
    put(
        "sig.user_x25519",
        hex::encode(alice.sign_user_x25519(&id(0x11), &token_pk).as_bytes()),
    );
    put(
        "sig.token_key",
        hex::encode(
            alice
                .sign_token_key(&id(0x11), &id(0x44), &token_pk)
                .as_bytes(),
        ),
    );
    put(
        "sig.vault_key",
        hex::encode(alice.sign_vault_key(&id(0x22), 2, &vault_pk).as_bytes()),
    );
    put(
        "sig.members",
        hex::encode(
            alice
                .sign_members(&id(0x22), 2, &member_list())
                .unwrap()
                .as_bytes(),
        ),
    );
    put(
        "sig.item",
        hex::encode(
            alice
                .sign_item(&id(0x22), &id(0x33), 7, &documented_item())
                .as_bytes(),
        ),
    );
    let pin_key = PinKey::derive(&UserKey::from_bytes([0x5b; 32]), &id(0x11));
    put("pin.key", hex::encode(pin_key.expose_secret()));
    put(
        "pin.identity2",
        hex::encode(pin_key.pin(&id(0x13), &bob.public())),
    );
}

/// §11.5: item key 42…42 sealed to the vault pair (vault 22…22, VK_2 = 62…62) by token
/// 44…44 (secret 55…55), deposit AAD item 33…33 at item version 1, key version 2,
/// ikmE = 0e…0e.
fn auth_seal_vectors(v: &mut BTreeMap<String, String>) {
    let sealed = seal_auth_with_ephemeral_ikm(
        &vault_public(),
        &TokenKeyPair::derive(&e2e_token()),
        &ItemKey::from_bytes(ITEM_KEY),
        &auth_deposit_aad(),
        &[0x0e; 32],
    )
    .unwrap();
    v.insert(
        "aad.deposit_item_key.auth".into(),
        hex::encode(auth_deposit_aad().encode()),
    );
    v.insert(
        "auth_sealed_key.deposit_item_key".into(),
        hex::encode(sealed.to_bytes()),
    );
}

fn auth_deposit_aad() -> Aad {
    deposit_aad(&id(0x11), &id(0x22), &id(0x33), 1, 2)
}

fn vault_pair() -> VaultKeyPair {
    VaultKeyPair::derive(&VaultKey::from_bytes([0x62; 32]), &id(0x22), 2)
}

fn vault_public() -> PublicKey {
    vault_pair().public_key()
}

fn token_public() -> PublicKey {
    TokenKeyPair::derive(&e2e_token()).public_key()
}

fn member_list() -> Vec<(Id, u8, IdentityPublic)> {
    vec![
        (
            id(0x13),
            role::WRITE,
            IdentityKeyPair::from_seed(&[0x72; 32]).public(),
        ),
        (
            id(0x11),
            role::OWNER,
            IdentityKeyPair::from_seed(&[0x71; 32]).public(),
        ),
    ]
}

fn computed() -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    credential_vectors(&mut v);
    prelogin_vectors(&mut v);
    item_vectors(&mut v);
    identity_vectors(&mut v);
    auth_seal_vectors(&mut v);
    v
}

fn file_vectors() -> BTreeMap<String, String> {
    let json: serde_json::Value = serde_json::from_str(VECTORS_JSON).unwrap();
    json["vectors"]
        .as_object()
        .expect("tests/vectors/e2e.json has a \"vectors\" object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// The `name = value` lines of FORMAT.md §11 (from its heading to the next `## `); a
/// vector name has a dot and no space, which tells it from a formula such as `H = …`.
fn section_11_vectors() -> BTreeMap<String, String> {
    let start = FORMAT_MD
        .find("\n## 11.")
        .expect("docs/FORMAT.md has a §11");
    let rest = &FORMAT_MD[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |at| at + 3);
    rest[..end]
        .lines()
        .filter_map(|line| {
            let (k, val) = line.split_once(" = ")?;
            let k = k.trim();
            (k.contains('.') && !k.contains(' ')).then(|| (k.to_owned(), val.trim().to_owned()))
        })
        .collect()
}

#[test]
fn the_vector_file_and_format_md_section_11_match_the_code() {
    let computed = computed();
    if std::env::var_os("KEYSLOT_PRINT_VECTORS").is_some() {
        println!("{}", serde_json::to_string_pretty(&computed).unwrap());
    }
    assert_eq!(file_vectors(), computed, "tests/vectors/e2e.json");
    assert_eq!(section_11_vectors(), computed, "docs/FORMAT.md §11");
}

// §11.1 ------------------------------------------------------------------------------

#[test]
fn a_kse_token_is_a_kst_token_with_another_prefix() {
    // Same id and secret: same verifier, wrap key and X25519 pair (same HKDF labels), so
    // the server stores for it what it stores for any token.
    let e2e = e2e_token();
    let server_mode = TokenCredential::from_parts(id(0x44), [0x55; 32]);
    let (a, b) = (e2e.unlock(), server_mode.unlock());
    assert_eq!(a.verifier(), b.verifier());
    assert_eq!(
        a.expose_wrap_key().expose_secret(),
        b.expose_wrap_key().expose_secret()
    );
    assert_eq!(
        TokenKeyPair::derive(&e2e).public_key(),
        TokenKeyPair::derive(&server_mode).public_key()
    );
    // The text round-trips and starts with kse_.
    let text = e2e.expose_text();
    assert!(text.starts_with("kse_") && text.len() == 75);
    let parsed = E2eTokenCredential::parse(&text).unwrap();
    assert_eq!(parsed.id(), e2e.id());
    assert_eq!(parsed.expose_secret(), e2e.expose_secret());
}

#[test]
fn a_kse_token_is_refused_where_a_kst_or_ksa_is_expected_and_the_reverse() {
    let kse = e2e_token().expose_text();
    let kst = TokenCredential::from_parts(id(0x44), [0x55; 32]).expose_text();
    let ksa = e2e_token().unlock().auth_proof().to_text();
    assert_eq!(
        TokenCredential::parse(&kse).err(),
        Some(CredentialFormatError::WrongPrefix("kst_"))
    );
    assert_eq!(
        E2eTokenCredential::parse(&kst).err(),
        Some(CredentialFormatError::WrongPrefix("kse_"))
    );
    assert_eq!(
        AuthProof::parse(&kse).err(),
        Some(CredentialFormatError::WrongPrefix("ksa_"))
    );
    assert_eq!(
        AuthProof::parse(&kst).err(),
        Some(CredentialFormatError::WrongPrefix("ksa_"))
    );
    assert_eq!(
        TokenCredential::parse(&ksa).err(),
        Some(CredentialFormatError::WrongPrefix("kst_"))
    );
    // Relabelling the prefix alone breaks the checksum (it covers the prefix).
    let relabelled = format!("kst_{}", &kse[4..]);
    assert_eq!(
        TokenCredential::parse(&relabelled).err(),
        Some(CredentialFormatError::Checksum)
    );
    let relabelled = format!("ksa_{}", &kse[4..]);
    assert_eq!(
        AuthProof::parse(&relabelled).err(),
        Some(CredentialFormatError::Checksum)
    );
}

#[test]
fn a_mistyped_or_truncated_ksa_is_refused_before_any_lookup() {
    let text = e2e_token().unlock().auth_proof().to_text();
    // One character changed in the body, and in the checksum.
    for at in [10, text.len() - 2] {
        let mut bytes = text.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        let typo = String::from_utf8(bytes).unwrap();
        assert_eq!(
            AuthProof::parse(&typo).err(),
            Some(CredentialFormatError::Checksum),
            "{at}"
        );
    }
    assert_eq!(
        AuthProof::parse(&text[..text.len() - 1]).err(),
        Some(CredentialFormatError::WrongLength)
    );
    // A character outside base62 (in the checksum, so the checksum cannot refuse first).
    let mut bad = text.to_string();
    bad.replace_range(text.len() - 1.., "-");
    assert_eq!(
        AuthProof::parse(&bad).err(),
        Some(CredentialFormatError::InvalidCharacter)
    );
    assert_eq!(
        AuthProof::parse("").err(),
        Some(CredentialFormatError::WrongPrefix("ksa_"))
    );
    // A non-ASCII character of the right byte length is refused, not a panic.
    let wide = format!("ksa_é{}", &text[6..]);
    assert!(AuthProof::parse(&wide).is_err());
}

#[test]
fn a_proof_checks_against_the_stored_verifier_and_reveals_nothing_when_printed() {
    let token = e2e_token();
    let unlocked = token.unlock();
    let proof = AuthProof::parse(&unlocked.auth_proof().to_text()).unwrap();
    assert_eq!(proof.id(), token.id());
    unlocked.verifier().check(&proof.verifier()).unwrap();
    // Another token's proof does not pass.
    let other = E2eTokenCredential::from_parts(id(0x44), [0x56; 32]);
    assert_eq!(
        unlocked
            .verifier()
            .check(&other.unlock().auth_proof().verifier()),
        Err(Error::WrongCredential)
    );
    // Debug shows neither auth nor the text nor the wrap key.
    let auth_hex = hex::encode(proof.expose_auth());
    let text = proof.to_text();
    for printed in [format!("{proof:?}"), format!("{unlocked:?}")] {
        assert!(!printed.contains(&auth_hex), "{printed}");
        assert!(!printed.contains(&text[4..20]), "{printed}");
        assert!(
            !printed.contains(&hex::encode(unlocked.expose_wrap_key().expose_secret())),
            "{printed}"
        );
    }
}

#[test]
fn a_password_proof_travels_as_base64url_and_bad_encodings_are_refused() {
    let proof = password_credential().auth_proof();
    let text = proof.auth_base64url();
    let back = AuthProof::from_base64url(id(0x44), &text).unwrap();
    assert_eq!(back.verifier(), proof.verifier());
    for bad in [
        "",
        &text[..42],
        &format!("{}A", &*text),
        &format!("{}=", &*text),
        &text.replace(|c: char| c.is_ascii_digit(), "+"),
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
    ] {
        if bad == text.as_str() {
            continue;
        }
        assert!(
            matches!(
                AuthProof::from_base64url(id(0x44), bad),
                Err(Error::Malformed { what: "auth", .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn the_session_unlock_secret_wraps_the_user_key_as_a_session_slot() {
    let unlock = UnlockedCredential::from_session_unlock(id(0x44), &[0x66; 32]);
    let session = keyslot_crypto::SessionCredential::from_parts(id(0x44), [0x66; 32]).unlock();
    // FORMAT §5.1 with kind session: the documented session vectors.
    assert_eq!(unlock.kind(), keyslot_crypto::CredentialKind::Session);
    assert_eq!(
        unlock.expose_wrap_key().expose_secret(),
        session.expose_wrap_key().expose_secret()
    );
    let uk = UserKey::from_bytes([0x12; 32]);
    let slot = unlock.wrap_user_key(&id(0x11), &uk).unwrap();
    assert_eq!(
        session
            .open_user_key(&id(0x11), &slot)
            .unwrap()
            .expose_secret(),
        uk.expose_secret()
    );
    // Another user's row, or another unlock secret, does not open it.
    assert!(unlock.open_user_key(&id(0x12), &slot).is_err());
    let other = UnlockedCredential::from_session_unlock(id(0x44), &[0x67; 32]);
    assert_eq!(
        other.open_user_key(&id(0x11), &slot).err(),
        Some(Error::Decrypt)
    );
}

#[test]
fn the_client_refuses_prelogin_parameters_outside_its_policy_before_hashing() {
    let password = Password::new("correct horse battery staple");
    let policy = KdfPolicy::default();
    let below = [
        Argon2Params {
            m_cost_kib: 8,
            t_cost: 1,
            p_cost: 1,
        },
        Argon2Params {
            m_cost_kib: 19 * 1024 - 1,
            ..Argon2Params::OWASP
        },
        Argon2Params {
            t_cost: 1,
            ..Argon2Params::OWASP
        },
    ];
    for params in below {
        assert_eq!(
            password
                .unlock_client(params, &[0x88; 16], id(0x44), &policy)
                .err(),
            Some(Error::KdfPolicy("below the floor")),
            "{params:?}"
        );
    }
    // Above the ceiling: 4 TiB of memory would never finish (or abort) if it were hashed;
    // the refusal comes at once.
    let huge = Argon2Params {
        m_cost_kib: u32::MAX,
        t_cost: u32::MAX,
        p_cost: 8,
    };
    let started = std::time::Instant::now();
    assert_eq!(
        password
            .unlock_client(huge, &[0x88; 16], id(0x44), &policy)
            .err(),
        Some(Error::KdfPolicy("above the ceiling"))
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    // A client that saw stronger parameters last time raises its floor to them.
    let seen = KdfPolicy {
        floor: Argon2Params {
            m_cost_kib: 64 * 1024,
            t_cost: 3,
            p_cost: 1,
        },
        ..policy
    };
    assert_eq!(
        password
            .unlock_client(Argon2Params::OWASP, &[0x88; 16], id(0x44), &seen)
            .err(),
        Some(Error::KdfPolicy("below the floor"))
    );
    // A salt that is not 16 bytes is refused.
    assert!(matches!(
        password.unlock_client(Argon2Params::OWASP, &[0x88; 15], id(0x44), &policy),
        Err(Error::Malformed { what: "salt", .. })
    ));
}

#[test]
fn a_client_built_password_slot_unlocks_like_a_server_built_one() {
    // The client: fresh salt and id, Argon2 at the default, the user key wrapped.
    let policy = KdfPolicy::default();
    let (user, credential_id) = (id(0x11), Id::random().unwrap());
    let salt = keyslot_crypto::generate_salt().unwrap();
    let password = Password::new("correct horse battery staple");
    let client = password
        .unlock_client(Argon2Params::default(), &salt, credential_id, &policy)
        .unwrap();
    let uk = UserKey::generate().unwrap();
    let wrapped = client.wrap_user_key(&user, &uk).unwrap();
    // The server: from the parts, sealed as any slot.
    let seal = LocalSealKey::from_bytes([0x99; 32]);
    let slot = keyslot_crypto::PasswordSlot::from_parts(
        Argon2Params::default(),
        salt,
        client.auth_proof().verifier(),
        wrapped,
    );
    let sealed = slot.seal(&seal, &user, &credential_id).unwrap();
    let opened = sealed.unseal(&seal, &user, &credential_id).unwrap();
    // An end-to-end login: the proof checks; the returned slot opens with the client's key.
    let login =
        AuthProof::from_base64url(credential_id, &client.auth_proof().auth_base64url()).unwrap();
    opened.verifier().check(&login.verifier()).unwrap();
    assert_eq!(opened.salt(), &salt);
    assert_eq!(
        client
            .open_user_key(&user, opened.wrapped_user_key())
            .unwrap()
            .expose_secret(),
        uk.expose_secret()
    );
    // And a server-mode unlock of the same slot with the password works too.
    assert_eq!(
        opened
            .unlock(&password, &policy, &user, credential_id)
            .unwrap()
            .expose_secret(),
        uk.expose_secret()
    );
}

// §11.2 ------------------------------------------------------------------------------

#[test]
fn prelogin_parameters_are_stable_per_username_and_differ_between_names_and_keys() {
    let seal = LocalSealKey::from_bytes([0x99; 32]);
    let a = prelogin::fake_parameters(&seal, "alice").unwrap();
    assert_eq!(a, prelogin::fake_parameters(&seal, "alice").unwrap());
    assert_ne!(a, prelogin::fake_parameters(&seal, "alicf").unwrap());
    assert_ne!(a, prelogin::fake_parameters(&seal, "").unwrap());
    let other_deployment = LocalSealKey::from_bytes([0x98; 32]);
    assert_ne!(
        a,
        prelogin::fake_parameters(&other_deployment, "alice").unwrap()
    );
    // The recipe of §11.2: HMAC under the prelogin-salt MAC key, over the domain and the
    // username key; a MAC under another label (the username counter) differs.
    let h = seal
        .mac(
            MacLabel::PreloginSalt,
            b"keyslot/v1/prelogin alice".as_slice(),
        )
        .unwrap();
    assert_ne!(&h[..16], &a.0[..]);
    let h = seal
        .mac(MacLabel::PreloginSalt, b"keyslot/v1/preloginalice")
        .unwrap();
    assert_eq!((&h[..16], &h[16..]), (&a.0[..], &a.1.as_bytes()[..]));
    let counter = seal
        .mac(MacLabel::UsernameCounter, b"keyslot/v1/preloginalice")
        .unwrap();
    assert_ne!(counter, h);
    assert_eq!(
        MacLabel::PreloginSalt.label(),
        "keyslot/v1/seal/prelogin-salt"
    );
}

#[test]
fn the_prelogin_key_is_hkdf_then_hmac_of_the_seal_key() {
    use hmac::{KeyInit, Mac};
    let mut key = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, &[0x99; 32])
        .expand(b"keyslot/v1/seal/prelogin-salt", &mut key)
        .unwrap();
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(b"keyslot/v1/prelogin");
    mac.update(b"alice");
    let h: [u8; 32] = mac.finalize().into_bytes().into();
    let v = file_vectors();
    assert_eq!(v["prelogin.alice.salt"], hex::encode(&h[..16]));
    assert_eq!(v["prelogin.alice.credential_id"], hex::encode(&h[16..]));
}

// §11.3 ------------------------------------------------------------------------------

fn documented_item() -> SealedItem {
    let v = file_vectors();
    SealedItem {
        wrapped_item_key: hex::decode(&v["item.wrapped_item_key"]).unwrap(),
        sealed_name: hex::decode(&v["item.sealed_name"]).unwrap(),
        sealed_value: hex::decode(&v["item.sealed_value"]).unwrap(),
    }
}

#[test]
fn items_use_the_server_mode_aads_byte_for_byte() {
    // The AADs of FORMAT §3, built field by field, are the ones the item functions use:
    // so data written by a client reads through the server and the reverse.
    let place = item_place();
    let by_hand = |purpose| {
        Aad::new(purpose)
            .user(&id(0x11))
            .vault(&id(0x22))
            .item(&id(0x33))
            .item_version(7)
            .key_version(2)
    };
    assert_eq!(
        place.content_aad(Purpose::ItemName),
        by_hand(Purpose::ItemName)
    );
    assert_eq!(
        place.content_aad(Purpose::ItemValue),
        by_hand(Purpose::ItemValue)
    );
    assert_eq!(place.item_key_aad(), by_hand(Purpose::ItemKey));
    assert_eq!(
        vault_name_aad(&id(0x11), &id(0x22), 2),
        Aad::new(Purpose::VaultName)
            .user(&id(0x11))
            .vault(&id(0x22))
            .key_version(2)
    );
}

#[test]
fn the_documented_item_and_vault_name_open_and_a_fresh_seal_round_trips() {
    let vk = VaultKey::from_bytes([0x62; 32]);
    let (o, va, it) = (id(0x11), id(0x22), id(0x33));
    let (name, value) = open_item(&vk, &o, &va, &it, 7, 2, &documented_item()).unwrap();
    assert_eq!((name.as_str(), value.as_slice()), (ITEM_NAME, ITEM_VALUE));
    let item = documented_item();
    assert_eq!(
        open_item_name(
            &vk,
            &o,
            &va,
            &it,
            7,
            2,
            &item.wrapped_item_key,
            &item.sealed_name
        )
        .unwrap(),
        ITEM_NAME
    );
    let sealed_name = hex::decode(&file_vectors()["vault.sealed_name"]).unwrap();
    assert_eq!(
        open_vault_name(&vk, &o, &va, 2, &sealed_name).unwrap(),
        VAULT_NAME
    );

    let fresh = seal_item(&vk, &o, &va, &it, 8, 2, "other", b"42").unwrap();
    let (name, value) = open_item(&vk, &o, &va, &it, 8, 2, &fresh).unwrap();
    assert_eq!(
        (name.as_str(), value.as_slice()),
        ("other", b"42".as_slice())
    );
    // A fresh item key per version: two seals of the same content share nothing.
    let again = seal_item(&vk, &o, &va, &it, 8, 2, "other", b"42").unwrap();
    assert_ne!(fresh.wrapped_item_key, again.wrapped_item_key);
    let sealed = seal_vault_name(&vk, &o, &va, 3, "Staging").unwrap();
    assert_eq!(
        open_vault_name(&vk, &o, &va, 3, &sealed).unwrap(),
        "Staging"
    );
    assert_eq!(
        open_vault_name(&vk, &o, &va, 2, &sealed).err(),
        Some(Error::Decrypt)
    );
}

#[test]
fn an_item_moved_to_another_place_or_with_swapped_parts_does_not_open() {
    let vk = VaultKey::from_bytes([0x62; 32]);
    let item = documented_item();
    let (o, va, it) = (id(0x11), id(0x22), id(0x33));
    // Another owner, vault, item, version or key version: refused.
    for (owner, vault, item_id, version, key_version) in [
        (id(0x12), va, it, 7, 2),
        (o, id(0x23), it, 7, 2),
        (o, va, id(0x34), 7, 2),
        (o, va, it, 6, 2),
        (o, va, it, 7, 1),
    ] {
        assert_eq!(
            open_item(&vk, &owner, &vault, &item_id, version, key_version, &item).err(),
            Some(Error::Decrypt)
        );
    }
    // Another vault key.
    assert_eq!(
        open_item(&VaultKey::from_bytes([0x61; 32]), &o, &va, &it, 7, 2, &item).err(),
        Some(Error::Decrypt)
    );
    // Name and value swapped; another item's value spliced in.
    let swapped = SealedItem {
        sealed_name: item.sealed_value.clone(),
        sealed_value: item.sealed_name.clone(),
        ..item.clone()
    };
    assert_eq!(
        open_item(&vk, &o, &va, &it, 7, 2, &swapped).err(),
        Some(Error::Decrypt)
    );
    let other = seal_item(&vk, &o, &va, &it, 7, 2, ITEM_NAME, b"\"other\"").unwrap();
    let spliced = SealedItem {
        sealed_value: other.sealed_value,
        ..item.clone()
    };
    assert_eq!(
        open_item(&vk, &o, &va, &it, 7, 2, &spliced).err(),
        Some(Error::Decrypt)
    );
    // Truncated bytes are refused as malformed, not a panic.
    let truncated = SealedItem {
        wrapped_item_key: item.wrapped_item_key[..10].to_vec(),
        ..item.clone()
    };
    assert!(matches!(
        open_item(&vk, &o, &va, &it, 7, 2, &truncated),
        Err(Error::Malformed { .. })
    ));
    // Debug shows sizes only.
    assert!(!format!("{item:?}").contains(&hex::encode(&item.sealed_value[..8])));
}

#[test]
fn name_indexes_are_per_vault_and_key_version_and_hash_names_as_written() {
    let vk = VaultKey::from_bytes([0x62; 32]);
    let key = NameIndexKey::derive(&vk, &id(0x22), 2);
    let v = file_vectors();
    assert_eq!(
        hex::encode(key.index(ITEM_NAME)),
        v["name_index.db_password"]
    );
    // The recipe of §11.3, from its text: HKDF then HMAC.
    use hmac::{KeyInit, Mac};
    let mut salt = [0x22u8; 20];
    salt[16..].copy_from_slice(&2u32.to_be_bytes());
    let mut k = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(&salt), &[0x62; 32])
        .expand(b"keyslot/v1/vault/name-index", &mut k)
        .unwrap();
    assert_eq!(hex::encode(k), v["name_index.key"]);
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&k).unwrap();
    mac.update(ITEM_NAME.as_bytes());
    assert_eq!(
        hex::encode(mac.finalize().into_bytes()),
        v["name_index.db_password"]
    );
    // Another vault, key version or key: another index. Names are not transformed.
    let index = key.index(ITEM_NAME);
    for other in [
        NameIndexKey::derive(&vk, &id(0x23), 2),
        NameIndexKey::derive(&vk, &id(0x22), 3),
        NameIndexKey::derive(&VaultKey::from_bytes([0x61; 32]), &id(0x22), 2),
    ] {
        assert_ne!(other.index(ITEM_NAME), index);
    }
    for variant in ["DB/password", "db/password ", "db/passworD", ""] {
        assert_ne!(key.index(variant), index, "{variant}");
    }
    // Not the vault's X25519 private key, nor its public key (labels differ).
    let pair = VaultKeyPair::derive(&vk, &id(0x22), 2);
    assert_ne!(pair.public_key().as_bytes(), key.expose_secret());
    assert_eq!(format!("{key:?}"), "NameIndexKey(***)");
}

// §11.4 ------------------------------------------------------------------------------

fn alice() -> IdentityKeyPair {
    IdentityKeyPair::from_seed(&[0x71; 32])
}

fn documented_signature(name: &str) -> Signature {
    Signature::from_slice(&hex::decode(&file_vectors()[name]).unwrap()).unwrap()
}

#[test]
fn the_identity_seed_opens_only_under_its_users_key_and_never_prints() {
    let uk = UserKey::from_bytes([0x5b; 32]);
    let wrapped = alice().wrap(&uk, &id(0x11)).unwrap();
    let opened = IdentityKeyPair::open(&uk, &id(0x11), &wrapped).unwrap();
    assert_eq!(opened.public(), alice().public());
    assert_eq!(
        IdentityKeyPair::open(&uk, &id(0x12), &wrapped).err(),
        Some(Error::Decrypt)
    );
    assert_eq!(
        IdentityKeyPair::open(&UserKey::from_bytes([0x5c; 32]), &id(0x11), &wrapped).err(),
        Some(Error::Decrypt)
    );
    let printed = format!("{:?}", alice());
    assert!(!printed.contains(&hex::encode([0x71; 8])), "{printed}");
    assert!(printed.contains(&alice().public().fingerprint()));
    // A fresh identity is not the vector's.
    assert_ne!(
        IdentityKeyPair::generate().unwrap().public(),
        alice().public()
    );
}

#[test]
fn fingerprints_are_five_groups_of_eight_hex_digits_and_change_with_the_key() {
    let fp = alice().public().fingerprint();
    let groups: Vec<&str> = fp.split(' ').collect();
    assert_eq!(groups.len(), 5);
    assert!(groups.iter().all(|g| {
        g.len() == 8
            && g.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }));
    let other = IdentityKeyPair::from_seed(&[0x72; 32]).public();
    assert_ne!(other.fingerprint(), fp);
    // The recipe: SHA-256 of the domain and the public key, first 20 bytes.
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(b"keyslot/v1/identity-fingerprint");
    h.update(alice().public().as_bytes());
    assert_eq!(fp.replace(' ', ""), hex::encode(&h.finalize()[..20]));
}

#[test]
fn identity_public_keys_that_are_not_usable_points_are_refused() {
    let good = alice().public();
    assert_eq!(IdentityPublic::from_slice(good.as_bytes()).unwrap(), good);
    assert!(IdentityPublic::from_slice(&good.as_bytes()[..31]).is_err());
    // The identity point and other small-order points verify forged signatures: refused.
    let mut identity_point = [0u8; 32];
    identity_point[0] = 1;
    let mut order_two = [0u8; 32];
    order_two[0] = 0xec;
    order_two[1..31].fill(0xff);
    order_two[31] = 0x7f;
    for weak in [identity_point, order_two] {
        assert!(matches!(
            IdentityPublic::from_slice(&weak),
            Err(Error::Malformed {
                what: "identity public key",
                ..
            })
        ));
    }
    // No input panics.
    for byte in 0..=255u8 {
        let _ = IdentityPublic::from_slice(&[byte; 32]);
    }
}

#[test]
fn documented_signatures_verify_and_each_is_bound_to_its_statement() {
    let public = alice().public();
    let (token_pk, vault_pk) = (token_public(), vault_public());
    public
        .verify_user_x25519(
            &id(0x11),
            &token_pk,
            &documented_signature("sig.user_x25519"),
        )
        .unwrap();
    public
        .verify_token_key(
            &id(0x11),
            &id(0x44),
            &token_pk,
            &documented_signature("sig.token_key"),
        )
        .unwrap();
    let vault_sig = documented_signature("sig.vault_key");
    public
        .verify_vault_key(&id(0x22), 2, &vault_pk, &vault_sig)
        .unwrap();
    // A signature over one vault / version / key is refused for another.
    assert_eq!(
        public.verify_vault_key(&id(0x23), 2, &vault_pk, &vault_sig),
        Err(Error::BadSignature)
    );
    assert_eq!(
        public.verify_vault_key(&id(0x22), 3, &vault_pk, &vault_sig),
        Err(Error::BadSignature)
    );
    assert_eq!(
        public.verify_vault_key(&id(0x22), 1, &vault_pk, &vault_sig),
        Err(Error::BadSignature)
    );
    assert_eq!(
        public.verify_vault_key(&id(0x22), 2, &token_pk, &vault_sig),
        Err(Error::BadSignature)
    );
    // Another signer's key does not verify it; a flipped bit does not verify.
    let bob = IdentityKeyPair::from_seed(&[0x72; 32]).public();
    assert_eq!(
        bob.verify_vault_key(&id(0x22), 2, &vault_pk, &vault_sig),
        Err(Error::BadSignature)
    );
    let mut flipped = *vault_sig.as_bytes();
    flipped[10] ^= 1;
    assert_eq!(
        public.verify_vault_key(
            &id(0x22),
            2,
            &vault_pk,
            &Signature::from_slice(&flipped).unwrap()
        ),
        Err(Error::BadSignature)
    );
    // Domain separation: a token-key signature is not a user-key signature, even for the
    // same user and key.
    assert_eq!(
        public.verify_user_x25519(&id(0x11), &token_pk, &documented_signature("sig.token_key")),
        Err(Error::BadSignature)
    );
    // A token's key signed for one token does not pass for another token of the user.
    assert_eq!(
        public.verify_token_key(
            &id(0x11),
            &id(0x45),
            &token_pk,
            &documented_signature("sig.token_key")
        ),
        Err(Error::BadSignature)
    );
    // Round trip through base64url.
    assert_eq!(
        Signature::from_base64(&vault_sig.to_base64()).unwrap(),
        vault_sig
    );
    assert!(Signature::from_slice(&[0; 63]).is_err());
}

#[test]
fn a_member_list_signature_covers_every_member_role_and_key_but_not_their_order() {
    let public = alice().public();
    let sig = documented_signature("sig.members");
    let mut members = member_list();
    public.verify_members(&id(0x22), 2, &members, &sig).unwrap();
    members.reverse();
    public.verify_members(&id(0x22), 2, &members, &sig).unwrap();
    // A role raised, a member added or dropped, an identity swapped, another version.
    let bob = IdentityKeyPair::from_seed(&[0x72; 32]).public();
    let mallory = IdentityKeyPair::from_seed(&[0x73; 32]).public();
    let changed: [Vec<(Id, u8, IdentityPublic)>; 4] = [
        vec![
            (id(0x13), role::OWNER, bob),
            (id(0x11), role::OWNER, alice().public()),
        ],
        vec![
            (id(0x13), role::WRITE, bob),
            (id(0x11), role::OWNER, alice().public()),
            (id(0x14), role::READ, mallory),
        ],
        vec![(id(0x11), role::OWNER, alice().public())],
        vec![
            (id(0x13), role::WRITE, mallory),
            (id(0x11), role::OWNER, alice().public()),
        ],
    ];
    for list in changed {
        assert_eq!(
            public.verify_members(&id(0x22), 2, &list, &sig),
            Err(Error::BadSignature)
        );
    }
    assert_eq!(
        public.verify_members(&id(0x22), 3, &member_list(), &sig),
        Err(Error::BadSignature)
    );
    // A user listed twice is refused outright.
    let twice = vec![(id(0x13), role::WRITE, bob), (id(0x13), role::READ, bob)];
    assert!(matches!(
        alice().sign_members(&id(0x22), 2, &twice),
        Err(Error::Malformed {
            what: "member list",
            ..
        })
    ));
    assert!(matches!(
        public.verify_members(&id(0x22), 2, &twice, &sig),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn an_item_signature_covers_its_place_and_every_envelope() {
    let public = alice().public();
    let sig = documented_signature("sig.item");
    let item = documented_item();
    public
        .verify_item(&id(0x22), &id(0x33), 7, &item, &sig)
        .unwrap();
    assert_eq!(
        public.verify_item(&id(0x22), &id(0x33), 8, &item, &sig),
        Err(Error::BadSignature)
    );
    assert_eq!(
        public.verify_item(&id(0x22), &id(0x34), 7, &item, &sig),
        Err(Error::BadSignature)
    );
    assert_eq!(
        public.verify_item(&id(0x23), &id(0x33), 7, &item, &sig),
        Err(Error::BadSignature)
    );
    for part in 0..3 {
        let mut changed = item.clone();
        let bytes = match part {
            0 => &mut changed.wrapped_item_key,
            1 => &mut changed.sealed_name,
            _ => &mut changed.sealed_value,
        };
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(
            public.verify_item(&id(0x22), &id(0x33), 7, &changed, &sig),
            Err(Error::BadSignature),
            "part {part}"
        );
    }
    // Name and value swapped (same bytes, other roles): refused.
    let swapped = SealedItem {
        sealed_name: item.sealed_value.clone(),
        sealed_value: item.sealed_name.clone(),
        ..item
    };
    assert_eq!(
        public.verify_item(&id(0x22), &id(0x33), 7, &swapped, &sig),
        Err(Error::BadSignature)
    );
}

#[test]
fn a_pin_holds_for_the_confirmed_key_only() {
    let uk = UserKey::from_bytes([0x5b; 32]);
    let key = PinKey::derive(&uk, &id(0x11));
    let bob = IdentityKeyPair::from_seed(&[0x72; 32]).public();
    let stored = hex::decode(&file_vectors()["pin.identity2"]).unwrap();
    key.check(&id(0x13), &bob, &stored).unwrap();
    // The server answers another identity key for user 13 (a fingerprint change).
    let mallory = IdentityKeyPair::from_seed(&[0x73; 32]).public();
    assert_ne!(mallory.fingerprint(), bob.fingerprint());
    assert_eq!(
        key.check(&id(0x13), &mallory, &stored),
        Err(Error::PinMismatch)
    );
    // The pin moved to another pinned user.
    assert_eq!(key.check(&id(0x14), &bob, &stored), Err(Error::PinMismatch));
    // A pin made under another user's key (another user key, or the same key bytes
    // under another user id) is refused.
    for other in [
        PinKey::derive(&UserKey::from_bytes([0x5c; 32]), &id(0x11)),
        PinKey::derive(&uk, &id(0x12)),
    ] {
        let foreign = other.pin(&id(0x13), &bob);
        assert_eq!(
            key.check(&id(0x13), &bob, &foreign),
            Err(Error::PinMismatch)
        );
    }
    // Truncated, extended or empty pins.
    for bad in [
        &stored[..31],
        &[stored.as_slice(), &[0]].concat()[..],
        &[][..],
    ] {
        assert_eq!(key.check(&id(0x13), &bob, bad), Err(Error::PinMismatch));
    }
    assert_eq!(format!("{key:?}"), "PinKey(***)");
}

// §11.5 ------------------------------------------------------------------------------

#[test]
fn an_auth_mode_deposit_opens_only_with_its_senders_public_key() {
    let bytes = hex::decode(&file_vectors()["auth_sealed_key.deposit_item_key"]).unwrap();
    let sealed = AuthSealedKey::from_bytes(&bytes).unwrap();
    let sender = TokenKeyPair::derive(&e2e_token());
    let opened: ItemKey = open_from_auth(
        &vault_pair(),
        &sender.public_key(),
        &sealed,
        &auth_deposit_aad(),
    )
    .unwrap();
    assert_eq!(opened.expose_secret(), &ITEM_KEY);
    // Another sender (the server, or another token, sealing to the same vault key).
    let other_token = TokenKeyPair::derive(&E2eTokenCredential::from_parts(id(0x45), [0x55; 32]));
    assert_eq!(
        open_from_auth::<ItemKey>(
            &vault_pair(),
            &other_token.public_key(),
            &sealed,
            &auth_deposit_aad()
        )
        .err(),
        Some(Error::Decrypt)
    );
    // What another sender actually seals does not open under the token's public key.
    let forged = seal_to_auth(
        &vault_public(),
        &other_token,
        &ItemKey::from_bytes([0x43; 32]),
        &auth_deposit_aad(),
    )
    .unwrap();
    assert_eq!(
        open_from_auth::<ItemKey>(
            &vault_pair(),
            &sender.public_key(),
            &forged,
            &auth_deposit_aad()
        )
        .err(),
        Some(Error::Decrypt)
    );
    // Another context (item version 2).
    assert_eq!(
        open_from_auth::<ItemKey>(
            &vault_pair(),
            &sender.public_key(),
            &sealed,
            &deposit_aad(&id(0x11), &id(0x22), &id(0x33), 2, 2)
        )
        .err(),
        Some(Error::Decrypt)
    );
    // A user pair can send too, and the key a user sends opens with that user's key only.
    let user = UserKeyPair::generate().unwrap();
    let from_user = seal_to_auth(
        &vault_public(),
        &user,
        &ItemKey::from_bytes([0x44; 32]),
        &auth_deposit_aad(),
    )
    .unwrap();
    let got: ItemKey = open_from_auth(
        &vault_pair(),
        &user.public_key(),
        &from_user,
        &auth_deposit_aad(),
    )
    .unwrap();
    assert_eq!(got.expose_secret(), &[0x44; 32]);
}

#[test]
fn auth_mode_and_base_mode_sealed_keys_are_never_read_as_each_other() {
    let bytes = hex::decode(&file_vectors()["auth_sealed_key.deposit_item_key"]).unwrap();
    assert_eq!(bytes[1], 2);
    assert_eq!(
        SealedKey::from_bytes(&bytes).err(),
        Some(Error::UnknownAlgorithm(2))
    );
    let base = seal_to(
        &vault_public(),
        &ItemKey::from_bytes(ITEM_KEY),
        &auth_deposit_aad(),
    )
    .unwrap();
    assert_eq!(
        AuthSealedKey::from_bytes(&base.to_bytes()).err(),
        Some(Error::UnknownAlgorithm(1))
    );
    // Relabelled as auth mode, a base-mode key still does not open (the header is the
    // AEAD's associated data, and the key schedules differ).
    let mut relabelled = base.to_bytes();
    relabelled[1] = 2;
    let relabelled = AuthSealedKey::from_bytes(&relabelled).unwrap();
    let sender = TokenKeyPair::derive(&e2e_token());
    assert_eq!(
        open_from_auth::<ItemKey>(
            &vault_pair(),
            &sender.public_key(),
            &relabelled,
            &auth_deposit_aad()
        )
        .err(),
        Some(Error::Decrypt)
    );
    for bad in [
        &bytes[..81],
        &[bytes.as_slice(), &[0]].concat()[..],
        &[][..],
    ] {
        assert!(AuthSealedKey::from_bytes(bad).is_err());
    }
    let sealed = AuthSealedKey::from_bytes(&bytes).unwrap();
    assert_eq!(
        AuthSealedKey::from_base64(&sealed.to_base64()).unwrap(),
        sealed
    );
}
