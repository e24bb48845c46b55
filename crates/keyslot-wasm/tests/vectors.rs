//! The FORMAT.md vectors through this crate, natively: the same function the browser test
//! runs in Chromium (`tests/browser/vectors.mjs`), compared with the same files —
//! `docs/FORMAT.md`'s `name = value` lines and `crates/keyslot-crypto/tests/vectors/e2e.json`
//! — and the bindings a page calls, checked against the same values.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use keyslot_wasm::{
    E2eToken, IdentityKey, IdentityPublicKey, MemberList, SealedItem, UserKey, UserKeyPair,
    VaultKey, compute_known_answers, recovery_public_key, unlock_password, unlock_recovery_code,
};

const FORMAT_MD: &str = include_str!("../../../docs/FORMAT.md");
const E2E_JSON: &str = include_str!("../../keyslot-crypto/tests/vectors/e2e.json");

/// The document's vector lines: `name = value` where the name has a dot and no space
/// (which tells a vector from a formula such as `H = …`). The browser test reads them the
/// same way.
fn documented() -> BTreeMap<String, String> {
    FORMAT_MD
        .lines()
        .filter_map(|line| {
            let (k, val) = line.split_once(" = ")?;
            let k = k.trim();
            (k.contains('.') && !k.contains(' ') && !k.contains('('))
                .then(|| (k.to_owned(), val.trim().to_owned()))
        })
        .collect()
}

fn e2e_file() -> BTreeMap<String, String> {
    let json: serde_json::Value = serde_json::from_str(E2E_JSON).unwrap();
    json["vectors"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

fn hex_to_b64(hex_text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hex::decode(hex_text).unwrap())
}

#[test]
fn every_documented_vector_is_computed_and_matches() {
    let computed = compute_known_answers().unwrap();
    let (doc, file) = (documented(), e2e_file());
    assert!(
        doc.len() >= 40 && file.len() >= 10,
        "{} {}",
        doc.len(),
        file.len()
    );
    for (name, value) in doc.iter().chain(file.iter()) {
        assert_eq!(
            computed.get(name.as_str()),
            Some(value),
            "vector {name}: FORMAT.md / e2e.json against this build"
        );
    }
    for name in computed.keys() {
        assert!(
            doc.contains_key(*name) || file.contains_key(*name),
            "{name} is computed but documented nowhere"
        );
    }
}

#[test]
fn the_json_the_browser_gets_is_the_same_map() {
    let json: BTreeMap<String, String> =
        serde_json::from_str(&keyslot_wasm::known_answers().unwrap()).unwrap();
    let computed: BTreeMap<String, String> = compute_known_answers()
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    assert_eq!(json, computed);
}

/// What a page does, on the documented inputs: the same calls as vectors.mjs makes.
#[test]
fn the_bindings_reproduce_the_documented_values() {
    let (doc, file) = (documented(), e2e_file());
    let ids = |b: u8| hex::encode([b; 16]);

    // Password login (§11.1): floor-checked Argon2id, `auth` in base64url, the verifier.
    let password = unlock_password(
        "correct horse battery staple",
        &ids(0x44),
        &hex_to_b64(&"88".repeat(16)),
        19456,
        2,
        1,
    )
    .unwrap();
    assert_eq!(password.auth_base64url(), file["password.auth.base64url"]);
    assert_eq!(
        password.verifier_base64url(),
        hex_to_b64(&doc["password.verifier"])
    );
    assert_eq!(password.credential_id(), ids(0x44));
    // Below the floor: refused before hashing, naming the field.
    let low =
        unlock_password("x", &ids(0x44), &hex_to_b64(&"88".repeat(16)), 19455, 2, 1).unwrap_err();
    assert_eq!(low.field(), "kdf_params");
    assert!(low.to_string().contains("floor"), "{low}");
    let short_salt = unlock_password("x", &ids(0x44), "AAAA", 19456, 2, 1).unwrap_err();
    assert_eq!(short_salt.field(), "salt");
    let huge = unlock_password(
        "x",
        &ids(0x44),
        &hex_to_b64(&"88".repeat(16)),
        2 * 1024 * 1024,
        2,
        1,
    )
    .unwrap_err();
    assert!(huge.to_string().contains("ceiling"), "{huge}");

    // kse_ token: the proof, the verifier and public key of the kst_ with the same parts.
    let token = E2eToken::parse(&file["e2e_token.text"]).unwrap();
    assert_eq!(token.id(), ids(0x44));
    assert_eq!(token.auth_proof(), file["e2e_token.auth_proof"]);
    assert_eq!(token.secret_text(), file["e2e_token.text"]);
    assert_eq!(
        token.credential().verifier_base64url(),
        hex_to_b64(&doc["token.verifier"])
    );
    assert_eq!(token.public_key(), hex_to_b64(&doc["token.x25519_public"]));
    assert_eq!(
        E2eToken::parse(&doc["token.text"]).unwrap_err().field(),
        "token",
        "a kst_ is not a kse_"
    );

    // The documented grant (§9.2) opens with the token, for vault 22…22 of owner 11…11 at
    // key version 2, and nowhere else.
    let sealed = &doc["sealed_key.vault_key_grant.base64url"];
    let vk = token.open_grant(&ids(0x11), &ids(0x22), 2, sealed).unwrap();
    assert!(token.open_grant(&ids(0x11), &ids(0x22), 3, sealed).is_err());
    assert!(token.open_grant(&ids(0x12), &ids(0x22), 2, sealed).is_err());

    // Recovery code (§8.2, §9.1).
    let recovery = unlock_recovery_code(&doc["recovery.text"], &ids(0x44)).unwrap();
    assert_eq!(
        recovery.verifier_base64url(),
        hex_to_b64(&doc["recovery.verifier"])
    );
    assert_eq!(
        recovery_public_key(&doc["recovery.text"], &ids(0x44)).unwrap(),
        hex_to_b64(&doc["recovery.x25519_public"])
    );

    // With the opened vault key: an item and the vault name round-trip, bound to place.
    let item = ids(0x33);
    let sealed = vk
        .seal_item(&item, 7, "db/password", b"\"hunter2\"")
        .unwrap();
    let opened = vk
        .open_item(
            &item,
            7,
            &sealed.wrapped_item_key,
            &sealed.sealed_name,
            &sealed.sealed_value,
        )
        .unwrap();
    assert_eq!(opened.name(), "db/password");
    assert_eq!(opened.value(), b"\"hunter2\"");
    assert!(
        vk.open_item(
            &item,
            8,
            &sealed.wrapped_item_key,
            &sealed.sealed_name,
            &sealed.sealed_value
        )
        .is_err(),
        "another version"
    );
    assert!(
        vk.open_item(
            &ids(0x34),
            7,
            &sealed.wrapped_item_key,
            &sealed.sealed_name,
            &sealed.sealed_value
        )
        .is_err(),
        "another item"
    );
    let name = vk.seal_vault_name("Production").unwrap();
    assert_eq!(vk.open_vault_name(&name).unwrap(), "Production");

    // A member slot under a user key, and a grant to a user key pair.
    let uk = UserKey::generate().unwrap();
    let slot = uk.wrap_vault_key(&vk).unwrap();
    let again = uk.open_vault_key(&ids(0x11), &ids(0x22), 2, &slot).unwrap();
    assert_eq!(again.open_vault_name(&name).unwrap(), "Production");
    assert!(uk.open_vault_key(&ids(0x11), &ids(0x23), 2, &slot).is_err());
    let member = UserKeyPair::generate().unwrap();
    let grant = vk
        .seal_grant("user", &ids(0x55), &member.public_key())
        .unwrap();
    let granted = member
        .open_grant(&ids(0x55), &ids(0x11), &ids(0x22), 2, &grant)
        .unwrap();
    assert_eq!(granted.open_vault_name(&name).unwrap(), "Production");
    assert!(
        member
            .open_grant(&ids(0x56), &ids(0x11), &ids(0x22), 2, &grant)
            .is_err()
    );

    // A rotation's chain link: version 3 wraps version 2.
    let newer = VaultKey::generate(&ids(0x11), &ids(0x22), 3).unwrap();
    let link = newer.wrap_older(&vk).unwrap();
    let older = newer.open_older(&link).unwrap();
    assert_eq!(older.key_version(), 2);
    assert_eq!(older.open_vault_name(&name).unwrap(), "Production");
    assert!(
        vk.wrap_older(&newer).is_err(),
        "never wrap a newer key under an older one"
    );
}

/// §11.4 through the bindings: the documented signatures verify under the documented
/// identity, and not for another vault, version or member list; a page's own identity
/// signs, wraps and pins.
#[test]
fn the_identity_bindings_verify_the_documented_signatures() {
    let (doc, file) = (documented(), e2e_file());
    let ids = |b: u8| hex::encode([b; 16]);
    let b = |name: &str| hex_to_b64(&file[name]);
    let alice = IdentityPublicKey::parse(&b("identity.public")).unwrap();
    let bob = IdentityPublicKey::parse(&b("identity2.public")).unwrap();
    assert_eq!(alice.fingerprint(), file["identity.fingerprint"]);
    let token_pk = hex_to_b64(&doc["token.x25519_public"]);
    let vault_pk = hex_to_b64(&doc["vault.x25519_public"]);
    alice
        .verify_user_x25519(&ids(0x11), &token_pk, &b("sig.user_x25519"))
        .unwrap();
    alice
        .verify_token_key(&ids(0x11), &ids(0x44), &token_pk, &b("sig.token_key"))
        .unwrap();
    alice
        .verify_vault_key(&ids(0x22), 2, &vault_pk, &b("sig.vault_key"))
        .unwrap();
    let refused = alice
        .verify_vault_key(&ids(0x22), 3, &vault_pk, &b("sig.vault_key"))
        .unwrap_err();
    assert_eq!(refused.field(), "signature", "another key version");
    assert!(
        bob.verify_vault_key(&ids(0x22), 2, &vault_pk, &b("sig.vault_key"))
            .is_err(),
        "another signer"
    );
    let mut members = MemberList::new();
    members.add(&ids(0x11), "owner", &alice).unwrap();
    members.add(&ids(0x13), "write", &bob).unwrap();
    alice
        .verify_members(&ids(0x22), 2, &members, &b("sig.members"))
        .unwrap();
    let mut changed = MemberList::new();
    changed.add(&ids(0x11), "owner", &alice).unwrap();
    changed.add(&ids(0x13), "read", &bob).unwrap();
    assert!(
        alice
            .verify_members(&ids(0x22), 2, &changed, &b("sig.members"))
            .is_err(),
        "another role"
    );
    let item = SealedItem::new(
        b("item.wrapped_item_key"),
        b("item.sealed_name"),
        b("item.sealed_value"),
    );
    alice
        .verify_item(&ids(0x22), &ids(0x33), 7, &item, &b("sig.item"))
        .unwrap();
    assert!(
        alice
            .verify_item(&ids(0x22), &ids(0x33), 8, &item, &b("sig.item"))
            .is_err()
    );

    // A page's own identity: wrap under UK, reopen, sign, pin.
    let uk = UserKey::generate().unwrap();
    let me = IdentityKey::generate().unwrap();
    let wrapped = me.wrap(&uk, &ids(0x11)).unwrap();
    let again = IdentityKey::open(&uk, &ids(0x11), &wrapped).unwrap();
    assert_eq!(
        again.public_key().to_base64url(),
        me.public_key().to_base64url()
    );
    assert!(IdentityKey::open(&uk, &ids(0x12), &wrapped).is_err());
    let vk = VaultKey::generate(&ids(0x11), &ids(0x22), 1).unwrap();
    let sig = me.sign_vault_key(&vk).unwrap();
    me.public_key()
        .verify_vault_key(&ids(0x22), 1, &vk.public_key(), &sig)
        .unwrap();
    let pin = uk.pin(&ids(0x11), &ids(0x13), &bob).unwrap();
    uk.check_pin(&ids(0x11), &ids(0x13), &bob, &pin).unwrap();
    assert_eq!(
        uk.check_pin(&ids(0x11), &ids(0x13), &alice, &pin)
            .unwrap_err()
            .field(),
        "pin",
        "a changed identity fails the pin"
    );
    assert!(IdentityPublicKey::parse(&hex_to_b64(&"00".repeat(32))).is_err());
}

/// Deposits (FORMAT §11.5): an item key sealed in HPKE auth mode by a token opens through
/// the bindings with the depositor's public key, and not with another depositor's, for
/// another item version, or (sealed to a reader while a rotation is due) as another user.
#[test]
fn deposits_open_only_from_their_depositor() {
    use base64::Engine as _;
    use keyslot_crypto::item::ItemPlace;
    use keyslot_crypto::sealed_key_auth::seal_to_auth;
    use keyslot_crypto::{
        E2eTokenCredential, Id, ItemKey, PublicKey, RecipientKind, TokenKeyPair, deposit_aad,
    };
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let unb64 = |text: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .unwrap()
    };
    let (owner, vault, item) = (
        Id::from_bytes([0x11; 16]),
        Id::from_bytes([0x22; 16]),
        Id::from_bytes([0x33; 16]),
    );
    let hexid = |id: &Id| id.to_string();
    let vk = VaultKey::generate(&hexid(&owner), &hexid(&vault), 2).unwrap();
    let depositor = TokenKeyPair::derive(&E2eTokenCredential::generate().unwrap());
    let other = TokenKeyPair::derive(&E2eTokenCredential::generate().unwrap());
    let item_key = ItemKey::generate().unwrap();
    let place = ItemPlace {
        owner,
        vault,
        item,
        version: 1,
        key_version: 2,
    };
    let (name, value) = place
        .seal_content(&item_key, "from-ci", b"\"deployed\"")
        .unwrap();
    let vault_public = PublicKey::from_slice(&unb64(&vk.public_key())).unwrap();
    let sealed = seal_to_auth(
        &vault_public,
        &depositor,
        &item_key,
        &deposit_aad(&owner, &vault, &item, 1, 2),
    )
    .unwrap()
    .to_base64();
    let sender = b64(depositor.public_key().as_bytes());
    let (name, value) = (b64(&name), b64(&value));
    let opened = vk
        .open_deposit(&hexid(&item), 1, &sender, &sealed, &name, &value)
        .unwrap();
    assert_eq!(opened.name(), "from-ci");
    assert_eq!(opened.value(), b"\"deployed\"");
    let other_sender = b64(other.public_key().as_bytes());
    assert_eq!(
        vk.open_deposit(&hexid(&item), 1, &other_sender, &sealed, &name, &value)
            .unwrap_err()
            .field(),
        "sealed_item_key",
        "another depositor"
    );
    assert!(
        vk.open_deposit(&hexid(&item), 2, &sender, &sealed, &name, &value)
            .is_err()
    );

    // While a rotation is due: sealed to a reader's own key, naming the reader.
    let reader = UserKeyPair::generate().unwrap();
    let me = Id::from_bytes([0x13; 16]);
    let reader_public = PublicKey::from_slice(&unb64(&reader.public_key())).unwrap();
    let aad = deposit_aad(&owner, &vault, &item, 1, 2).recipient(RecipientKind::User, &me);
    let to_reader = seal_to_auth(&reader_public, &depositor, &item_key, &aad)
        .unwrap()
        .to_base64();
    let args = |who: &Id| {
        reader.open_deposit(
            &hexid(who),
            &hexid(&owner),
            &hexid(&vault),
            2,
            &hexid(&item),
            1,
            &sender,
            &to_reader,
            &name,
            &value,
        )
    };
    assert_eq!(args(&me).unwrap().name(), "from-ci");
    assert!(
        args(&Id::from_bytes([0x14; 16])).is_err(),
        "as another user"
    );
}

/// Debug output (which may reach a log or the console) shows no key, secret or plaintext.
#[test]
fn debug_shows_no_secret() {
    let session = keyslot_wasm::SessionUnlock::new().unwrap();
    let secret = session.secret_for_session_storage();
    let token =
        E2eToken::generate_anchored(&IdentityKey::generate().unwrap().public_key()).unwrap();
    let vk = VaultKey::generate(&"11".repeat(16), &"22".repeat(16), 1).unwrap();
    let item = vk
        .seal_item(&"33".repeat(16), 1, "db/password", b"hunter2-value")
        .unwrap();
    let opened = vk
        .open_item(
            &"33".repeat(16),
            1,
            &item.wrapped_item_key,
            &item.sealed_name,
            &item.sealed_value,
        )
        .unwrap();
    let shown = format!(
        "{session:?} {token:?} {vk:?} {opened:?} {:?} {:?}",
        token.credential(),
        session.credential()
    );
    let secret_hex = hex::encode(
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &secret).unwrap(),
    );
    for leaked in [
        secret.as_str(),
        secret_hex.as_str(),
        &token.secret_text(),
        "db/password",
        "hunter2",
    ] {
        assert!(!shown.contains(leaked), "{shown}");
    }
    // The raw bytes as Rust's Debug would print them.
    assert!(!shown.contains('['), "no byte arrays: {shown}");
}

/// A token minted in the page commits its id to the minting identity (review R2 finding
/// 5): it is anchored to that identity and no other, and the anchor survives the `kse_`
/// text (what the user copies into a script).
#[test]
fn a_page_minted_token_is_anchored_to_its_users_identity() {
    let alice = IdentityKey::generate().unwrap().public_key();
    let server = IdentityKey::generate().unwrap().public_key();
    let token = E2eToken::generate_anchored(&alice).unwrap();
    assert!(token.anchored_to(&alice));
    assert!(
        !token.anchored_to(&server),
        "another identity does not match the id"
    );
    let copied = E2eToken::parse(&token.secret_text()).unwrap();
    assert_eq!(copied.id(), token.id());
    assert!(copied.anchored_to(&alice));
    assert!(!copied.anchored_to(&server));
}
