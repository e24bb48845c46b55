//! Known answers: every test vector of `docs/FORMAT.md` (§2–§11) recomputed by this
//! build of keyslot-crypto. The browser test calls [`known_answers`] in Chromium and the
//! native test calls the same function, and both compare every value with the document
//! and with `crates/keyslot-crypto/tests/vectors/e2e.json`: the wasm32 build and the
//! native one give the same bytes for the same inputs.
//!
//! It ships in the module as a self-test a page may run, like a
//! power-on known-answer test; it computes with fixed nonces, and its inputs are the
//! document's published constants, so it exposes no key of anyone's. Its Argon2id run
//! (the password vector) takes as long as a login's.

use std::collections::BTreeMap;

use keyslot_crypto::envelope::seal_with_nonce;
use keyslot_crypto::identity::{
    IdentityKeyPair, item_message, members_message, role, token_key_message, user_x25519_message,
    vault_key_message,
};
use keyslot_crypto::item::{ItemPlace, SealedItem, vault_name_aad};
use keyslot_crypto::name_index::NameIndexKey;
use keyslot_crypto::pins::PinKey;
use keyslot_crypto::public_key_mac::public_key_mac_input;
use keyslot_crypto::sealed_key::seal_with_ephemeral_ikm;
use keyslot_crypto::sealed_key_auth::seal_auth_with_ephemeral_ikm;
use keyslot_crypto::slot::item_key_aad;
use keyslot_crypto::slot::password::derive;
use keyslot_crypto::token_anchor::TokenAnchorKey;
use keyslot_crypto::x25519::token_public_key;
use keyslot_crypto::{
    Aad, Argon2Params, CredentialKind, E2eTokenCredential, Id, ItemKey, LocalSealKey, Password,
    Purpose, RecipientKind, RecoveryCode, RecoveryKeyPair, SealKey, SessionCredential,
    TokenCredential, TokenKeyPair, VaultKey, VaultKeyPair, chain_aad, deposit_aad, grant_aad,
    prelogin, public_key_mac, user_key_grant_aad,
};
use wasm_bindgen::prelude::wasm_bindgen;

use crate::encoding::{Refused, Result};

type Vectors = BTreeMap<&'static str, String>;

const fn id(byte: u8) -> Id {
    Id::from_bytes([byte; 16])
}

/// Every vector, `name -> value` (hex, base64url or text, as the document writes it),
/// as a JSON object.
#[wasm_bindgen(js_name = knownAnswers)]
pub fn known_answers() -> Result<String> {
    let v = compute().map_err(|e| Refused::new("known_answers", e))?;
    let mut out = String::from("{");
    for (i, (name, value)) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(&mut out, name);
        out.push(':');
        push_json_string(&mut out, value);
    }
    out.push('}');
    Ok(out)
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The vectors as a map (native tests).
pub fn compute() -> keyslot_crypto::Result<Vectors> {
    let mut v = Vectors::new();
    format_vectors(&mut v)?;
    lifecycle_vectors(&mut v)?;
    e2e_vectors(&mut v)?;
    Ok(v)
}

fn put(v: &mut Vectors, name: &'static str, value: impl Into<String>) {
    v.insert(name, value.into());
}

/// §2–§8: AAD, envelope, HKDF splits, Argon2id, seal key, text credentials.
fn format_vectors(v: &mut Vectors) -> keyslot_crypto::Result<()> {
    let (user, vault, item, cred) = (id(0x11), id(0x22), id(0x33), id(0x44));
    let aad = Aad::new(Purpose::ItemValue)
        .user(&user)
        .vault(&vault)
        .item(&item)
        .item_version(7)
        .key_version(1);
    put(v, "aad.item_value", hex::encode(aad.encode()));
    let env = seal_with_nonce(&[0x42; 32], 1, [0x24; 24], &aad, b"hello keyslot")?;
    put(v, "envelope.item_value", hex::encode(env.to_bytes()));
    put(v, "envelope.item_value.base64url", env.to_base64());
    put(
        v,
        "aad.item_key",
        hex::encode(item_key_aad(&user, &vault, &item, 7, 1).encode()),
    );

    let token = TokenCredential::from_parts(cred, [0x55; 32]);
    put(v, "token.text", token.expose_text().as_str());
    let t = token.unlock();
    put(v, "token.verifier", hex::encode(t.verifier().as_bytes()));
    put(
        v,
        "token.wrap_key",
        hex::encode(t.expose_wrap_key().expose_secret()),
    );
    put(
        v,
        "token.x25519_public",
        hex::encode(token_public_key(&token)),
    );

    let session = SessionCredential::from_parts(cred, [0x66; 32]);
    put(v, "session.text", session.expose_text().as_str());
    let s = session.unlock();
    put(v, "session.verifier", hex::encode(s.verifier().as_bytes()));
    put(
        v,
        "session.wrap_key",
        hex::encode(s.expose_wrap_key().expose_secret()),
    );
    put(v, "session.csrf_token", session.csrf_token().as_str());
    put(
        v,
        "aad.session_user_key_slot",
        hex::encode(
            Aad::new(Purpose::UserKeySlot)
                .user(&user)
                .credential(CredentialKind::Session, &cred)
                .encode(),
        ),
    );

    let code = RecoveryCode::from_bytes([0x77; 16]);
    put(v, "recovery.text", code.expose_text().as_str());
    let r = code.unlock(cred);
    put(v, "recovery.verifier", hex::encode(r.verifier().as_bytes()));
    put(
        v,
        "recovery.wrap_key",
        hex::encode(r.expose_wrap_key().expose_secret()),
    );

    let p = password_vector()?;
    put(v, "password.verifier", hex::encode(p.verifier().as_bytes()));
    put(
        v,
        "password.wrap_key",
        hex::encode(p.expose_wrap_key().expose_secret()),
    );

    let seal = LocalSealKey::from_bytes([0x99; 32]);
    put(v, "seal_key.file", seal.to_file_text().trim_end());
    put(v, "seal_key.fingerprint", seal.fingerprint());
    Ok(())
}

/// §5.2's password: `correct horse battery staple`, salt 88…88, credential 44…44, OWASP.
fn password_vector() -> keyslot_crypto::Result<keyslot_crypto::UnlockedCredential> {
    derive(
        &Password::new("correct horse battery staple"),
        &[0x88; 16],
        &Argon2Params::OWASP,
        id(0x44),
    )
}

/// §9–§10: key pairs, the sealed grant, the chain link, public-key MACs.
fn lifecycle_vectors(v: &mut Vectors) -> keyslot_crypto::Result<()> {
    let (user, vault, item, cred) = (id(0x11), id(0x22), id(0x33), id(0x44));
    let grant = grant_aad(&user, &vault, 2, RecipientKind::Token, &cred);
    put(v, "aad.vault_key_grant", hex::encode(grant.encode()));
    put(
        v,
        "aad.user_key_grant",
        hex::encode(user_key_grant_aad(&user, &cred).encode()),
    );
    put(
        v,
        "aad.deposit_item_key",
        hex::encode(deposit_aad(&user, &vault, &item, 7, 2).encode()),
    );
    put(
        v,
        "aad.vault_key_chain",
        hex::encode(chain_aad(&user, &vault, 1).encode()),
    );

    let token = TokenCredential::from_parts(cred, [0x55; 32]);
    let token_pair = TokenKeyPair::derive(&token);
    let code = RecoveryCode::from_bytes([0x77; 16]);
    let recovery_pk = RecoveryKeyPair::derive(&code, &cred).public_key();
    put(
        v,
        "recovery.x25519_public",
        hex::encode(recovery_pk.as_bytes()),
    );
    let vault_pk = VaultKeyPair::derive(&VaultKey::from_bytes([0x62; 32]), &vault, 2).public_key();
    put(v, "vault.x25519_public", hex::encode(vault_pk.as_bytes()));

    let sealed = seal_with_ephemeral_ikm(
        &token_pair.public_key(),
        &VaultKey::from_bytes([0x5a; 32]),
        &grant,
        &[0x0e; 32],
    )?;
    put(
        v,
        "sealed_key.vault_key_grant",
        hex::encode(sealed.to_bytes()),
    );
    put(
        v,
        "sealed_key.vault_key_grant.base64url",
        sealed.to_base64(),
    );

    // §9.4: a deposit made while a rotation is due, sealed to a reader (the token).
    let reader = deposit_aad(&user, &vault, &item, 7, 2).recipient(RecipientKind::Token, &cred);
    put(
        v,
        "aad.deposit_item_key.reader",
        hex::encode(reader.encode()),
    );
    let deposit = seal_with_ephemeral_ikm(
        &token_pair.public_key(),
        &ItemKey::from_bytes([0x42; 32]),
        &reader,
        &[0x0e; 32],
    )?;
    put(
        v,
        "sealed_key.deposit_item_key.reader",
        hex::encode(deposit.to_bytes()),
    );

    let link = seal_with_nonce(
        &[0x62; 32],
        2,
        [0x25; 24],
        &chain_aad(&user, &vault, 1),
        &[0x61; 32],
    )?;
    put(v, "envelope.vault_key_chain", hex::encode(link.to_bytes()));

    let seal = LocalSealKey::from_bytes([0x99; 32]);
    let token_pk = token_pair.public_key();
    let token_input =
        public_key_mac_input(RecipientKind::Token, &cred, &user, None, None, &token_pk);
    put(v, "public_key_mac.token.input", hex::encode(token_input));
    put(
        v,
        "public_key_mac.token",
        hex::encode(public_key_mac(
            &seal,
            RecipientKind::Token,
            &cred,
            &user,
            None,
            None,
            &token_pk,
        )?),
    );
    let vault_input = public_key_mac_input(
        RecipientKind::Vault,
        &vault,
        &user,
        Some(&vault),
        Some(2),
        &vault_pk,
    );
    put(v, "public_key_mac.vault.input", hex::encode(vault_input));
    put(
        v,
        "public_key_mac.vault",
        hex::encode(public_key_mac(
            &seal,
            RecipientKind::Vault,
            &vault,
            &user,
            Some(&vault),
            Some(2),
            &vault_pk,
        )?),
    );
    Ok(())
}

/// §11: end-to-end tokens and proofs, the prelogin stand-in, items, names, name index.
fn e2e_vectors(v: &mut Vectors) -> keyslot_crypto::Result<()> {
    let token = E2eTokenCredential::from_parts(id(0x44), [0x55; 32]);
    put(v, "e2e_token.text", token.expose_text().as_str());
    let proof = token.unlock().auth_proof();
    put(v, "e2e_token.auth", hex::encode(proof.expose_auth()));
    put(v, "e2e_token.auth_proof", proof.to_text().as_str());
    let password = password_vector()?.auth_proof();
    put(v, "password.auth", hex::encode(password.expose_auth()));
    // The anchored token id: secret 55…55, the identity of seed 66…66.
    let anchor_identity = IdentityKeyPair::from_seed(&[0x66; 32]).public();
    put(
        v,
        "token_anchor.id",
        TokenAnchorKey::derive(&[0x55; 32])
            .id_for(&anchor_identity)
            .to_string(),
    );
    put(
        v,
        "password.auth.base64url",
        password.auth_base64url().as_str(),
    );

    let seal = LocalSealKey::from_bytes([0x99; 32]);
    let (salt, credential_id) = prelogin::fake_parameters(&seal, "alice")?;
    put(v, "prelogin.alice.salt", hex::encode(salt));
    put(v, "prelogin.alice.credential_id", credential_id.to_string());

    let place = ItemPlace {
        owner: id(0x11),
        vault: id(0x22),
        item: id(0x33),
        version: 7,
        key_version: 2,
    };
    let (vk, item_key) = ([0x62; 32], [0x42; 32]);
    let wrapped = seal_with_nonce(&vk, 1, [0x01; 24], &place.item_key_aad(), &item_key)?;
    put(v, "item.wrapped_item_key", hex::encode(wrapped.to_bytes()));
    let name = seal_with_nonce(
        &item_key,
        1,
        [0x02; 24],
        &place.content_aad(Purpose::ItemName),
        b"db/password",
    )?;
    put(v, "item.sealed_name", hex::encode(name.to_bytes()));
    let value = seal_with_nonce(
        &item_key,
        1,
        [0x03; 24],
        &place.content_aad(Purpose::ItemValue),
        b"\"hunter2\"",
    )?;
    put(v, "item.sealed_value", hex::encode(value.to_bytes()));
    let vault_name = seal_with_nonce(
        &vk,
        1,
        [0x04; 24],
        &vault_name_aad(&id(0x11), &id(0x22), 2),
        b"Production",
    )?;
    put(v, "vault.sealed_name", hex::encode(vault_name.to_bytes()));
    let index_key = NameIndexKey::derive(&VaultKey::from_bytes(vk), &id(0x22), 2);
    put(v, "name_index.key", hex::encode(index_key.expose_secret()));
    put(
        v,
        "name_index.db_password",
        hex::encode(index_key.index("db/password")),
    );
    let item = SealedItem {
        wrapped_item_key: wrapped.to_bytes(),
        sealed_name: name.to_bytes(),
        sealed_value: value.to_bytes(),
    };
    identity_vectors(v, &item)?;
    auth_seal_vectors(v)
}

/// §11.4: identity 71…71 (user 11…11) and 72…72 (user 13…13), what the first signs (the
/// token key of §11.1 as the X25519 key, VK_2's pair, the member list, the §11.3 item),
/// and the pin user 11…11 (user key 5b…5b) keeps for user 13…13.
fn identity_vectors(v: &mut Vectors, item: &SealedItem) -> keyslot_crypto::Result<()> {
    let (user, vault) = (id(0x11), id(0x22));
    let alice = IdentityKeyPair::from_seed(&[0x71; 32]);
    let bob = IdentityKeyPair::from_seed(&[0x72; 32]);
    put(v, "identity.public", hex::encode(alice.public().as_bytes()));
    put(v, "identity.fingerprint", alice.public().fingerprint());
    put(v, "identity2.public", hex::encode(bob.public().as_bytes()));
    put(
        v,
        "aad.identity_key",
        hex::encode(Aad::new(Purpose::IdentityKey).user(&user).encode()),
    );
    let token_pk =
        TokenKeyPair::derive(&E2eTokenCredential::from_parts(id(0x44), [0x55; 32])).public_key();
    let vault_pk = VaultKeyPair::derive(&VaultKey::from_bytes([0x62; 32]), &vault, 2).public_key();
    let members = vec![
        (id(0x13), role::WRITE, bob.public()),
        (user, role::OWNER, alice.public()),
    ];
    put(
        v,
        "sig.user_x25519.message",
        hex::encode(user_x25519_message(&user, &token_pk)),
    );
    put(
        v,
        "sig.token_key.message",
        hex::encode(token_key_message(&user, &id(0x44), &token_pk)),
    );
    put(
        v,
        "sig.vault_key.message",
        hex::encode(vault_key_message(&vault, 2, &vault_pk)),
    );
    put(
        v,
        "sig.members.message",
        hex::encode(members_message(&vault, 2, &members)?),
    );
    put(
        v,
        "sig.item.message",
        hex::encode(item_message(&vault, &id(0x33), 7, item)),
    );
    put(
        v,
        "sig.user_x25519",
        hex::encode(alice.sign_user_x25519(&user, &token_pk).as_bytes()),
    );
    put(
        v,
        "sig.token_key",
        hex::encode(alice.sign_token_key(&user, &id(0x44), &token_pk).as_bytes()),
    );
    put(
        v,
        "sig.vault_key",
        hex::encode(alice.sign_vault_key(&vault, 2, &vault_pk).as_bytes()),
    );
    put(
        v,
        "sig.members",
        hex::encode(alice.sign_members(&vault, 2, &members)?.as_bytes()),
    );
    put(
        v,
        "sig.item",
        hex::encode(alice.sign_item(&vault, &id(0x33), 7, item).as_bytes()),
    );
    let pin_key = PinKey::derive(&keyslot_crypto::UserKey::from_bytes([0x5b; 32]), &user);
    put(v, "pin.key", hex::encode(pin_key.expose_secret()));
    put(
        v,
        "pin.identity2",
        hex::encode(pin_key.pin(&id(0x13), &bob.public())),
    );
    Ok(())
}

/// §11.5: item key 42…42 sealed in HPKE auth mode to VK_2's pair (vault 22…22) by token
/// 44…44, deposit AAD item 33…33 at item version 1, key version 2, ikmE 0e…0e.
fn auth_seal_vectors(v: &mut Vectors) -> keyslot_crypto::Result<()> {
    let aad = deposit_aad(&id(0x11), &id(0x22), &id(0x33), 1, 2);
    put(v, "aad.deposit_item_key.auth", hex::encode(aad.encode()));
    let sealed = seal_auth_with_ephemeral_ikm(
        &VaultKeyPair::derive(&VaultKey::from_bytes([0x62; 32]), &id(0x22), 2).public_key(),
        &TokenKeyPair::derive(&E2eTokenCredential::from_parts(id(0x44), [0x55; 32])),
        &ItemKey::from_bytes([0x42; 32]),
        &aad,
        &[0x0e; 32],
    )?;
    put(
        v,
        "auth_sealed_key.deposit_item_key",
        hex::encode(sealed.to_bytes()),
    );
    Ok(())
}
