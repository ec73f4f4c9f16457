// Generated from the Rust crate (src/codes.rs, Reason in src/decide/decision.rs): do not edit.
// `KEYGATE_BLESS=1 cargo test --test contracts` rewrites it; that test fails while it is stale.
// The wasm module sends a reason as its index in REASONS and an error as its index in
// ERROR_CODES; FINGERPRINT equals the module's `codesFingerprint()` when both come from one build.

/** Every reason: code, HTTP status, and the WWW-Authenticate challenge of a 401. */
export const REASONS = Object.freeze([
  Object.freeze({ code: 'malformed_request', status: 400, wwwAuthenticate: null }),
  Object.freeze({ code: 'ambiguous_path', status: 400, wwwAuthenticate: null }),
  Object.freeze({ code: 'missing_credentials', status: 401, wwwAuthenticate: 'Bearer realm="keygate"' }),
  Object.freeze({ code: 'malformed_credentials', status: 401, wwwAuthenticate: 'Bearer realm="keygate", error="invalid_token", error_description="malformed_credentials"' }),
  Object.freeze({ code: 'unknown_key', status: 401, wwwAuthenticate: 'Bearer realm="keygate", error="invalid_token", error_description="unknown_key"' }),
  Object.freeze({ code: 'key_disabled', status: 401, wwwAuthenticate: 'Bearer realm="keygate", error="invalid_token", error_description="key_disabled"' }),
  Object.freeze({ code: 'key_revoked', status: 401, wwwAuthenticate: 'Bearer realm="keygate", error="invalid_token", error_description="key_revoked"' }),
  Object.freeze({ code: 'key_expired', status: 401, wwwAuthenticate: 'Bearer realm="keygate", error="invalid_token", error_description="key_expired"' }),
  Object.freeze({ code: 'key_not_yet_valid', status: 401, wwwAuthenticate: 'Bearer realm="keygate", error="invalid_token", error_description="key_not_yet_valid"' }),
  Object.freeze({ code: 'ip_denied', status: 403, wwwAuthenticate: null }),
  Object.freeze({ code: 'ip_not_allowed', status: 403, wwwAuthenticate: null }),
  Object.freeze({ code: 'scope_missing', status: 403, wwwAuthenticate: null }),
  Object.freeze({ code: 'route_denied', status: 403, wwwAuthenticate: null }),
  Object.freeze({ code: 'signature_required', status: 401, wwwAuthenticate: 'Bearer realm="keygate", error="invalid_token", error_description="signature_required"' }),
  Object.freeze({ code: 'signature_invalid', status: 401, wwwAuthenticate: 'Bearer realm="keygate", error="invalid_token", error_description="signature_invalid"' }),
  Object.freeze({ code: 'signature_expired', status: 401, wwwAuthenticate: 'Bearer realm="keygate", error="invalid_token", error_description="signature_expired"' }),
  Object.freeze({ code: 'signature_too_old', status: 401, wwwAuthenticate: 'Bearer realm="keygate", error="invalid_token", error_description="signature_too_old"' }),
  Object.freeze({ code: 'signature_in_future', status: 401, wwwAuthenticate: 'Bearer realm="keygate", error="invalid_token", error_description="signature_in_future"' }),
  Object.freeze({ code: 'components_missing', status: 401, wwwAuthenticate: 'Bearer realm="keygate", error="invalid_token", error_description="components_missing"' }),
  Object.freeze({ code: 'digest_missing', status: 401, wwwAuthenticate: 'Bearer realm="keygate", error="invalid_token", error_description="digest_missing"' }),
  Object.freeze({ code: 'digest_mismatch', status: 401, wwwAuthenticate: 'Bearer realm="keygate", error="invalid_token", error_description="digest_mismatch"' }),
  Object.freeze({ code: 'nonce_missing', status: 401, wwwAuthenticate: 'Bearer realm="keygate", error="invalid_token", error_description="nonce_missing"' }),
  Object.freeze({ code: 'nonce_replayed', status: 401, wwwAuthenticate: 'Bearer realm="keygate", error="invalid_token", error_description="nonce_replayed"' }),
  Object.freeze({ code: 'algorithm_mismatch', status: 401, wwwAuthenticate: 'Bearer realm="keygate", error="invalid_token", error_description="algorithm_mismatch"' }),
  Object.freeze({ code: 'key_mismatch', status: 401, wwwAuthenticate: 'Bearer realm="keygate", error="invalid_token", error_description="key_mismatch"' }),
  Object.freeze({ code: 'keyset_stale', status: 503, wwwAuthenticate: null }),
  Object.freeze({ code: 'keyset_unavailable', status: 503, wwwAuthenticate: null }),
]);

/** The closed set of KeygateError codes (index.d.ts `KeygateErrorCode`). */
export const ERROR_CODES = Object.freeze([
  'ERR_KEYSET_INVALID',
  'ERR_ENVELOPE_INVALID',
  'ERR_ENVELOPE_SIGNATURE',
  'ERR_KEYSET_ROLLBACK',
  'ERR_AUDIENCE_MISMATCH',
  'ERR_ENVELOPE_STALE',
  'ERR_DELTA_BASE',
  'ERR_DELTA_CHAIN_FULL',
  'ERR_INVALID_OPTIONS',
  'ERR_REQUEST_INVALID',
  'ERR_KEY_INVALID',
  'ERR_SIGN_FAILED',
  'ERR_NONCE_STORE',
  'ERR_BODY_TOO_LARGE',
  'ERR_INTERNAL',
  'ERR_VERIFIER_BUSY',
  'ERR_WASM_NOT_INITIALIZED',
  'ERR_WASM_INIT_FAILED',
  'ERR_SHARD_UNAVAILABLE',
  'ERR_BODY_TIMEOUT',
]);

/** The wire codes of a refused key set, with their HTTP status (index.d.ts `KeySetErrorWireCode`). */
export const KEYSET_WIRE_STATUS = Object.freeze({
  envelope_invalid: 400,
  envelope_signature_invalid: 401,
  keyset_invalid: 400,
  audience_mismatch: 400,
  keyset_rollback: 409,
  envelope_stale: 409,
  delta_base_mismatch: 409,
  delta_chain_full: 409,
});

/** The kinds of a nonce claim (index.d.ts `NonceClaimKind`). */
export const CLAIM_KINDS = Object.freeze(['signature', 'webhook']);

/** The Standard Webhooks schemes (index.d.ts `WebhookScheme`). */
export const WEBHOOK_SCHEMES = Object.freeze(['v1', 'v1a']);

export const FINGERPRINT = 0x22a9d370;
