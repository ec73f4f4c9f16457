// Request bodies for verification and signing.
//
// Verification first decides a signed request without its body (`decideDeferred`); only when
// every other check passed does it stream the body through the wasm `WasmBodyHasher` (only
// the algorithms the request's Content-Digest names) and hand the verifier the digests, so a
// body is hashed only for a validly signed request and keygate never holds it. It reads a
// clone (a tee), so the caller's body stays unread: a gateway can still forward it.
//
// What that costs in memory: while the clone is hashed, the tee keeps every chunk read for
// the caller's branch, so a body that is hashed is held once, whole, until the caller reads it
// (forwarding streams it out). `maxBodyBytes` bounds that copy: a body declared larger is
// refused before any of it is read, one that streams past the bound is refused at the chunk
// that crosses it (that chunk is not hashed, and nothing more is read).

import { wasm } from './wasm/facade.js';
import { KeygateError, callWasm, describe } from './errors.js';

const { WasmBodyHasher } = wasm;

/** The value of a header in `[name, value]` pairs (names are lower-case from Headers). */
function header(pairs, name) {
  const values = pairs.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
  return values.length === 0 ? undefined : values.join(', ');
}

/** The declared Content-Length, or null when absent or not one plain decimal number. */
export function declaredLength(pairs) {
  const v = header(pairs, 'content-length');
  return v !== undefined && /^\d+$/.test(v.trim()) ? Number(v.trim()) : null;
}

/** The error of a signed body larger than `max` bytes (`kind`: which bound: a webhook's, or any signed body's). */
export function bodyTooLarge(max, kind = 'signed') {
  const option = kind === 'webhook' ? 'maxWebhookBodyBytes' : 'maxBodyBytes';
  const e = new KeygateError('ERR_BODY_TOO_LARGE', `verify: the ${kind === 'webhook' ? 'webhook delivery' : 'signed request'} body is larger than ${option} (${max} bytes)`);
  e.limit = max;
  return e;
}

/** Whether a request carries signature fields, RFC 9421 or Standard Webhooks (only then does its body matter). */
export function isSigned(pairs) {
  return pairs.some(([n]) => {
    const l = n.toLowerCase();
    return l === 'signature-input' || l === 'signature' || l === 'webhook-signature';
  });
}

/** The default bound of a webhook delivery's body (1 MiB): it is verified before any proof. */
export const MAX_WEBHOOK_BODY_BYTES = 1024 * 1024;

/**
 * Reads an opened body whole, for a webhook delivery (its bytes are what is signed). At most
 * `max` bytes: ERR_BODY_TOO_LARGE at the first chunk past it (the caller discards the body).
 *
 * (The body is gathered here and verified by the module in one call. Streaming it chunk by
 * chunk into the module's running MACs waits for the lean boundary's continuation; the bound
 * keeps this copy small meanwhile.)
 */
export async function readWebhookBody(body, max) {
  let size = body.first.length;
  if (size > max) throw bodyTooLarge(max, 'webhook');
  const parts = [body.first];
  while (body.reader !== null) {
    let next;
    try {
      next = await body.reader.read();
    } catch (e) {
      throw new KeygateError('ERR_REQUEST_INVALID', `verify: reading the request body failed: ${e?.message ?? e}`, { cause: e });
    }
    if (next.done) break;
    const chunk = chunkOf(next.value);
    size += chunk.length;
    if (size > max) throw bodyTooLarge(max, 'webhook');
    parts.push(chunk);
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The body of a Request (a stream read from a clone) or of a request-like object (bytes or
 * text), or null when there is none.
 * @returns {ReadableStream<Uint8Array> | Uint8Array | null}
 */
export function bodySource(request, where) {
  const { body } = request;
  if (body === undefined || body === null) return null;
  if (typeof request.clone === 'function' && typeof ReadableStream !== 'undefined' && body instanceof ReadableStream) {
    if (request.bodyUsed) {
      throw new KeygateError('ERR_REQUEST_INVALID', `${where}: the request body was already read`);
    }
    return request.clone().body;
  }
  if (typeof body === 'string') return new TextEncoder().encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new KeygateError(
    'ERR_REQUEST_INVALID',
    `${where}: request.body must be a ReadableStream (of a Request), bytes or text, got ${describe(body)}`,
  );
}

/**
 * Opens a body for reading: `null` when it turns out to be empty (one read at most), else a
 * handle to hash it with `hashBody` or to `discard` it unread.
 */
export async function openBody(source) {
  if (source instanceof Uint8Array) {
    return source.length === 0 ? null : { first: source, reader: null };
  }
  const reader = source.getReader();
  let next;
  try {
    next = await reader.read();
  } catch (e) {
    throw new KeygateError('ERR_REQUEST_INVALID', `verify: reading the request body failed: ${e?.message ?? e}`, { cause: e });
  }
  if (next.done) return null;
  return { first: chunkOf(next.value), reader };
}

const chunkOf = (v) => (v instanceof Uint8Array ? v : new Uint8Array(v));

/** Stops reading a body that will not be hashed (frees the clone's buffered data). */
export function discard(body) {
  body.reader?.cancel().catch(() => {});
}

/**
 * Hashes an opened body chunk by chunk; resolves to the digests JSON of
 * `WasmBodyHasher.finish` (`{"len", "sha-256", "sha-512"}`). Throws ERR_BODY_TOO_LARGE at the
 * first chunk that takes the body past `max` bytes (the caller discards the body).
 */
export async function hashBody(body, headers, max = Infinity) {
  let size = body.first.length;
  if (size > max) throw bodyTooLarge(max);
  const hasher = callWasm(() => new WasmBodyHasher(header(headers, 'content-digest')));
  let finished = false;
  try {
    callWasm(() => hasher.update(body.first));
    for (;;) {
      if (body.reader === null) break;
      let next;
      try {
        next = await body.reader.read();
      } catch (e) {
        throw new KeygateError('ERR_REQUEST_INVALID', `verify: reading the request body failed: ${e?.message ?? e}`, { cause: e });
      }
      if (next.done) break;
      const chunk = chunkOf(next.value);
      size += chunk.length;
      if (size > max) throw bodyTooLarge(max);
      callWasm(() => hasher.update(chunk));
    }
    finished = true;
    return callWasm(() => hasher.finish());
  } finally {
    if (!finished) {
      try {
        hasher.free();
      } catch {
        // a stale hasher (after a trap) has nothing left to free
      }
    }
  }
}

/** The bytes of a body to sign (a Request's body is read from a clone), or undefined. */
export async function bodyBytes(request, where) {
  const source = bodySource(request, where);
  if (source === null) return undefined;
  if (source instanceof Uint8Array) return source;
  return new Uint8Array(await new Response(source).arrayBuffer());
}
