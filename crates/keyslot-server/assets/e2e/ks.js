// The end-to-end pages' crypto, over the keyslot-wasm module (keyslot-crypto compiled to
// wasm32). Keys are wasm handles: their bytes stay in wasm memory; what leaves is what the
// server stores (envelopes, verifiers, public keys, signatures) and what the user reads.
//
// No DOM, no fetch, no import: the wasm module is handed in with setWasm(), so the same
// file runs in the page, in the Argon2 worker and in node (tests/browser/e2e_flows.mjs
// reads an item with a kse_ token through it). Request bodies are END-TO-END.md §9's.
"use strict";

let w = null;

/** Use this initialised keyslot-wasm module. */
export function setWasm(module) { w = module; }

function need(name) {
  if (!w) throw new Error("the crypto module is not loaded");
  const thing = name.split(".").reduce((o, k) => o?.[k], w);
  if (!thing) throw new Error(`this build's crypto module has no ${name}`);
  return thing;
}

/** A fresh 16-byte id as the API writes it (32 lowercase hex digits). Not a secret. */
export function randomId() {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---- Values: JSON text, as server mode seals them (so data written either way reads either way)

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The bytes sealed for a value typed into the page: a JSON string. */
export function valueBytes(text) { return encoder.encode(JSON.stringify(text)); }

/** A sealed value's text: strings as they are, anything else as JSON. */
export function valueText(bytes) {
  const text = decoder.decode(bytes);
  try {
    const value = JSON.parse(text);
    return typeof value === "string" ? value : JSON.stringify(value, null, 2);
  } catch {
    return text;
  }
}

// ---- Passwords (run in the worker: Argon2id takes a while) --------------------------------

/** The floor and ceiling (refused before hashing), and never below what was seen last. */
export function checkParams(pre, lastSeen) {
  need("checkKdfParams")(pre.m_cost, pre.t_cost, pre.p_cost);
  if (lastSeen && need("kdfParamsBelow")(pre.m_cost, pre.t_cost, pre.p_cost, lastSeen.m_cost, lastSeen.t_cost, lastSeen.p_cost)) {
    throw new Error("kdf_params: the server asked for weaker password hashing than this browser saw before for this username");
  }
}

/** Argon2id with prelogin's answer: a credential whose `auth` logs in. */
export function passwordCredential(password, pre, lastSeen) {
  checkParams(pre, lastSeen);
  return need("unlockPassword")(password, pre.credential_id, pre.salt, pre.m_cost, pre.t_cost, pre.p_cost);
}

/** Fresh password slot parts for `uk` (sign-up, password change): one Argon2id run. */
export function passwordSlotParts(password, userId, uk) {
  const fresh = new (need("NewPassword"))(password);
  const credential = fresh.takeCredential();
  try {
    return {
      credential_id: credential.credentialId(),
      salt: fresh.salt,
      m_cost: fresh.mCost,
      t_cost: fresh.tCost,
      p_cost: fresh.pCost,
      verifier: credential.verifierBase64url(),
      wrapped_user_key: credential.wrapUserKey(userId, uk),
    };
  } finally {
    credential.free();
    fresh.free();
  }
}

/**
 * Password rules for an end-to-end account, checked here since the server never sees it:
 * the server's own policy (length, not the username, zxcvbn strength) when the wasm
 * module exports it, else its length and username rules.
 */
export function passwordProblem(password, username) {
  if (w?.passwordProblem) return w.passwordProblem(password, username) || null;
  const length = [...password].length;
  if (length < 12) return "must be at least 12 characters";
  if (length > 1024) return "must be at most 1024 characters";
  if (password.toLowerCase() === username.toLowerCase()) return "must not be the username";
  return null;
}

/** The name rules of vaults and items (keyslot-core's policy::name), checked here. */
export function nameProblem(name) {
  const length = [...name].length;
  if (length < 1 || length > 256) return "must be 1 to 256 characters";
  if (/[\p{Cc}]/u.test(name)) return "must not contain control characters";
  if (/[\p{Cf}\u2028\u2029]/u.test(name)) return "must not contain invisible formatting characters such as bidi overrides or zero-width spaces";
  return null;
}

/** The username rules (keyslot-core's policy::username). */
export function usernameProblem(name) {
  const length = [...name].length;
  if (length < 3 || length > 128) return "must be 3 to 128 characters";
  if (!/^[\p{L}\p{N}._@+-]+$/u.test(name)) return "may contain only letters, digits and . _ @ + -";
  return null;
}

// ---- Identity (Ed25519) -------------------------------------------------------------------

function identityOf(uk, userId, keys) {
  return need("IdentityKey").open(uk, userId, keys.identity_wrapped);
}

/** An identity's public key as the API writes it. */
function publicText(identity) {
  const key = identity.publicKey();
  try { return key.toBase64url(); } finally { key.free(); }
}

/**
 * The account's own identity public key, derived from the identity the user key opens —
 * not the server's copy, which it checks: a server that swapped it is refused.
 */
export function ownIdentity(uk, userId, keys) {
  const identity = identityOf(uk, userId, keys);
  try {
    const mine = publicText(identity);
    if (keys.identity_public && keys.identity_public !== mine) {
      throw new Error("identity_public: the server's copy of your identity key is not the one your user key opens");
    }
    return mine;
  } finally {
    identity.free();
  }
}

/** A pinned identity (GET /v1/pins entry), checked under the user key's pin key; throws on a bad pin. */
export function checkedPin(uk, userId, pin) {
  const key = need("IdentityPublicKey").parse(pin.identity_public);
  try {
    uk.checkPin(userId, pin.user_id, key, pin.pin);
    return pin.identity_public;
  } finally {
    key.free();
  }
}

/**
 * That `vk` is the vault key its owner signed: its public half is the one the vault
 * shows, and `ownerIdentity` signed (vault, key version, public key). Throws otherwise.
 */
export function verifyVaultKey(vk, vault, ownerIdentity) {
  if (vk.publicKey() !== vault.public_key) throw new Error("public_key: the vault's public key is not its key's");
  const key = need("IdentityPublicKey").parse(ownerIdentity);
  try {
    key.verifyVaultKey(vault.id, vk.keyVersion, vault.public_key, vault.public_key_signature || "");
  } finally {
    key.free();
  }
}

/** That `signerIdentity` signed this item version (FORMAT §11.4). Throws otherwise. */
export function verifyItem(vaultId, item, signerIdentity) {
  const key = need("IdentityPublicKey").parse(signerIdentity);
  const sealed = new (need("SealedItem"))(item.wrapped_item_key, item.sealed_name, item.sealed_value);
  try {
    key.verifyItem(vaultId, item.id, BigInt(item.version), sealed, item.signature || "");
  } finally {
    sealed.free();
    key.free();
  }
}

// ---- Sign-up (worker) ---------------------------------------------------------------------

/** Every key and slot of a new end-to-end account, and the first vault: the sign-up body. */
export function signup(username, password, vaultName) {
  const userId = randomId();
  const vaultId = randomId();
  const uk = need("UserKey").generate();
  const pair = need("UserKeyPair").generate();
  const identity = need("IdentityKey").generate();
  const vk = need("VaultKey").generate(userId, vaultId, 1);
  const recovery = newRecoveryCode(userId, uk);
  try {
    const body = {
      username,
      end_to_end: true,
      user_id: userId,
      password: passwordSlotParts(password, userId, uk),
      recovery: recovery.parts,
      x25519_public: pair.publicKey(),
      x25519_wrapped: pair.wrap(uk, userId),
      x25519_signature: identity.signUserX25519(userId, pair.publicKey()),
      identity_public: publicText(identity),
      identity_wrapped: identity.wrap(uk, userId),
      vault: {
        id: vaultId,
        wrapped_vault_key: uk.wrapVaultKey(vk),
        sealed_name: vk.sealVaultName(vaultName),
        public_key: vk.publicKey(),
        public_key_signature: identity.signVaultKey(vk),
      },
    };
    return { body, recoveryCode: recovery.text };
  } finally {
    for (const h of [uk, pair, identity, vk]) h.free();
  }
}

/** A fresh recovery code for `uk`: its slot parts for the server, and its text to show once. */
export function newRecoveryCode(userId, uk) {
  const code = new (need("NewRecoveryCode"))();
  const credential = code.credential();
  try {
    return {
      parts: {
        credential_id: credential.credentialId(),
        verifier: credential.verifierBase64url(),
        wrapped_user_key: credential.wrapUserKey(userId, uk),
        x25519_public: code.publicKey(),
      },
      text: code.text(),
    };
  } finally {
    credential.free();
    code.free();
  }
}

// ---- Recovery (worker) ----------------------------------------------------------------------

/** The typed recovery code as a credential (prelogin's `recovery_credential_id`); throws on a malformed code. */
export function recoveryCredential(code, credentialId) {
  return need("unlockRecoveryCode")(code, credentialId);
}

/**
 * Recovery's second step: open the user key from the recovery slot `begin` answered (only
 * the code's wrap key makes that slot), then a new password slot and a new recovery code
 * around it. A user key *sealed* to the code's public key is refused, not opened: that
 * key is public, so anyone — the server too — can seal a key of their choosing to it, and
 * the new slots would then wrap a key the server knows (END-TO-END §10).
 */
export function recoverySlots(credential, begun, newPassword) {
  if (begun.sealed_user_key) {
    throw new Error("sealed_user_key: the server sent a user key sealed to your recovery code's public key, which anyone can make; this browser does not use it. The server may have been tampered with");
  }
  const uk = credential.openUserKey(begun.user_id, begun.wrapped_user_key);
  try {
    const recovery = newRecoveryCode(begun.user_id, uk);
    return { password: passwordSlotParts(newPassword, begun.user_id, uk), recovery: recovery.parts, recoveryCode: recovery.text };
  } finally {
    uk.free();
  }
}

// ---- Sessions -----------------------------------------------------------------------------

/**
 * After login: open the user key with the password's credential, make this tab's unlock
 * secret and the session slot under it (END-TO-END §4). Returns what PUT /v1/session/key
 * takes and what sessionStorage keeps.
 */
export function newSessionSlot(credential, userId, wrappedUserKey) {
  const uk = credential.openUserKey(userId, wrappedUserKey);
  const unlock = new (need("SessionUnlock"))();
  const sessionCredential = unlock.credential();
  try {
    return {
      slot: { unlock_id: unlock.unlockId, wrapped_user_key: sessionCredential.wrapUserKey(userId, uk) },
      stored: { user_id: userId, unlock_id: unlock.unlockId, secret: unlock.secretForSessionStorage() },
    };
  } finally {
    for (const h of [uk, unlock, sessionCredential]) h.free();
  }
}

/** The user key, from the session slot and this tab's unlock secret. */
export function openSession(stored, slot) {
  if (slot.unlock_id !== stored.unlock_id) throw new Error("unlock_id: the session's slot is not this tab's");
  const unlock = need("SessionUnlock").fromStorage(stored.unlock_id, stored.secret);
  const credential = unlock.credential();
  try {
    return credential.openUserKey(stored.user_id, slot.wrapped_user_key);
  } finally {
    credential.free();
    unlock.free();
  }
}

/** A password change's body: the current password's auth and the new password's slot. */
export function passwordChange(stored, slot, current, fresh, pre, lastSeen) {
  const uk = openSession(stored, slot);
  const old = passwordCredential(current, pre, lastSeen);
  try {
    return {
      current_auth: old.authBase64url(),
      password: passwordSlotParts(fresh, stored.user_id, uk),
      end_other_sessions: true,
    };
  } finally {
    old.free();
    uk.free();
  }
}

// ---- Vaults and items (the page) ----------------------------------------------------------

/**
 * The vault key a slot opens (§6): a member slot under UK, or a grant sealed to the user's
 * X25519 key (`pair()` opens it lazily). Returns the key at the slot's version.
 */
export function openSlot(uk, userId, vault, slot, pair) {
  switch (slot?.kind) {
    case "member":
      return uk.openVaultKey(vault.owner_id, vault.id, slot.key_version, slot.wrapped_vault_key);
    case "grant":
      return pair().openGrant(userId, vault.owner_id, vault.id, slot.key_version, slot.sealed);
    default:
      throw new Error(`slot: cannot open a ${slot?.kind} slot with a user key`);
  }
}

/** Walk the chain (newest link first) from `key` down to `version`. Frees what it leaves behind. */
export function keyAt(key, version, chain) {
  let current = key;
  const links = [...(chain || [])].sort((a, b) => b.key_version - a.key_version);
  for (const link of links) {
    if (current.keyVersion <= version) break;
    if (link.key_version !== current.keyVersion - 1) continue;
    const older = current.openOlder(link.wrapped);
    if (current !== key) current.free();
    current = older;
  }
  if (current.keyVersion !== version) throw new Error(`chain: no link down to key version ${version}`);
  return current;
}

/** A listed item's name. */
export function itemName(vk, item) {
  return vk.openItemName(item.id, BigInt(item.version), item.wrapped_item_key, item.sealed_name);
}

/** An item's name and value text. */
export function openItem(vk, item) {
  const opened = vk.openItem(item.id, BigInt(item.version), item.wrapped_item_key, item.sealed_name, item.sealed_value);
  try {
    return { name: opened.name, value: valueText(opened.value) };
  } finally {
    opened.free();
  }
}

/** A create/update body (§9): the item sealed at `version` under the vault's current key. */
export function sealItem(vk, uk, userId, keys, itemId, version, name, value) {
  const sealed = vk.sealItem(itemId, BigInt(version), name, valueBytes(value));
  const identity = identityOf(uk, userId, keys);
  try {
    return {
      version,
      key_version: vk.keyVersion,
      wrapped_item_key: sealed.wrappedItemKey,
      sealed_name: sealed.sealedName,
      sealed_value: sealed.sealedValue,
      name_index: vk.nameIndex(name),
      signature: identity.signItem(vk.vaultId, itemId, BigInt(version), sealed),
    };
  } finally {
    identity.free();
    sealed.free();
  }
}

/**
 * A new vault's body: its key at version 1, wrapped under UK, its name, its signed public
 * key, and a grant for each of the account's live "*" tokens (GET /v1/keys' star_tokens),
 * each sealed only to a token key this user's identity signed at mint.
 */
export function newVault(uk, userId, keys, name) {
  const id = randomId();
  const vk = need("VaultKey").generate(userId, id, 1);
  const identity = identityOf(uk, userId, keys);
  const mine = need("IdentityPublicKey").parse(publicText(identity));
  try {
    const tokenGrants = (keys.star_tokens || []).map((t) => {
      try {
        mine.verifyTokenKey(userId, t.id, t.x25519_public, t.public_key_signature);
      } catch (e) {
        throw new Error(`the key of "*" token ${t.id} is not one you signed (${e.message}): the server may have been tampered with`);
      }
      return { token: t.id, sealed: vk.sealGrant("token", t.id, t.x25519_public) };
    });
    return {
      id,
      wrapped_vault_key: uk.wrapVaultKey(vk),
      sealed_name: vk.sealVaultName(name),
      public_key: vk.publicKey(),
      public_key_signature: identity.signVaultKey(vk),
      token_grants: tokenGrants,
    };
  } finally {
    vk.free();
    identity.free();
    mine.free();
  }
}

/**
 * A client rotation of `vault` (END-TO-END §8, §9): a new key at the next version, the
 * chain link down to `oldKey`, the new public key signed, the name resealed, the caller's
 * own slot, and a grant for every other holder the server lists — each sealed only to a
 * key whose holder's identity this browser vouches for (`vouched`: user id → identity
 * public key, the user's own or pinned) signed it. With `owner`, the member list is signed
 * too. Throws, naming the holder, when a key is not vouched for or is a token in `revoked`
 * (ids this browser revoked: its mint signature still verifies, so only this memory tells
 * a revoked token the server kept listing from a live one): nothing is sent then.
 */
export function rotation(uk, userId, keys, oldKey, vault, name, holders, vouched, owner, revoked = new Set()) {
  const next = vault.key_version + 1;
  const vk = need("VaultKey").generate(vault.owner_id, vault.id, next);
  const identity = identityOf(uk, userId, keys);
  const members = new (need("MemberList"))();
  try {
    const grants = [];
    for (const h of holders) {
      if (h.kind === "token" && revoked.has(h.id)) {
        throw new Error(`token ${h.id}: revoked in this browser, yet the server still lists it as holding this vault; nothing is sealed to it`);
      }
      const vouch = vouched.get(h.user_id);
      if (!vouch) throw new Error(`${h.kind} ${h.id}: no identity confirmed in this browser vouches for its key`);
      const key = need("IdentityPublicKey").parse(vouch);
      try {
        if (h.kind === "user") {
          key.verifyUserX25519(h.user_id, h.public_key, h.signature || "");
          members.add(h.user_id, h.role, key);
        } else {
          key.verifyTokenKey(h.user_id, h.id, h.public_key, h.signature || "");
        }
      } catch (e) {
        throw new Error(`${h.kind} ${h.id}: its key is not the one its user signed (${e.message})`);
      } finally {
        key.free();
      }
      if (h.kind === "user" && h.id === userId) continue;
      grants.push({ holder: h.id, sealed: vk.sealGrant(h.kind, h.id, h.public_key) });
    }
    const body = {
      key_version: next,
      chain_link: vk.wrapOlder(oldKey),
      sealed_name: vk.sealVaultName(name),
      public_key: vk.publicKey(),
      public_key_signature: identity.signVaultKey(vk),
      own_slot: uk.wrapVaultKey(vk),
      grants,
    };
    if (owner) body.members_signature = identity.signMembers(vault.id, next, members);
    return body;
  } finally {
    for (const h of [vk, identity, members]) h.free();
  }
}

// ---- Tokens -------------------------------------------------------------------------------

/**
 * A new kse_ token for `vaults` ([{vault, key}] with each vault's current key; with `all`,
 * a "*" token, and `vaults` must be every vault the user holds): the mint body without
 * `auth` (the password proof, added by the caller), and the text to show once.
 */
export function newToken(uk, userId, keys, name, vaults, permissions, expiresInSeconds, all = false) {
  const identity = identityOf(uk, userId, keys);
  // The token's id commits to this user's identity (a token anchor): the token can then
  // tell which identity must sign a vault key it is granted without asking the server.
  const identityPublic = identity.publicKey();
  let token;
  try { token = need("E2eToken").generateAnchored(identityPublic); } finally { identityPublic.free(); }
  const credential = token.credential();
  try {
    const sealedName = uk.sealTokenName(userId, token.id, name);
    const body = {
      id: token.id,
      sealed_name: sealedName.name,
      name_key: sealedName.nameKey,
      verifier: credential.verifierBase64url(),
      x25519_public: token.publicKey(),
      public_key_signature: identity.signTokenKey(userId, token.id, token.publicKey()),
      vaults: all ? "*" : vaults.map((v) => v.vault.id),
      permissions,
      expires_in_seconds: expiresInSeconds,
      slots: vaults.map((v) => ({ vault: v.vault.id, key_version: v.key.keyVersion, wrapped_vault_key: credential.wrapVaultKey(v.key) })),
    };
    sealedName.free();
    return { body, text: token.secretText() };
  } finally {
    for (const h of [token, credential, identity]) h.free();
  }
}

/** A token's name, for the list. */
export function tokenName(uk, userId, token) {
  return uk.openTokenName(userId, token.id, token.name_key, token.sealed_name);
}

/** A script's view of a kse_ token: the ksa_ proof it sends, and what it can open. */
export function tokenFromText(text) {
  const token = need("E2eToken").parse(text);
  return {
    proof: () => token.authProof(),
    /** An item read with the proof (GET …/items/{item}, §6): its name and value. */
    openItem(vaultId, body) {
      const vault = { id: vaultId, owner_id: body.owner_id };
      const slot = body.slot;
      let key;
      if (slot.kind === "token") {
        const credential = token.credential();
        try { key = credential.openVaultKey(vault.owner_id, vault.id, slot.key_version, slot.wrapped_vault_key); } finally { credential.free(); }
      } else if (slot.kind === "grant") {
        key = token.openGrant(vault.owner_id, vault.id, slot.key_version, slot.sealed);
      } else {
        throw new Error(`slot: a token cannot open a ${slot.kind} slot`);
      }
      const at = keyAt(key, body.key_version, body.chain);
      try {
        return openItem(at, body);
      } finally {
        if (at !== key) at.free();
        key.free();
      }
    },
    free: () => token.free(),
  };
}
