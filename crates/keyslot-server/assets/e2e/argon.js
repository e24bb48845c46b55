// The password's Argon2id runs in a Web Worker (worker.js), so the page keeps painting
// while it hashes. The worker loads its own copy of the wasm module; what it sends back is
// what the page must send the server (auth, slots) — never a key.
"use strict";

let worker = null;
let next = 0;
const waiting = new Map();

function theWorker() {
  if (worker) return worker;
  worker = new Worker("/assets/e2e/worker.js", { type: "module" });
  worker.onmessage = (event) => {
    const { id, ok, result, error } = event.data;
    const done = waiting.get(id);
    waiting.delete(id);
    if (done) ok ? done.resolve(result) : done.reject(new Error(error));
  };
  worker.onerror = (event) => {
    event.preventDefault();
    for (const done of waiting.values()) done.reject(new Error("the password worker failed to start"));
    waiting.clear();
    stopWorker();
  };
  return worker;
}

/** Run `op` in the worker. */
export function inWorker(op, args) {
  const id = ++next;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    theWorker().postMessage({ id, op, args });
  });
}

/** End the worker and the wasm memory it holds. */
export function stopWorker() {
  worker?.terminate();
  worker = null;
}
