// Password change for an end-to-end account: the worker derives the current password's
// `auth` (with prelogin's parameters, floor-checked) and a new password slot (fresh salt
// and credential id, one Argon2id run) around the user key it reopens from the session's
// slot; the server gets the proof and the new slot parts, never a password. The user key
// is unchanged, so vaults, items and tokens are untouched.
"use strict";
import { api, ApiError } from "/assets/e2e/api.js";
import { $, show, hide, fieldError, clearErrors, busy, explain } from "/assets/e2e/ui.js";
import { start, remembered, storedUnlock } from "/assets/e2e/session.js";
import { inWorker, stopWorker } from "/assets/e2e/argon.js";
import { passwordProblem } from "/assets/e2e/ks.js";

if ($("password-form")) start(async (session) => {
  show("password-card");
  const form = $("password-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(form, "Changing…", async () => {
      clearErrors(form);
      hide("password-done");
      const current = $("current_password").value;
      const fresh = $("new_password").value;
      // As typed at login, not GET /v1/keys' spelling: the last parameters seen are
      // remembered under it, and another name would check prelogin against the floor only.
      const username = session.username;
      if (!username) return fieldError("current_password", "This tab does not know the username you logged in with: log out and log in again.");
      if (!current) return fieldError("current_password", "Enter your current password.");
      const bad = passwordProblem(fresh, username);
      if (bad) return fieldError("new_password", `New password ${bad}`);
      try {
        const pre = await api("POST", "/v1/prelogin", { username });
        const slot = await api("GET", "/v1/session/key");
        let body;
        try {
          body = await inWorker("passwordChange", { stored: storedUnlock(), slot, current, fresh, pre, lastSeen: remembered.lastParams(username) });
        } finally {
          stopWorker();
        }
        try {
          await api("POST", "/v1/password", body);
        } catch (e) {
          if (e instanceof ApiError && e.status === 401) return fieldError("current_password", "The current password is not right.");
          throw e;
        }
        remembered.setParams(username, body.password);
        $("current_password").value = "";
        $("new_password").value = "";
        show("password-done");
      } catch (e) {
        fieldError("current_password", e instanceof ApiError ? explain(e) : `Changing the password failed in this page: ${e.message}`);
      }
    });
  });
});
