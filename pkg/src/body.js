// Request bodies for verification and signing.
//
// Verification decides a signed request before reading its body. Only when every other check
// has passed does the decision ask for the body's digests (the algorithms its Content-Digest
// names); the body is then read from a clone, so the caller's body stays unread (a gateway can
// still forward it), gathered, and hashed by the runtime's WebCrypto (the wasm hasher only
// where there is none). Measured in workerd (BENCHMARKS.md): `arrayBuffer()` then
// `crypto.subtle.digest` beats piping the body into `crypto.DigestStream` (1 KiB: 83 vs
// 102 µs; 1 MiB: 2.9 vs 12.5 ms) and reading it chunk by chunk from JS, which is kept for
// bodies of no declared length (read up to the bound).
//
// Every read of a body here has a deadline (`bodyTimeoutSeconds`, 30 s unless given), from
// the start of that read: a body that has not arrived whole by then is not read further (the
// clone's reader is cancelled, so the tee stops keeping what arrives for the caller's branch;
// a whole read of a declared length cannot be cancelled and is abandoned) and verify rejects
// with ERR_BODY_TIMEOUT. The timer is cleared as soon as the read ends,
// whichever way (workerd keeps a request alive while a timer of it is pending).
//
// What that costs in memory: while the clone is read, the tee keeps every chunk for the
// caller's branch, so a body that is hashed is held once, whole, until the caller reads it
// (forwarding streams it out), and once more while it is hashed. `maxBodyBytes` bounds that: a
// body declared (Content-Length) larger is refused before any of it is read; one without a
// declared length is read chunk by chunk and refused at the chunk that crosses the bound
// (nothing more is read).
//
// A Standard Webhooks delivery's body is signed itself, so it is asked for before any proof
// (once its fields, time and work bound passed) and streamed into the module's running MACs
// piece by piece: nothing is gathered beyond the tee's copy for the caller, and at most
// `maxWebhookBodyBytes` is read.

import { wasm } from './wasm/facade.js';
import { KeygateError, callWasm, describe } from './errors.js';
import { BODY_TIMEOUT_SECONDS, ReadTimeout, bounded } from './deadline.js';

const { WasmBodyHasher } = wasm;

const ALGORITHMS = [
  { bit: 1, name: 'SHA-256', key: 'sha-256', at: 0 },
  { bit: 2, name: 'SHA-512', key: 'sha-512', at: 32 },
];

const readFailed = (e) =>
  new KeygateError('ERR_REQUEST_INVALID', `verify: reading the request body failed: ${e?.message ?? e}`, { cause: e });

/** The default bound of a webhook delivery's body (1 MiB): it is verified before any proof. */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;
/** The largest piece of a webhook body written into the module's input area at once. */
const WEBHOOK_PIECE = 64 * 1024;

/**
 * A webhook delivery's body (a `bodySource`), chunk by chunk as it streams (each at most
 * 64 KiB), for the module's running MACs: its bytes are what is signed, and they are asked for
 * before any proof, so at most `max` bytes are read (ERR_BODY_TOO_LARGE: a declared
 * Content-Length over it before any is read, else at the chunk that crosses it), within
 * `seconds` of the start of the read (ERR_BODY_TIMEOUT). Nothing is gathered here; a reader
 * not read to the end is cancelled.
 */
export async function* webhookChunks(source, max, headers, seconds = BODY_TIMEOUT_SECONDS) {
  if (source.bytes) {
    if (source.bytes.length > max) throw bodyTooLarge(max, 'webhook');
    yield* pieces(source.bytes);
    return;
  }
  const declared = declaredLength(headers);
  if (declared !== null && declared > max) throw bodyTooLarge(max, 'webhook');
  for await (const chunk of chunksUpTo(source.request, max, 'webhook', seconds)) yield* pieces(chunk);
}

/** A chunk in pieces of at most 64 KiB (what the module's input area holds without growing far). */
function* pieces(chunk) {
  for (let at = 0; at < chunk.length; at += WEBHOOK_PIECE) yield chunk.subarray(at, at + WEBHOOK_PIECE);
}

/**
 * The body of a Request (its stream, read later from a clone) or of a request-like object
 * (bytes or text), or null when there is none.
 * @returns {{ request: Request } | { bytes: Uint8Array } | null}
 */
export function bodySource(request, where) {
  const { body } = request;
  if (body === undefined || body === null) return null;
  if (typeof request.clone === 'function' && typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) {
    if (request.bodyUsed) {
      throw new KeygateError('ERR_REQUEST_INVALID', `${where}: the request body was already read`);
    }
    return { request };
  }
  let bytes;
  if (typeof body === 'string') bytes = new TextEncoder().encode(body);
  else if (body instanceof Uint8Array) bytes = body;
  else if (body instanceof ArrayBuffer) bytes = new Uint8Array(body);
  else {
    throw new KeygateError(
      'ERR_REQUEST_INVALID',
      `${where}: request.body must be a ReadableStream (of a Request), bytes or text, got ${describe(body)}`,
    );
  }
  return { bytes };
}

/** Whether a Request's body turns out empty (one read of a clone, within `seconds`). */
export async function isEmpty(source, seconds = BODY_TIMEOUT_SECONDS) {
  if (!source.request) return source.bytes.length === 0;
  const reader = timedReader(source.request, seconds, 'signed');
  try {
    return (await reader.read()).done;
  } finally {
    reader.close(true);
  }
}

/** The declared Content-Length, or null when absent or not one plain decimal number. */
export function declaredLength(headers) {
  const v = headers.get('content-length');
  return v !== null && /^\d+$/.test(v.trim()) ? Number(v.trim()) : null;
}

/** What a `kind` of body is called in messages. */
const bodyName = (kind) => (kind === 'webhook' ? 'webhook delivery' : 'signed request');

/** The error of a signed body larger than `max` bytes (`kind`: which bound: a webhook's, or any signed body's). */
export function bodyTooLarge(max, kind = 'signed') {
  const option = kind === 'webhook' ? 'maxWebhookBodyBytes' : 'maxBodyBytes';
  const e = new KeygateError('ERR_BODY_TOO_LARGE', `verify: the ${bodyName(kind)} body is larger than ${option} (${max} bytes)`);
  e.limit = max;
  return e;
}

/** The error of a body (of `kind`, as bodyTooLarge's) that did not arrive whole within `seconds`. */
export function bodyTimeout(seconds, kind = 'signed') {
  const e = new KeygateError(
    'ERR_BODY_TIMEOUT',
    `verify: the ${bodyName(kind)} body did not arrive whole within bodyTimeoutSeconds (${seconds} s); the rest was not read`,
  );
  e.timeoutSeconds = seconds;
  return e;
}

/** What a timed read answers once its deadline has passed. */
const TIMED_OUT = Symbol('timed out');

/**
 * A reader of a clone of `request`'s body whose reads end `seconds` after it was made:
 * `read()` answers the next chunk, or throws ERR_BODY_TIMEOUT (of `kind`) once the deadline
 * has passed (ERR_REQUEST_INVALID when the stream fails). `close(cancel)` ends the read: the
 * timer cleared and, when `cancel`, the reader cancelled (not awaited: a stalled stream need
 * not settle its cancellation either). Every reader made here is closed, in a `finally`.
 */
function timedReader(request, seconds, kind) {
  const reader = request.clone().body.getReader();
  let timer;
  const expired = new Promise((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), seconds * 1000);
  });
  return {
    async read() {
      let next;
      try {
        next = await Promise.race([reader.read(), expired]);
      } catch (e) {
        throw readFailed(e);
      }
      if (next === TIMED_OUT) throw bodyTimeout(seconds, kind);
      return next;
    },
    close(cancel) {
      clearTimeout(timer);
      if (cancel) reader.cancel().catch(() => {});
    },
  };
}

/**
 * The digests the module asked for (`mask`: 1 SHA-256, 2 SHA-512) of a body of at most `max`
 * bytes (ERR_BODY_TOO_LARGE beyond; `declared`: its Content-Length or null) read within
 * `seconds` (ERR_BODY_TIMEOUT): `{ len, have, digests }` with `digests` 96 bytes, SHA-256 in
 * the first 32 and SHA-512 in the rest.
 */
export async function digestBody(source, mask, max, declared, seconds = BODY_TIMEOUT_SECONDS) {
  const out = new Uint8Array(96);
  if (source.bytes && source.bytes.length > max) throw bodyTooLarge(max);
  if (source.request && declared !== null && declared > max) throw bodyTooLarge(max);
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return hashInWasm(source, ALGORITHMS.filter((a) => mask & a.bit), out, max, seconds);
  // A declared length frames the body (the runtime enforces it on a request it received):
  // read it whole, the fastest way (`arrayBuffer()`: chunk by chunk costs 1.5x at 1 KiB and
  // 4x at 1 MiB in workerd, BENCHMARKS.md "A read deadline on bodies"). Without one, under a
  // bound, chunk by chunk up to the bound. Both within the deadline.
  const data = source.bytes ?? (declared !== null || max === Infinity ? await readAll(source.request, seconds) : await readUpTo(source.request, max, seconds));
  // Almost always one algorithm: no Promise.all for it.
  const have = mask & 3;
  if (have === 1) out.set(new Uint8Array(await subtle.digest('SHA-256', data)));
  else if (have === 2) out.set(new Uint8Array(await subtle.digest('SHA-512', data)), 32);
  else if (have === 3) {
    const [a, b] = await Promise.all([subtle.digest('SHA-256', data), subtle.digest('SHA-512', data)]);
    out.set(new Uint8Array(a));
    out.set(new Uint8Array(b), 32);
  }
  return { len: data.byteLength, have, digests: out };
}

/**
 * A clone's body read whole, or ERR_BODY_TIMEOUT when it has not arrived `seconds` after the
 * read started. A whole read cannot be cancelled: past the deadline it is abandoned (its late
 * end or failure ignored). What it holds stays within the declared length (at most
 * `maxBodyBytes`) until the runtime ends the request (workerd drops a request's pending reads
 * once it is answered); the middleware also cancels the caller's branch.
 */
async function readAll(request, seconds) {
  try {
    return await bounded(request.clone().arrayBuffer(), seconds * 1000, 'the body');
  } catch (e) {
    throw e instanceof ReadTimeout ? bodyTimeout(seconds, 'signed') : readFailed(e);
  }
}

/**
 * A clone's body, chunk by chunk; ERR_BODY_TOO_LARGE (of `kind`) at the chunk crossing `max`,
 * ERR_BODY_TIMEOUT when it has not ended `seconds` after the read started (time the consumer
 * spends between chunks counts too). A reader not read to the end (too large, too slow, a
 * read error, a consumer that stopped) is cancelled, so the tee does not go on buffering it.
 */
async function* chunksUpTo(request, max, kind, seconds) {
  const reader = timedReader(request, seconds, kind);
  let len = 0;
  let done = false;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      const chunk = next.value instanceof Uint8Array ? next.value : new Uint8Array(next.value);
      len += chunk.length;
      if (len > max) throw bodyTooLarge(max, kind);
      yield chunk;
    }
    done = true;
  } finally {
    reader.close(!done);
  }
}

/** A clone's body, gathered; ERR_BODY_TOO_LARGE at the chunk crossing `max`, ERR_BODY_TIMEOUT after `seconds`. */
async function readUpTo(request, max, seconds) {
  const chunks = [];
  let len = 0;
  for await (const chunk of chunksUpTo(request, max, 'signed', seconds)) {
    chunks.push(chunk);
    len += chunk.length;
  }
  if (chunks.length === 1) return chunks[0];
  const all = new Uint8Array(len);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all;
}

/** No WebCrypto (an insecure browser context): the wasm hasher, chunk by chunk. */
async function hashInWasm(source, algs, out, max, seconds) {
  const hasher = callWasm(() => new WasmBodyHasher(algs.map((a) => `${a.key}=:AA==:`).join(', ')));
  let len = 0;
  let finished = false;
  try {
    if (source.bytes) {
      len = source.bytes.length;
      callWasm(() => hasher.update(source.bytes));
    } else {
      for await (const chunk of chunksUpTo(source.request, max, 'signed', seconds)) {
        len += chunk.length;
        callWasm(() => hasher.update(chunk));
      }
    }
    finished = true;
    out.set(callWasm(() => hasher.finish()));
  } finally {
    if (!finished) {
      try {
        hasher.free();
      } catch {
        // a stale hasher (after a trap) has nothing left to free
      }
    }
  }
  return { len, have: algs.reduce((m, a) => m | a.bit, 0), digests: out };
}

/** The bytes of a body to sign (a Request's body is read from a clone), or undefined. */
export async function bodyBytes(request, where) {
  const source = bodySource(request, where);
  if (source === null) return undefined;
  if (source.bytes) return source.bytes;
  return new Uint8Array(await source.request.clone().arrayBuffer());
}
