// The JSON API, as the end-to-end pages use it: same-origin fetch with the session cookie
// and the session's CSRF token in X-CSRF-Token on every unsafe request. Bodies are the
// ciphertext the page made; nothing secret goes into a URL.
"use strict";

/** An answer that was not 2xx: its status and problem+json body (if any). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
  /** The field a 422 names, when it names one. */
  field() {
    const errors = this.problem.errors || this.problem.fields || [];
    return errors.length ? errors[0].field : undefined;
  }
}

/** The CSRF token the server put into the page (the session's; see csrf.rs). */
export function csrfToken() {
  return document.getElementById("e2e")?.dataset.csrf || "";
}

/**
 * One request. `csrf` overrides the page's token (the login page has none until login
 * answers). Resolves to the parsed JSON body, or null for 204.
 */
export async function api(method, path, body, { csrf, headers = {} } = {}) {
  const init = { method, credentials: "same-origin", headers: { accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (method !== "GET" && method !== "HEAD") {
    const token = csrf ?? csrfToken();
    if (token) init.headers["x-csrf-token"] = token;
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let json = null;
  if (text) {
    try { json = JSON.parse(text); } catch { json = null; }
  }
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

/** base64url without padding, as the API sends bytes. */
export const b64u = {
  encode(bytes) {
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
  decode(text) {
    const s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  },
};
