// Keyslot's web app in Debian's Chromium (playwright-core, no downloaded browser).
//
// Usage: node flows.mjs KEYSLOT_BINARY SCREENSHOT_DIR
// Starts `keyslot serve` on a fresh data dir and walks the flows a person would: sign up
// (recovery code saved), log in, create a vault and an item, see it listed and revealed,
// create a token in the page and read the same item over the JSON API with it, change the
// password, log out, log in with the new password, the item is still there; recover with
// the recovery code. Fails on any console error, page error or CSP violation.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const [binary, shots] = process.argv.slice(2);
assert.ok(binary && shots, "usage: node flows.mjs KEYSLOT_BINARY SCREENSHOT_DIR");
mkdirSync(shots, { recursive: true });

const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a different long passphrase 7";
const THIRD_PASSWORD = "third passphrase of the day 42";

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

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), "keyslot-browser-"));
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
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: base });
  const page = await context.newPage();
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

  // Sign up: the recovery code is shown once, with a confirmation before moving on.
  await page.goto(`${base}/`);
  await page.getByRole("link", { name: "Create an account" }).click();
  await page.getByLabel("Username").fill("alice");
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByText("must be at least 12 characters").waitFor();
  await shot("signup-error");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByText("Save this recovery code now").waitFor();
  const recoveryCode = (await page.locator("#recovery-code").textContent()).trim();
  assert.match(recoveryCode, /^[0-9A-Z]{4}(-[0-9A-Z]{4}){5}-[0-9A-Z]{2}$/);
  await shot("signup-recovery-code");
  await page.getByRole("button", { name: "Continue to log in" }).click();
  assert.ok(page.url().endsWith("/signup"), "cannot continue before confirming");
  await page.getByLabel("I have saved my recovery code").check();
  await page.getByRole("button", { name: "Continue to log in" }).click();

  // Log in (a wrong password first: the error is beside the field).
  await page.getByLabel("Username").fill("alice");
  await page.getByLabel("Password").fill("not the password at all");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByText("The username or password is not right.").waitFor();
  await page.getByLabel("Password").fill(PASSWORD);
  await shot("login");
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Vaults" }).waitFor();

  // A vault and an item.
  await page.getByLabel("Name").fill("Work");
  await page.getByRole("button", { name: "Create vault" }).click();
  await page.getByRole("heading", { name: "Work" }).waitFor();
  // The vault page also has the share form's "Username": match the item's "Name" exactly.
  await page.getByLabel("Name", { exact: true }).fill("stripe");
  await page.getByLabel("Value", { exact: true }).fill("sk_live_4f2a9c");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByRole("heading", { name: "stripe" }).waitFor();
  assert.equal(await page.locator("#item-value").isVisible(), false, "the value is hidden until revealed");
  await page.getByText("Reveal value").click();
  assert.equal((await page.locator("#item-value").textContent()).trim(), "sk_live_4f2a9c");
  await page.getByRole("button", { name: "Copy value" }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), "sk_live_4f2a9c");
  await shot("item");
  // Edit: the form is folded away like the value; saving makes version 2.
  await page.getByText("Edit", { exact: true }).click();
  await page.getByLabel("Value", { exact: true }).fill("sk_live_4f2a9c_v2");
  await page.getByRole("button", { name: "Save" }).click();
  await page.getByText("Version 2").waitFor();
  await page.getByText("Reveal value").click();
  assert.equal((await page.locator("#item-value").textContent()).trim(), "sk_live_4f2a9c_v2");
  const itemUrl = page.url();
  const [, vaultId, itemId] = itemUrl.match(/\/vaults\/([0-9a-f]{32})\/items\/([0-9a-f]{32})$/);
  await page.getByRole("link", { name: "Work" }).click();
  await page.getByRole("link", { name: "stripe" }).waitFor();
  await shot("vault");

  // A token made in the page reads the same item over the JSON API.
  await page.getByRole("link", { name: "API tokens" }).click();
  await page.getByLabel("Name").fill("deploy script");
  await page.getByLabel("Work").check();
  // A token outlives the session, so the form asks for the password again.
  await page.getByLabel("Your password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create token" }).click();
  await page.getByText("Copy this token now").waitFor();
  const token = (await page.locator("#new-token").textContent()).trim();
  assert.match(token, /^kst_[0-9A-Za-z]{71}$/);
  assert.ok((await page.locator("#curl-line").textContent()).includes(`Bearer ${token}`));
  assert.ok(!page.url().includes(token), "the token is not in the URL");
  await shot("token-created");
  const viaApi = await (await fetch(`${base}/v1/vaults/${vaultId}/items/${itemId}`, { headers: { authorization: `Bearer ${token}` } })).json();
  assert.equal(viaApi.value, "sk_live_4f2a9c_v2");
  await page.getByRole("link", { name: "Back to API tokens" }).click();
  await page.getByRole("cell", { name: "deploy script", exact: true }).waitFor();
  await shot("tokens");

  // Change the password; log out; the new password works and the item is still there.
  await page.getByRole("link", { name: "Password" }).click();
  await page.getByText("API tokens keep working").first().waitFor();
  await page.getByLabel("Current password").fill(PASSWORD);
  await page.getByLabel("New password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Change password" }).click();
  await page.getByText("Your password is changed").waitFor();
  await shot("password");
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("heading", { name: "Log in" }).waitFor();
  await page.getByLabel("Username").fill("alice");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByText("The username or password is not right.").waitFor();
  await page.getByLabel("Password").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("link", { name: "Work" }).click();
  await page.getByRole("link", { name: "stripe" }).click();
  await page.getByText("Reveal value").click();
  assert.equal((await page.locator("#item-value").textContent()).trim(), "sk_live_4f2a9c_v2");
  const stillWorks = await fetch(`${base}/v1/vaults/${vaultId}/items/${itemId}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(stillWorks.status, 200, "the token survives the password change");
  await page.getByRole("link", { name: "Activity" }).click();
  await page.getByRole("cell", { name: "password.change", exact: true }).waitFor();
  await shot("activity");

  // Recover with the recovery code: new password, new code; the data is still there.
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("link", { name: "Use your recovery code" }).click();
  await page.getByLabel("Username").fill("alice");
  await page.getByLabel("Recovery code").fill(recoveryCode.toLowerCase());
  await page.getByLabel("New password").fill(THIRD_PASSWORD);
  await shot("recover");
  await page.getByRole("button", { name: "Set new password" }).click();
  await page.getByText("Save this recovery code now").waitFor();
  const newCode = (await page.locator("#recovery-code").textContent()).trim();
  assert.notEqual(newCode, recoveryCode);
  await page.getByLabel("I have saved my recovery code").check();
  await page.getByRole("button", { name: "Continue to log in" }).click();
  await page.getByLabel("Username").fill("alice");
  await page.getByLabel("Password").fill(THIRD_PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("link", { name: "Work" }).click();
  await page.getByRole("link", { name: "stripe" }).waitFor();

  // A phone-width look at the vault.
  await page.setViewportSize({ width: 390, height: 800 });
  await shot("vault-phone");

  // The core flows work with JavaScript off.
  const noJs = await browser.newContext({ javaScriptEnabled: false });
  const plain = await noJs.newPage();
  plain.on("console", (m) => { if (m.type() === "error") problems.push(`no-js console error: ${m.text()}`); });
  await plain.goto(`${base}/login`);
  await plain.getByLabel("Username").fill("alice");
  await plain.getByLabel("Password").fill(THIRD_PASSWORD);
  await plain.getByRole("button", { name: "Log in" }).click();
  await plain.getByRole("link", { name: "Work" }).click();
  await plain.getByLabel("Name", { exact: true }).fill("no-js item");
  await plain.getByLabel("Value", { exact: true }).fill("works without scripts");
  await plain.getByRole("button", { name: "Save" }).click();
  await plain.getByText("Reveal value").click();
  assert.equal((await plain.locator("#item-value").textContent()).trim(), "works without scripts");
  await noJs.close();

  assert.deepEqual(problems, [], "no console errors, page errors or CSP violations");
  console.log("browser flows: 1 passed, 0 failed");
} catch (e) {
  console.error(e);
  if (problems.length) console.error("problems seen:", problems);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  server.kill("SIGTERM");
}
