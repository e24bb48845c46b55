// What the end-to-end pages keep in the browser. sessionStorage: this tab's unlock secret
// (END-TO-END §4), never sent, and the username as typed at login (the key of what
// localStorage remembers). localStorage: public facts about a username — that it is an
// end-to-end account, and the last Argon2 parameters seen for it (the floor a tampered
// prelogin answer cannot go below).
"use strict";

const UNLOCK = "keyslot.e2e.unlock";

export function storeUnlock(stored) { sessionStorage.setItem(UNLOCK, JSON.stringify(stored)); }
export function storedUnlock() {
  try { return JSON.parse(sessionStorage.getItem(UNLOCK) || "null"); } catch { return null; }
}
export function forgetUnlock() { sessionStorage.removeItem(UNLOCK); }

/** The remembered facts about a username in this browser (public: the mode, the last Argon2 parameters). */
export const remembered = {
  key: (kind, username) => `keyslot.e2e.${kind}.${username.trim().toLowerCase()}`,
  isEndToEnd(username) { return localStorage.getItem(this.key("mode", username)) === "end-to-end"; },
  setEndToEnd(username, yes) {
    if (yes) localStorage.setItem(this.key("mode", username), "end-to-end");
    else localStorage.removeItem(this.key("mode", username));
  },
  lastParams(username) {
    try { return JSON.parse(localStorage.getItem(this.key("kdf", username)) || "null"); } catch { return null; }
  },
  setParams(username, p) {
    localStorage.setItem(this.key("kdf", username), JSON.stringify({ m_cost: p.m_cost, t_cost: p.t_cost, p_cost: p.p_cost }));
  },
};

/**
 * The token ids this browser revoked, per user (public: an id is no secret). A rotation
 * never seals the new key to one of them, whatever the server's holder list says: the
 * mint signature that vouches for a token's key stays valid after its revocation, so a
 * server that kept a revoked (or disclosed) token would otherwise get the next key too.
 */
export const revokedHere = {
  key: (userId) => `keyslot.e2e.revoked.${userId}`,
  ids(userId) {
    try { return new Set(JSON.parse(localStorage.getItem(this.key(userId)) || "[]")); } catch { return new Set(); }
  },
  add(userId, tokenId) {
    const ids = this.ids(userId);
    ids.add(tokenId);
    localStorage.setItem(this.key(userId), JSON.stringify([...ids]));
  },
};
