// The login page's end-to-end path (END-TO-END §3, §4). With "End-to-end account" ticked
// the form is not posted: the page asks prelogin for the salt and parameters, refuses
// them below the floor or below what this browser saw last for the username, runs
// Argon2id in the worker, sends only `auth`, opens the user key from the answer, and
// stores it in the session's slot under a fresh unlock secret kept in sessionStorage.
// Unticked, the form posts as it always did (a server-mode account).
"use strict";
import { api, ApiError } from "/assets/e2e/api.js";
import { $, show, fieldError, clearErrors, busy } from "/assets/e2e/ui.js";
import { inWorker, stopWorker } from "/assets/e2e/argon.js";
import { remembered, storeUnlock, forgetUnlock } from "/assets/e2e/storage.js";

const form = document.querySelector('form[action="/login"]');
const box = $("end_to_end");
const username = $("username");
const password = $("password");

function recall() {
  if (username.value.trim()) box.checked = remembered.isEndToEnd(username.value);
}

if (form && box) {
  show("e2e-choice");
  recall();
  username.addEventListener("change", recall);
  username.addEventListener("blur", recall);
  // Unticked for a name this browser knows as end-to-end, the form would post the
  // password to the server, which must never see it: the first such submit is held and
  // explained; a second one goes (the account may have been made again in server mode).
  let held = false;
  form.addEventListener("submit", (event) => {
    if (!box.checked) {
      if (!held && remembered.isEndToEnd(username.value)) {
        event.preventDefault();
        held = true;
        problem(`This browser knows ${username.value} as an end-to-end account, whose password must never reach the server: tick "End-to-end account" and log in again. Submit unticked only if this account is now a server-mode one.`);
        return;
      }
      remembered.setEndToEnd(username.value, false);
      return;
    }
    event.preventDefault();
    busy(form, "Logging in…", () => logIn(username.value, password.value));
  });
}

function problem(message) {
  const p = $("e2e-error");
  p.textContent = message;
  p.hidden = false;
}

async function logIn(name, secret) {
  clearErrors(form);
  forgetUnlock();
  try {
    const pre = await api("POST", "/v1/prelogin", { username: name });
    const lastSeen = remembered.lastParams(name);
    let auth;
    try {
      ({ auth } = await inWorker("loginAuth", { password: secret, pre, lastSeen }));
    } catch (e) {
      problem(`This browser refuses to log in: ${e.message}. The server may have been tampered with.`);
      return;
    }
    let login;
    try {
      login = await api("POST", "/v1/login", { username: name, auth }, { csrf: "" });
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return fieldError("password", "The username or password is not right.");
      if (e instanceof ApiError && e.status === 429) {
        return fieldError("password", `Too many attempts: wait ${e.problem.retry_after ?? "a few"} seconds, then try again. If this account is yours and someone is guessing at it, log in from a browser you have logged in with before, or recover it with your recovery code.`);
      }
      throw e;
    }
    remembered.setEndToEnd(name, true);
    remembered.setParams(name, pre);
    const { slot, stored } = await inWorker("loginSlot", { userId: login.user_id, wrappedUserKey: login.wrapped_user_key });
    await api("PUT", "/v1/session/key", slot, { csrf: login.csrf_token });
    // The username as typed here, not as the server spells it later: the last Argon2
    // parameters seen are remembered under it, and a server that answered another
    // spelling would get prelogin checked against the floor only.
    storeUnlock({ ...stored, username: name });
    location.assign("/e2e/vaults");
  } catch (e) {
    problem(e instanceof ApiError ? `The server answered ${e.status}: ${e.message}` : `Logging in failed in this page: ${e.message}`);
  } finally {
    stopWorker();
  }
}
