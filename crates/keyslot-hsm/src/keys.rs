//! The keys in the token: one AES-256 seal key and, beside it, HMAC-SHA256 keys under
//! their own labels. Created by [`init`] (`keyslot seal init-hsm`) as token objects that
//! are private, sensitive and non-extractable, and each usable for its one job only (the
//! AES key encrypts and decrypts, the HMAC keys sign and verify; none wraps or derives).
//! At every start they are found by label and their attributes checked again: a key that
//! could leave the HSM is refused, whoever made it.

use cryptoki::error::Result as CkResult;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use sha2::{Digest, Sha256};

use crate::conn::{self, pkcs11};
use crate::{Error, Pkcs11Config, Result};

/// The HMAC-SHA256 keys kept beside the seal key, one per use, so that a MAC made for one
/// purpose can never stand in for another. Nothing in Keyslot computes these MACs yet:
/// they exist so the features that need them (issue 14) find them in the HSM from the
/// start, created with the same care as the seal key, instead of being derived from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MacKey {
    /// MACs over users' public keys.
    PublicKeyMac,
    /// Device cookies (known-device login throttling).
    DeviceCookie,
    /// Per-username attempt counters (keyed so the database holds no usernames in clear).
    UsernameCounter,
    /// Fake prelogin salts for unknown usernames.
    PreloginSalt,
}

impl MacKey {
    /// Every MAC key, in the order [`Handles::macs`] holds them.
    pub const ALL: [Self; 4] = [
        Self::PublicKeyMac,
        Self::DeviceCookie,
        Self::UsernameCounter,
        Self::PreloginSalt,
    ];

    /// The label suffix: the key's label is `<seal key label>/mac/<suffix>`.
    pub const fn suffix(self) -> &'static str {
        match self {
            Self::PublicKeyMac => "public-key-mac",
            Self::DeviceCookie => "device-cookie",
            Self::UsernameCounter => "username-counter",
            Self::PreloginSalt => "prelogin-salt",
        }
    }

    pub(crate) const fn index(self) -> usize {
        match self {
            Self::PublicKeyMac => 0,
            Self::DeviceCookie => 1,
            Self::UsernameCounter => 2,
            Self::PreloginSalt => 3,
        }
    }

    /// The full label under the seal key's label.
    pub fn label(self, seal_label: &str) -> String {
        format!("{seal_label}/mac/{}", self.suffix())
    }
}

/// The object handles of one logged-in session, and what was read from the key.
#[derive(Debug, Clone)]
pub(crate) struct Handles {
    pub(crate) aes: ObjectHandle,
    /// From the AES key's `CKA_ID` (4 bytes, big-endian): written into every envelope.
    pub(crate) key_version: u32,
    pub(crate) macs: [ObjectHandle; 4],
    pub(crate) fingerprint: String,
}

const FINGERPRINT_DOMAIN: &[u8] = b"keyslot/v1/seal-key-fingerprint/pkcs11";

/// Find the seal key and its MAC keys by label and check they never leave the HSM.
pub(crate) fn find(session: &Session, token: &str, label: &str) -> Result<Handles> {
    let aes = one(session, token, label, KeyType::AES)?;
    let attrs = session
        .get_attributes(
            aes,
            &[
                AttributeType::ValueLen,
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::Id,
            ],
        )
        .map_err(|e| pkcs11("reading the seal key's attributes", &e))?;
    check_secret(label, &attrs)?;
    let key_version = attrs
        .iter()
        .find_map(|a| match a {
            Attribute::Id(id) => <[u8; 4]>::try_from(id.as_slice()).ok(),
            _ => None,
        })
        .map(u32::from_be_bytes)
        .ok_or(Error::KeyAttributes {
            label: label.to_owned(),
            reason: "CKA_ID is not a 4-byte key version",
        })?;
    let mut macs = [aes; 4];
    for mac in MacKey::ALL {
        let mac_label = mac.label(label);
        let handle = one(session, token, &mac_label, KeyType::GENERIC_SECRET)?;
        let attrs = session
            .get_attributes(
                handle,
                &[
                    AttributeType::ValueLen,
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                ],
            )
            .map_err(|e| pkcs11("reading a MAC key's attributes", &e))?;
        check_secret(&mac_label, &attrs)?;
        macs[mac.index()] = handle;
    }
    // The fingerprint tells keys apart and reveals nothing about them: the key version,
    // and an HMAC under the seal key's own public-key MAC key of a fixed string.
    let probe = session
        .sign(
            &Mechanism::Sha256Hmac,
            macs[MacKey::PublicKeyMac.index()],
            FINGERPRINT_DOMAIN,
        )
        .map_err(|e| pkcs11("computing the fingerprint", &e))?;
    let mut h = Sha256::new();
    h.update(FINGERPRINT_DOMAIN);
    h.update(key_version.to_be_bytes());
    h.update(&probe);
    let fingerprint = format!("pkcs11:{}", hex::encode(&h.finalize()[..8]));
    Ok(Handles {
        aes,
        key_version,
        macs,
        fingerprint,
    })
}

fn template(label: &str, key_type: KeyType) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(key_type),
        Attribute::Label(label.as_bytes().to_vec()),
    ]
}

fn one(session: &Session, token: &str, label: &str, key_type: KeyType) -> Result<ObjectHandle> {
    let found = session
        .find_objects(&template(label, key_type))
        .map_err(|e| pkcs11("finding keys", &e))?;
    match found.as_slice() {
        [one] => Ok(*one),
        _ => Err(Error::Key {
            token: token.to_owned(),
            label: label.to_owned(),
            found: found.len(),
        }),
    }
}

fn check_secret(label: &str, attrs: &[Attribute]) -> Result<()> {
    let bad = |reason| Error::KeyAttributes {
        label: label.to_owned(),
        reason,
    };
    let (mut len, mut sensitive, mut extractable) = (None, None, None);
    for a in attrs {
        match a {
            Attribute::ValueLen(l) => len = Some(u64::from(*l)),
            Attribute::Sensitive(s) => sensitive = Some(*s),
            Attribute::Extractable(x) => extractable = Some(*x),
            _ => {}
        }
    }
    if len != Some(32) {
        return Err(bad("not a 256-bit key"));
    }
    if sensitive != Some(true) || extractable != Some(false) {
        return Err(bad(
            "the key may leave the HSM (CKA_SENSITIVE must be true, CKA_EXTRACTABLE false)",
        ));
    }
    Ok(())
}

fn secret_template(label: &str, key_type: KeyType, version: Option<u32>) -> Vec<Attribute> {
    let aes = version.is_some();
    let mut t = template(label, key_type);
    t.extend([
        Attribute::ValueLen(32.into()),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Encrypt(aes),
        Attribute::Decrypt(aes),
        Attribute::Sign(!aes),
        Attribute::Verify(!aes),
        Attribute::Wrap(false),
        Attribute::Unwrap(false),
        Attribute::Derive(false),
    ]);
    if let Some(v) = version {
        t.push(Attribute::Id(v.to_be_bytes().to_vec()));
    }
    t
}

/// Create the seal key (key version 1) and its MAC keys in the token, skipping any that
/// exist (an `init` interrupted half-way finishes the next time). Fails with
/// [`Error::Exists`] if every key was already there. Returns the new key's fingerprint.
pub fn init(config: &Pkcs11Config) -> Result<String> {
    let ctx = conn::load(&config.module)?;
    let session = conn::login(&ctx, &config.token, &config.pin, true)?;
    let mut created = 0;
    let mut wanted = vec![(config.key.clone(), KeyType::AES, Some(1u32))];
    wanted.extend(
        MacKey::ALL
            .iter()
            .map(|m| (m.label(&config.key), KeyType::GENERIC_SECRET, None)),
    );
    for (label, key_type, version) in &wanted {
        let existing = session
            .find_objects(&template(label, *key_type))
            .map_err(|e| pkcs11("finding keys", &e))?;
        if !existing.is_empty() {
            continue;
        }
        let mechanism = if version.is_some() {
            Mechanism::AesKeyGen
        } else {
            Mechanism::GenericSecretKeyGen
        };
        generate(
            &session,
            &mechanism,
            &secret_template(label, *key_type, *version),
        )
        .map_err(|e| pkcs11("generating a key", &e))?;
        created += 1;
    }
    if created == 0 {
        return Err(Error::Exists {
            token: config.token.clone(),
            label: config.key.clone(),
        });
    }
    Ok(find(&session, &config.token, &config.key)?.fingerprint)
}

fn generate(session: &Session, mechanism: &Mechanism<'_>, t: &[Attribute]) -> CkResult<()> {
    session.generate_key(mechanism, t).map(drop)
}
