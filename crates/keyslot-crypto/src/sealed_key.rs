//! Keys sealed to a public key: HPKE (RFC 9180), base mode, DHKEM(X25519, HKDF-SHA256),
//! HKDF-SHA256, ChaCha20-Poly1305 — the `hpke` crate, one suite, one id.
//!
//! This is how a key reaches a holder whose secret the server does not have: a rotated
//! vault key to the tokens and members that keep access (a *pending grant*, turned into an
//! ordinary slot at the holder's next use), a new user key to the recovery code, a deposited
//! item key to the vault (DESIGN §3.1).
//!
//! ```text
//! offset  size  field
//! 0       1     format version (1)
//! 1       1     suite id (1 = DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305)
//! 2       32    enc: the sender's ephemeral X25519 public key
//! 34      48    ciphertext ‖ tag: the 32 key bytes sealed, 16-byte Poly1305 tag
//! ```
//!
//! - HPKE `info` = [`Aad::encode`]: purpose, user, vault, key version, recipient kind and
//!   id. It enters the key schedule, so a sealed key opened under any other context fails.
//! - The AEAD's associated data = bytes 0..2 (version ‖ suite), so the header is
//!   authenticated like an envelope's.
//! - One message per HPKE context (sequence number 0), so the nonce is the base nonce.
//! - The ephemeral key is `DeriveKeyPair(ikmE)` with 32 bytes from the OS CSPRNG
//!   (RFC 9180 §4: `GenerateKeyPair`); a failing RNG is an [`Error::Rng`], never a panic.
//!
//! Which key may be sealed to whom is fixed in the types: [`Sealable`] lists, per key
//! type, the purposes and recipient kinds it may be sealed under (checked by [`seal_to`],
//! whose recipient is only a public key), and [`Opens`] lists which identity may open it
//! (checked at compile time by [`open_from`]):
//!
//! | key | purpose | recipients |
//! |---|---|---|
//! | [`VaultKey`] | `keyslot/v1/grant/vault-key` | token, user |
//! | [`UserKey`] | `keyslot/v1/grant/user-key` | recovery code |
//! | [`ItemKey`] | `keyslot/v1/deposit/item-key` | vault; user and token while a rotation is due |

use core::convert::Infallible;

use ::hpke::aead::ChaCha20Poly1305;
use ::hpke::kdf::HkdfSha256;
use ::hpke::kem::X25519HkdfSha256;
use ::hpke::rand_core::{TryCryptoRng, TryRng};
use ::hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use crate::aad::{Aad, Purpose, RecipientKind};
use crate::keys::{ItemKey, KEY_LEN, SymmetricKey, UserKey, VaultKey};
use crate::x25519::{
    PublicKey, RecoveryKeyPair, TokenKeyPair, UserKeyPair, VaultKeyPair, X25519Identity, private,
};
use crate::{Error, Result, random};

pub(crate) type Kem = X25519HkdfSha256;
pub(crate) type Kdf = HkdfSha256;
pub(crate) type Aead = ChaCha20Poly1305;

/// The sealed-key format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// Suite id 1: DHKEM(X25519, HKDF-SHA256) (KEM 0x0020), HKDF-SHA256 (KDF 0x0001),
/// ChaCha20-Poly1305 (AEAD 0x0003), base mode.
pub const SUITE_X25519_SHA256_CHACHA20POLY1305: u8 = 1;
/// Length of `enc` (an X25519 public key).
pub const ENC_LEN: usize = 32;
/// Length of the sealed key bytes with their tag.
pub const CIPHERTEXT_LEN: usize = KEY_LEN + 16;
/// Length of an encoded [`SealedKey`].
pub const SEALED_KEY_LEN: usize = 2 + ENC_LEN + CIPHERTEXT_LEN;

/// One symmetric key sealed to one public key. Holding it reveals nothing; opening needs
/// the recipient's private key *and* the same [`Aad`].
#[derive(Clone, PartialEq, Eq)]
pub struct SealedKey {
    enc: [u8; ENC_LEN],
    ciphertext: [u8; CIPHERTEXT_LEN],
}

impl core::fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SealedKey")
            .field("suite", &SUITE_X25519_SHA256_CHACHA20POLY1305)
            .field("enc", &hex::encode(self.enc))
            .finish_non_exhaustive()
    }
}

const HEADER: [u8; 2] = [FORMAT_VERSION, SUITE_X25519_SHA256_CHACHA20POLY1305];

impl SealedKey {
    /// The encoded bytes (see the module docs): always [`SEALED_KEY_LEN`] long.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(SEALED_KEY_LEN);
        out.extend_from_slice(&HEADER);
        out.extend_from_slice(&self.enc);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Parse encoded bytes: exactly [`SEALED_KEY_LEN`] bytes, version 1, suite 1.
    /// Checks structure only; authenticity is checked by [`open_from`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let malformed = |reason| Error::Malformed {
            what: "sealed key",
            reason,
        };
        let (&version, rest) = bytes.split_first().ok_or(malformed("empty"))?;
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                what: "sealed key",
                version,
            });
        }
        let (&suite, rest) = rest.split_first().ok_or(malformed("too short"))?;
        if suite != SUITE_X25519_SHA256_CHACHA20POLY1305 {
            return Err(Error::UnknownAlgorithm(suite));
        }
        if rest.len() != ENC_LEN + CIPHERTEXT_LEN {
            return Err(malformed("not 82 bytes"));
        }
        let (enc, ciphertext) = rest.split_at(ENC_LEN);
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
            what: "sealed key",
            reason: "not base64url without padding",
        })?;
        Self::from_bytes(&bytes)
    }

    /// The sender's ephemeral public key (`enc`).
    pub const fn enc(&self) -> &[u8; ENC_LEN] {
        &self.enc
    }
}

/// Key types that may be sealed to a public key, and under which purposes and to which
/// recipient kinds. Implemented for [`VaultKey`], [`UserKey`] and [`ItemKey`] only: a
/// [`crate::WrapKey`] is never sealed anywhere.
pub trait Sealable: SymmetricKey {
    /// Whether this key type may be sealed under `purpose` to a recipient of `kind`.
    fn may_seal(purpose: Purpose, kind: RecipientKind) -> bool;
}

impl Sealable for VaultKey {
    fn may_seal(purpose: Purpose, kind: RecipientKind) -> bool {
        purpose == Purpose::VaultKeyGrant
            && matches!(kind, RecipientKind::Token | RecipientKind::User)
    }
}

impl Sealable for UserKey {
    fn may_seal(purpose: Purpose, kind: RecipientKind) -> bool {
        purpose == Purpose::UserKeyGrant && kind == RecipientKind::RecoveryCode
    }
}

impl Sealable for ItemKey {
    fn may_seal(purpose: Purpose, kind: RecipientKind) -> bool {
        purpose == Purpose::DepositItemKey
            && matches!(
                kind,
                RecipientKind::Vault | RecipientKind::User | RecipientKind::Token
            )
    }
}

/// `Self` may open keys of type `K` sealed to it: the compile-time half of the table in
/// the module docs. A recovery code's pair cannot even be asked to open a vault key.
pub trait Opens<K: Sealable>: X25519Identity {}

impl Opens<VaultKey> for TokenKeyPair {}
impl Opens<VaultKey> for UserKeyPair {}
impl Opens<ItemKey> for TokenKeyPair {}
impl Opens<ItemKey> for UserKeyPair {}
impl Opens<ItemKey> for VaultKeyPair {}
impl Opens<UserKey> for RecoveryKeyPair {}

/// Seal `key` to `recipient`, bound to `aad` (which must name a purpose and recipient
/// kind that `K` may be sealed under, see [`Sealable`]; the constructors in
/// [`crate::lifecycle`] build such AADs).
///
/// The caller must have checked the recipient's public-key MAC first
/// ([`crate::public_key_mac::verify_public_key_mac`]): this function trusts `recipient`.
pub fn seal_to<K: Sealable>(recipient: &PublicKey, key: &K, aad: &Aad) -> Result<SealedKey> {
    let ikm = Zeroizing::new(random::array::<32>()?);
    seal_with_ephemeral_ikm(recipient, key, aad, &ikm)
}

/// Deterministic sealing for the test vectors in `docs/FORMAT.md` and the RFC 9180
/// known-answer test: the ephemeral key is `DeriveKeyPair(ikm_e)`. Never call this with
/// an `ikm_e` that is not fresh and random: a repeated ephemeral key with one recipient
/// repeats the AEAD key and nonce.
#[doc(hidden)]
pub fn seal_with_ephemeral_ikm<K: Sealable>(
    recipient: &PublicKey,
    key: &K,
    aad: &Aad,
    ikm_e: &[u8; 32],
) -> Result<SealedKey> {
    check_allowed::<K>(aad)?;
    let (enc, ciphertext) = hpke_seal(
        &OpModeS::Base,
        &kem_public_key(recipient)?,
        key.key_bytes(),
        aad,
        &HEADER,
        ikm_e,
        "sealed key",
    )?;
    Ok(SealedKey { enc, ciphertext })
}

/// Open a key sealed to `identity`, bound to `aad`. Fails with [`Error::Decrypt`] on the
/// wrong identity, the wrong context or tampered bytes (one error for all three), and
/// with [`Error::Malformed`] if `aad` names a recipient kind other than the identity's or
/// a purpose `K` is never sealed under.
pub fn open_from<K: Sealable>(
    identity: &impl Opens<K>,
    sealed: &SealedKey,
    aad: &Aad,
) -> Result<K> {
    check_recipient::<K, _>(identity, aad)?;
    let sk = kem_private_key(private::Sealed::secret(identity, private::Token::new()))?;
    let bytes = hpke_open(
        &OpModeR::Base,
        &sk,
        &sealed.enc,
        &sealed.ciphertext,
        aad,
        &HEADER,
    )?;
    Ok(K::from_key_bytes(bytes))
}

/// What every open checks before any decryption: `K` may be sealed under the AAD's purpose
/// to its kind of recipient, and that kind is the opening identity's.
pub(crate) fn check_recipient<K: Sealable, I: X25519Identity>(_: &I, aad: &Aad) -> Result<()> {
    check_allowed::<K>(aad)?;
    if aad.recipient_kind() != Some(I::KIND) {
        return Err(Error::Malformed {
            what: "sealed key context",
            reason: "names another kind of recipient than the identity opening it",
        });
    }
    Ok(())
}

/// The HPKE seal both sealed-key formats share (base mode here, auth mode in
/// [`crate::sealed_key_auth`]): a sender in `mode` to `pk` with the AAD's encoding as
/// `info` and `ikm_e` as the only randomness, sealing the key's bytes with the format's
/// `header` as the AEAD's associated data. `what` names the format in errors.
pub(crate) fn hpke_seal(
    mode: &OpModeS<'_, Kem>,
    pk: &<Kem as ::hpke::Kem>::PublicKey,
    key: &[u8; KEY_LEN],
    aad: &Aad,
    header: &[u8; 2],
    ikm_e: &[u8; 32],
    what: &'static str,
) -> Result<([u8; ENC_LEN], [u8; CIPHERTEXT_LEN])> {
    let info = aad.encode();
    let mut rng = OneShotIkm::new(ikm_e);
    let setup = ::hpke::setup_sender_with_rng::<Aead, Kdf, Kem>(mode, pk, &info, &mut rng);
    if rng.overdrawn() {
        // The KEM asked for more randomness than one X25519 key: not this suite's
        // behaviour, and the rest would not have been random. Refuse what it made.
        return Err(Error::Rng);
    }
    let (enc, mut ctx) = setup.map_err(|_| Error::Malformed {
        what: "x25519 public key",
        reason: "a low-order point (no shared secret)",
    })?;
    let sealed = ctx.seal(key, header).map_err(|_| Error::Malformed {
        what,
        reason: "the AEAD refused to seal",
    })?;
    let mut enc_bytes = [0u8; ENC_LEN];
    enc_bytes.copy_from_slice(&enc.to_bytes());
    let ciphertext = sealed.as_slice().try_into().map_err(|_| Error::Malformed {
        what,
        reason: "ciphertext of an unexpected length",
    })?;
    Ok((enc_bytes, ciphertext))
}

/// The HPKE open both sealed-key formats share: a receiver in `mode` with `sk`, the AAD's
/// encoding as `info` and the format's `header` as the AEAD's associated data. Any failure
/// is [`Error::Decrypt`]: a wrong identity, sender or context, or tampered bytes.
pub(crate) fn hpke_open(
    mode: &OpModeR<'_, Kem>,
    sk: &<Kem as ::hpke::Kem>::PrivateKey,
    enc: &[u8; ENC_LEN],
    ciphertext: &[u8],
    aad: &Aad,
    header: &[u8; 2],
) -> Result<[u8; KEY_LEN]> {
    let enc = <Kem as ::hpke::Kem>::EncappedKey::from_bytes(enc).map_err(|_| Error::Decrypt)?;
    let info = aad.encode();
    let mut ctx = ::hpke::setup_receiver::<Aead, Kdf, Kem>(mode, sk, &enc, &info)
        .map_err(|_| Error::Decrypt)?;
    let plain = Zeroizing::new(ctx.open(ciphertext, header).map_err(|_| Error::Decrypt)?);
    plain.as_slice().try_into().map_err(|_| Error::Decrypt)
}

pub(crate) fn check_allowed<K: Sealable>(aad: &Aad) -> Result<()> {
    match aad.recipient_kind() {
        Some(kind) if K::may_seal(aad.purpose(), kind) => Ok(()),
        Some(_) => Err(Error::Malformed {
            what: "sealed key context",
            reason: "this key type is never sealed under this purpose to this kind of recipient",
        }),
        None => Err(Error::Malformed {
            what: "sealed key context",
            reason: "names no recipient",
        }),
    }
}

/// The randomness `hpke` asks for: exactly one 32-byte `ikmE`, drawn beforehand from the
/// OS CSPRNG (so its failure is an error we return, not a panic inside `hpke`). Anything
/// beyond it is marked `overdrawn` and the result discarded by the caller.
pub(crate) struct OneShotIkm {
    ikm: Zeroizing<[u8; 32]>,
    drawn: bool,
    overdrawn: bool,
}

impl OneShotIkm {
    pub(crate) fn new(ikm: &[u8; 32]) -> Self {
        Self {
            ikm: Zeroizing::new(*ikm),
            drawn: false,
            overdrawn: false,
        }
    }

    /// Whether more than the one `ikmE` was asked for (the result must be discarded).
    pub(crate) const fn overdrawn(&self) -> bool {
        self.overdrawn
    }
}

/// An X25519 public key as the KEM's.
pub(crate) fn kem_public_key(key: &PublicKey) -> Result<<Kem as ::hpke::Kem>::PublicKey> {
    <Kem as ::hpke::Kem>::PublicKey::from_bytes(key.as_bytes()).map_err(|_| Error::Malformed {
        what: "x25519 public key",
        reason: "not 32 bytes",
    })
}

/// An identity's X25519 secret as the KEM's private key (same bytes, clamped by both).
pub(crate) fn kem_private_key(
    secret: &x25519_dalek::StaticSecret,
) -> Result<<Kem as ::hpke::Kem>::PrivateKey> {
    let bytes = Zeroizing::new(secret.to_bytes());
    <Kem as ::hpke::Kem>::PrivateKey::from_bytes(bytes.as_ref()).map_err(|_| Error::Decrypt)
}

impl TryRng for OneShotIkm {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> core::result::Result<u32, Infallible> {
        self.overdrawn = true;
        Ok(0)
    }

    fn try_next_u64(&mut self) -> core::result::Result<u64, Infallible> {
        self.overdrawn = true;
        Ok(0)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Infallible> {
        if self.drawn || dst.len() != self.ikm.len() {
            self.overdrawn = true;
            dst.fill(0);
        } else {
            dst.copy_from_slice(self.ikm.as_ref());
            self.drawn = true;
        }
        Ok(())
    }
}

/// The bytes come from the OS CSPRNG (or, in tests and vectors, are the fixed inputs the
/// test names); see [`seal_with_ephemeral_ikm`].
impl TryCryptoRng for OneShotIkm {}
