// DOM helpers for the end-to-end pages. Decrypted names and values only ever go into the
// page as text (textContent, input values), never as HTML.
"use strict";

export const $ = (id) => document.getElementById(id);

export function show(...ids) { for (const id of ids) { const el = $(id); if (el) el.hidden = false; } }
export function hide(...ids) { for (const id of ids) { const el = $(id); if (el) el.hidden = true; } }

/** The status line at the top of the page (role=status): progress, or what went wrong. */
export function status(text, { error = false } = {}) {
  const el = $("e2e-status");
  if (!el) return;
  el.textContent = text;
  el.hidden = !text;
  el.className = error ? "field-error" : "muted";
}

/** An error beside a field (`<p id="{field}-error">`), marked on the input for screen readers. */
export function fieldError(field, message) {
  const input = $(field);
  let p = $(`${field}-error`);
  if (!p && input) {
    p = document.createElement("p");
    p.className = "field-error";
    p.id = `${field}-error`;
    input.after(p);
  }
  if (p) { p.textContent = message; p.hidden = false; }
  if (input) {
    input.setAttribute("aria-invalid", "true");
    if (p) input.setAttribute("aria-describedby", p.id);
    input.focus();
  }
}

/** Clear every field error in a form. */
export function clearErrors(form) {
  for (const p of form.querySelectorAll(".field-error")) { p.textContent = ""; p.hidden = true; }
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

/** Disable a form's submit button while `work` runs, with a label saying what happens. */
export async function busy(form, label, work) {
  const button = form.querySelector("button[type=submit]");
  const text = button?.textContent;
  if (button) { button.disabled = true; button.textContent = label; }
  try { return await work(); } finally { if (button) { button.disabled = false; button.textContent = text; } }
}

/** A UTC time as the server-rendered pages write it ("2026-12-01 16:00:00 UTC"). */
export function time(rfc3339) {
  if (!rfc3339) return "";
  return rfc3339.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC");
}

/** A user-facing message for an API failure that is not about one field. */
export function explain(e) {
  switch (e?.status) {
    case 401: return "Your session has ended. Log in again.";
    case 403: return "That is not allowed.";
    case 404: return "There is nothing here that you can open.";
    case 413: return "That was too much to send at once.";
    case 422: {
      const first = e.problem?.errors?.[0];
      return first ? `The server refused ${first.field}: ${first.message}` : (e.problem?.detail || "The server refused this request.");
    }
    case 409: return e.problem?.detail || "Someone else changed this meanwhile. Reload and try again.";
    case 429: return "Too many attempts. Wait a little and try again.";
    case 503: return "The server is busy or cannot reach its database. Try again in a moment.";
    default: return e?.status ? "Something went wrong on the server." : `Something went wrong in this page: ${e?.message || e}`;
  }
}

/**
 * Show a recovery code made in this page, once: the page's `<template id="e2e-done">`
 * (inert until cloned, so it is no part of the form before) replaces the form's card.
 */
export function showRecoveryCode(form, code) {
  const card = form.closest("section");
  const done = $("e2e-done").content.cloneNode(true);
  done.getElementById("recovery-code").textContent = code;
  card.after(done);
  card.hidden = true;
  $("saved").focus();
}
