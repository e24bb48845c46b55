// What the end-to-end pages refuse when the server lies (security review R2), in Debian's
// Chromium (playwright-core). Each case substitutes one server answer (page.route), then
// asserts that the page says no and that the request it would have made next is never
// sent; each fails on the pages as they were before the fix it covers.
//
// Usage: KEYSLOT_TEST_PLANT='{…}' [KEYSLOT_DATABASE_URL=postgres://…] \
//          node e2e_refusals.mjs KEYSLOT_BINARY SCREENSHOT_DIR
// KEYSLOT_TEST_PLANT (made by keyslot-cli tests/browser_e2e.rs with keyslot-crypto) holds a
// user id, a recovery code and its credential id, and `sealed_user_key`: a user key of the
// "server's" making sealed to that code's public key (which anyone can compute) under the
// user-key-grant AAD — exactly what a compromised server could answer recovery with.
//
// 1. recovery: a planted sealed_user_key is refused; no /v1/recover/finish is sent.
// 2. a vault key the browser could not verify: the vault list and the item page flag
//    what they show.
// 3. GET /v1/keys answering another username: the password change and the token form
//    still check prelogin against the parameters last seen for the name typed at login;
//    no POST /v1/password or /v1/tokens is sent.
// 4. a token minted in the page is anchored: its id commits to the user's identity.
// 5. rotation after a revocation: the server lists the revoked token again (with its
//    valid mint signature); the page refuses and sends no rotation; without the plant
//    the rotation goes through.
// 6. a member (who confirmed the owner) of a due vault is offered no rotation: only the
//    owner's session rotates.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import net from "node:net";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const [binary, shots] = process.argv.slice(2);
assert.ok(binary && shots, "usage: node e2e_refusals.mjs KEYSLOT_BINARY SCREENSHOT_DIR");
const plant = JSON.parse(process.env.KEYSLOT_TEST_PLANT || "null");
assert.ok(plant?.sealed_user_key, "KEYSLOT_TEST_PLANT must hold the planted recovery seal");
mkdirSync(shots, { recursive: true });

const USER = "quinn";
const PASSWORD = "marble finches over the quarry";
const NEW_PASSWORD = "nine copper kites in october";
const VAULT = "Personal";
const MEMBER = "rowan";
const SHARED = "Team secrets";

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
    srv.on("error", reject);
  });
}

async function waitReady(base) {
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(`${base}/readyz`)).ok) return; } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("keyslot serve did not become ready");
}

/** The wasm module and ks.js the server serves to the page, loaded in node. */
async function cryptoFromServer(base) {
  const dir = mkdtempSync(join(tmpdir(), "keyslot-wasm-"));
  writeFileSync(join(dir, "keyslot_wasm.mjs"), await (await fetch(`${base}/assets/wasm/keyslot_wasm.js`)).text());
  const w = await import(pathToFileURL(join(dir, "keyslot_wasm.mjs")).href);
  await w.default({ module_or_path: new Uint8Array(await (await fetch(`${base}/assets/wasm/keyslot_wasm_bg.wasm`)).arrayBuffer()) });
  writeFileSync(join(dir, "ks.mjs"), await (await fetch(`${base}/assets/e2e/ks.js`)).text());
  const ks = await import(pathToFileURL(join(dir, "ks.mjs")).href);
  ks.setWasm(w);
  return { w, ks };
}

/**
 * An end-to-end sign-up made here, as the page makes one; with `planted`, the plant's user
 * id and recovery code (the seal is bound to both). Returns the account's keys (handles).
 */
async function signUp(base, w, ks, username, planted) {
  const userId = planted ? plant.user_id : ks.randomId();
  const vaultId = ks.randomId();
  const uk = w.UserKey.generate();
  const pair = w.UserKeyPair.generate();
  const identity = w.IdentityKey.generate();
  const vk = w.VaultKey.generate(userId, vaultId, 1);
  const identityPublic = identity.publicKey().toBase64url();
  let recovery;
  if (planted) {
    const code = w.unlockRecoveryCode(plant.recovery_code, plant.recovery_credential_id);
    recovery = {
      credential_id: code.credentialId(),
      verifier: code.verifierBase64url(),
      wrapped_user_key: code.wrapUserKey(userId, uk),
      x25519_public: w.recoveryPublicKey(plant.recovery_code, plant.recovery_credential_id),
    };
    code.free();
  } else {
    recovery = ks.newRecoveryCode(userId, uk).parts;
  }
  const body = {
    username,
    end_to_end: true,
    user_id: userId,
    password: ks.passwordSlotParts(PASSWORD, userId, uk),
    recovery,
    x25519_public: pair.publicKey(),
    x25519_wrapped: pair.wrap(uk, userId),
    x25519_signature: identity.signUserX25519(userId, pair.publicKey()),
    identity_public: identityPublic,
    identity_wrapped: identity.wrap(uk, userId),
    vault: {
      id: vaultId,
      wrapped_vault_key: uk.wrapVaultKey(vk),
      sealed_name: vk.sealVaultName(VAULT),
      public_key: vk.publicKey(),
      public_key_signature: identity.signVaultKey(vk),
    },
  };
  const answer = await fetch(`${base}/v1/signup`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  assert.equal(answer.status, 201, `sign-up: ${answer.status} ${await answer.clone().text()}`);
  return { userId, uk, pair, identity, identityPublic, vaultId, vk };
}

/** Log `username` in over the JSON API here (Argon2id in node): a request function for its session. */
async function apiSession(base, ks, username) {
  const json = { "content-type": "application/json", accept: "application/json" };
  const pre = await (await fetch(`${base}/v1/prelogin`, { method: "POST", headers: json, body: JSON.stringify({ username }) })).json();
  const credential = ks.passwordCredential(PASSWORD, pre, null);
  const answer = await fetch(`${base}/v1/login`, { method: "POST", headers: json, body: JSON.stringify({ username, auth: credential.authBase64url() }) });
  credential.free();
  assert.equal(answer.status, 200, `login of ${username}: ${answer.status}`);
  const login = await answer.json();
  const cookie = answer.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  return async (method, path, body) => {
    const headers = { ...json, cookie, "x-csrf-token": login.csrf_token };
    const response = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

/** Answer `url` (GET, or `method`) with the real answer passed through `change`. */
async function substitute(page, url, change, method = "GET") {
  const handler = async (route) => {
    if (route.request().method() !== method) return route.fallback();
    const response = await route.fetch();
    await route.fulfill({ response, json: change(await response.json()) });
  };
  await page.route(url, handler);
  return () => page.unroute(url, handler);
}

/** Count (and drop) every `method` request to `url`: what a refusal must never send. */
async function forbid(page, method, url) {
  const seen = { count: 0 };
  const handler = (route) => {
    if (route.request().method() !== method) return route.fallback();
    seen.count++;
    return route.abort();
  };
  await page.route(url, handler);
  seen.stop = () => page.unroute(url, handler);
  return seen;
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), "keyslot-browser-refusals-"));
const serveArgs = ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", join(dataDir, "data")];
if (process.env.KEYSLOT_DATABASE_URL) serveArgs.push("--migrate");
const server = spawn(binary, serveArgs, { stdio: ["ignore", "ignore", "inherit"] });
const problems = [];
let browser;
let page;
try {
  await waitReady(base);
  const { w, ks } = await cryptoFromServer(base);
  const owner = await signUp(base, w, ks, USER, true);
  const { identityPublic, vaultId } = owner;

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  page = await context.newPage();
  // No refusal below lets a request fail: any console error or warning is a problem.
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

  // 1. Recovery: begin answers a user key sealed to the code's public key. The page must
  //    not adopt it (it would wrap the new password and code around a key the server
  //    knows): refused, and no finish.
  await page.goto(`${base}/recover`);
  await page.getByLabel("Username").fill(USER);
  await page.getByLabel("Recovery code").fill(plant.recovery_code);
  await page.getByLabel("End-to-end account").check();
  await page.getByLabel("New password").fill(NEW_PASSWORD);
  const planted = await substitute(page, `${base}/v1/recover/begin`, (json) => ({ ...json, sealed_user_key: plant.sealed_user_key }), "POST");
  const finishes = await forbid(page, "POST", `${base}/v1/recover/finish`);
  await page.getByRole("button", { name: "Set new password" }).click();
  await page.locator("#e2e-error").waitFor({ state: "visible", timeout: 60_000 });
  assert.match(await page.locator("#e2e-error").textContent(), /sealed to your recovery code/);
  assert.equal(finishes.count, 0, "no recovery finish after a planted sealed_user_key");
  await shot("e2e-refused-recovery");
  await planted();
  await finishes.stop();

  // Log in (the username typed here is the one the pages keep).
  await page.goto(`${base}/login`);
  await page.getByLabel("Username").fill(USER);
  await page.getByLabel("End-to-end account").check();
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Vaults" }).waitFor({ timeout: 60_000 });
  await page.getByRole("link", { name: VAULT }).click();
  await page.getByLabel("Name", { exact: true }).fill("db-password");
  await page.getByLabel("Value", { exact: true }).fill("pg_4Hq8Xz");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("heading", { name: "db-password" }).waitFor();
  const itemUrl = page.url();

  // 2. A vault the server says is at a newer key version than the user's slot: the key the
  //    slot opens cannot be checked against the owner's signature for the vault's current
  //    version, so what it opens is shown flagged, in the list and on the item page.
  const flag = "Not confirmed in this browser";
  const newerList = await substitute(page, `${base}/v1/vaults`, (json) => ({ ...json, vaults: json.vaults.map((v) => ({ ...v, key_version: v.key_version + 1 })) }));
  await page.goto(`${base}/e2e/vaults`);
  await page.getByRole("link", { name: VAULT }).waitFor();
  assert.match(await page.locator("#vault-list li").first().textContent(), /not confirmed in this browser/);
  await newerList();
  const newerVault = await substitute(page, `${base}/v1/vaults/${vaultId}`, (json) => ({ ...json, key_version: json.key_version + 1 }));
  await page.goto(itemUrl);
  await page.getByRole("heading", { name: "db-password" }).waitFor();
  assert.match(await page.locator("#item-meta").textContent(), new RegExp(flag));
  await shot("e2e-unconfirmed-item");
  await newerVault();
  await page.reload();
  await page.getByRole("heading", { name: "db-password" }).waitFor();
  assert.doesNotMatch(await page.locator("#item-meta").textContent(), new RegExp(flag), "a verified key is not flagged");

  // 3. This browser saw stronger Argon2 parameters for the name typed at login than the
  //    server now offers, and GET /v1/keys names another user: the checks still use the
  //    typed name, so the weaker prelogin is refused before any proof is sent.
  await page.evaluate((user) => localStorage.setItem(`keyslot.e2e.kdf.${user}`, JSON.stringify({ m_cost: 19456, t_cost: 3, p_cost: 1 })), USER);
  const otherName = await substitute(page, `${base}/v1/keys`, (json) => ({ ...json, username: "someone-else" }));
  const changes = await forbid(page, "POST", `${base}/v1/password`);
  await page.goto(`${base}/e2e/password`);
  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByLabel("New password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Change password" }).click();
  await page.getByText("weaker password hashing").waitFor({ timeout: 60_000 });
  assert.equal(changes.count, 0, "no password change after a weaker prelogin");
  await changes.stop();
  const mints = await forbid(page, "POST", `${base}/v1/tokens`);
  await page.goto(`${base}/e2e/tokens`);
  await page.getByLabel("Name").fill("ci reader");
  await page.getByLabel(VAULT).check();
  await page.getByLabel("Your password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create token" }).click();
  await page.getByText("weaker password hashing").waitFor({ timeout: 60_000 });
  assert.equal(mints.count, 0, "no token minted after a weaker prelogin");
  await mints.stop();
  await otherName();
  await page.evaluate((user) => localStorage.setItem(`keyslot.e2e.kdf.${user}`, JSON.stringify({ m_cost: 19456, t_cost: 2, p_cost: 1 })), USER);

  // 4. A token minted in the page commits its id to this user's identity.
  await page.goto(`${base}/e2e/tokens`);
  await page.getByLabel("Name").fill("ci reader");
  await page.getByLabel(VAULT).check();
  await page.getByLabel("Your password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create token" }).click();
  await page.getByText("Copy this token now").waitFor({ timeout: 60_000 });
  const token = w.E2eToken.parse((await page.locator("#new-token").textContent()).trim());
  const mine = w.IdentityPublicKey.parse(identityPublic);
  const someoneElse = w.IdentityKey.generate().publicKey();
  assert.equal(token.anchoredTo(mine), true, "the page-minted token is anchored to its user's identity");
  assert.equal(token.anchoredTo(someoneElse), false);

  // 5. Revoke it; the server then lists it among the vault's holders again, with the
  //    genuine mint signature. The page's rotation refuses to seal to it and sends
  //    nothing; without the planted entry the rotation goes through.
  const holders = await (await page.request.get(`${base}/v1/vaults/${vaultId}/holders`)).json();
  const revokedEntry = holders.holders.find((h) => h.kind === "token" && h.id === token.id);
  assert.ok(revokedEntry, "the token holds the vault before its revocation");
  await page.getByRole("link", { name: "Back to API tokens" }).click();
  await page.getByRole("button", { name: "Revoke ci reader" }).click();
  await page.getByRole("button", { name: "Revoke ci reader" }).waitFor({ state: "detached" });
  const kept = await substitute(page, `${base}/v1/vaults/${vaultId}/holders`, (json) => ({ ...json, holders: [...json.holders, revokedEntry] }));
  const rotations = await forbid(page, "POST", `${base}/v1/vaults/${vaultId}/rotate`);
  await page.goto(`${base}/e2e/vaults/${vaultId}`);
  await page.getByText("A rotation is due").waitFor();
  await page.getByRole("button", { name: "Rotate key now" }).click();
  await page.locator("#rotate-error").waitFor({ state: "visible" });
  assert.match(await page.locator("#rotate-error").textContent(), /revoked in this browser/);
  assert.equal(rotations.count, 0, "no rotation sealed to a revoked token");
  await shot("e2e-refused-rotation");
  await rotations.stop();
  await kept();
  await page.reload();
  await page.getByRole("button", { name: "Rotate key now" }).click();
  await page.getByText("Key version 2.").waitFor({ timeout: 60_000 });

  // 6. A member who confirmed the owner holds the vault's key, verified; the vault is due
  //    (the owner revoked a token of it). Only the owner's session rotates (a member's
  //    signature over the new key is one no reader accepts): the member's page offers no
  //    rotation, says the owner rotates, and still lets the member write once it is done.
  const member = await signUp(base, w, ks, MEMBER, false);
  const asOwner = await apiSession(base, ks, USER);
  const asMember = await apiSession(base, ks, MEMBER);
  const sharedId = ks.randomId();
  const sharedKey = w.VaultKey.generate(owner.userId, sharedId, 1);
  await asOwner("POST", "/v1/vaults", {
    id: sharedId,
    wrapped_vault_key: owner.uk.wrapVaultKey(sharedKey),
    sealed_name: sharedKey.sealVaultName(SHARED),
    public_key: sharedKey.publicKey(),
    public_key_signature: owner.identity.signVaultKey(sharedKey),
    token_grants: [],
  });
  const list = new w.MemberList();
  list.add(owner.userId, "owner", w.IdentityPublicKey.parse(owner.identityPublic));
  list.add(member.userId, "write", w.IdentityPublicKey.parse(member.identityPublic));
  await asOwner("POST", `/v1/vaults/${sharedId}/members`, {
    username: MEMBER,
    role: "write",
    key_version: 1,
    grant: sharedKey.sealGrant("user", member.userId, member.pair.publicKey()),
    members_signature: owner.identity.signMembers(sharedId, 1, list),
    token_grants: [],
  });
  const ownerPublic = w.IdentityPublicKey.parse(owner.identityPublic);
  await asMember("PUT", `/v1/pins/${owner.userId}`, { identity_public: owner.identityPublic, pin: member.uk.pin(member.userId, owner.userId, ownerPublic) });
  const ownerKeys = await asOwner("GET", "/v1/keys");
  const minted = ks.newToken(owner.uk, owner.userId, ownerKeys, "to revoke", [{ vault: { id: sharedId }, key: sharedKey }], ["read"], 86400);
  const pre = await (await fetch(`${base}/v1/prelogin`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: USER }) })).json();
  const proof = ks.passwordCredential(PASSWORD, pre, null);
  await asOwner("POST", "/v1/tokens", { ...minted.body, auth: proof.authBase64url() });
  await asOwner("DELETE", `/v1/tokens/${minted.body.id}`);
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("heading", { name: "Log in" }).waitFor();
  await page.getByLabel("Username").fill(MEMBER);
  await page.getByLabel("End-to-end account").check();
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Vaults" }).waitFor({ timeout: 60_000 });
  await page.getByRole("link", { name: SHARED }).click();
  await page.getByText("A rotation is due").waitFor();
  await page.locator("#new-item-card").waitFor({ state: "visible" }); // the key is verified
  assert.equal(await page.getByRole("button", { name: "Rotate key now" }).isVisible(), false, "a member is offered no rotation");
  assert.match(await page.locator("#key-state").textContent(), /the vault's owner rotates/);
  await shot("e2e-member-due");

  assert.deepEqual(problems, [], "no console errors, page errors or CSP violations");
  console.log(`backend: ${process.env.KEYSLOT_DATABASE_URL ? "postgresql" : "sqlite"}`);
  console.log("browser e2e refusals: 1 passed, 0 failed");
} catch (e) {
  console.error(e);
  if (problems.length) console.error("problems seen:", problems);
  if (page) {
    const said = await page.locator(".field-error:visible, #e2e-status:visible, #e2e-error:visible").allTextContents().catch(() => []);
    console.error("page at", page.url(), "says:", said);
    await page.screenshot({ path: join(shots, "e2e-refusals-failure.png"), fullPage: true }).catch(() => {});
  }
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  server.kill("SIGTERM");
}
