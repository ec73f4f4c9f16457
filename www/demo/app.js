// The keygate demo page: no framework, no build step. The package is served by the gateway
// itself from /vendor/keygate (copied there by `make build`) and mapped by the import map;
// importing it initialises the wasm module. Each step lives in its own module:
//   1 generate.js   2 keyset.js + push.js   3 compose.js   4 verify.js   5 tamper.js
//   6 webhook.js (a Standard Webhooks delivery)

import { $ } from './ui.js';
import { state } from './state.js';
import { setupGenerate } from './generate.js';
import { setupEditor } from './keyset.js';
import { setupPush } from './push.js';
import { setupCompose } from './compose.js';
import { setupVerify } from './verify.js';
import { setupTamper } from './tamper.js';
import { setupWebhook } from './webhook.js';

async function fetchJson(path) {
  const res = await fetch(path, { cache: 'no-store' });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

async function start() {
  // `make dev` only: the starting key set and the DEMO publisher key (its private half is
  // published in the repository). A deployed gateway answers 404 here.
  let demo = null;
  try {
    demo = await fetchJson('/.well-known/keygate/demo');
  } catch {
    demo = null;
  }
  const keySetText = JSON.stringify(demo?.keyset ?? { keygate: 1, revision: 1, keys: [] }, null, 2);
  state.publisher = demo?.publisher ?? null;
  setupEditor(keySetText);
  setupGenerate();
  setupPush();
  setupCompose();
  setupVerify();
  setupTamper();
  setupWebhook();
  $('status').textContent = state.publisher
    ? 'Ready: the keygate wasm module is loaded in this page.'
    : 'Ready, but no demo publisher key (this gateway is not running under `make dev`): pushes are off.';
  document.body.dataset.ready = 'true';
}

start().catch((e) => {
  $('status').textContent = `The demo could not start: ${e.message}`;
  $('status').classList.add('error');
});
