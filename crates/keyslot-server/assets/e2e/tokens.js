// API tokens of an end-to-end account. The page generates the kse_ token, wraps each
// chosen vault's key under the token's wrap key, signs the token's X25519 key with the
// identity, seals its name under the user key, and proves the password with `auth`
// (Argon2id in the worker): the server stores a verifier and slots, and answers without a
// token — the page already holds it, and shows it once.
"use strict";
import { api, ApiError } from "/assets/e2e/api.js";
import { $, show, hide, fieldError, clearErrors, busy, time, explain, status } from "/assets/e2e/ui.js";
import { start, remembered } from "/assets/e2e/session.js";
import { inWorker, stopWorker } from "/assets/e2e/argon.js";
import { revokedHere } from "/assets/e2e/storage.js";
import { openVaults } from "/assets/e2e/vaults.js";
import * as ks from "/assets/e2e/ks.js";

/** The API's permission lists, by the form's radio values. */
const PERMISSIONS = { read: ["read"], "read-write": ["read", "write"] };

function access(permissions = []) {
  if (permissions.includes("deposit")) return "Deposit only";
  return permissions.includes("write") ? "Read and write" : "Read";
}

function scope(vaults, names) {
  if (vaults === "*") return "All vaults, including vaults created later";
  return (vaults || []).map((v) => names.get(v) ?? v).join(", ");
}

function cell(tr, text) {
  const td = document.createElement("td");
  td.textContent = text;
  tr.append(td);
}

if ($("token-rows")) start(async (session) => {
  const vaults = await openVaults(session);
  const names = new Map(vaults.map((v) => [v.vault.id, v.name]));
  const { tokens } = await api("GET", "/v1/tokens");
  for (const token of tokens) {
    const tr = document.createElement("tr");
    let name;
    try { name = ks.tokenName(session.uk, session.userId, token); } catch { name = "(name not readable)"; }
    cell(tr, name);
    cell(tr, scope(token.vaults, names));
    cell(tr, access(token.permissions));
    cell(tr, time(token.expires_at));
    const td = document.createElement("td");
    const revoke = document.createElement("button");
    revoke.type = "button";
    revoke.className = "danger small";
    revoke.textContent = "Revoke";
    revoke.setAttribute("aria-label", `Revoke ${name}`);
    revoke.addEventListener("click", async () => {
      revoke.disabled = true;
      try {
        // The server cannot rotate an end-to-end vault: the token's vaults become due,
        // and the next write waits for a rotation from the vault page.
        await api("DELETE", `/v1/tokens/${token.id}`);
        revokedHere.add(session.userId, token.id);
        location.reload();
      } catch (e) {
        revoke.disabled = false;
        status(explain(e), { error: true });
      }
    });
    td.append(revoke);
    tr.append(td);
    $("token-rows").append(tr);
  }
  $("tokens-table").hidden = tokens.length === 0;
  $("no-tokens").hidden = tokens.length > 0;

  const choices = $("token-vaults");
  // Only vaults whose key this browser verified: a token gets no key the server could know.
  for (const { vault, name, key } of vaults) {
    if (!key?.verified) continue;
    const div = document.createElement("div");
    div.className = "check";
    const input = document.createElement("input");
    input.type = "checkbox";
    input.id = `vault-${vault.id}`;
    input.value = vault.id;
    const label = document.createElement("label");
    label.htmlFor = input.id;
    label.textContent = name;
    div.append(input, label);
    choices.append(div);
  }
  show("tokens-card", "new-token-card");

  const form = $("new-token-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(form, "Creating…", async () => {
      clearErrors(form);
      const name = $("name").value.trim();
      const all = $("scope-all").checked;
      // A "*" token gets a slot for every vault the user holds, so each key must be one
      // this browser verified.
      if (all && vaults.some((v) => !v.key?.verified)) {
        return fieldError("vaults", "A vault here is not confirmed in this browser, so a token for all vaults cannot be made here.");
      }
      const chosen = all ? vaults : vaults.filter((v) => v.key?.verified && $(`vault-${v.vault.id}`)?.checked);
      const password = $("current_password").value;
      if (!name) return fieldError("name", "Name must not be empty.");
      if (!all && !chosen.length) return fieldError("vaults", "Choose at least one vault.");
      if (!password) return fieldError("current_password", "Enter your password.");
      const permissions = PERMISSIONS[form.querySelector("input[name=permissions]:checked").value];
      const days = Number($("days").value);
      try {
        // As typed at login (see password.js), not the server's spelling.
        const username = session.username;
        if (!username) return fieldError("current_password", "This tab does not know the username you logged in with: log out and log in again.");
        const pre = await api("POST", "/v1/prelogin", { username });
        let auth;
        try {
          ({ auth } = await inWorker("passwordAuth", { password, pre, lastSeen: remembered.lastParams(username) }));
        } finally {
          stopWorker();
        }
        const { body, text } = ks.newToken(session.uk, session.userId, session.keys, name, chosen, permissions, days * 86400, all);
        try {
          await api("POST", "/v1/tokens", { ...body, auth });
        } catch (e) {
          // A wrong password proof: 401, or 403 naming the password (as server mode's
          // current_password answers).
          const wrong = e instanceof ApiError && (e.status === 401 || (e.status === 403 && /password|auth/i.test(e.problem.detail || "")));
          if (wrong) return fieldError("current_password", "The password is not right.");
          throw e;
        }
        $("current_password").value = "";
        hide("tokens-card", "new-token-card");
        $("token-created-heading").textContent = `Token “${name}” created`;
        $("new-token").textContent = text;
        show("token-created");
      } catch (e) {
        fieldError("name", e instanceof ApiError ? explain(e) : `Making the token failed in this page: ${e.message}`);
      }
    });
  });
});
