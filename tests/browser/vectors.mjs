// The browser crypto module (crates/keyslot-wasm) in Debian's Chromium, under the real CSP.
//
// Usage: node vectors.mjs KEYSLOT_BINARY
// Starts `keyslot serve`, opens its login page (served with the server's own
// Content-Security-Policy), and in that page imports /assets/wasm/keyslot_wasm.js, which
// compiles /assets/wasm/keyslot_wasm_bg.wasm. Then:
//   1. knownAnswers(): every vector the module computes must equal the same-named line of
//      docs/FORMAT.md and entry of crates/keyslot-crypto/tests/vectors/e2e.json, and every
//      vector of those two files must be computed (the native test,
//      crates/keyslot-wasm/tests/vectors.rs, checks the same files against the same
//      function);
//   2. the bindings a page calls reproduce the documented values (password auth, kse_/ksa_,
//      the documented grant, recovery code) and refuse what they must;
//   3. control: the same page with 'wasm-unsafe-eval' removed from its CSP cannot compile
//      the module, so step 1 really ran under the policy.
// Fails on any mismatch, console error or warning, page error or CSP violation.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const [binary] = process.argv.slice(2);
assert.ok(binary, "usage: node vectors.mjs KEYSLOT_BINARY");
const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

// The vector files, read the way the native test reads them.
const documented = {};
for (const line of readFileSync(join(root, "docs/FORMAT.md"), "utf8").split("\n")) {
  const at = line.indexOf(" = ");
  if (at < 0) continue;
  const name = line.slice(0, at).trim();
  if (name.includes(".") && !name.includes(" ") && !name.includes("(")) documented[name] = line.slice(at + 3).trim();
}
const e2e = JSON.parse(readFileSync(join(root, "crates/keyslot-crypto/tests/vectors/e2e.json"), "utf8")).vectors;
assert.ok(Object.keys(documented).length >= 40, "FORMAT.md vectors found");
assert.ok(Object.keys(e2e).length >= 10, "e2e.json vectors found");

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

// Runs in the page. Everything it needs comes in `input`; it returns what it found.
async function inPage({ documented, e2e }) {
  const m = await import("/assets/wasm/keyslot_wasm.js");
  await m.default();
  const failures = [];
  const check = (what, got, want) => { if (got !== want) failures.push(`${what}: got ${got}, want ${want}`); };
  const refuses = (what, f, field) => {
    try { f(); failures.push(`${what}: not refused`); }
    catch (e) { if (!String(e.message).startsWith(`${field}: `)) failures.push(`${what}: refused as ${e.message}`); }
  };
  const hexToB64 = (hex) => {
    const bytes = new Uint8Array(hex.match(/../g).map((h) => parseInt(h, 16)));
    return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const id = (byte) => byte.toString(16).padStart(2, "0").repeat(16);

  // 1. Known answers.
  const computed = JSON.parse(m.knownAnswers());
  let compared = 0;
  for (const [source, vectors] of [["FORMAT.md", documented], ["e2e.json", e2e]]) {
    for (const [name, value] of Object.entries(vectors)) {
      compared++;
      if (!(name in computed)) failures.push(`${source} ${name}: not computed by the wasm module`);
      else check(`${source} ${name}`, computed[name], value);
    }
  }
  for (const name of Object.keys(computed)) {
    if (!(name in documented) && !(name in e2e)) failures.push(`${name}: computed but documented nowhere`);
  }

  // 2. The bindings a page calls.
  const salt = hexToB64("88".repeat(16));
  const argonStart = performance.now();
  const password = m.unlockPassword("correct horse battery staple", id(0x44), salt, 19456, 2, 1);
  const argonMs = Math.round(performance.now() - argonStart);
  check("password auth", password.authBase64url(), e2e["password.auth.base64url"]);
  check("password verifier", password.verifierBase64url(), hexToB64(documented["password.verifier"]));
  refuses("Argon2 below the floor", () => m.unlockPassword("x", id(0x44), salt, 19455, 2, 1), "kdf_params");
  refuses("Argon2 above the ceiling", () => m.unlockPassword("x", id(0x44), salt, 2 * 1024 * 1024, 2, 1), "kdf_params");
  refuses("a short salt", () => m.unlockPassword("x", id(0x44), "AAAA", 19456, 2, 1), "salt");
  refuses("a bad id", () => m.unlockPassword("x", "not-an-id", salt, 19456, 2, 1), "credential_id");

  const token = m.E2eToken.parse(e2e["e2e_token.text"]);
  check("kse_ id", token.id, id(0x44));
  check("ksa_ proof", token.authProof(), e2e["e2e_token.auth_proof"]);
  check("kse_ verifier", token.credential().verifierBase64url(), hexToB64(documented["token.verifier"]));
  check("kse_ public key", token.publicKey(), hexToB64(documented["token.x25519_public"]));
  refuses("a kst_ as a kse_", () => m.E2eToken.parse(documented["token.text"]), "token");

  const grant = documented["sealed_key.vault_key_grant.base64url"];
  const vk = token.openGrant(id(0x11), id(0x22), 2, grant);
  refuses("the grant at another key version", () => token.openGrant(id(0x11), id(0x22), 3, grant), "sealed");

  const recovery = m.unlockRecoveryCode(documented["recovery.text"], id(0x44));
  check("recovery verifier", recovery.verifierBase64url(), hexToB64(documented["recovery.verifier"]));
  check("recovery public key", m.recoveryPublicKey(documented["recovery.text"], id(0x44)),
        hexToB64(documented["recovery.x25519_public"]));

  const value = new TextEncoder().encode('"hunter2"');
  const item = vk.sealItem(id(0x33), 7n, "db/password", value);
  const opened = vk.openItem(id(0x33), 7n, item.wrappedItemKey, item.sealedName, item.sealedValue);
  check("item name", opened.name, "db/password");
  check("item value", opened.valueText(), '"hunter2"');
  refuses("an item at another version", () => vk.openItem(id(0x33), 8n, item.wrappedItemKey, item.sealedName, item.sealedValue), "wrapped_item_key");
  const uk = m.UserKey.generate();
  const slot = uk.wrapVaultKey(vk);
  const name = vk.sealVaultName("Production");
  check("member slot", uk.openVaultKey(id(0x11), id(0x22), 2, slot).openVaultName(name), "Production");
  refuses("a member slot for another vault", () => uk.openVaultKey(id(0x11), id(0x23), 2, slot), "wrapped_vault_key");

  // Identities (§11.4): the documented signatures verify, and not for another context.
  const b = (name) => hexToB64(e2e[name]);
  const alice = m.IdentityPublicKey.parse(b("identity.public"));
  const bob = m.IdentityPublicKey.parse(b("identity2.public"));
  check("fingerprint", alice.fingerprint(), e2e["identity.fingerprint"]);
  const tokenPk = hexToB64(documented["token.x25519_public"]);
  const vaultPk = hexToB64(documented["vault.x25519_public"]);
  alice.verifyUserX25519(id(0x11), tokenPk, b("sig.user_x25519"));
  alice.verifyTokenKey(id(0x11), id(0x44), tokenPk, b("sig.token_key"));
  alice.verifyVaultKey(id(0x22), 2, vaultPk, b("sig.vault_key"));
  refuses("a vault key signature at another version", () => alice.verifyVaultKey(id(0x22), 3, vaultPk, b("sig.vault_key")), "signature");
  const members = new m.MemberList();
  members.add(id(0x11), "owner", alice);
  members.add(id(0x13), "write", bob);
  alice.verifyMembers(id(0x22), 2, members, b("sig.members"));
  const documentedItem = new m.SealedItem(b("item.wrapped_item_key"), b("item.sealed_name"), b("item.sealed_value"));
  alice.verifyItem(id(0x22), id(0x33), 7n, documentedItem, b("sig.item"));
  refuses("an item signature for another version", () => alice.verifyItem(id(0x22), id(0x33), 8n, documentedItem, b("sig.item")), "signature");
  const me = m.IdentityKey.generate();
  const reopened = m.IdentityKey.open(uk, id(0x11), me.wrap(uk, id(0x11)));
  check("identity reopened", reopened.publicKey().toBase64url(), me.publicKey().toBase64url());
  const pin = uk.pin(id(0x11), id(0x13), bob);
  uk.checkPin(id(0x11), id(0x13), bob, pin);
  refuses("a pin against a changed identity", () => uk.checkPin(id(0x11), id(0x13), alice, pin), "pin");

  // The input rules the server cannot check for an end-to-end account (zxcvbn in wasm).
  check("a weak password", m.passwordProblem("password1234", "alice")?.startsWith("is too easy to guess"), true);
  check("a strong password", m.passwordProblem("correct horse battery staple", "alice"), undefined);
  check("a bidi override in a name", m.nameProblem("invoice\u202Efdp.exe")?.includes("U+202E"), true);
  check("a plain name", m.nameProblem("db/password"), undefined);

  return { failures, compared, computed: Object.keys(computed).length, argonMs };
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), "keyslot-vectors-"));
const server = spawn(binary, ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", join(dataDir, "data")], { stdio: ["ignore", "ignore", "inherit"] });
const problems = [];
let browser;
try {
  await waitReady(base);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });

  // 1 and 2, under the server's own policy.
  const page = await (await browser.newContext()).newPage();
  page.on("console", (msg) => { if (msg.type() === "error" || msg.type() === "warning") problems.push(`console ${msg.type()}: ${msg.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  const response = await page.goto(`${base}/login`);
  const csp = response.headers()["content-security-policy"];
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval';/, "the page's CSP");
  const started = Date.now();
  const result = await page.evaluate(inPage, { documented, e2e });
  const ms = Date.now() - started;
  problems.push(...result.failures);

  // 3. Control: without 'wasm-unsafe-eval' the module does not compile.
  const strict = await (await browser.newContext()).newPage();
  const violations = [];
  strict.on("console", (msg) => violations.push(msg.text()));
  await strict.route(`${base}/login`, async (route) => {
    const real = await route.fetch();
    const headers = { ...real.headers() };
    headers["content-security-policy"] = headers["content-security-policy"].replace(" 'wasm-unsafe-eval'", "");
    await route.fulfill({ response: real, headers });
  });
  await strict.goto(`${base}/login`);
  const refused = await strict.evaluate(async () => {
    const m = await import("/assets/wasm/keyslot_wasm.js");
    try { await m.default(); return null; } catch (e) { return String(e); }
  });
  if (!refused) problems.push("control: the module compiled without 'wasm-unsafe-eval' (is the CSP enforced?)");
  else if (!violations.some((t) => /Content Security Policy|wasm-unsafe-eval/i.test(t)) && !/CompileError|Content Security Policy/i.test(refused)) {
    problems.push(`control: refused, but not by the CSP: ${refused}`);
  }

  if (problems.length) throw new Error(problems.join("\n"));
  console.log(`browser vectors: ${result.compared} documented vectors matched (${result.computed} computed in wasm, ${ms} ms with bindings; one Argon2id login at m=19456 t=2 p=1: ${result.argonMs} ms); control refused: ${refused.split("\n")[0]}`);
  console.log("browser vectors: 1 passed, 0 failed");
} finally {
  if (browser) await browser.close();
  server.kill("SIGTERM");
}
