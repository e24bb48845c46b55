//! Keys sealed in HPKE *auth* mode (RFC 9180 §5.1.3): the sender proves, with its own
//! static X25519 key, who sealed the key (FORMAT §11.5).
//!
//! An end-to-end deposit token seals each item key this way to the vault's public key
//! (or, while a rotation is due, to each reader's), with the token's own pair as the
//! sender. The reader opens it with the sender's public key as the token's owner signed
//! it ([`crate::identity`]), so a deposit made by anyone else — the server included,
//! which could otherwise seal to a vault's public key as well as any token — fails to
//! open.
//!
//! Same suite and layout as [`crate::sealed_key`], with suite id 2 (the same suite in auth
//! mode), so a base-mode sealed key is never read as an auth-mode one or the reverse:
//!
//! ```text
//! 0   1   format version (1)
//! 1   1   suite id (2 = DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, auth mode)
//! 2   32  enc
//! 34  48  ciphertext ‖ tag: Seal(aad = bytes 0..2, pt = the 32 key bytes)
//! ```
//!
//! `info` = the canonical AAD (§3), as for base mode; the sender's public key enters the
//! KEM context (`enc ‖ pkR ‖ pkS`), so it need not be in the AAD.

use ::hpke::{OpModeR, OpModeS};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use crate::aad::Aad;
use crate::sealed_key::{
    CIPHERTEXT_LEN, ENC_LEN, FORMAT_VERSION, Opens, SEALED_KEY_LEN, Sealable, check_allowed,
    check_recipient, hpke_open, hpke_seal, kem_private_key, kem_public_key,
};
use crate::x25519::{PublicKey, TokenKeyPair, UserKeyPair, X25519Identity, private};
use crate::{Error, Result, random};

/// Suite id 2: the suite of [`crate::sealed_key`] in auth mode.
pub const SUITE_AUTH_X25519_SHA256_CHACHA20POLY1305: u8 = 2;

const HEADER: [u8; 2] = [FORMAT_VERSION, SUITE_AUTH_X25519_SHA256_CHACHA20POLY1305];

/// Identities that may seal in auth mode: a token (deposits) and a user.
pub trait AuthSender: X25519Identity {}
impl AuthSender for TokenKeyPair {}
impl AuthSender for UserKeyPair {}

/// One symmetric key sealed to one public key by one sender.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthSealedKey {
    enc: [u8; ENC_LEN],
    ciphertext: [u8; CIPHERTEXT_LEN],
}

impl core::fmt::Debug for AuthSealedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuthSealedKey")
            .field("suite", &SUITE_AUTH_X25519_SHA256_CHACHA20POLY1305)
            .field("enc", &hex::encode(self.enc))
            .finish_non_exhaustive()
    }
}

impl AuthSealedKey {
    /// The encoded bytes: always 82 long.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SEALED_KEY_LEN);
        out.extend_from_slice(&HEADER);
        out.extend_from_slice(&self.enc);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Parse: exactly 82 bytes, version 1, suite 2 (a base-mode key, suite 1, is refused).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let malformed = |reason| Error::Malformed {
            what: "auth sealed key",
            reason,
        };
        let (&version, rest) = bytes.split_first().ok_or(malformed("empty"))?;
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "auth sealed key",
                version,
            });
        }
        let (&suite, rest) = rest.split_first().ok_or(malformed("too short"))?;
        if suite != SUITE_AUTH_X25519_SHA256_CHACHA20POLY1305 {
            return Err(Error::UnknownAlgorithm(suite));
        }
        let (enc, ciphertext) = rest
            .split_at_checked(ENC_LEN)
            .ok_or(malformed("not 82 bytes"))?;
        Ok(Self {
            enc: enc.try_into().map_err(|_| malformed("not 82 bytes"))?,
            ciphertext: ciphertext
                .try_into()
                .map_err(|_| malformed("not 82 bytes"))?,
        })
    }

    /// base64url without padding, for JSON.
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.to_bytes())
    }

    /// Parse base64url without padding.
    pub fn from_base64(text: &str) -> Result<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| Error::Malformed {
            what: "auth sealed key",
            reason: "not base64url without padding",
        })?;
        Self::from_bytes(&bytes)
    }
}

/// Seal `key` to `recipient` as `sender`, bound to `aad` (a purpose and recipient kind
/// `K` may be sealed under, see [`Sealable`]). The caller has verified `recipient`
/// (a signature rooted in a pinned identity, `docs/END-TO-END.md` §5).
pub fn seal_to_auth<K: Sealable>(
    recipient: &PublicKey,
    sender: &impl AuthSender,
    key: &K,
    aad: &Aad,
) -> Result<AuthSealedKey> {
    let ikm = Zeroizing::new(random::array::<32>()?);
    seal_auth_with_ephemeral_ikm(recipient, sender, key, aad, &ikm)
}

/// Deterministic auth-mode sealing for the test vectors only; see
/// [`crate::sealed_key::seal_with_ephemeral_ikm`] for why `ikm_e` must otherwise be fresh.
#[doc(hidden)]
pub fn seal_auth_with_ephemeral_ikm<K: Sealable>(
    recipient: &PublicKey,
    sender: &impl AuthSender,
    key: &K,
    aad: &Aad,
    ikm_e: &[u8; 32],
) -> Result<AuthSealedKey> {
    check_allowed::<K>(aad)?;
    let sender_sk = kem_private_key(private::Sealed::secret(sender, private::Token::new()))?;
    let sender_pk = kem_public_key(&sender.public_key())?;
    let (enc, ciphertext) = hpke_seal(
        &OpModeS::Auth((sender_sk, sender_pk)),
        &kem_public_key(recipient)?,
        key.key_bytes(),
        aad,
        &HEADER,
        ikm_e,
        "auth sealed key",
    )?;
    Ok(AuthSealedKey { enc, ciphertext })
}

/// Open a key sealed to `identity` by the holder of `sender_public`, bound to `aad`.
/// Another sender, identity or context, or tampered bytes: [`Error::Decrypt`].
pub fn open_from_auth<K: Sealable>(
    identity: &impl Opens<K>,
    sender_public: &PublicKey,
    sealed: &AuthSealedKey,
    aad: &Aad,
) -> Result<K> {
    check_recipient::<K, _>(identity, aad)?;
    let sk = kem_private_key(private::Sealed::secret(identity, private::Token::new()))
        .map_err(|_| Error::Decrypt)?;
    let sender_pk = kem_public_key(sender_public).map_err(|_| Error::Decrypt)?;
    let bytes = hpke_open(
        &OpModeR::Auth(sender_pk),
        &sk,
        &sealed.enc,
        &sealed.ciphertext,
        aad,
        &HEADER,
    )?;
    Ok(K::from_key_bytes(bytes))
}
