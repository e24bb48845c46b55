// The Argon2id worker (see argon.js). Module worker: same origin, same CSP, its own wasm
// instance. Between login's two steps it keeps the password's credential (a wasm handle)
// so the wrap key never crosses to the page; the page ends the worker after login.
"use strict";
import init, * as wasm from "/assets/wasm/keyslot_wasm.js";
import * as ks from "/assets/e2e/ks.js";

const ready = init().then(() => ks.setWasm(wasm));
let loginCredential = null;

let recovery = null;

function forgetRecovery() {
  recovery?.free();
  recovery = null;
}

function forgetLogin() {
  loginCredential?.free();
  loginCredential = null;
}

const ops = {
  passwordProblem: ({ password, username }) => ks.passwordProblem(password, username),
  signup: ({ username, password, vaultName }) => ks.signup(username, password, vaultName),
  loginAuth: ({ password, pre, lastSeen }) => {
    forgetLogin();
    loginCredential = ks.passwordCredential(password, pre, lastSeen);
    return { auth: loginCredential.authBase64url() };
  },
  loginSlot: ({ userId, wrappedUserKey }) => {
    if (!loginCredential) throw new Error("login: no password step before");
    try { return ks.newSessionSlot(loginCredential, userId, wrappedUserKey); } finally { forgetLogin(); }
  },
  passwordAuth: ({ password, pre, lastSeen }) => {
    const credential = ks.passwordCredential(password, pre, lastSeen);
    try { return { auth: credential.authBase64url() }; } finally { credential.free(); }
  },
  passwordChange: ({ stored, slot, current, fresh, pre, lastSeen }) =>
    ks.passwordChange(stored, slot, current, fresh, pre, lastSeen),
  recoverAuth: ({ code, credentialId }) => {
    forgetRecovery();
    recovery = ks.recoveryCredential(code, credentialId);
    return { auth: recovery.authBase64url() };
  },
  recoverSlots: ({ begun, password }) => {
    if (!recovery) throw new Error("recovery: no recovery-code step before");
    try { return ks.recoverySlots(recovery, begun, password); } finally { forgetRecovery(); }
  },
};

self.onmessage = async (event) => {
  const { id, op, args } = event.data;
  try {
    await ready;
    if (!Object.hasOwn(ops, op)) throw new Error(`unknown operation ${op}`);
    postMessage({ id, ok: true, result: await ops[op](args) });
  } catch (e) {
    postMessage({ id, ok: false, error: String(e?.message || e) });
  }
};
