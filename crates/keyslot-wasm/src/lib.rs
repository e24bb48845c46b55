//! # keyslot-wasm
//!
//! keyslot-crypto in the browser: wasm-bindgen bindings for the pages of an end-to-end
//! account (`docs/END-TO-END.md`). The page does every key operation itself; keys live in
//! wasm memory as opaque handles (wasm-bindgen classes) and JavaScript gets only what it
//! must send or show: envelopes, `auth`, verifiers, public keys, and — once, to show the
//! user — a new token's or recovery code's text.
//!
//! ## The exported API (JavaScript names)
//!
//! Conventions: ids are 32 lowercase hex digits (22-character base64url is accepted
//! too); every byte string is base64url without padding, as in the JSON API. A refused
//! call throws an `Error` whose message is `"<argument>: <reason>"` and never carries a
//! secret. Handles are freed by the garbage collector (weak references) or `free()`;
//! freeing zeroizes the key.
//!
//! Item versions are BigInt (`sealItem(id, 7n, …)`, or `BigInt(item.version)`): they are
//! u64 in the formats, and a Number there throws a TypeError.
//!
//! ```text
//! // Passwords, recovery codes, the session's unlock secret (credential.rs)
//! checkKdfParams(m, t, p)                          throws below the floor / above the ceiling
//! kdfParamsBelow(m, t, p, minM, minT, minP) -> bool   the "below what I saw last" check
//! unlockPassword(password, credentialId, salt, m, t, p) -> Credential   (floor check first)
//! new NewPassword(password)  .salt .mCost .tCost .pCost  .takeCredential() -> Credential
//! new NewRecoveryCode()  .text()  .publicKey()  .credential() -> Credential
//! unlockRecoveryCode(code, credentialId) -> Credential
//! recoveryPublicKey(code, credentialId) -> string
//! new SessionUnlock()  SessionUnlock.fromStorage(unlockId, secret)
//!   .unlockId  .secretForSessionStorage()  .credential() -> Credential
//! Credential  .credentialId()  .authBase64url()  .verifierBase64url()
//!   .openUserKey(user, wrapped) -> UserKey        .wrapUserKey(user, UserKey) -> string
//!   .openVaultKey(owner, vault, keyVersion, wrapped) -> VaultKey
//!   .wrapVaultKey(VaultKey) -> string             (a token's slot)
//!
//! // Keys (keys.rs)
//! UserKey.generate()
//!   .wrapVaultKey(VaultKey) -> string             (member slot)
//!   .openVaultKey(owner, vault, keyVersion, wrapped) -> VaultKey
//!   .sealTokenName(user, token, name) -> {nameKey, name}
//!   .openTokenName(user, token, nameKey, name) -> string
//! UserKeyPair.generate()  UserKeyPair.unwrap(UserKey, user, wrapped)
//!   .publicKey()  .wrap(UserKey, user) -> string
//!   .openGrant(me, owner, vault, keyVersion, sealed) -> VaultKey
//! VaultKey.generate(owner, vault, keyVersion)
//!   .ownerId .vaultId .keyVersion  .publicKey()
//!   .sealGrant("user" | "token", recipientId, recipientPublicKey) -> string
//!   .wrapOlder(VaultKey) -> string (chain link)   .openOlder(chainLink) -> VaultKey
//!
//! // Items and names (items.rs)
//! VaultKey
//!   .sealItem(item, version, name, valueBytes) -> {wrappedItemKey, sealedName, sealedValue}
//!   .openItem(item, version, wrappedItemKey, sealedName, sealedValue) -> OpenedItem
//!   .openItemName(item, version, wrappedItemKey, sealedName) -> string
//!   .sealVaultName(name) -> string   .openVaultName(sealedName) -> string
//!   .nameIndex(name) -> string       (the blind index, FORMAT §11.3)
//! new SealedItem(wrappedItemKey, sealedName, sealedValue)  (fields of the same names)
//! OpenedItem  .name  .value (Uint8Array)  .valueText()
//!
//! // Deposits (deposits.rs): HPKE auth mode; verify the depositor's key first
//! VaultKey.openDeposit(item, version, depositorPublic, sealedItemKey, sealedName, sealedValue)
//! UserKeyPair.openDeposit(me, owner, vault, keyVersion, item, version, depositorPublic,
//!   sealedItemKey, sealedName, sealedValue)                      -> OpenedItem
//!
//! // Tokens (token.rs)
//! E2eToken.generateAnchored(IdentityPublicKey)  E2eToken.parse(kseText)
//!   .anchoredTo(IdentityPublicKey) -> bool       (the id commits to the minting identity)
//!   .id  .secretText()  .authProof() -> "ksa_…"  .publicKey()  .credential() -> Credential
//!   .openGrant(owner, vault, keyVersion, sealed) -> VaultKey
//!
//! // Identities, signatures, fingerprints, pins (identity.rs)
//! IdentityKey.generate()  IdentityKey.open(UserKey, user, wrapped)
//!   .wrap(UserKey, user) -> string  .publicKey() -> IdentityPublicKey
//!   .signUserX25519(user, x25519Public)  .signTokenKey(user, token, tokenPublic)
//!   .signVaultKey(VaultKey)  .signMembers(vault, keyVersion, MemberList)
//!   .signItem(vault, item, version, SealedItem)                  -> signature (base64url)
//! IdentityPublicKey.parse(identityPublic)  .toBase64url()  .fingerprint()
//!   .verifyUserX25519(user, x25519Public, sig)  .verifyTokenKey(user, token, tokenPublic, sig)
//!   .verifyVaultKey(vault, keyVersion, vaultPublic, sig)
//!   .verifyMembers(vault, keyVersion, MemberList, sig)
//!   .verifyItem(vault, item, version, SealedItem, sig)           throw unless valid
//! new MemberList()  .add(user, "read" | "write" | "owner", IdentityPublicKey)
//! UserKey  .pin(me, pinnedUser, IdentityPublicKey) -> string
//!   .checkPin(me, pinnedUser, IdentityPublicKey, storedPin)      throws on a mismatch
//!
//! // Input rules the server cannot check for an end-to-end account (policy.rs)
//! passwordProblem(password, username) -> string | undefined   (zxcvbn, as the server)
//! nameProblem(name) -> string | undefined   usernameProblem(name) -> string | undefined
//!
//! // Self-test (known_answers.rs)
//! knownAnswers() -> JSON {name: value}: every FORMAT.md vector, computed by this build
//! ```
//!
//!
//! ## How the server gets the module
//!
//! `keyslot serve` embeds the generated `keyslot_wasm.js` and `keyslot_wasm_bg.wasm`
//! from `crates/keyslot-server/assets/wasm/`, which are committed. The reason: the server
//! must build and its tests must run with plain `cargo build` / `cargo test` on a machine
//! without the wasm32 target or the wasm-bindgen CLI (a newcomer's, or a packager's),
//! and a build script that compiled this crate to wasm from inside the server's build
//! would need both. The price — generated files in the repository — is kept honest by
//! `crates/keyslot-wasm/build-assets --check`, which `.ci/run` runs: it rebuilds the
//! module (a deterministic build: paths remapped, one codegen unit, the pinned
//! wasm-bindgen) and fails if the result differs from what is committed.
#![forbid(unsafe_code)]

mod credential;
mod deposits;
mod encoding;
mod identity;
mod items;
mod keys;
mod known_answers;
mod policy;
mod token;

pub use credential::{
    Credential, NewPassword, NewRecoveryCode, SessionUnlock, check_kdf_params, kdf_params_below,
    recovery_public_key, unlock_password, unlock_recovery_code,
};
pub use encoding::{Refused, Result};
pub use identity::{IdentityKey, IdentityPublicKey, MemberList};
pub use items::{OpenedItem, SealedItem};
pub use keys::{SealedTokenName, UserKey, UserKeyPair, VaultKey};
pub use known_answers::{compute as compute_known_answers, known_answers};
pub use policy::{name_problem, password_problem, username_problem};
pub use token::E2eToken;

// NOTE from H8 (the end-to-end web pages, crates/keyslot-server/assets/e2e/ks.js, the only
// file that calls this module; it uses the API above as it stands). One request left:
//   passwordProblem(password, username) -> string | undefined — keyslot-core's
//     policy::password (length, not the username, zxcvbn score >= 3 on the first 64
//     chars): an end-to-end account's password is checked only in the client, and until
//     this exists the pages check its length and the username only (ks.js picks it up
//     when present).
