// An end-to-end account in Debian's Chromium (playwright-core, no downloaded browser).
//
// Usage: [KEYSLOT_DATABASE_URL=postgres://…] node e2e_flows.mjs KEYSLOT_BINARY SCREENSHOT_DIR
// Starts `keyslot serve` on a fresh data dir and walks the story with the crypto in the
// page: sign up end-to-end (recovery code shown once), log in (the "end-to-end account"
// box remembered for the username), store an item, reveal it, edit it, reload the tab (the
// keys come back from the session's unlock slot), mint a token in the page and read the
// item with it over the JSON API as `ksa_` (decrypted here in node with the same wasm
// module the page uses), change the password, log out, log in with the new password, the
// item is still there and the token still reads it; recover with the recovery code (a new
// password and a new code, made in the page) and log in with the new password.
//
// Every request and response the browser sends and receives (URL, headers, body) is
// recorded; at the end none of the secrets (the passwords, the recovery code, the token
// text and its secret bytes, the item's names and values) may appear in it, in any of the
// encodings they could travel in (raw, JSON, URL-encoded, base64, base64url, hex). The
// control: the same recording of a server-mode sign-up DOES contain its password, so the
// search can fail. Fails on any console error, page error or CSP violation.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import net from "node:net";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const [binary, shots] = process.argv.slice(2);
assert.ok(binary && shots, "usage: node e2e_flows.mjs KEYSLOT_BINARY SCREENSHOT_DIR");
mkdirSync(shots, { recursive: true });

const USER = "erin";
const PASSWORD = "violet kettle under the bridge";
const NEW_PASSWORD = "seven quiet lanterns at dawn";
const THIRD_PASSWORD = "amber gulls over a slate harbour";
const ITEM_NAME = "stripe-live-key-e2e";
const VAULT_NAME = "Acme deploy keys";
const SECOND_ITEM = "acme-registry-password";
const SECOND_VALUE = "rg_Zq81Lp0Tx";
const ROTATED_ITEM = "written-after-rotation";
const ROTATED_VALUE = "post_rotation_Vb93Qs";
const ITEM_VALUE = "sk_live_Q7hZp2Xw9Lm4";
const ITEM_VALUE_2 = "sk_live_R8jAq3Yx0Nn5";
const SERVER_MODE_PASSWORD = "control password for sam";

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

// ---- The recording and the canary search -------------------------------------------------

/** Records every request and response of a browser context, bodies included. */
function record(context) {
  const parts = [];
  const pending = [];
  context.on("request", (request) => {
    const headers = JSON.stringify(request.headers());
    const body = request.postDataBuffer();
    parts.push(Buffer.from(`\n>> ${request.method()} ${request.url()} ${headers}\n`), body ?? Buffer.alloc(0));
  });
  context.on("response", (response) => {
    pending.push((async () => {
      const headers = JSON.stringify(await response.allHeaders().catch(() => ({})));
      const body = await response.body().catch(() => Buffer.alloc(0));
      parts.push(Buffer.from(`\n<< ${response.status()} ${response.url()} ${headers}\n`), body);
    })());
  });
  return {
    async text() {
      await Promise.all(pending);
      return Buffer.concat(parts).toString("latin1");
    },
    count: () => parts.length / 2,
  };
}

/** Every way `secret` (a string, or bytes) could appear in a recorded body. */
function encodings(secret) {
  const isText = typeof secret === "string";
  const bytes = isText ? Buffer.from(secret, "utf8") : Buffer.from(secret);
  const out = new Set();
  if (isText) {
    out.add(bytes.toString("latin1")); // raw UTF-8, as the recording holds it
    out.add(Buffer.from(JSON.stringify(secret).slice(1, -1), "utf8").toString("latin1"));
    out.add(encodeURIComponent(secret));
    out.add(new URLSearchParams({ x: secret }).toString().slice(2));
  } else {
    out.add(bytes.toString("latin1"));
  }
  out.add(bytes.toString("hex"));
  out.add(bytes.toString("hex").toUpperCase());
  // base64 at each of the three alignments the secret could have inside a longer blob:
  // only the characters that depend on the secret alone.
  for (let shift = 0; shift < 3; shift++) {
    const padded = Buffer.concat([Buffer.alloc(shift), bytes]);
    const b64 = padded.toString("base64").slice(Math.ceil((shift * 4) / 3), Math.floor(padded.length / 3) * 4);
    if (b64.length >= 8) {
      out.add(b64);
      out.add(b64.replace(/\+/g, "-").replace(/\//g, "_"));
    }
  }
  return [...out].filter((n) => n.length >= 6);
}

/** The canaries found in the recording, with the encoding that matched. */
function findCanaries(haystack, canaries) {
  const found = [];
  for (const [label, secret] of Object.entries(canaries)) {
    for (const needle of encodings(secret)) {
      if (haystack.includes(needle)) found.push(`${label} as ${JSON.stringify(needle)}`);
    }
  }
  return found;
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** The 16-byte id and 32-byte secret inside a `kse_`/`kst_` text (FORMAT §8.1). */
function tokenBytes(text) {
  let n = 0n;
  for (const c of text.slice(4, 4 + 65)) n = n * 62n + BigInt(BASE62.indexOf(c));
  const body = Buffer.from(n.toString(16).padStart(96, "0"), "hex");
  return { id: body.subarray(0, 16), secret: body.subarray(16) };
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** The 16 bytes of a recovery code (FORMAT §8.2). */
function recoveryBytes(code) {
  let n = 0n;
  for (const c of code.replace(/-/g, "")) n = n * 32n + BigInt(CROCKFORD.indexOf(c));
  return Buffer.from(n.toString(16).padStart(32, "0"), "hex");
}

// ---- The token's client, in node with the page's wasm module ------------------------------

/** Loads the wasm module the server serves to the page, for a `ksa_` client in node. */
async function wasmFromServer(base) {
  const dir = mkdtempSync(join(tmpdir(), "keyslot-wasm-"));
  const glue = await (await fetch(`${base}/assets/wasm/keyslot_wasm.js`)).text();
  writeFileSync(join(dir, "keyslot_wasm.mjs"), glue);
  const wasm = await import(pathToFileURL(join(dir, "keyslot_wasm.mjs")).href);
  const bytes = new Uint8Array(await (await fetch(`${base}/assets/wasm/keyslot_wasm_bg.wasm`)).arrayBuffer());
  await wasm.default({ module_or_path: bytes });
  // The page's own crypto adapter (it imports nothing: the wasm module is handed to it).
  writeFileSync(join(dir, "ks.mjs"), await (await fetch(`${base}/assets/e2e/ks.js`)).text());
  const ks = await import(pathToFileURL(join(dir, "ks.mjs")).href);
  ks.setWasm(wasm);
  return ks;
}

/** Reads one item as a `kse_` token's client: only `ksa_` goes over the wire. */
async function readWithToken(base, ks, kse, vault, item) {
  const token = ks.tokenFromText(kse);
  const response = await fetch(`${base}/v1/vaults/${vault}/items/${item}`, { headers: { authorization: `Bearer ${token.proof()}` } });
  assert.equal(response.status, 200, `ksa_ read: ${response.status} ${await response.clone().text()}`);
  const body = await response.json();
  assert.equal(body.value, undefined, "an end-to-end read carries no plaintext value");
  return token.openItem(vault, body);
}

// ---- The story ----------------------------------------------------------------------------

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), "keyslot-browser-e2e-"));
// KEYSLOT_DATABASE_URL (a fresh PostgreSQL database, from the cargo test) selects
// PostgreSQL, migrated at start; without it the server uses SQLite in the data dir.
const serveArgs = ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", join(dataDir, "data")];
if (process.env.KEYSLOT_DATABASE_URL) serveArgs.push("--migrate");
const server = spawn(binary, serveArgs, { stdio: ["ignore", "ignore", "inherit"] });
const problems = [];
const expectedFailures = [];
let browser;
let page;
try {
  await waitReady(base);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  const recording = record(context);
  page = await context.newPage();
  // A wrong password answers 401 to the page's fetch, which Chromium logs as a failed
  // resource: those the story provokes on purpose are expected, once each; any other
  // console error or warning is a problem.
  page.on("console", (m) => {
    if (m.type() !== "error" && m.type() !== "warning") return;
    const status = m.text().match(/^Failed to load resource: the server responded with a status of (\d+)/)?.[1];
    const at = expectedFailures.indexOf(status);
    if (status && at >= 0) expectedFailures.splice(at, 1);
    else problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

  // Sign up end-to-end: the page makes every key; the recovery code is shown once.
  await page.goto(`${base}/signup`);
  await page.getByLabel("Username").fill(USER);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByLabel("End-to-end account").check();
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByText("Save this recovery code now").waitFor({ timeout: 60_000 });
  const recoveryCode = (await page.locator("#recovery-code").textContent()).trim();
  assert.match(recoveryCode, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){5}-[0-9A-Z]{2}$/);
  await shot("e2e-signup-recovery-code");
  await page.getByLabel("I have saved my recovery code").check();
  await page.getByRole("button", { name: "Continue to log in" }).click();

  // Log in: the box is ticked for this username (remembered in localStorage); a wrong
  // password first answers as for any account.
  await page.getByRole("heading", { name: "Log in" }).waitFor();
  await page.getByLabel("Username").fill(USER);
  await page.getByLabel("Username").blur();
  assert.equal(await page.getByLabel("End-to-end account").isChecked(), true, "the mode is remembered for the username");
  // Unticked by hand for a name this browser knows as end-to-end, the first submit is held
  // (the plain form would post the password to the server), explained, and nothing is sent.
  let formPosts = 0;
  const countFormPosts = (request) => { if (request.method() === "POST" && new URL(request.url()).pathname === "/login") formPosts++; };
  page.on("request", countFormPosts);
  await page.getByLabel("End-to-end account").uncheck();
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByText("must never reach the server").waitFor();
  assert.equal(formPosts, 0, "the unticked form of a known end-to-end name is not posted");
  page.off("request", countFormPosts);
  await page.getByLabel("End-to-end account").check();
  // A prelogin answer below the Argon2 floor (a tampered server) is refused before any
  // hashing, and nothing is sent.
  let loginsSent = 0;
  const countLogins = (request) => { if (request.method() === "POST" && request.url().endsWith("/v1/login")) loginsSent++; };
  page.on("request", countLogins);
  const weaken = async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, json: { ...(await response.json()), m_cost: 1024, t_cost: 1 } });
  };
  await page.route(`${base}/v1/prelogin`, weaken);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByText("This browser refuses to log in").waitFor();
  assert.equal(loginsSent, 0, "no login is sent after weak parameters");
  await page.unroute(`${base}/v1/prelogin`, weaken);
  page.off("request", countLogins);

  await page.getByLabel("Password").fill("not the password at all");
  expectedFailures.push("401");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByText("The username or password is not right.").waitFor({ timeout: 60_000 });
  await page.getByLabel("Password").fill(PASSWORD);
  await shot("e2e-login");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Vaults" }).waitFor({ timeout: 60_000 });
  assert.ok(page.url().endsWith("/e2e/vaults"), page.url());

  // The first vault's name is decrypted in the page; an item goes in, sealed there.
  await page.getByRole("link", { name: "Personal" }).click();
  await page.getByRole("heading", { name: "Personal" }).waitFor();
  await page.getByLabel("Name", { exact: true }).fill(ITEM_NAME);
  await page.getByLabel("Value", { exact: true }).fill(ITEM_VALUE);
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("heading", { name: ITEM_NAME }).waitFor();
  assert.equal(await page.locator("#item-value").isVisible(), false, "the value is hidden until revealed");
  await page.getByText("Reveal value").click();
  assert.equal((await page.locator("#item-value").textContent()).trim(), ITEM_VALUE);
  await page.getByText("Edit", { exact: true }).click();
  await page.getByLabel("Value", { exact: true }).fill(ITEM_VALUE_2);
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("Version 2").waitFor();
  const [, vaultId, itemId] = page.url().match(/\/e2e\/vaults\/([0-9a-f]{32})\/items\/([0-9a-f]{32})$/);

  // A reload keeps the keys: the tab's unlock secret opens the session's slot again.
  await page.reload();
  await page.getByRole("heading", { name: ITEM_NAME }).waitFor();
  await page.getByText("Reveal value").click();
  assert.equal((await page.locator("#item-value").textContent()).trim(), ITEM_VALUE_2);
  await shot("e2e-item");

  // A server that alters what it returns is caught in the page: an item version whose
  // signature does not verify is not shown, nor a vault whose key its owner did not sign.
  const flip = (b64) => (b64[0] === "A" ? "B" : "A") + b64.slice(1);
  for (const [path, field, refusal] of [
    [`/v1/vaults/${vaultId}/items/${itemId}`, "signature", "this item's signature does not verify"],
    [`/v1/vaults/${vaultId}`, "public_key_signature", "is not the one its owner signed"],
  ]) {
    const url = `${base}${path}`;
    const tamper = async (route) => {
      const response = await route.fetch();
      const json = await response.json();
      json[field] = flip(json[field]);
      await route.fulfill({ response, json });
    };
    await page.route(url, tamper);
    await page.reload();
    await page.getByText(refusal).waitFor();
    assert.equal(await page.locator("#item-card").isVisible(), false, `nothing shown with a tampered ${field}`);
    await page.unroute(url, tamper);
  }
  await page.reload();
  await page.getByRole("heading", { name: ITEM_NAME }).waitFor();
  await page.getByRole("link", { name: "Personal" }).click();
  await page.getByRole("link", { name: ITEM_NAME }).waitFor();
  await shot("e2e-vault");

  // A token generated in the page, shown once; a script reads the item with it as ksa_.
  await page.getByRole("link", { name: "API tokens" }).click();
  await page.getByRole("heading", { name: "API tokens" }).waitFor();
  await page.getByLabel("Name").fill("deploy script");
  await page.getByLabel("Personal").check();
  await page.getByLabel("Your password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create token" }).click();
  await page.getByText("Copy this token now").waitFor({ timeout: 60_000 });
  const token = (await page.locator("#new-token").textContent()).trim();
  assert.match(token, /^kse_[0-9A-Za-z]{71}$/);
  assert.ok(!page.url().includes(token), "the token is not in the URL");
  await shot("e2e-token-created");
  const ks = await wasmFromServer(base);
  const viaToken = await readWithToken(base, ks, token, vaultId, itemId);
  assert.equal(viaToken.name, ITEM_NAME);
  assert.equal(viaToken.value, ITEM_VALUE_2);

  // A "*" token: every vault, including vaults created later (the page seals each new
  // vault's key to it, verified by the signature this user's identity made at mint).
  await page.getByRole("link", { name: "Back to API tokens" }).click();
  await page.getByRole("cell", { name: "deploy script", exact: true }).waitFor();
  await page.getByLabel("Name").fill("backup job");
  await page.getByLabel("All vaults, including vaults created later").check();
  await page.getByLabel("Your password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create token" }).click();
  await page.getByText("Copy this token now").waitFor({ timeout: 60_000 });
  const starToken = (await page.locator("#new-token").textContent()).trim();
  assert.match(starToken, /^kse_[0-9A-Za-z]{71}$/);
  assert.equal((await readWithToken(base, ks, starToken, vaultId, itemId)).value, ITEM_VALUE_2);

  // A second vault, made in the page: the "*" token reads its item through the grant the
  // page sealed to it; another item is deleted.
  await page.getByRole("link", { name: "Vaults" }).first().click();
  await page.getByLabel("Name").fill(VAULT_NAME);
  await page.getByRole("button", { name: "Create vault" }).click();
  await page.getByRole("heading", { name: VAULT_NAME }).waitFor();
  await page.getByLabel("Name", { exact: true }).fill(SECOND_ITEM);
  await page.getByLabel("Value", { exact: true }).fill(SECOND_VALUE);
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("heading", { name: SECOND_ITEM }).waitFor();
  const [, acmeId, acmeItemId] = page.url().match(/\/e2e\/vaults\/([0-9a-f]{32})\/items\/([0-9a-f]{32})$/);
  assert.equal((await readWithToken(base, ks, starToken, acmeId, acmeItemId)).value, SECOND_VALUE);
  await page.getByRole("link", { name: VAULT_NAME }).click();
  await page.getByLabel("Name", { exact: true }).fill("to be deleted");
  await page.getByLabel("Value", { exact: true }).fill("short-lived");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("heading", { name: "to be deleted" }).waitFor();
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("link", { name: SECOND_ITEM }).waitFor();
  assert.equal(await page.getByRole("link", { name: "to be deleted" }).count(), 0, "the deleted item is gone");
  await page.getByRole("link", { name: "Vaults" }).first().click();
  await page.getByRole("link", { name: VAULT_NAME }).waitFor();

  // Revoking a token makes its vault due (the server holds no key to rotate it); the page
  // rotates it: a new key, sealed to the remaining "*" token (its key verified first),
  // which reads what is written after and, through the chain, what was written before;
  // the revoked token reads nothing.
  await page.getByRole("link", { name: "API tokens" }).click();
  await page.getByRole("button", { name: "Revoke deploy script" }).click();
  await page.getByRole("button", { name: "Revoke deploy script" }).waitFor({ state: "detached" });
  await page.getByRole("cell", { name: "backup job", exact: true }).waitFor();
  const revokedRead = await fetch(`${base}/v1/vaults/${vaultId}/items/${itemId}`, { headers: { authorization: `Bearer ${ks.tokenFromText(token).proof()}` } });
  assert.equal(revokedRead.status, 401, "a revoked token reads nothing");
  await page.getByRole("link", { name: "Vaults" }).first().click();
  await page.getByRole("link", { name: "Personal" }).click();
  await page.getByText("A rotation is due").waitFor();
  await page.getByRole("button", { name: "Rotate key now" }).click();
  await page.getByText("Key version 2.").waitFor({ timeout: 60_000 });
  await page.getByLabel("Name", { exact: true }).fill(ROTATED_ITEM);
  await page.getByLabel("Value", { exact: true }).fill(ROTATED_VALUE);
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("heading", { name: ROTATED_ITEM }).waitFor();
  const [, , rotatedItemId] = page.url().match(/\/e2e\/vaults\/([0-9a-f]{32})\/items\/([0-9a-f]{32})$/);
  assert.equal((await readWithToken(base, ks, starToken, vaultId, rotatedItemId)).value, ROTATED_VALUE);
  assert.equal((await readWithToken(base, ks, starToken, vaultId, itemId)).value, ITEM_VALUE_2, "the older item reads through the chain");
  await shot("e2e-rotated");

  // Change the password; log out; the old password fails, the new one opens the item.
  await page.getByRole("link", { name: "Password" }).click();
  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByLabel("New password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Change password" }).click();
  await page.getByText("Your password is changed").waitFor({ timeout: 60_000 });
  await shot("e2e-password");
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("heading", { name: "Log in" }).waitFor();
  await page.getByLabel("Username").fill(USER);
  await page.getByLabel("Password").fill(PASSWORD);
  expectedFailures.push("401");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByText("The username or password is not right.").waitFor({ timeout: 60_000 });
  await page.getByLabel("Password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("link", { name: "Personal" }).click({ timeout: 60_000 });
  await page.getByRole("link", { name: ITEM_NAME }).click();
  await page.getByText("Reveal value").click();
  assert.equal((await page.locator("#item-value").textContent()).trim(), ITEM_VALUE_2);
  const again = await readWithToken(base, ks, starToken, vaultId, itemId);
  assert.equal(again.value, ITEM_VALUE_2, "the token survives the password change");
  // The account's activity is server-rendered (it holds no secret) for both kinds of account.
  await page.getByRole("link", { name: "Activity" }).click();
  await page.getByRole("cell", { name: "password.change", exact: true }).waitFor();

  // Recover with the recovery code, in the page: a new password and a new code around the
  // same user key; the item and the token are untouched.
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("link", { name: "Use your recovery code" }).click();
  await page.getByLabel("Username").fill(USER);
  await page.getByLabel("Recovery code").fill(recoveryCode.toLowerCase());
  assert.equal(await page.getByLabel("End-to-end account").isChecked(), true, "the mode is remembered on the recovery page too");
  await page.getByLabel("New password").fill(THIRD_PASSWORD);
  await page.getByRole("button", { name: "Set new password" }).click();
  await page.getByText("Save this recovery code now").waitFor({ timeout: 60_000 });
  const newCode = (await page.locator("#recovery-code").textContent()).trim();
  assert.match(newCode, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){5}-[0-9A-Z]{2}$/);
  assert.notEqual(newCode, recoveryCode);
  await shot("e2e-recovered");
  await page.getByLabel("I have saved my recovery code").check();
  await page.getByRole("button", { name: "Continue to log in" }).click();
  await page.getByLabel("Username").fill(USER);
  await page.getByLabel("Password").fill(THIRD_PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("link", { name: "Personal" }).click({ timeout: 60_000 });
  await page.getByRole("link", { name: ITEM_NAME }).click();
  await page.getByText("Reveal value").click();
  assert.equal((await page.locator("#item-value").textContent()).trim(), ITEM_VALUE_2);
  const afterRecovery = await readWithToken(base, ks, starToken, vaultId, itemId);
  assert.equal(afterRecovery.value, ITEM_VALUE_2, "the token survives the recovery");

  // Nothing secret crossed the wire, in any encoding.
  const tokenParts = tokenBytes(token);
  const canaries = {
    password: PASSWORD,
    "new password": NEW_PASSWORD,
    "recovery code": recoveryCode,
    "recovery code bytes": recoveryBytes(recoveryCode),
    "third password": THIRD_PASSWORD,
    "new recovery code": newCode,
    "new recovery code bytes": recoveryBytes(newCode),
    "token text": token,
    "token secret bytes": tokenParts.secret,
    "item name": ITEM_NAME,
    "vault name": VAULT_NAME,
    "second item name": SECOND_ITEM,
    "second item value": SECOND_VALUE,
    "rotated item name": ROTATED_ITEM,
    "rotated item value": ROTATED_VALUE,
    "\"*\" token text": starToken,
    "\"*\" token secret bytes": tokenBytes(starToken).secret,
    "item value": ITEM_VALUE,
    "item value v2": ITEM_VALUE_2,
  };
  const e2eRecording = await recording.text();
  assert.ok(recording.count() > 20, `the recording holds the story (${recording.count()} messages)`);
  assert.ok(e2eRecording.includes(tokenParts.id.toString("hex")) || e2eRecording.includes(tokenParts.id.toString("base64url")),
    "the recording does hold the token's id (it is sent at mint), so the search looks at the right bytes");
  assert.deepEqual(findCanaries(e2eRecording, canaries), [], "no secret in any request or response of the end-to-end story");

  // The control: a server-mode sign-up's recording holds its password.
  const control = await browser.newContext();
  const controlRecording = record(control);
  const controlPage = await control.newPage();
  await controlPage.goto(`${base}/signup`);
  await controlPage.getByLabel("Username").fill("sam");
  await controlPage.getByLabel("Password").fill(SERVER_MODE_PASSWORD);
  await controlPage.getByRole("button", { name: "Sign up" }).click();
  await controlPage.getByText("Save this recovery code now").waitFor();
  const controlFound = findCanaries(await controlRecording.text(), { password: SERVER_MODE_PASSWORD });
  assert.ok(controlFound.length > 0, "the server-mode sign-up's recording holds its password (the search works)");
  await control.close();

  assert.deepEqual(problems, [], "no console errors, page errors or CSP violations");
  assert.deepEqual(expectedFailures, [], "each wrong password was answered 401");
  console.log(`backend: ${process.env.KEYSLOT_DATABASE_URL ? "postgresql" : "sqlite"}`);
  console.log("browser e2e flows: 1 passed, 0 failed");
} catch (e) {
  console.error(e);
  if (problems.length) console.error("problems seen:", problems);
  if (page) {
    // What the page said, for whoever reads the failure.
    const said = await page.locator(".field-error:visible, #e2e-status:visible").allTextContents().catch(() => []);
    console.error("page at", page.url(), "says:", said);
    await page.screenshot({ path: join(shots, "e2e-failure.png"), fullPage: true }).catch(() => {});
  }
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  server.kill("SIGTERM");
}
