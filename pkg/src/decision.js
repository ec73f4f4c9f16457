// Decisions as JS objects, from the wasm module's compact output (io.js): reason codes,
// statuses and challenges from codes.js (generated from the Rust core), and what depends only
// on the key or the route from tables filled once per key and key set. An allowed API-key
// decision reads three numbers and no text.

import { REASONS, WEBHOOK_SCHEMES } from './codes.js';
import { KeygateError, callWasm, invalidOptions, rfc3339 } from './errors.js';
import { FLAG, KIND, textFields } from './io.js';

const EMPTY = Object.freeze({});

function deepFreeze(v) {
  if (v !== null && typeof v === 'object') {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

/**
 * A key's fields for decisions, from the module's key JSON (`key_json` in
 * src/wasm/decide/output.rs: `expires` in seconds, written here as the crate writes a time).
 */
function keyRecord(json) {
  const k = JSON.parse(json);
  return Object.freeze({
    id: k.id,
    name: k.name ?? null,
    meta: k.meta === null || k.meta === undefined ? null : deepFreeze(k.meta),
    expiresAt: k.expires === null || k.expires === undefined ? null : rfc3339(k.expires),
    scopes: Object.freeze(k.scopes),
  });
}

/**
 * The keys and routes of one key set as decisions show them, each asked from the module the
 * first time a decision names it. A new table is made for every key set (and after a trap).
 * It answers only for the set it was made for: the module names, in every output, the serial
 * of the set its key and route indices refer to, and an index of another set (or asked after
 * the set was replaced) is refused with `ERR_INTERNAL` rather than read in the wrong set.
 */
export class KeyTable {
  #verifier;
  #keys = new Map();
  #routes = new Map();
  /** The serial of the key set this table is for (`WasmVerifier.keySetSerial`). */
  serial;

  constructor(verifier) {
    this.#verifier = verifier;
    this.serial = callWasm(() => verifier.keySetSerial());
  }

  /** Fails unless the output `o`'s indices and the set in use are both this table's set. */
  #check(o) {
    if (o.serial !== this.serial || callWasm(() => this.#verifier.keySetSerial()) !== this.serial) {
      throw new KeygateError('ERR_INTERNAL', 'a decision named a key or route of another key set; it failed closed');
    }
  }

  key(i, o) {
    let k = this.#keys.get(i);
    if (k === undefined) {
      this.#check(o);
      k = keyRecord(callWasm(() => this.#verifier.keyInfo(i)));
      this.#keys.set(i, k);
    } else if (o.serial !== this.serial) {
      this.#check(o);
    }
    return k;
  }

  route(i, o) {
    let r = this.#routes.get(i);
    if (r === undefined) {
      this.#check(o);
      r = callWasm(() => this.#verifier.routePattern(i));
      this.#routes.set(i, r);
    } else if (o.serial !== this.serial) {
      this.#check(o);
    }
    return r;
  }
}

/** The verified signature of an allowed decision, from the text fields from `at` on. */
function signature(o, fields, at, keyId) {
  const label = fields[at++];
  const params = { keyid: keyId };
  if (o.flags & FLAG.ALG) params.alg = fields[at++];
  params.created = o.created;
  if (o.flags & FLAG.EXPIRES) params.expires = o.expires;
  if (o.flags & FLAG.NONCE) params.nonce = fields[at++];
  if (o.flags & FLAG.TAG) params.tag = fields[at++];
  return Object.freeze({
    label,
    components: Object.freeze(fields.slice(at)),
    params: Object.freeze(params),
  });
}

/**
 * The Decision for the module's output `o` (an ALLOWED or REFUSED kind) of a request whose
 * URL was `url`, with `table` the key set's KeyTable.
 */
export function decisionOf(o, url, table) {
  const fields = o.textLen === 0 ? [] : textFields(o);
  let at = 0;
  const message = o.flags & FLAG.MESSAGE ? fields[at++] : '';
  const accept = o.flags & FLAG.ACCEPT_SIGNATURE ? fields[at++] : undefined;
  let path;
  if (o.flags & FLAG.PATH_AS_SENT) path = url.slice(o.pathStart, o.pathEnd);
  else if (o.flags & FLAG.PATH_TEXT) path = fields[at++];
  // A decision that waited while the key set was replaced names its key and route itself.
  const key = o.key < 0 ? null : o.flags & FLAG.KEY_TEXT ? keyRecord(fields[at++]) : table.key(o.key, o);
  const route = o.route < 0 ? undefined : o.flags & FLAG.ROUTE_TEXT ? fields[at++] : table.route(o.route, o);
  return o.kind === KIND.ALLOWED ? allowed(o, fields, at, key, route, path) : refused(o, message, accept, key, route, path);
}

/** An allowed decision (`decisionOf`'s first half; each half compiles on its first use). */
function allowed(o, fields, at, key, route, path) {
  const d = {
    allowed: true,
    status: 200,
    keyId: key === null ? null : key.id,
    scopes: key === null ? EMPTY_SCOPES : key.scopes,
    name: key === null ? null : key.name,
    meta: key === null ? null : key.meta,
    expiresAt: key === null ? null : key.expiresAt,
  };
  if (route !== undefined) d.route = route;
  if (path !== undefined) d.path = path;
  if (o.flags & FLAG.WEBHOOK) {
    d.webhook = Object.freeze({ id: fields[at++], timestamp: o.created, scheme: WEBHOOK_SCHEMES[o.code] });
  }
  if (o.flags & FLAG.SIGNATURE) d.signature = signature(o, fields, at, d.keyId);
  return Object.freeze(d);
}

/** A refusal, with its reason's status and challenge. */
function refused(o, message, accept, key, route, path) {
  const reason = REASONS[o.code];
  const d = { allowed: false, status: reason.status, reason: reason.code, message };
  if (key !== null) d.keyId = key.id;
  if (route !== undefined) d.route = route;
  if (path !== undefined) d.path = path;
  if (reason.wwwAuthenticate === null && accept === undefined) {
    d.headers = EMPTY;
  } else {
    const headers = {};
    if (reason.wwwAuthenticate !== null) headers['WWW-Authenticate'] = reason.wwwAuthenticate;
    if (accept !== undefined) headers['Accept-Signature'] = accept;
    d.headers = Object.freeze(headers);
  }
  return Object.freeze(d);
}

const EMPTY_SCOPES = Object.freeze([]);

/**
 * Whether an allowed decision's key grants `scope`, by the rule route scopes are checked with:
 * a granted scope ending in `*` grants every scope it is a prefix of (`orders:*` grants
 * `orders:write`), any other grants only itself. False for a refusal and for a decision
 * without a key (a public route).
 */
export function hasScope(decision, scope) {
  if (typeof scope !== 'string') throw invalidOptions(`hasScope: scope must be a string, got a ${typeof scope}`);
  if (decision === null || typeof decision !== 'object' || decision.allowed !== true) return false;
  const scopes = decision.scopes;
  if (!Array.isArray(scopes)) return false;
  for (const s of scopes) {
    if (s.endsWith('*') ? scope.startsWith(s.slice(0, -1)) : s === scope) return true;
  }
  return false;
}

/** `requireScopes`'s arguments, checked once: one or more non-empty strings. */
export function checkScopes(where, scopes) {
  if (scopes.length === 0) throw invalidOptions(`${where}: expected at least one scope`);
  for (const [i, s] of scopes.entries()) {
    if (typeof s !== 'string' || s === '') {
      throw invalidOptions(`${where}: scope ${i} must be a non-empty string, got ${s === '' ? 'an empty string' : `a ${typeof s}`}`);
    }
  }
  return Object.freeze([...scopes]);
}

const SCOPE_MISSING = REASONS.find((r) => r.code === 'scope_missing');

/**
 * The refusal of an allowed decision that lacks one of `scopes` (403 `scope_missing`, like a
 * route rule's), or null when it grants them all.
 */
export function scopeRefusal(decision, scopes) {
  const missing = scopes.filter((s) => !hasScope(decision, s));
  if (missing.length === 0) return null;
  const d = {
    allowed: false,
    status: SCOPE_MISSING.status,
    reason: SCOPE_MISSING.code,
    message: `key ${JSON.stringify(decision?.keyId ?? null)} lacks scope ${missing.join(', ')} required here`,
  };
  if (decision?.keyId) d.keyId = decision.keyId;
  if (decision?.route !== undefined) d.route = decision.route;
  if (decision?.path !== undefined) d.path = decision.path;
  d.headers = EMPTY;
  return Object.freeze(d);
}
