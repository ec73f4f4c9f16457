// The wire errors: every error code a keygate edge answers with itself, and its HTTP status.
// One table, used by the middleware (edge.js), the key set endpoint (push.js) and the gateway
// application; nothing else in the package spells an error status.
//
// Decision refusals (`missing_credentials`, `scope_missing`, ...) carry their status in the
// decision itself, from the Rust core (docs/reasons.md); the two of them the edge can also
// answer without a decision (`malformed_request`, `keyset_unavailable`) are listed here too.
// docs/reasons.md documents every row, and a test keeps the two in step.

import { KEYSET_WIRE_STATUS } from './codes.js';

/** The HTTP status of every wire error code (frozen). */
export const WIRE_STATUS = Object.freeze({
  // A refused key set (load, refresh or push): KeygateError.error names one of these; the
  // rows come from the Rust core (codes.js, generated).
  ...KEYSET_WIRE_STATUS,
  // Requests the edge answers without a decision.
  malformed_request: 400,
  keyset_unavailable: 503,
  verifier_unavailable: 503,
  // Sharded mode: a shard the request needs could not be loaded (Retry-After: 1).
  shard_unavailable: 503,
  // A signed body over the middleware's maxBodyBytes (never buffered past it).
  body_too_large: 413,
  // A body read before the decision (a webhook delivery's, a signed one's) that did not arrive
  // whole within the middleware's bodyTimeoutSeconds (its read stopped there).
  body_timeout: 408,
  // The key set endpoint and the gateway's routes.
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  push_in_progress: 429,
  push_timeout: 408,
  keyset_store_failed: 503,
  // A storage write of a push (the KV put, the coordinator's commit, a shard upload) that did
  // not answer within the storage bound: its outcome is unknown (it may still land).
  keyset_store_timeout: 504,
  delta_requires_coordinator: 409,
  coordinator_unavailable: 503,
  // Sharded mode's publishing (a manifest, then its shards, then the manifest again).
  shards_missing: 409,
  shard_not_staged: 409,
  shard_mismatch: 400,
  internal_error: 500,
  // Forwarding to the origin.
  origin_misconfigured: 502,
  origin_unreachable: 502,
});

/**
 * A refusal answered with a wire code that has no KeygateError code (the key set endpoint's
 * own: `delta_requires_coordinator`, `coordinator_unavailable`): `error`, `message`, and the
 * extra `fields` and `headers` of the answer.
 */
export class WireRefusal extends Error {
  constructor(error, message, { fields = {}, headers = {} } = {}) {
    super(message);
    wireStatus(error);
    this.name = 'WireRefusal';
    this.error = error;
    this.fields = fields;
    this.headers = headers;
  }
}

/** The status of a wire error code; throws a TypeError for a code not in WIRE_STATUS. */
export function wireStatus(code) {
  if (!Object.hasOwn(WIRE_STATUS, code)) throw new TypeError(`unknown wire error code ${JSON.stringify(code)}`);
  return WIRE_STATUS[code];
}

const JSON_NO_STORE = Object.freeze({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });

/** A JSON response that is never cached (`cache-control: no-store`). */
export function jsonResponse(status, body, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { ...JSON_NO_STORE, ...headers } });
}

/**
 * The error response of a wire code: its status from WIRE_STATUS and the body
 * `{"error": code, "message": message, ...fields}`, never cached. `headers` are added (e.g.
 * `Allow` on a 405).
 */
export function errorResponse(code, message, { headers = {}, fields = {} } = {}) {
  const body = { error: code, message: String(message) };
  for (const [k, v] of Object.entries(fields)) if (k !== 'error' && k !== 'message') body[k] = v;
  return jsonResponse(wireStatus(code), body, headers);
}

/** The response to a refusal decision: its own status, `{"error": reason, "message"}` and its headers. */
export function refusalResponse(decision) {
  return jsonResponse(decision.status, { error: decision.reason, message: decision.message }, decision.headers);
}
