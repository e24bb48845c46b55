//! Password slots: Argon2id, its parameters stored in the slot, a policy floor and ceiling
//! checked *before* hashing, and a seal-key layer on top.
//!
//! ```text
//! master = Argon2id(password, salt (16 random bytes), m, t, p, 32 bytes out)
//! auth, wrap = HKDF split of master (kdf module, kind "password", salt = credential id)
//! ```
//!
//! The slot record (`docs/FORMAT.md` §Password slot):
//!
//! ```text
//! 1   record version (1)
//! 4   m_cost KiB, u32 BE
//! 4   t_cost, u32 BE
//! 4   p_cost, u32 BE
//! 16  salt
//! 32  verifier = SHA-256(auth)
//! ..  envelope: the user key wrapped under `wrap`
//! ```
//!
//! The record is then sealed under the server's [`SealKey`], bound to the user and the
//! credential, and only the sealed form is stored. Reading a slot therefore needs the seal
//! key first; then its parameters are checked against the [`KdfPolicy`] (no downgrade to a
//! cheap hash, no planted cost that would tie up the server), and only then does Argon2id run.

use core::fmt;

use argon2::{Algorithm as Argon2Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::UnlockedCredential;
use crate::aad::{Aad, CredentialKind, Purpose};
use crate::envelope::Envelope;
use crate::kdf::Verifier;
use crate::keys::UserKey;
use crate::seal::SealKey;
use crate::{Error, Id, Result, random};

/// A password as typed. Prints as `Password(***)`; zeroized on drop.
pub struct Password(SecretString);

impl Password {
    /// Wrap a password string.
    pub fn new(text: impl Into<String>) -> Self {
        Self(SecretString::from(text.into()))
    }

    /// The password text; for strength checks and hashing only.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }

    /// An end-to-end client's password step (`docs/END-TO-END.md` §3): check the
    /// parameters the prelogin answered against `policy` *before* hashing (a server, or
    /// anyone between, that answers cheap parameters gets no cheap hash to attack; one
    /// that answers huge ones ties up nothing), then Argon2id with `salt` and the HKDF
    /// split with `credential_id`. The result's [`UnlockedCredential::auth_proof`] is what
    /// the login sends; its wrap key opens the returned `wrapped_user_key`.
    ///
    /// The client's own "never below what I saw last for this username" check is the
    /// caller's (it needs the client's storage); [`KdfPolicy::check`] with that floor
    /// does it.
    pub fn unlock_client(
        &self,
        params: Argon2Params,
        salt: &[u8],
        credential_id: Id,
        policy: &KdfPolicy,
    ) -> Result<UnlockedCredential> {
        policy.check(&params)?;
        let salt: &[u8; 16] = salt.try_into().map_err(|_| Error::Malformed {
            what: "salt",
            reason: "not 16 bytes",
        })?;
        derive(self, salt, &params, credential_id)
    }
}

/// A fresh random 16-byte Argon2 salt, for a client building a password slot (sign-up,
/// password change, recovery).
pub fn generate_salt() -> Result<[u8; 16]> {
    random::array()
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Argon2id cost parameters, as stored in a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl Argon2Params {
    /// OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane. Keyslot's default and floor.
    pub const OWASP: Self = Self {
        m_cost_kib: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
    };

    fn to_argon2(self) -> Result<Params> {
        Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(32))
            .map_err(|_| Error::KdfPolicy("invalid Argon2 parameters"))
    }
}

impl Default for Argon2Params {
    /// [`Argon2Params::OWASP`].
    fn default() -> Self {
        Self::OWASP
    }
}

/// What Argon2 parameters a deployment accepts and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfPolicy {
    /// Slots below this are refused (no downgrade).
    pub floor: Argon2Params,
    /// Slots above this are refused before hashing (no planted DoS cost).
    pub ceiling: Argon2Params,
    /// What new slots are written with; slots below it are upgraded at the next login.
    pub target: Argon2Params,
}

impl Default for KdfPolicy {
    fn default() -> Self {
        Self {
            floor: Argon2Params::OWASP,
            ceiling: Argon2Params {
                m_cost_kib: 1024 * 1024,
                t_cost: 16,
                p_cost: 8,
            },
            target: Argon2Params::OWASP,
        }
    }
}

impl KdfPolicy {
    /// Refuse parameters outside `[floor, ceiling]`, component by component.
    pub fn check(&self, p: &Argon2Params) -> Result<()> {
        if p.m_cost_kib < self.floor.m_cost_kib
            || p.t_cost < self.floor.t_cost
            || p.p_cost < self.floor.p_cost
        {
            return Err(Error::KdfPolicy("below the floor"));
        }
        if p.m_cost_kib > self.ceiling.m_cost_kib
            || p.t_cost > self.ceiling.t_cost
            || p.p_cost > self.ceiling.p_cost
        {
            return Err(Error::KdfPolicy("above the ceiling"));
        }
        Ok(())
    }

    /// Whether a slot with `p` should be rewritten at the target on the next login.
    pub fn needs_upgrade(&self, p: &Argon2Params) -> bool {
        p.m_cost_kib < self.target.m_cost_kib
            || p.t_cost < self.target.t_cost
            || p.p_cost < self.target.p_cost
    }
}

/// An unsealed password slot.
#[derive(Debug)]
pub struct PasswordSlot {
    params: Argon2Params,
    salt: [u8; 16],
    verifier: Verifier,
    wrapped_user_key: Envelope,
}

/// A password slot sealed under the seal key: the only form that is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedPasswordSlot(Envelope);

const RECORD_VERSION: u8 = 1;
const FIXED_LEN: usize = 1 + 12 + 16 + 32;

/// Run Argon2id and derive the password credential. The expensive step (tens of
/// milliseconds at the defaults): servers call it on a blocking pool behind a semaphore.
pub fn derive(
    password: &Password,
    salt: &[u8; 16],
    params: &Argon2Params,
    credential_id: Id,
) -> Result<UnlockedCredential> {
    derive_with(
        &mut Argon2Memory::new(),
        password,
        salt,
        params,
        credential_id,
    )
}

/// Argon2id's working memory (19 MiB at the defaults), kept by one worker and reused
/// hash after hash. A fresh buffer per hash costs an allocation and page faults of that
/// size every time, and the process's RSS grows with it; a server holds one of these per
/// Argon2 worker instead.
///
/// The blocks Argon2 leaves behind are derived from the password, so [`derive_with`]
/// wipes them as soon as the hash is done: a buffer waiting in a pool between requests
/// holds zeros, not the last password's blocks. Also zeroized when dropped.
#[derive(Default)]
pub struct Argon2Memory(Vec<argon2::Block>);

impl Argon2Memory {
    /// Empty; grows to the parameters' size at first use.
    pub fn new() -> Self {
        Self::default()
    }

    fn blocks(&mut self, count: usize) -> &mut [argon2::Block] {
        if self.0.len() != count {
            self.0.resize(count, argon2::Block::default());
        }
        &mut self.0
    }

    /// Overwrite every block with zeros, keeping the allocation for the next hash.
    pub fn wipe(&mut self) {
        // Block by block: `Vec::zeroize` would also empty the vector and free nothing
        // useful, while the next hash would have to grow it again.
        for block in &mut self.0 {
            zeroize::Zeroize::zeroize(block);
        }
    }

    /// Whether every byte is zero (and how many KiB blocks there are): for tests that
    /// check nothing of a password outlives its hash.
    #[doc(hidden)]
    pub fn all_zero(&self) -> (bool, usize) {
        let zero = self
            .0
            .iter()
            .all(|b| AsRef::<[u64]>::as_ref(b).iter().all(|w| *w == 0));
        (zero, self.0.len())
    }
}

impl Drop for Argon2Memory {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl fmt::Debug for Argon2Memory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Argon2Memory({} KiB)", self.0.len())
    }
}

/// [`derive`] in caller-provided working memory.
pub fn derive_with(
    memory: &mut Argon2Memory,
    password: &Password,
    salt: &[u8; 16],
    params: &Argon2Params,
    credential_id: Id,
) -> Result<UnlockedCredential> {
    let params = params.to_argon2()?;
    let blocks = memory.blocks(params.block_count());
    let argon = Argon2::new(Argon2Algorithm::Argon2id, Version::V0x13, params);
    let mut master = Zeroizing::new([0u8; 32]);
    let hashed = argon.hash_password_into_with_memory(
        password.expose_secret().as_bytes(),
        salt,
        master.as_mut(),
        blocks,
    );
    // Before anything else, success or not: the blocks are derived from the password.
    memory.wipe();
    hashed.map_err(|_| Error::Kdf)?;
    Ok(UnlockedCredential::derive(
        CredentialKind::Password,
        credential_id,
        master.as_ref(),
    ))
}

fn seal_aad(user: &Id, credential_id: &Id) -> Aad {
    Aad::new(Purpose::SealedPasswordSlot)
        .user(user)
        .credential(CredentialKind::Password, credential_id)
}

impl PasswordSlot {
    /// A new slot for `password` holding `user_key`, at the policy's target parameters.
    /// Runs Argon2id once.
    pub fn create(
        password: &Password,
        policy: &KdfPolicy,
        user: &Id,
        credential_id: Id,
        user_key: &UserKey,
    ) -> Result<Self> {
        Self::create_with(
            &mut Argon2Memory::new(),
            password,
            policy,
            user,
            credential_id,
            user_key,
        )
    }

    /// [`PasswordSlot::create`] in caller-provided Argon2 memory.
    pub fn create_with(
        memory: &mut Argon2Memory,
        password: &Password,
        policy: &KdfPolicy,
        user: &Id,
        credential_id: Id,
        user_key: &UserKey,
    ) -> Result<Self> {
        let params = policy.target;
        policy.check(&params)?;
        let salt = random::array()?;
        let credential = derive_with(memory, password, &salt, &params, credential_id)?;
        Ok(Self {
            params,
            salt,
            verifier: *credential.verifier(),
            wrapped_user_key: credential.wrap_user_key(user, user_key)?,
        })
    }

    /// A slot from parts an end-to-end client made (`docs/END-TO-END.md` §3): the server
    /// never sees the password, so the client runs Argon2id ([`Password::unlock_client`]
    /// with a fresh [`generate_salt`] and credential id), wraps the user key
    /// ([`UnlockedCredential::wrap_user_key`]) and sends these; the server checks
    /// `params` against its policy and seals the slot ([`PasswordSlot::seal`]) as for any
    /// other. The wrapped user key is opaque to the server.
    pub fn from_parts(
        params: Argon2Params,
        salt: [u8; 16],
        verifier: Verifier,
        wrapped_user_key: Envelope,
    ) -> Self {
        Self {
            params,
            salt,
            verifier,
            wrapped_user_key,
        }
    }

    /// The stored Argon2 parameters.
    pub const fn params(&self) -> &Argon2Params {
        &self.params
    }

    /// The stored salt (public: the prelogin answers it).
    pub const fn salt(&self) -> &[u8; 16] {
        &self.salt
    }

    /// The stored verifier, to check an end-to-end login's
    /// [`crate::auth_proof::AuthProof::verifier`] against.
    pub const fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The user key wrapped under the password's wrap key, which an end-to-end login
    /// returns to its client.
    pub const fn wrapped_user_key(&self) -> &Envelope {
        &self.wrapped_user_key
    }

    /// Check the policy, run Argon2id, check the verifier in constant time, and open the
    /// user key. Wrong password: [`Error::WrongCredential`].
    pub fn unlock(
        &self,
        password: &Password,
        policy: &KdfPolicy,
        user: &Id,
        credential_id: Id,
    ) -> Result<UserKey> {
        self.unlock_with(
            &mut Argon2Memory::new(),
            password,
            policy,
            user,
            credential_id,
        )
    }

    /// [`PasswordSlot::unlock`] in caller-provided Argon2 memory.
    pub fn unlock_with(
        &self,
        memory: &mut Argon2Memory,
        password: &Password,
        policy: &KdfPolicy,
        user: &Id,
        credential_id: Id,
    ) -> Result<UserKey> {
        policy.check(&self.params)?;
        let credential = derive_with(memory, password, &self.salt, &self.params, credential_id)?;
        credential.check(&self.verifier)?;
        credential.open_user_key(user, &self.wrapped_user_key)
    }

    /// Seal under the seal key, for storage.
    pub fn seal(
        &self,
        seal: &dyn SealKey,
        user: &Id,
        credential_id: &Id,
    ) -> Result<SealedPasswordSlot> {
        let wrapped = self.wrapped_user_key.to_bytes();
        let mut record = Zeroizing::new(Vec::with_capacity(FIXED_LEN + wrapped.len()));
        record.push(RECORD_VERSION);
        record.extend_from_slice(&self.params.m_cost_kib.to_be_bytes());
        record.extend_from_slice(&self.params.t_cost.to_be_bytes());
        record.extend_from_slice(&self.params.p_cost.to_be_bytes());
        record.extend_from_slice(&self.salt);
        record.extend_from_slice(self.verifier.as_bytes());
        record.extend_from_slice(&wrapped);
        seal.seal(&seal_aad(user, credential_id), &record)
            .map(SealedPasswordSlot)
    }
}

impl SealedPasswordSlot {
    /// Open the seal-key layer. Cheap (no Argon2); fails if the seal key is not the one
    /// the slot was written with, or the slot was moved to another user or credential.
    pub fn unseal(
        &self,
        seal: &dyn SealKey,
        user: &Id,
        credential_id: &Id,
    ) -> Result<PasswordSlot> {
        let record = seal.open(&seal_aad(user, credential_id), &self.0)?;
        read_record(&record)
    }

    /// Stored bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// From stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Envelope::from_bytes(bytes).map(Self)
    }
}

fn read_record(record: &[u8]) -> Result<PasswordSlot> {
    let malformed = |reason| Error::Malformed {
        what: "password slot",
        reason,
    };
    if record.len() < FIXED_LEN {
        return Err(malformed("too short"));
    }
    if record[0] != RECORD_VERSION {
        return Err(Error::UnsupportedVersion {
            what: "password slot",
            version: record[0],
        });
    }
    let u32_at = |at: usize| {
        u32::from_be_bytes([record[at], record[at + 1], record[at + 2], record[at + 3]])
    };
    let params = Argon2Params {
        m_cost_kib: u32_at(1),
        t_cost: u32_at(5),
        p_cost: u32_at(9),
    };
    let mut salt = [0u8; 16];
    salt.copy_from_slice(&record[13..29]);
    let verifier = Verifier::from_slice(&record[29..61])?;
    let wrapped_user_key = Envelope::from_bytes(&record[FIXED_LEN..])?;
    Ok(PasswordSlot {
        params,
        salt,
        verifier,
        wrapped_user_key,
    })
}
