// The per-request boundary with the wasm module (src/wasm/io.rs): no JSON, no strings passed
// through the generated glue. A request is written as UTF-8 into the module's input area with
// one TextEncoder.encodeInto (`METHOD\0URL\0CLIENT_IP\0(NAME\0VALUE\0)*`); a call answers with
// numbers in a fixed output header and, when there is text, one block read with one
// TextDecoder.decode.
//
// Every read happens synchronously right after the call that wrote it, never across an
// `await`: concurrent verifications share the areas. Views over the module's memory are
// rebuilt after a trap re-instantiated the module or when memory grew (a grown memory's old
// buffer reads as empty).

import { wasm } from './wasm/facade.js';
import { callWasm, wasmGeneration } from './errors.js';

const { ioReserve, ioOut, ioMemory } = wasm;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Output header words (src/wasm/io.rs).
export const KIND = Object.freeze({ ALLOWED: 0, REFUSED: 1, NEED_ED25519: 2, NEED_BODY: 3, NEED_CLAIM: 4, ERROR: 5, NEED_WEBHOOK_BODY: 6, NEED_SHARDS: 7 });
export const FLAG = Object.freeze({
  MESSAGE: 1,
  ACCEPT_SIGNATURE: 1 << 1,
  PATH_TEXT: 1 << 2,
  PATH_AS_SENT: 1 << 3,
  KEY_TEXT: 1 << 4,
  ROUTE_TEXT: 1 << 5,
  SIGNATURE: 1 << 6,
  ALG: 1 << 7,
  NONCE: 1 << 8,
  TAG: 1 << 9,
  EXPIRES: 1 << 10,
  BODY_ASSUMED: 1 << 11,
  SHA256: 1 << 12,
  SHA512: 1 << 13,
  WEBHOOK: 1 << 14,
});
export const RUN = Object.freeze({ BODY: 1, EXTERNAL_ED25519: 1 << 1, CLAIM: 1 << 2, SIGNED: 1 << 3 });

let generation = -1;
let memory = null;
let bytes = new Uint8Array(0);
let words = new Uint32Array(0);
let floats = new Float64Array(0);
let input = new Uint8Array(0);
let out = 0;

/** (Re)builds the views for the current instance and memory. */
function views() {
  if (generation !== wasmGeneration() || memory === null) {
    generation = wasmGeneration();
    memory = callWasm(() => ioMemory());
    out = callWasm(() => ioOut()) >>> 2;
    bytes = new Uint8Array(0);
  }
  // A view over a memory that has grown since reads as empty (its buffer was detached).
  if (bytes.byteLength === 0) {
    const buffer = memory.buffer;
    bytes = new Uint8Array(buffer);
    words = new Uint32Array(buffer);
    floats = new Float64Array(buffer);
    input = new Uint8Array(0);
  }
}

/** The input area with room for at least `n` bytes. */
function reserve(n) {
  const at = callWasm(() => ioReserve(n));
  views();
  input = bytes.subarray(at, at + Math.max(n, 16 * 1024));
  return input;
}

/**
 * Writes a request into the input area: `method`, absolute `url`, client address (`''` when
 * unknown) and its headers. A genuine `Headers` holds no NUL (names are tokens, values have no
 * NUL, CR or LF: the Fetch standard's guarantees). Another headers-like object is read with
 * `forEach`, and a NUL in it becomes a CR, which the core refuses the same way
 * (`malformed_request`), so it cannot split a field. Returns `{ len, signed }`: the bytes
 * written, and whether the request carries signature fields (RFC 9421, or a Standard Webhooks
 * `webhook-signature`).
 */
export function writeRequest(method, url, ip, headers) {
  let s = `${method}\0${url}\0${ip}\0`;
  let signed = false;
  if (typeof Headers === 'function' && headers instanceof Headers) {
    // forEach visits the same pairs as the iterator (the Fetch standard's sort-and-combine),
    // and costs about half as much per field in workerd: one native call, no iterator and
    // no [name, value] array per field.
    headers.forEach((value, name) => {
      s += `${name}\0${value}\0`;
      if (!signed && (name === 'signature' || name === 'signature-input' || name === 'webhook-signature')) signed = true;
    });
  } else {
    headers.forEach((value, name) => {
      const n = String(name);
      s += `${n.replaceAll('\0', '\r')}\0${String(value).replaceAll('\0', '\r')}\0`;
      const l = n.toLowerCase();
      if (l === 'signature' || l === 'signature-input' || l === 'webhook-signature') signed = true;
    });
  }
  views();
  if (input.byteLength === 0) reserve(16 * 1024);
  let r = encoder.encodeInto(s, input);
  if (r.read < s.length) {
    reserve(3 * s.length);
    r = encoder.encodeInto(s, input);
  }
  return { len: r.written, signed };
}

/** Writes bytes (a body's digests, a piece of a webhook body) into the input area at `at`. */
export function writeBytes(at, b) {
  views();
  if (input.byteLength < at + b.length) reserve(at + b.length);
  input.set(b, at);
}

/** The output of the last call: the header's fields and the text block's fields. */
export function readOut() {
  views();
  const w = out;
  const flags = words[w + 4];
  const textLen = words[w + 7];
  return {
    kind: words[w],
    code: words[w + 1],
    key: words[w + 2] - 1,
    route: words[w + 3] - 1,
    flags,
    textAt: words[w + 6],
    textLen,
    pathStart: words[w + 8],
    pathEnd: words[w + 9],
    created: floats[(w + 10) >> 1],
    expires: floats[(w + 12) >> 1],
    claimExpires: floats[(w + 14) >> 1],
    handle: floats[(w + 16) >> 1],
    serial: words[w + 18],
  };
}

/** Word `i` of the last call's output header (one a kind uses beyond `readOut`'s). */
export function outWord(i) {
  views();
  return words[out + i];
}

/** The text block of the last call as its `\0`-terminated fields. */
export function textFields(o) {
  if (o.textLen === 0) return [];
  const fields = decoder.decode(bytes.subarray(o.textAt, o.textAt + o.textLen)).split('\0');
  fields.pop();
  return fields;
}

/** The text block of the last call as bytes (an Ed25519 job): a view, valid until the next call. */
export function textView(o) {
  return bytes.subarray(o.textAt, o.textAt + o.textLen);
}
