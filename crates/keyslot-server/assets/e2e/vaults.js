// The vault list of an end-to-end account: each vault's name is opened here with its key
// (from the member slot under the user key, or a pending grant, converted on the spot).
"use strict";
import { api, ApiError } from "/assets/e2e/api.js";
import { $, show, fieldError, clearErrors, busy, explain } from "/assets/e2e/ui.js";
import { start } from "/assets/e2e/session.js";
import * as ks from "/assets/e2e/ks.js";

/** The vaults with their opened names, sorted by name; a vault that does not open says so. */
export async function openVaults(session) {
  const { vaults } = await api("GET", "/v1/vaults");
  const out = [];
  for (const vault of vaults) {
    try {
      const key = await session.vaultKey(vault);
      out.push({ vault, key, name: key.openVaultName(vault.sealed_name) });
    } catch (e) {
      out.push({ vault, key: null, name: `(a vault this page cannot open: ${e.message})` });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The account's live "*" tokens with their public keys and signatures: a new vault must
 * carry a grant for each. GET /v1/keys' `star_tokens` (END-TO-END §9) when the server
 * sends it — at this writing it does not — else the "*" tokens of GET /v1/tokens, whose
 * keys are in any vault's holders (a "*" token holds every vault). Either way
 * ks.newVault seals only to keys this user's identity signed.
 */
async function starTokens(session, vaults) {
  if (Array.isArray(session.keys.star_tokens)) return session.keys.star_tokens;
  const { tokens } = await api("GET", "/v1/tokens");
  const ids = new Set(tokens.filter((t) => t.vaults === "*" && !(t.permissions || []).includes("deposit")).map((t) => t.id));
  if (!ids.size || !vaults.length) return [];
  const answer = await api("GET", `/v1/vaults/${vaults[0].vault.id}/holders`);
  const listed = (answer.holders || [])
    .filter((h) => h.kind === "token")
    .map((h) => ({ id: h.id, x25519_public: h.public_key, public_key_signature: h.signature }));
  return listed.filter((t) => ids.has(t.id));
}

/** The flag beside content opened with a key this browser has not verified. */
export function unconfirmed() {
  const span = document.createElement("span");
  span.className = "muted";
  span.textContent = " (not confirmed in this browser: its key may not be the one its owner signed)";
  return span;
}

const list = $("vault-list");
if (list) start(async (session) => {
  const vaults = await openVaults(session);
  for (const { vault, name, key } of vaults) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = `/e2e/vaults/${vault.id}`;
    a.textContent = name;
    li.append(a);
    // A key this browser could not check against its owner's signature may be one the
    // server made: what it opens is shown, but flagged.
    if (key && !key.verified) li.append(unconfirmed());
    list.append(li);
  }
  $("no-vaults").hidden = vaults.length > 0;
  show("vaults-card", "new-vault-card");

  const form = $("new-vault");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(form, "Creating…", async () => {
      clearErrors(form);
      const name = $("name").value.trim();
      const bad = ks.nameProblem(name);
      if (bad) return fieldError("name", `Name ${bad}`);
      try {
        const keys = { ...session.keys, star_tokens: await starTokens(session, vaults) };
        const body = ks.newVault(session.uk, session.userId, keys, name);
        await api("POST", "/v1/vaults", body);
        location.assign(`/e2e/vaults/${body.id}`);
      } catch (e) {
        fieldError("name", e instanceof ApiError ? explain(e) : `Creating the vault failed in this page: ${e.message}`);
      }
    });
  });
});
