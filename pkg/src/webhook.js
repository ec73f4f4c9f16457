// Standard Webhooks for senders: signWebhook (the three header fields of a delivery) and
// generateWebhookKey. Receiving is `gate.verify` on a route with `webhook_keys` (the key set
// decides; see docs/webhooks.md). Keys are used inside wasm, never as CryptoKeys.

import { wasm } from './wasm/facade.js';
import { base64, callWasm, describe, invalidOptions } from './errors.js';
import { millis } from './request.js';

const { signWebhook: wasmSignWebhook, generateWebhookKey: wasmGenerateWebhookKey } = wasm;
const OPTIONS = new Set(['key', 'body', 'id', 'timestamp']);
const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** One key as text: whsec_/whsk_ text as is, raw v1 secret bytes as whsec_, or `{ key }`. */
function keyText(k, where) {
  if (typeof k === 'string') return k;
  if (k instanceof Uint8Array) return `whsec_${base64(k)}`;
  if (k !== null && typeof k === 'object' && typeof k.key === 'string') return k.key;
  throw invalidOptions(`${where} must be whsec_…/whsk_… text, secret bytes or generateWebhookKey()'s result, got ${describe(k)}`);
}

/** A message id as the reference libraries make them: msg_ and 27 random characters. */
function messageId() {
  let out = 'msg_';
  while (out.length < 31) {
    for (const b of crypto.getRandomValues(new Uint8Array(32))) {
      if (b < 248 && out.length < 31) out += ID_CHARS[b % 62];
    }
  }
  return out;
}

/**
 * Signs a Standard Webhooks delivery: `{ 'webhook-id', 'webhook-timestamp',
 * 'webhook-signature' }` over `<id>.<timestamp>.<body>`, one token per key (v1 for a whsec_
 * secret, v1a for a whsk_ private key). Throws ERR_INVALID_OPTIONS (options, an id the
 * verifier would refuse) or ERR_KEY_INVALID (an unusable key).
 */
export async function signWebhook(options) {
  if (options === null || typeof options !== 'object') {
    throw invalidOptions(`signWebhook: options must be an object with key and body, got ${describe(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (!OPTIONS.has(k)) throw invalidOptions(`signWebhook: unknown option ${JSON.stringify(k)} (expected key, body, id, timestamp)`);
  }
  const keys = Array.isArray(options.key) ? options.key : [options.key];
  if (keys.length === 0) throw invalidOptions('signWebhook: options.key must name at least one key');
  const texts = keys.map((k, i) => keyText(k, Array.isArray(options.key) ? `signWebhook: options.key[${i}]` : 'signWebhook: options.key'));
  const { body } = options;
  let bytes;
  if (typeof body === 'string') bytes = new TextEncoder().encode(body);
  else if (body instanceof Uint8Array) bytes = body;
  else if (body instanceof ArrayBuffer) bytes = new Uint8Array(body);
  else throw invalidOptions(`signWebhook: options.body must be text or bytes (exactly what is sent), got ${describe(body)}`);
  if (options.id !== undefined && typeof options.id !== 'string') {
    throw invalidOptions(`signWebhook: options.id must be a string, got ${describe(options.id)}`);
  }
  const id = options.id ?? messageId();
  const seconds = Math.floor(millis(options.timestamp, 'signWebhook: options.timestamp', Date.now()) / 1000);
  const out = JSON.parse(callWasm(() => wasmSignWebhook(JSON.stringify(texts), id, seconds, bytes)));
  return Object.freeze(out);
}

/**
 * A new webhook key: `{ key, webhook }`. `scheme: 'v1'` gives a whsec_ secret (the entry holds
 * it too: seal it); `'v1a'` a whsk_ private key for the sender and a whpk_ public key for the
 * entry.
 */
export function generateWebhookKey(options) {
  if (options === null || typeof options !== 'object' || (options.scheme !== 'v1' && options.scheme !== 'v1a')) {
    throw invalidOptions(`generateWebhookKey: options.scheme must be "v1" or "v1a", got ${describe(options?.scheme)}`);
  }
  for (const k of Object.keys(options)) {
    if (k !== 'scheme') throw invalidOptions(`generateWebhookKey: unknown option ${JSON.stringify(k)} (expected scheme)`);
  }
  const out = JSON.parse(callWasm(() => wasmGenerateWebhookKey(options.scheme)));
  return Object.freeze({ key: out.key, webhook: Object.freeze(out.webhook) });
}
