// The page's session: the wasm module, and the user key reopened from the session's slot
// with this tab's unlock secret (END-TO-END §4; DESIGN-NOTES "End-to-end web pages").
//
// sessionStorage holds {user_id, unlock_id, secret}: one tab's life, never sent. The
// server stores the slot (the user key wrapped under the secret's wrap key) and never
// sees the secret; the browser stores the secret and fetches the slot at each load. Each
// load needs both, so neither side's storage alone opens the user key, and logging out
// (which deletes the slot with the session) ends it.
"use strict";
import init, * as wasm from "/assets/wasm/keyslot_wasm.js";
import * as ks from "/assets/e2e/ks.js";
import { api, ApiError } from "/assets/e2e/api.js";
import { $, show, hide, status, explain } from "/assets/e2e/ui.js";
import { storedUnlock, forgetUnlock } from "/assets/e2e/storage.js";

let loaded = null;
/** Load the wasm module once (its .wasm next to its glue, under the CSP's 'wasm-unsafe-eval'). */
export function loadCrypto() {
  loaded ??= init().then(() => ks.setWasm(wasm));
  return loaded;
}

/** An unlocked session: the user key (a wasm handle) and the account's own key material. */
export class Session {
  constructor(uk, userId, keys, username = null) {
    this.uk = uk;
    this.userId = userId;
    /** The username typed at login in this tab (never the server's copy: see login.js). */
    this.username = username;
    this.keys = keys;
    this.identity = ks.ownIdentity(uk, userId, keys);
    this.pairHandle = null;
    this.vaultKeys = new Map();
    this.pins = null;
  }

  /**
   * The identity public key of `user` this browser can vouch for: its own (from the user
   * key), or one the user pinned after confirming its fingerprint (checked under the
   * user key's pin key). Null for anyone else: their keys are not trusted.
   */
  async identityOf(user) {
    if (user === this.userId) return this.identity;
    this.pins ??= (await api("GET", "/v1/pins")).pins || [];
    const pin = this.pins.find((p) => p.user_id === user);
    return pin ? ks.checkedPin(this.uk, this.userId, pin) : null;
  }

  /** The user's X25519 pair, opened on first use (pending grants are sealed to it). */
  pair() {
    this.pairHandle ??= wasm.UserKeyPair.unwrap(this.uk, this.userId, this.keys.x25519_wrapped);
    return this.pairHandle;
  }

  /**
   * The vault's key at its slot's version. A pending grant is opened and turned into an
   * ordinary member slot right away (PUT /v1/vaults/{vault}/slot).
   */
  async vaultKey(vault) {
    const cacheKey = `${vault.id}/${vault.slot?.key_version}`;
    if (this.vaultKeys.has(cacheKey)) return this.vaultKeys.get(cacheKey);
    const key = ks.openSlot(this.uk, this.userId, vault, vault.slot, () => this.pair());
    // Only a key its owner signed is written with, or kept: a grant could be a key the
    // server made up and sealed to this user, to read what the page would write.
    const owner = await this.identityOf(vault.owner_id);
    key.verified = false;
    if (owner && key.keyVersion === vault.key_version) {
      try {
        ks.verifyVaultKey(key, vault, owner);
      } catch (e) {
        key.free();
        throw new Error(`this vault's key is not the one its owner signed (${e.message}): the server may have been tampered with`);
      }
      key.verified = true;
    }
    if (vault.slot.kind === "grant" && key.verified) {
      await api("PUT", `/v1/vaults/${vault.id}/slot`, { key_version: key.keyVersion, wrapped_vault_key: this.uk.wrapVaultKey(key) });
    }
    this.vaultKeys.set(cacheKey, key);
    return key;
  }
}

/** Reopen the user key, or null when this tab holds no unlock secret (or the session has no slot). */
export async function unlock() {
  const stored = storedUnlock();
  if (!stored) return null;
  let slot;
  try {
    slot = await api("GET", "/v1/session/key");
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
  if (!slot || slot.unlock_id !== stored.unlock_id) return null;
  const uk = ks.openSession(stored, slot);
  const keys = await api("GET", "/v1/keys");
  return new Session(uk, stored.user_id, keys, stored.username || null);
}

/**
 * Every end-to-end page's start: load the crypto, reopen the keys, then `run(session)`.
 * A tab without the keys says so and offers to log in again; a dead session goes to the
 * login page; anything else shows in the status line.
 */
export async function start(run) {
  for (const form of document.querySelectorAll('form[action="/logout"]')) {
    form.addEventListener("submit", () => forgetUnlock());
  }
  try {
    status("Opening your keys in this page…");
    await loadCrypto();
    const session = await unlock();
    if (!session) {
      status("");
      show("e2e-locked");
      return;
    }
    await run(session);
    status("");
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      forgetUnlock();
      location.assign("/login");
      return;
    }
    status(explain(e), { error: true });
  }
}

export { $, show, hide };
export { remembered, storedUnlock } from "/assets/e2e/storage.js";
