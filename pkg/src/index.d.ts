// keygate: verify API keys at the edge against a pushed key set (Rust compiled to wasm).
// Hand-written declarations: this file is the public contract of the package.

/** Every code a KeygateError can carry (a closed union). */
export type KeygateErrorCode =
  | 'ERR_KEYSET_INVALID'
  | 'ERR_ENVELOPE_INVALID'
  | 'ERR_ENVELOPE_SIGNATURE'
  | 'ERR_KEYSET_ROLLBACK'
  | 'ERR_INVALID_OPTIONS'
  | 'ERR_REQUEST_INVALID';

export declare const ERROR_CODES: readonly KeygateErrorCode[];

/** One key set error: the JSON path of the offending value and what is wrong with it. */
export interface KeySetError {
  readonly path: string;
  readonly message: string;
}

/** Thrown when input cannot be processed at all. A refusal is a Decision, never an error. */
export declare class KeygateError extends Error {
  readonly name: 'KeygateError';
  readonly code: KeygateErrorCode;
  /** Every key set error (`ERR_KEYSET_INVALID`), else empty. */
  readonly errors: readonly KeySetError[];
  /** The revision in use, on `ERR_KEYSET_ROLLBACK`. */
  readonly currentRevision?: number;
  constructor(
    code: KeygateErrorCode,
    message: string,
    extra?: { errors?: readonly KeySetError[]; currentRevision?: number; cause?: unknown },
  );
}

/** The documented reason codes of this release (docs/reasons.md). */
export type ReasonCode =
  | 'malformed_request'
  | 'missing_credentials'
  | 'malformed_credentials'
  | 'unknown_key'
  | 'key_disabled'
  | 'key_revoked'
  | 'key_expired'
  | 'key_not_yet_valid'
  | 'ip_denied'
  | 'ip_not_allowed'
  | 'scope_missing'
  | 'route_denied'
  | 'signature_required'
  | 'signature_invalid'
  | 'signature_expired'
  | 'signature_too_old'
  | 'signature_in_future'
  | 'components_missing'
  | 'digest_missing'
  | 'digest_mismatch'
  | 'nonce_missing'
  | 'nonce_replayed'
  | 'algorithm_mismatch'
  | 'key_mismatch'
  | 'keyset_stale'
  | 'keyset_unavailable';

export interface AllowedDecision {
  readonly allowed: true;
  readonly status: 200;
  /** The identified key; null on a public route (credentials are not examined there). */
  readonly keyId: string | null;
  /** The key's scopes (empty on a public route). */
  readonly scopes: readonly string[];
  /** The route pattern that matched, when one did. */
  readonly route?: string;
}

export interface RefusedDecision {
  readonly allowed: false;
  /** 401 when the credentials do not authenticate, 403 when they do but may not pass. */
  readonly status: number;
  readonly reason: ReasonCode;
  /** Human-readable explanation; never contains a secret. */
  readonly message: string;
  /** The identified key, when known. */
  readonly keyId?: string;
  readonly route?: string;
  /** Headers to send with the refusal (`WWW-Authenticate` on 401s). */
  readonly headers: Readonly<Record<string, string>>;
}

export type Decision = AllowedDecision | RefusedDecision;

/** A key set: JSON text, a parsed object, UTF-8 bytes, or a JWS envelope (text or object). */
export type KeySetInput = string | object | Uint8Array | ArrayBuffer;

/** A lint warning: the set loads, but something deserves attention (docs/keyset.md). */
export interface KeySetWarning {
  readonly code: string;
  readonly path: string;
  readonly message: string;
}

/**
 * Pinned Ed25519 publisher keys: base64url raw public keys and/or JWK objects, or the
 * KEYGATE_PUBLISHER_KEYS text (comma-separated base64url keys, a JWK or a JWKS).
 */
export type PublisherKeys = string | readonly (string | PublisherJwk)[];

export interface PublisherJwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly x: string;
  readonly kid?: string;
}

export interface LoadOptions {
  /** When given, only JWS envelopes signed by one of these keys load (now and on update). */
  publisherKeys?: PublisherKeys;
  /** Called with each lint warning of a loaded set (the set still loads). */
  onWarning?: (warning: KeySetWarning) => void;
}

/** A request as `verify` reads it: a Web Request, or anything with these three fields. */
export interface RequestLike {
  readonly method: string;
  /** The absolute URL. */
  readonly url: string;
  readonly headers: Headers | Record<string, string> | [string, string][];
}

export interface VerifyOptions {
  /** The client's address. A key with an allow list refuses a request whose address is unknown. */
  clientIp?: string | null;
  /** The time of the decision (default: now). */
  now?: Date | number;
}

export interface KeySetInfo {
  readonly revision: number;
  readonly issuedAt: string | null;
  /** The set's own expiry (past it requests get 503 keyset_stale, unless it serves stale). */
  readonly expiresAt: string | null;
  /** Number of keys. */
  readonly keys: number;
  /** base64url SHA-256 of the key set text. */
  readonly payloadSha256: string;
}

export interface UpdateResult {
  /** False when the same revision with the same content was pushed again (a no-op). */
  readonly changed: boolean;
  readonly revision: number;
}

export declare class Keygate {
  private constructor();
  /** Validates a key set and returns a verifier; throws KeygateError `ERR_KEYSET_INVALID`. */
  static load(keySet: KeySetInput, options?: LoadOptions): Promise<Keygate>;
  /** Decides one request. A refusal resolves; only unusable input rejects. */
  verify(request: Request | RequestLike, options?: VerifyOptions): Promise<Decision>;
  /**
   * Atomically swaps in a newer revision; on any error throws KeygateError
   * (`ERR_KEYSET_INVALID`, `ERR_KEYSET_ROLLBACK`) and keeps the set in use.
   */
  update(next: KeySetInput): Promise<UpdateResult>;
  readonly info: KeySetInfo;
  readonly revision: number;
}

export interface GenerateApiKeyOptions {
  /** `[a-z][a-z0-9]*(_[a-z0-9]+)*`, e.g. `kg_live` (default `kg`). */
  prefix?: string;
  /** The entry's id (default: the prefix and 8 random characters). */
  id?: string;
}

export interface GeneratedApiKey {
  /** The plain key: hand it to the client once, never store it. */
  readonly key: string;
  /** The key set entry: only the digest. */
  readonly entry: { id: string; api_key_hash: string };
}

export declare function generateApiKey(options?: GenerateApiKeyOptions): GeneratedApiKey;

/** `sha256:<base64url of SHA-256 over the key's UTF-8 bytes>`. */
export declare function hashApiKey(key: string): string;

/** Validates a key set without loading it; warnings are judged at `now` (default: now). */
export declare function checkKeySet(
  keySet: KeySetInput,
  options?: { now?: Date | number },
): {
  valid: boolean;
  errors: KeySetError[];
  warnings: KeySetWarning[];
};
