// One item of an end-to-end account: opened here (the value stays folded until revealed),
// and edited here: the new version is sealed under the vault's current key with the
// version it writes bound into every AAD, sent with If-Match on the version read.
"use strict";
import { api } from "/assets/e2e/api.js";
import { $, show, fieldError, clearErrors, busy, time } from "/assets/e2e/ui.js";
import { start } from "/assets/e2e/session.js";
import { openVault, itemProblems, writeRefused } from "/assets/e2e/vault.js";
import * as ks from "/assets/e2e/ks.js";

const here = $("e2e-item")?.dataset;

/**
 * Who wrote this version, as far as this browser can vouch: a member's write is signed by
 * their identity (checked here against the user's own or a pinned identity; a signature
 * that does not verify refuses the item); a token's write carries none.
 */
async function writer(session, item) {
  if (!item.signature) return ", written by an API token";
  const identity = item.signer ? await session.identityOf(item.signer) : null;
  if (!identity) return ", written by a member this browser has not confirmed";
  try {
    ks.verifyItem(here.vault, item, identity);
  } catch (e) {
    throw new Error(`this item's signature does not verify (${e.message}): the server may have altered it`);
  }
  return item.signer === session.userId ? ", signed by you" : ", signed by a confirmed member";
}

if (here) start(async (session) => {
  const { vault, key, name: vaultName } = await openVault(session, here.vault);
  const item = await api("GET", `/v1/vaults/${here.vault}/items/${here.item}`);
  const at = ks.keyAt(key, item.key_version, item.chain);
  const { name, value } = ks.openItem(at, item);
  if (at !== key) at.free();
  const who = await writer(session, item);
  document.title = `${name} · Keyslot`;
  $("crumb-vault").textContent = vaultName;
  $("crumb-item").textContent = name;
  $("item-name").textContent = name;
  $("item-meta").textContent = `Version ${item.version}, updated ${time(item.updated_at)}${who}.`;
  if (!key.verified) {
    // Opened with a key no confirmed identity signed: the server may have made it, and
    // what it shows.
    $("item-meta").textContent += " Not confirmed in this browser: this vault's key may not be the one its owner signed, so the server could have written what is shown.";
  }
  $("item-value").textContent = value;
  $("name").value = name;
  $("value").value = value;
  show("crumbs", "item-card");
  if (key.verified && vault.role !== "read") show("edit-card", "delete-card");

  const remove = $("delete-item");
  remove.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(remove, "Deleting…", async () => {
      try {
        await api("DELETE", `/v1/vaults/${here.vault}/items/${here.item}`);
        location.assign(`/e2e/vaults/${here.vault}`);
      } catch (e) {
        fieldError("delete", writeRefused(e));
      }
    });
  });

  const form = $("edit-item");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(form, "Saving…", async () => {
      clearErrors(form);
      const newName = $("name").value.trim();
      const newValue = $("value").value;
      const problems = itemProblems(newName);
      if (problems.length) return problems.forEach(([f, m]) => fieldError(f, m));
      try {
        const sealed = ks.sealItem(key, session.uk, session.userId, session.keys, here.item, item.version + 1, newName, newValue);
        await api("PUT", `/v1/vaults/${here.vault}/items/${here.item}`, sealed, { headers: { "if-match": `"${item.version}"` } });
        location.reload();
      } catch (e) {
        fieldError("name", e?.status === 412 ? "Someone changed this item meanwhile. Reload to see their version." : writeRefused(e));
      }
    });
  });
});
