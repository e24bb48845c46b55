//! Credentials in the page: the password (Argon2id, after the floor check), the recovery
//! code and the session's unlock secret. Each becomes a [`Credential`], which proves
//! itself to the server with `auth` only and opens its own slots; its wrap key never
//! leaves wasm memory.

use keyslot_crypto::slot::password::generate_salt;
use keyslot_crypto::{
    Argon2Params, Id, KdfPolicy, Password, RecoveryCode, RecoveryKeyPair, UnlockedCredential,
};
use wasm_bindgen::prelude::wasm_bindgen;
use zeroize::Zeroizing;

use crate::encoding::{Refused, Result, at, b64, envelope, from_b64_array, id};
use crate::keys::{UserKey, VaultKey};

/// An unlocked credential (password, recovery code, session unlock secret or `kse_`
/// token): what it sends the server, and the slots it wraps and opens.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Credential {
    inner: UnlockedCredential,
}

impl Credential {
    pub(crate) const fn new(inner: UnlockedCredential) -> Self {
        Self { inner }
    }
}

#[wasm_bindgen]
impl Credential {
    /// The credential's id, 32 hex digits.
    #[wasm_bindgen(js_name = credentialId)]
    pub fn credential_id(&self) -> String {
        self.inner.id().to_string()
    }

    /// `auth` in base64url: what a password or recovery login sends (FORMAT §11.1). The
    /// server can check it against its verifier and derive nothing else from it.
    #[wasm_bindgen(js_name = authBase64url)]
    pub fn auth_base64url(&self) -> String {
        let auth = self.inner.auth_proof().auth_base64url();
        String::from(auth.as_str())
    }

    /// `SHA-256(auth)` in base64url: what the server stores for a new credential.
    #[wasm_bindgen(js_name = verifierBase64url)]
    pub fn verifier_base64url(&self) -> String {
        b64(self.inner.verifier().as_bytes())
    }

    /// Open this credential's user-key slot (an envelope in base64url) for `user`.
    #[wasm_bindgen(js_name = openUserKey)]
    pub fn open_user_key(&self, user: &str, wrapped_user_key: &str) -> Result<UserKey> {
        let user = id("user", user)?;
        let slot = envelope("wrapped_user_key", wrapped_user_key)?;
        self.inner
            .open_user_key(&user, &slot)
            .map(UserKey::new)
            .map_err(at("wrapped_user_key"))
    }

    /// Wrap `user_key` into this credential's slot: the envelope in base64url.
    #[wasm_bindgen(js_name = wrapUserKey)]
    pub fn wrap_user_key(&self, user: &str, user_key: &UserKey) -> Result<String> {
        let user = id("user", user)?;
        self.inner
            .wrap_user_key(&user, user_key.inner())
            .map(|e| e.to_base64())
            .map_err(at("wrap_user_key"))
    }

    /// Open this credential's slot for one vault key (a token's slot). `owner` is the
    /// vault owner's id, which every AAD of the vault binds.
    #[wasm_bindgen(js_name = openVaultKey)]
    pub fn open_vault_key(
        &self,
        owner: &str,
        vault: &str,
        key_version: u32,
        wrapped_vault_key: &str,
    ) -> Result<VaultKey> {
        let (owner, vault) = (id("owner", owner)?, id("vault", vault)?);
        let slot = envelope("wrapped_vault_key", wrapped_vault_key)?;
        self.inner
            .open_vault_key(&owner, &vault, key_version, &slot)
            .map(|k| VaultKey::new(k, owner, vault, key_version))
            .map_err(at("wrapped_vault_key"))
    }

    /// Wrap a vault key into this credential's slot for it (a token scoped to the vault).
    #[wasm_bindgen(js_name = wrapVaultKey)]
    pub fn wrap_vault_key(&self, vault_key: &VaultKey) -> Result<String> {
        self.inner
            .wrap_vault_key(
                vault_key.owner(),
                vault_key.vault(),
                vault_key.key_version(),
                vault_key.inner(),
            )
            .map(|e| e.to_base64())
            .map_err(at("wrap_vault_key"))
    }
}

/// The client's own Argon2 floor and ceiling (FORMAT §5.2: m = 19456 KiB, t = 2, p = 1 at
/// least), checked before any hashing: a server, or anyone between, that answers cheap
/// parameters gets no cheap hash to attack, and huge ones tie up nothing.
#[wasm_bindgen(js_name = checkKdfParams)]
pub fn check_kdf_params(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Result<()> {
    KdfPolicy::default()
        .check(&params(m_cost_kib, t_cost, p_cost))
        .map_err(at("kdf_params"))
}

/// Whether parameters `(m, t, p)` are below `(min_m, min_t, min_p)` in any component: the
/// "never below what this browser saw last for this username" check (END-TO-END §3).
#[wasm_bindgen(js_name = kdfParamsBelow)]
pub fn kdf_params_below(m: u32, t: u32, p: u32, min_m: u32, min_t: u32, min_p: u32) -> bool {
    m < min_m || t < min_t || p < min_p
}

const fn params(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Argon2Params {
    Argon2Params {
        m_cost_kib,
        t_cost,
        p_cost,
    }
}

/// Log in with a password: refuse parameters outside the floor and ceiling *before*
/// hashing, then Argon2id with the prelogin `salt` (base64url, 16 bytes) and the HKDF
/// split with `credential_id` (hex or base64url). Takes as long as Argon2id does.
#[wasm_bindgen(js_name = unlockPassword)]
pub fn unlock_password(
    password: &str,
    credential_id: &str,
    salt: &str,
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
) -> Result<Credential> {
    let credential_id = id("credential_id", credential_id)?;
    // Named refusals first (unlock_client checks both again, before hashing).
    check_kdf_params(m_cost_kib, t_cost, p_cost)?;
    let salt: [u8; 16] = from_b64_array("salt", salt)?;
    Password::new(password)
        .unlock_client(
            params(m_cost_kib, t_cost, p_cost),
            &salt,
            credential_id,
            &KdfPolicy::default(),
        )
        .map(Credential::new)
        .map_err(at("password"))
}

/// A new password credential (sign-up, password change, recovery): fresh salt and
/// credential id, the default parameters, Argon2id once. What the server needs to build
/// the password slot: `credentialId`, `salt`, the parameters, `verifierBase64url` and the
/// user key wrapped by [`Credential::wrap_user_key`].
#[wasm_bindgen]
#[derive(Debug)]
pub struct NewPassword {
    salt: [u8; 16],
    params: Argon2Params,
    credential: Option<Credential>,
}

#[wasm_bindgen]
impl NewPassword {
    /// Hash `password` under fresh parameters. The password policy (length, strength) is
    /// the page's to check first: the server never sees the password.
    #[wasm_bindgen(constructor)]
    pub fn new(password: &str) -> Result<Self> {
        let salt = generate_salt().map_err(at("salt"))?;
        let credential_id = Id::random().map_err(at("credential_id"))?;
        let params = KdfPolicy::default().target;
        let credential = Password::new(password)
            .unlock_client(params, &salt, credential_id, &KdfPolicy::default())
            .map_err(at("password"))?;
        Ok(Self {
            salt,
            params,
            credential: Some(Credential::new(credential)),
        })
    }

    /// The Argon2 salt, base64url.
    #[wasm_bindgen(getter)]
    pub fn salt(&self) -> String {
        b64(&self.salt)
    }

    /// Argon2 memory, KiB.
    #[wasm_bindgen(getter, js_name = mCost)]
    pub fn m_cost(&self) -> u32 {
        self.params.m_cost_kib
    }

    /// Argon2 passes.
    #[wasm_bindgen(getter, js_name = tCost)]
    pub fn t_cost(&self) -> u32 {
        self.params.t_cost
    }

    /// Argon2 lanes.
    #[wasm_bindgen(getter, js_name = pCost)]
    pub fn p_cost(&self) -> u32 {
        self.params.p_cost
    }

    /// The credential itself (once; later calls refuse).
    #[wasm_bindgen(js_name = takeCredential)]
    pub fn take_credential(&mut self) -> Result<Credential> {
        self.credential
            .take()
            .ok_or_else(|| Refused::new("credential", "already taken"))
    }
}

/// A recovery code the page generated (sign-up, after a recovery): its text is shown to
/// the user once; the server gets its verifier, its X25519 public key and a user-key slot.
#[wasm_bindgen]
#[derive(Debug)]
pub struct NewRecoveryCode {
    code: RecoveryCode,
    credential_id: Id,
}

#[wasm_bindgen]
impl NewRecoveryCode {
    /// A fresh code under a fresh credential id.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<Self> {
        Ok(Self {
            code: RecoveryCode::generate().map_err(at("recovery_code"))?,
            credential_id: Id::random().map_err(at("credential_id"))?,
        })
    }

    /// The code as the user writes it down (shown once, never sent).
    pub fn text(&self) -> String {
        String::from(self.code.expose_text().as_str())
    }

    /// The code's X25519 public key (base64url): a rotated user key is sealed to it.
    #[wasm_bindgen(js_name = publicKey)]
    pub fn public_key(&self) -> String {
        b64(RecoveryKeyPair::derive(&self.code, &self.credential_id)
            .public_key()
            .as_bytes())
    }

    /// The code as a credential: `credentialId`, verifier, and its user-key slot.
    pub fn credential(&self) -> Credential {
        Credential::new(self.code.unlock(self.credential_id))
    }
}

/// Recover with a recovery code the user typed and the recovery credential id the server
/// answered: the credential whose `auth` the recovery sends.
#[wasm_bindgen(js_name = unlockRecoveryCode)]
pub fn unlock_recovery_code(code: &str, credential_id: &str) -> Result<Credential> {
    let credential_id = id("credential_id", credential_id)?;
    let code = RecoveryCode::parse(code).map_err(at("recovery_code"))?;
    Ok(Credential::new(code.unlock(credential_id)))
}

/// The session's *unlock secret* (END-TO-END §4): an id and 32 random bytes the page keeps
/// in `sessionStorage` — never sent anywhere — so that a reload reopens the user key from
/// the session's slot (`PUT`/`GET /v1/session/key`) without the password.
#[wasm_bindgen]
pub struct SessionUnlock {
    id: Id,
    secret: Zeroizing<[u8; 32]>,
}

impl core::fmt::Debug for SessionUnlock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SessionUnlock({}, secret: ***)", self.id)
    }
}

#[wasm_bindgen]
impl SessionUnlock {
    /// A fresh unlock secret.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<Self> {
        let mut secret = Zeroizing::new([0u8; 32]);
        getrandom::fill(secret.as_mut_slice()).map_err(at("unlock_secret"))?;
        Ok(Self {
            id: Id::random().map_err(at("unlock_id"))?,
            secret,
        })
    }

    /// Rebuild from what `sessionStorage` kept: `unlockId` (hex) and `secret` (base64url).
    #[wasm_bindgen(js_name = fromStorage)]
    pub fn from_storage(unlock_id: &str, secret: &str) -> Result<Self> {
        Ok(Self {
            id: id("unlock_id", unlock_id)?,
            secret: Zeroizing::new(from_b64_array("secret", secret)?),
        })
    }

    /// The unlock id (hex): sent with the slot, so the server can hand the slot back.
    #[wasm_bindgen(getter, js_name = unlockId)]
    pub fn unlock_id(&self) -> String {
        self.id.to_string()
    }

    /// The secret in base64url, for `sessionStorage` only.
    #[wasm_bindgen(js_name = secretForSessionStorage)]
    pub fn secret_for_session_storage(&self) -> String {
        b64(self.secret.as_slice())
    }

    /// The credential that wraps and opens the session's user-key slot.
    pub fn credential(&self) -> Credential {
        Credential::new(UnlockedCredential::from_session_unlock(
            self.id,
            &self.secret,
        ))
    }
}

/// The X25519 public key (base64url) of a recovery code under `credential_id`: what a
/// recovery slot's `x25519_public` holds.
#[wasm_bindgen(js_name = recoveryPublicKey)]
pub fn recovery_public_key(code: &str, credential_id: &str) -> Result<String> {
    let credential_id = id("credential_id", credential_id)?;
    let code = RecoveryCode::parse(code).map_err(at("recovery_code"))?;
    Ok(b64(RecoveryKeyPair::derive(&code, &credential_id)
        .public_key()
        .as_bytes()))
}
