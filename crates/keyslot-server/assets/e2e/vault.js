// One vault of an end-to-end account: its items' names opened here (through the chain for
// items under an older key version), and a new item sealed here under the current key.
"use strict";
import { api, ApiError } from "/assets/e2e/api.js";
import { $, show, fieldError, clearErrors, busy, time, explain } from "/assets/e2e/ui.js";
import { start } from "/assets/e2e/session.js";
import { revokedHere } from "/assets/e2e/storage.js";
import * as ks from "/assets/e2e/ks.js";

const vaultId = $("e2e-vault")?.dataset.vault;

/** The vault, its current key and its name: what the vault and item pages share. */
export async function openVault(session, id) {
  const vault = await api("GET", `/v1/vaults/${id}`);
  const key = await session.vaultKey(vault);
  return { vault, key, name: key.openVaultName(vault.sealed_name) };
}

/**
 * Problems with an item's name, checked here since the server cannot read it (the value's
 * size limit is the server's: its sealed size comes back as a 413/422 naming the field).
 */
export function itemProblems(name) {
  const out = [];
  const bad = ks.nameProblem(name);
  if (bad) out.push(["name", `Name ${bad}`]);
  return out;
}

/** What a refused write means to the person who made it. */
export function writeRefused(e) {
  if (e instanceof ApiError && e.status === 409 && /rotation/.test(e.problem.type || "")) {
    return "This vault's key must be rotated before anything is written (a token or member lost access). Its owner rotates it from the vault's page; then save again.";
  }
  if (e instanceof ApiError && (e.status === 413 || e.status === 422)) {
    return `The server refused this item: ${e.problem.errors?.[0]?.message ?? e.message}`;
  }
  return e instanceof ApiError ? explain(e) : `Sealing failed in this page: ${e.message}`;
}

if (vaultId) start(async (session) => {
  const { vault, key, name } = await openVault(session, vaultId);
  document.title = `${name} · Keyslot`;
  $("vault-name").textContent = name;
  $("crumb-vault").textContent = name;
  const listing = await api("GET", `/v1/vaults/${vaultId}/items`);
  const rows = [];
  for (const item of listing.items) {
    let itemName;
    try {
      const at = ks.keyAt(key, item.key_version, listing.chain);
      itemName = ks.itemName(at, item);
      if (at !== key) at.free();
    } catch (e) {
      itemName = `(an item this page cannot open: ${e.message})`;
    }
    rows.push({ item, name: itemName });
  }
  rows.sort((a, b) => a.name.localeCompare(b.name));
  const body = $("item-rows");
  for (const { item, name: itemName } of rows) {
    const tr = document.createElement("tr");
    const link = document.createElement("a");
    link.href = `/e2e/vaults/${vaultId}/items/${item.id}`;
    link.textContent = itemName;
    const cells = [link, String(item.version), time(item.updated_at)];
    for (const c of cells) {
      const td = document.createElement("td");
      td.append(c);
      tr.append(td);
    }
    body.append(tr);
  }
  $("items-table").hidden = rows.length === 0;
  $("no-items").hidden = rows.length > 0;
  // Only the owner's own session rotates (END-TO-END §8): the new public key must carry the
  // owner's signature, which every reader checks; a member's or token's rotation would
  // leave a key no client accepts. Others wait for the owner.
  const mine = vault.owner_id === session.userId;
  const due = mine ? " A rotation is due: writes wait until you rotate the key." : " A rotation is due: writes wait until the vault's owner rotates its key.";
  $("key-state").textContent = `Key version ${vault.key_version}.${vault.rotation_due ? due : ""}`;
  show("crumbs", "items-card");
  if (!key.verified) {
    $("key-state").textContent += " Not confirmed in this browser: this vault's key may not be the one its owner signed, so the server could have written what is listed here, and this page does not write to it.";
  } else if (vault.role !== "read") {
    show("new-item-card");
  }

  if (key.verified && vault.rotation_due && mine) {
    show("rotate-form");
    const rotate = $("rotate-form");
    rotate.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(rotate, "Rotating…", async () => {
        clearErrors(rotate);
        try {
          const { holders } = await api("GET", `/v1/vaults/${vaultId}/holders`);
          const vouched = new Map();
          for (const user of new Set(holders.map((h) => h.user_id))) vouched.set(user, await session.identityOf(user));
          const body = ks.rotation(session.uk, session.userId, session.keys, key, vault, name, holders, vouched, true, revokedHere.ids(session.userId));
          await api("POST", `/v1/vaults/${vaultId}/rotate`, body);
          location.reload();
        } catch (e) {
          fieldError("rotate", e instanceof ApiError ? explain(e) : `The rotation was not sent: ${e.message}`);
        }
      });
    });
  }

  const form = $("new-item");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(form, "Saving…", async () => {
      clearErrors(form);
      const itemName = $("name").value.trim();
      const value = $("value").value;
      const problems = itemProblems(itemName);
      if (problems.length) return problems.forEach(([f, m]) => fieldError(f, m));
      try {
        const id = ks.randomId();
        const sealed = ks.sealItem(key, session.uk, session.userId, session.keys, id, 1, itemName, value);
        await api("POST", `/v1/vaults/${vaultId}/items`, { id, ...sealed });
        location.assign(`/e2e/vaults/${vaultId}/items/${id}`);
      } catch (e) {
        fieldError("name", writeRefused(e));
      }
    });
  });
});
