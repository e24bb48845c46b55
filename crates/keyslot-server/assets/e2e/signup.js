// The sign-up page's end-to-end path: with "End-to-end account" ticked the form is not
// posted. The worker makes every key and slot (user key, password slot — one Argon2id
// run —, recovery code and its slot, X25519 pair, identity key, the first vault) and the
// page sends only what the server stores (END-TO-END §9). The recovery code was made
// here and is shown here, once; it never leaves the page.
"use strict";
import { api, ApiError } from "/assets/e2e/api.js";
import { $, show, hide, fieldError, clearErrors, busy, showRecoveryCode } from "/assets/e2e/ui.js";
import { inWorker, stopWorker } from "/assets/e2e/argon.js";
import { remembered } from "/assets/e2e/storage.js";
import { usernameProblem } from "/assets/e2e/ks.js";

const form = document.querySelector('form[action="/signup"]');
const box = $("end_to_end");
const FIRST_VAULT = "Personal";

if (form && box) {
  show("e2e-choice", "e2e-hint");
  form.addEventListener("submit", (event) => {
    if (!box.checked) return;
    event.preventDefault();
    busy(form, "Making your keys…", () => signUp($("username").value, $("password").value));
  });
}

async function signUp(name, secret) {
  clearErrors(form);
  hide("e2e-error");
  const badName = usernameProblem(name);
  if (badName) return fieldError("username", `Username ${badName}.`);
  try {
    const badPassword = await inWorker("passwordProblem", { password: secret, username: name });
    if (badPassword) return fieldError("password", `Password ${badPassword}`);
    const { body, recoveryCode } = await inWorker("signup", { username: name, password: secret, vaultName: FIRST_VAULT });
    try {
      await api("POST", "/v1/signup", body, { csrf: "" });
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) return fieldError("username", "This username is taken. Choose another.");
      if (e instanceof ApiError && e.status === 422 && e.field() === "username") return fieldError("username", `Username ${e.problem.errors[0].message}`);
      throw e;
    }
    remembered.setEndToEnd(name, true);
    $("password").value = "";
    showRecoveryCode(form, recoveryCode);
  } catch (e) {
    const p = $("e2e-error");
    p.textContent = e instanceof ApiError ? `The server refused the sign-up (${e.status}): ${e.message}` : `Making the keys failed in this page: ${e.message}`;
    p.hidden = false;
  } finally {
    stopWorker();
  }
}
