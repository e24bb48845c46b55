// The recovery page's end-to-end path (END-TO-END §9, two steps). With "End-to-end
// account" ticked the form is not posted: the worker turns the typed code into its
// credential (with prelogin's recovery credential id) and the page sends only its `auth`
// to begin; the answer's slot is opened in the worker with the code, which then makes a
// new password slot (Argon2id) and a new recovery code around the same user key; finish
// sends those parts. The old code and password stop working; the new code is shown here,
// once. Vaults, items and tokens are untouched: the user key is the same.
"use strict";
import { api, ApiError } from "/assets/e2e/api.js";
import { $, show, hide, fieldError, clearErrors, busy, showRecoveryCode } from "/assets/e2e/ui.js";
import { inWorker, stopWorker } from "/assets/e2e/argon.js";
import { remembered, forgetUnlock } from "/assets/e2e/storage.js";

const form = document.querySelector('form[action="/recover"]');
const box = $("end_to_end");
const username = $("username");

/** The server cannot rotate an end-to-end account's keys: that box is server mode's only. */
function offerRotation() {
  const rotate = $("rotate_keys")?.closest(".field");
  if (rotate) rotate.style.display = box.checked ? "none" : "";
  if (box.checked && $("rotate_keys")) $("rotate_keys").checked = false;
}

function recall() {
  if (username.value.trim()) box.checked = remembered.isEndToEnd(username.value);
  offerRotation();
}

if (form && box) {
  show("e2e-choice");
  recall();
  username.addEventListener("change", recall);
  username.addEventListener("blur", recall);
  box.addEventListener("change", offerRotation);
  // As on the login page: unticked for a name known here as end-to-end, the first submit
  // is held (the form would post the recovery code and the new password to the server).
  let held = false;
  form.addEventListener("submit", (event) => {
    if (!box.checked) {
      if (!held && remembered.isEndToEnd(username.value)) {
        event.preventDefault();
        held = true;
        problem(`This browser knows ${username.value} as an end-to-end account, whose recovery code and password must never reach the server: tick "End-to-end account" and submit again. Submit unticked only if this account is now a server-mode one.`);
      }
      return;
    }
    event.preventDefault();
    busy(form, "Recovering…", () => recover(username.value, $("recovery_code").value, $("new_password").value, $("revoke_tokens").checked));
  });
}

function problem(message) {
  const p = $("e2e-error");
  p.textContent = message;
  p.hidden = false;
}

async function recover(name, code, password, revokeTokens) {
  clearErrors(form);
  hide("e2e-error");
  try {
    const bad = await inWorker("passwordProblem", { password, username: name });
    if (bad) return fieldError("new_password", `New password ${bad}`);
    const pre = await api("POST", "/v1/prelogin", { username: name });
    let auth;
    try {
      ({ auth } = await inWorker("recoverAuth", { code, credentialId: pre.recovery_credential_id }));
    } catch {
      return fieldError("recovery_code", "This is not a recovery code: check it against your copy.");
    }
    let begun;
    try {
      begun = await api("POST", "/v1/recover/begin", { username: name, auth });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return fieldError("recovery_code", "This recovery code does not open this account.");
      if (e instanceof ApiError && e.status === 429) return fieldError("recovery_code", `Too many failed attempts: wait ${e.problem.retry_after ?? "a few"} seconds.`);
      throw e;
    }
    const made = await inWorker("recoverSlots", { begun, password });
    await api("POST", "/v1/recover/finish", { username: name, auth, password: made.password, recovery: made.recovery, revoke_tokens: revokeTokens });
    forgetUnlock();
    remembered.setEndToEnd(name, true);
    remembered.setParams(name, made.password);
    $("recovery_code").value = "";
    $("new_password").value = "";
    showRecoveryCode(form, made.recoveryCode);
  } catch (e) {
    problem(e instanceof ApiError ? `The server refused the recovery (${e.status}): ${e.message}` : `Recovering failed in this page: ${e.message}`);
  } finally {
    stopWorker();
  }
}
