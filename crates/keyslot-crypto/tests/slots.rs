//! Keyslots: each credential opens its own slot only; changing one slot leaves the others
//! working; the password policy refuses bad parameters before any hashing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use keyslot_crypto::slot::password::derive;
use keyslot_crypto::{
    Aad, Argon2Params, Envelope, Error, Id, KdfPolicy, LocalSealKey, Password, PasswordSlot,
    Purpose, RecoveryCode, SealKey, SealedPasswordSlot, SessionCredential, TokenCredential,
    UserKey, UserKeyPair, VaultKey, Wraps,
};

/// A cheap policy for tests that are not about cost: Argon2 at the library minimum.
fn cheap_policy() -> KdfPolicy {
    let cheap = Argon2Params {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };
    KdfPolicy {
        floor: cheap,
        ceiling: Argon2Params {
            m_cost_kib: 1 << 20,
            t_cost: 16,
            p_cost: 8,
        },
        target: cheap,
    }
}

struct Account {
    user: Id,
    user_key: UserKey,
    seal: LocalSealKey,
}

fn account() -> Account {
    Account {
        user: Id::random().unwrap(),
        user_key: UserKey::generate().unwrap(),
        seal: LocalSealKey::generate().unwrap(),
    }
}

fn same(a: &UserKey, b: &UserKey) -> bool {
    a.expose_secret() == b.expose_secret()
}

#[test]
fn password_slot_opens_with_the_right_password_only() {
    let a = account();
    let policy = cheap_policy();
    let cred = Id::random().unwrap();
    let slot = PasswordSlot::create(
        &Password::new("correct horse battery"),
        &policy,
        &a.user,
        cred,
        &a.user_key,
    )
    .unwrap();
    let sealed =
        SealedPasswordSlot::from_bytes(&slot.seal(&a.seal, &a.user, &cred).unwrap().to_bytes())
            .unwrap();
    let unsealed = sealed.unseal(&a.seal, &a.user, &cred).unwrap();

    let opened = unsealed
        .unlock(
            &Password::new("correct horse battery"),
            &policy,
            &a.user,
            cred,
        )
        .unwrap();
    assert!(same(&opened, &a.user_key));
    assert_eq!(
        unsealed
            .unlock(
                &Password::new("correct horse batterY"),
                &policy,
                &a.user,
                cred
            )
            .unwrap_err(),
        Error::WrongCredential
    );
    // Moved to another user or credential, the sealed slot does not even unseal.
    assert!(
        sealed
            .unseal(&a.seal, &Id::random().unwrap(), &cred)
            .is_err()
    );
    assert!(
        sealed
            .unseal(&a.seal, &a.user, &Id::random().unwrap())
            .is_err()
    );
    // Without the right seal key (a stolen database alone), nothing to test guesses against.
    assert_eq!(
        sealed
            .unseal(&LocalSealKey::generate().unwrap(), &a.user, &cred)
            .unwrap_err(),
        Error::Decrypt
    );
}

#[test]
fn recovery_session_and_token_slots_open_with_their_own_secret_only() {
    let a = account();
    let rc_id = Id::random().unwrap();
    let code = RecoveryCode::generate().unwrap();
    let rc = code.unlock(rc_id);
    let rc_slot = rc.wrap_user_key(&a.user, &a.user_key).unwrap();
    let again = RecoveryCode::parse(&code.expose_text())
        .unwrap()
        .unlock(rc_id);
    again.check(rc.verifier()).unwrap();
    assert!(same(
        &again.open_user_key(&a.user, &rc_slot).unwrap(),
        &a.user_key
    ));
    let wrong = RecoveryCode::generate().unwrap().unlock(rc_id);
    assert_eq!(
        wrong.check(rc.verifier()).unwrap_err(),
        Error::WrongCredential
    );
    assert!(wrong.open_user_key(&a.user, &rc_slot).is_err());

    let session = SessionCredential::generate().unwrap();
    let s = session.unlock();
    let s_slot = s.wrap_user_key(&a.user, &a.user_key).unwrap();
    let parsed = SessionCredential::parse(&session.expose_text())
        .unwrap()
        .unlock();
    assert!(same(
        &parsed.open_user_key(&a.user, &s_slot).unwrap(),
        &a.user_key
    ));
    assert!(
        SessionCredential::generate()
            .unwrap()
            .unlock()
            .open_user_key(&a.user, &s_slot)
            .is_err()
    );

    // A token scoped to one vault holds that vault's key and nothing else.
    let (vault_x, vault_y) = (Id::random().unwrap(), Id::random().unwrap());
    let vk = VaultKey::generate().unwrap();
    let token = TokenCredential::generate().unwrap();
    let t = token.unlock();
    let t_slot = t.wrap_vault_key(&a.user, &vault_x, 1, &vk).unwrap();
    let t2 = TokenCredential::parse(&token.expose_text())
        .unwrap()
        .unlock();
    t2.check(t.verifier()).unwrap();
    assert_eq!(
        t2.open_vault_key(&a.user, &vault_x, 1, &t_slot)
            .unwrap()
            .expose_secret(),
        vk.expose_secret()
    );
    assert!(
        t2.open_vault_key(&a.user, &vault_y, 1, &t_slot).is_err(),
        "slot moved to another vault must not open"
    );
    assert!(
        TokenCredential::generate()
            .unwrap()
            .unlock()
            .open_vault_key(&a.user, &vault_x, 1, &t_slot)
            .is_err()
    );
    // A session slot is not a token slot even with the same bytes: the kind is in the AAD.
    let same_bytes_as_session =
        SessionCredential::from_parts(*token.id(), *token.expose_secret()).unlock();
    assert!(
        same_bytes_as_session
            .open_vault_key(&a.user, &vault_x, 1, &t_slot)
            .is_err()
    );
}

#[test]
fn changing_the_password_leaves_every_other_slot_working() {
    let a = account();
    let policy = cheap_policy();
    let (pw_id, rc_id) = (Id::random().unwrap(), Id::random().unwrap());
    let old = PasswordSlot::create(
        &Password::new("old password 1"),
        &policy,
        &a.user,
        pw_id,
        &a.user_key,
    )
    .unwrap();
    let code = RecoveryCode::generate().unwrap();
    let rc_slot = code
        .unlock(rc_id)
        .wrap_user_key(&a.user, &a.user_key)
        .unwrap();
    let vault = Id::random().unwrap();
    let vk = VaultKey::generate().unwrap();
    let vk_wrapped = a
        .user_key
        .wrap(
            &vk,
            &keyslot_crypto::slot::vault_key_for_user_aad(&a.user, &vault, 1),
        )
        .unwrap();
    let token = TokenCredential::generate().unwrap();
    let t_slot = token
        .unlock()
        .wrap_vault_key(&a.user, &vault, 1, &vk)
        .unwrap();

    // Change: open with the old password, write a new slot under the same credential id.
    let uk = old
        .unlock(&Password::new("old password 1"), &policy, &a.user, pw_id)
        .unwrap();
    let new = PasswordSlot::create(
        &Password::new("new password 2"),
        &policy,
        &a.user,
        pw_id,
        &uk,
    )
    .unwrap();

    assert!(
        new.unlock(&Password::new("old password 1"), &policy, &a.user, pw_id)
            .is_err()
    );
    let uk2 = new
        .unlock(&Password::new("new password 2"), &policy, &a.user, pw_id)
        .unwrap();
    assert!(same(&uk2, &a.user_key));
    assert!(same(
        &code.unlock(rc_id).open_user_key(&a.user, &rc_slot).unwrap(),
        &a.user_key
    ));
    let vk2: VaultKey = uk2
        .unwrap_key(
            &vk_wrapped,
            &keyslot_crypto::slot::vault_key_for_user_aad(&a.user, &vault, 1),
        )
        .unwrap();
    assert_eq!(vk2.expose_secret(), vk.expose_secret());
    assert_eq!(
        token
            .unlock()
            .open_vault_key(&a.user, &vault, 1, &t_slot)
            .unwrap()
            .expose_secret(),
        vk.expose_secret()
    );
}

#[test]
fn argon2_parameters_below_the_floor_are_refused_even_with_the_right_password() {
    let a = account();
    let cred = Id::random().unwrap();
    let slot = PasswordSlot::create(
        &Password::new("right password"),
        &cheap_policy(),
        &a.user,
        cred,
        &a.user_key,
    )
    .unwrap();
    let strict = KdfPolicy::default();
    assert!(matches!(
        slot.unlock(&Password::new("right password"), &strict, &a.user, cred),
        Err(Error::KdfPolicy(_))
    ));
}

/// A slot planted with a huge cost (4 TiB of memory, 2^32-1 passes) is refused before
/// hashing: this test would not finish (or would exhaust memory) if Argon2 ran.
#[test]
fn a_planted_huge_argon2_cost_is_refused_before_hashing() {
    let a = account();
    let cred = Id::random().unwrap();
    let mut record = vec![1u8];
    record.extend_from_slice(&u32::MAX.to_be_bytes());
    record.extend_from_slice(&u32::MAX.to_be_bytes());
    record.extend_from_slice(&1u32.to_be_bytes());
    record.extend_from_slice(&[7u8; 16]);
    record.extend_from_slice(&[9u8; 32]);
    let dummy = a.user_key_wrapped_dummy();
    record.extend_from_slice(&dummy.to_bytes());
    let aad = Aad::new(Purpose::SealedPasswordSlot)
        .user(&a.user)
        .credential(keyslot_crypto::CredentialKind::Password, &cred);
    let sealed =
        SealedPasswordSlot::from_bytes(&a.seal.seal(&aad, &record).unwrap().to_bytes()).unwrap();
    let slot = sealed.unseal(&a.seal, &a.user, &cred).unwrap();
    assert_eq!(slot.params().m_cost_kib, u32::MAX);
    let started = Instant::now();
    let result = slot.unlock(
        &Password::new("anything at all"),
        &KdfPolicy::default(),
        &a.user,
        cred,
    );
    assert!(matches!(result, Err(Error::KdfPolicy(_))), "{result:?}");
    assert!(started.elapsed().as_secs() < 5);
}

trait Dummy {
    fn user_key_wrapped_dummy(&self) -> Envelope;
}
impl Dummy for Account {
    fn user_key_wrapped_dummy(&self) -> Envelope {
        TokenCredential::generate()
            .unwrap()
            .unlock()
            .wrap_user_key(&self.user, &self.user_key)
            .unwrap()
    }
}

#[test]
fn the_default_policy_hashes_at_owasp_parameters() {
    let policy = KdfPolicy::default();
    assert_eq!(
        policy.target,
        Argon2Params {
            m_cost_kib: 19 * 1024,
            t_cost: 2,
            p_cost: 1
        }
    );
    policy.check(&policy.target).unwrap();
    let cred = derive(
        &Password::new("x"),
        &[0; 16],
        &policy.target,
        Id::from_bytes([0; 16]),
    )
    .unwrap();
    assert_ne!(cred.verifier().as_bytes(), &[0u8; 32]);
    assert!(policy.needs_upgrade(&Argon2Params {
        m_cost_kib: 19 * 1024,
        t_cost: 1,
        p_cost: 1
    }));
}

#[test]
fn user_x25519_private_key_is_wrapped_by_the_user_key() {
    let a = account();
    let pair = UserKeyPair::generate().unwrap();
    let wrapped = pair.wrap(&a.user_key, &a.user).unwrap();
    let back = UserKeyPair::unwrap(&a.user_key, &a.user, &wrapped).unwrap();
    assert_eq!(back.public(), pair.public());
    assert!(UserKeyPair::unwrap(&UserKey::generate().unwrap(), &a.user, &wrapped).is_err());
    assert!(UserKeyPair::unwrap(&a.user_key, &Id::random().unwrap(), &wrapped).is_err());
    // Both sides of an exchange agree.
    let other = UserKeyPair::generate().unwrap();
    assert_eq!(
        pair.diffie_hellman(&other.public()),
        other.diffie_hellman(&pair.public())
    );
}

#[test]
fn seal_key_file_round_trips_and_refuses_garbage() {
    let key = LocalSealKey::generate().unwrap();
    let text = key.to_file_text();
    let back = LocalSealKey::from_file_text(&text).unwrap();
    assert_eq!(back.fingerprint(), key.fingerprint());
    assert!(!format!("{key:?}").contains(&text[20..30]));
    for bad in [
        "",
        "keyslot-seal-key-v1",
        "keyslot-seal-key-v1 !!!",
        "keyslot-seal-key-v1 AAAA",
        "other-format AAAA",
    ] {
        assert!(LocalSealKey::from_file_text(bad).is_err(), "{bad}");
    }
}
