// What the end-to-end pages keep in the browser. sessionStorage: this tab's unlock secret
// (END-TO-END §4), never sent. localStorage: public facts about a username — that it is
// an end-to-end account, and the last Argon2 parameters seen for it (the floor a
// tampered prelogin answer cannot go below).
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
