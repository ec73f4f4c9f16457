// keygate: verify API keys and request signatures at the edge against a pushed key set
// (Rust compiled to wasm).
// Hand-written declarations: this file is the public contract of the package.

/** Every code a KeygateError can carry (a closed union). */
export type KeygateErrorCode =
  | 'ERR_KEYSET_INVALID'
  | 'ERR_ENVELOPE_INVALID'
  | 'ERR_ENVELOPE_SIGNATURE'
  | 'ERR_KEYSET_ROLLBACK'
  /** The set does not name the `audience` this verifier serves. */
  | 'ERR_AUDIENCE_MISMATCH'
  /** A set given with `maxAgeSeconds` (a push) has no `issued_at`, or one too old or in the future. */
  | 'ERR_ENVELOPE_STALE'
  /** A delta names another base than the set in use (a missed delta, or a fork): load the full set. */
  | 'ERR_DELTA_BASE'
  /** 4096 deltas (or 16 MiB of them) were applied since the last full set: update with a full set. */
  | 'ERR_DELTA_CHAIN_FULL'
  | 'ERR_INVALID_OPTIONS'
  | 'ERR_REQUEST_INVALID'
  /** A signing key is unusable (wrong form, length or algorithm). */
  | 'ERR_KEY_INVALID'
  /** A request cannot be signed as asked (label in use, a covered component absent, ...). */
  | 'ERR_SIGN_FAILED'
  /** The `nonceStore` threw or did not resolve to a boolean: the request is not decided. */
  | 'ERR_NONCE_STORE'
  /** A signed body that would be hashed is larger than `maxBodyBytes` (`verify`). */
  | 'ERR_BODY_TOO_LARGE'
  /** The wasm module trapped; it was re-instantiated with the last good key set. */
  | 'ERR_INTERNAL'
  /**
   * 4096 decisions of this verifier already wait (for a body, the runtime's Ed25519 or a
   * nonce store): the request is not decided (the middleware answers 503).
   */
  | 'ERR_VERIFIER_BUSY'
  /** `keygate/init` only: a call before `initWasm` resolved. */
  | 'ERR_WASM_NOT_INITIALIZED'
  /** `keygate/init` only: `initWasm` could not fetch, compile or instantiate the module. */
  | 'ERR_WASM_INIT_FAILED'
  /**
   * Sharded mode: a shard the request needs could not be loaded (`shards.load` failed, it did
   * not hash to the digest the signed manifest names, twice, or the cold-load budget is spent):
   * the request is not decided (the middleware answers 503 `shard_unavailable`).
   */
  | 'ERR_SHARD_UNAVAILABLE'
  /**
   * A body `verify` reads before it decides (a webhook delivery's, a signed request's digests)
   * did not arrive whole within `bodyTimeoutSeconds` of the start of its read: the read is
   * stopped (the middleware answers 408 `body_timeout`). The error carries `timeoutSeconds`.
   */
  | 'ERR_BODY_TIMEOUT';

/** The wire codes of a refused key set push (docs/reasons.md), with their HTTP status. */
export type KeySetErrorWireCode =
  | 'envelope_invalid'
  | 'envelope_signature_invalid'
  | 'keyset_invalid'
  | 'audience_mismatch'
  | 'keyset_rollback'
  | 'envelope_stale'
  | 'delta_base_mismatch'
  | 'delta_chain_full';

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
  /** The revision in use, on `ERR_KEYSET_ROLLBACK` and `ERR_DELTA_BASE`. */
  readonly currentRevision?: number;
  /** The payload digest of the set in use, on `ERR_DELTA_BASE` (absent when unknown). */
  readonly currentPayloadSha256?: string;
  /** For a refused key set (load or update): the wire code a push endpoint answers with. */
  readonly error?: KeySetErrorWireCode;
  /** For a refused key set: the HTTP status for `error` (400, 401 or 409). */
  readonly status?: number;
  /** The deadline (seconds) a body missed, on `ERR_BODY_TIMEOUT`. */
  readonly timeoutSeconds?: number;
  constructor(
    code: KeygateErrorCode,
    message: string,
    extra?: {
      errors?: readonly KeySetError[];
      currentRevision?: number;
      currentPayloadSha256?: string;
      error?: KeySetErrorWireCode;
      status?: number;
      cause?: unknown;
    },
  );
}

/** The documented reason codes of this release (docs/reasons.md). */
export type ReasonCode =
  | 'malformed_request'
  | 'ambiguous_path'
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
  /**
   * The key's scopes as granted (empty on a public route): a grant ending in `*` covers a
   * prefix, so ask `hasScope(decision, scope)` rather than `scopes.includes(scope)`.
   */
  readonly scopes: readonly string[];
  /** The key's `name`; null when it has none (and on a public route). */
  readonly name: string | null;
  /** The key's `meta` object (frozen); null when it has none (and on a public route). */
  readonly meta: Readonly<Record<string, unknown>> | null;
  /** When the key expires (RFC 3339, like `KeySetInfo.expiresAt`); null when it does not. */
  readonly expiresAt: string | null;
  /** The route pattern that matched, when one did. */
  readonly route?: string;
  /**
   * The request path as judged, in canonical form (`/v1/orders/7`): forward this spelling to
   * the origin (with the original query) so it acts on the path that was decided on.
   */
  readonly path?: string;
  /** The signature that proved the request (RFC 9421), when it was signed. */
  readonly signature?: VerifiedSignature;
  /** On a Standard Webhooks delivery: what identifies it (deduplicate retries on `id`). */
  readonly webhook?: WebhookDelivery;
}

/** An allowed Standard Webhooks delivery. */
export interface WebhookDelivery {
  /** `webhook-id`: stable across the sender's retries of one message. */
  readonly id: string;
  /** `webhook-timestamp`, Unix seconds. */
  readonly timestamp: number;
  /** The scheme of the key that verified it. */
  readonly scheme: WebhookScheme;
}

/** The verified signature of an allowed request. */
export interface VerifiedSignature {
  /** Its label in `Signature-Input`, e.g. `sig1`. */
  readonly label: string;
  /**
   * The covered components, spelled as `SignOptions.components` takes them (`@method`,
   * `content-digest`, `@query-param;name="id"`).
   */
  readonly components: readonly string[];
  /** Its parameters; times in Unix seconds, as signed. */
  readonly params: {
    readonly keyid: string;
    readonly alg?: SignatureAlgorithm;
    readonly created: number;
    readonly expires?: number;
    readonly nonce?: string;
    readonly tag?: string;
  };
}

/**
 * Whether an allowed decision's key grants `scope`, by the rule route scopes are checked with:
 * a grant ending in `*` grants every scope it is a prefix of (`orders:*` grants
 * `orders:write`), any other only itself. False for a refusal and on a public route.
 */
export declare function hasScope(decision: Decision, scope: string): boolean;

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
  /** The request path as judged; absent when the path itself was refused (`ambiguous_path`). */
  readonly path?: string;
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

/** An Ed25519 public JWK, as written or as `crypto.subtle.exportKey('jwk', publicKey)` gives it. */
export interface PublisherJwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  readonly x: string;
  readonly kid?: string;
  readonly alg?: 'EdDSA' | 'Ed25519';
  readonly use?: 'sig';
  readonly key_ops?: readonly 'verify'[];
  readonly ext?: boolean;
}

/** What a nonce claim comes from. */
export type NonceClaimKind =
  | 'signature'
  | 'webhook';

/** A nonce accepted by the verifier, to be claimed in a shared store. */
export interface NonceClaim {
  readonly keyId: string;
  readonly nonce: string;
  /** When the signature's acceptance window closes (ms since the epoch): keep it until then. */
  readonly expiresAt: number;
  /**
   * `signature`: an RFC 9421 nonce; `webhook`: a Standard Webhooks delivery, `nonce` being
   * `<webhook-id>.<webhook-timestamp>`. Key a store on kind, key and nonce.
   */
  readonly kind: NonceClaimKind;
}

/**
 * A shared replay store (e.g. a Durable Object), consulted after the per-isolate store for
 * every allowed request whose signature has a nonce. `claim` records the nonce atomically
 * and resolves to true when it was new, false when it was seen before (the request is then
 * refused as `nonce_replayed`). A rejection fails closed (`ERR_NONCE_STORE`).
 */
export interface NonceStore {
  claim(claim: NonceClaim): Promise<boolean>;
  /**
   * Optional: forgets a claim this store answered `true` to, when that request was then not
   * decided (it failed closed: `ERR_SHARD_UNAVAILABLE`, `ERR_VERIFIER_BUSY`, ...), so that it
   * may be sent again with the same nonce. Never called for an allowed or refused request.
   * Without it such a nonce stays used until its window ends.
   */
  release?(claim: NonceClaim): Promise<void>;
}

/** A seal key: a JWK `{kty: "oct", k, kid?}` of 256 bits (as `keygate keygen seal-key` prints it, or a WebCrypto AES-GCM export). */
export interface SealJwk {
  readonly kty: 'oct';
  readonly k: string;
  readonly kid?: string;
  readonly alg?: 'dir' | 'A256GCM';
  readonly use?: 'enc';
  readonly key_ops?: readonly ('encrypt' | 'decrypt')[];
  readonly ext?: boolean;
}

/** Seal keys: the KEYGATE_SEAL_KEYS text (a JWK or a JWKS), a JWK, a JWKS, or an array of JWKs. */
export type SealKeys = string | SealJwk | { readonly keys: readonly SealJwk[] } | readonly SealJwk[];

export interface LoadOptions {
  /** When given, only JWS envelopes signed by one of these keys load (now and on update). */
  publisherKeys?: PublisherKeys;
  /**
   * Open the set's sealed secrets (`"sealed": "<JWE>"`) with these keys, now and on update.
   * Without them a sealed secret is a load error (`ERR_KEYSET_INVALID`) at its JSON path.
   */
  sealKeys?: SealKeys;
  /**
   * The gateway this verifier serves (1 to 256 visible ASCII characters): only a set whose
   * `audience` names it loads, now and on update (`ERR_AUDIENCE_MISMATCH`).
   */
  audience?: string;
  /**
   * For this load only (a pushed set): the set must carry an `issued_at` at most this many
   * seconds old and not in the future beyond its clock skew (`ERR_ENVELOPE_STALE`).
   */
  maxAgeSeconds?: number;
  /** Called with each lint warning of a loaded set (the set still loads). */
  onWarning?: (warning: KeySetWarning) => void;
  /** The default shared replay store for `verify` (the per-isolate store is always used). */
  nonceStore?: NonceStore;
  /**
   * Required to load a sharded key set's manifest (`keygate keyset shard`; docs/deployment.md,
   * "Sharded mode"): where shards are read, and how many are held.
   */
  shards?: ShardOptions;
  /**
   * The deadline of a body `verify` reads before it decides, in seconds from the start of
   * that read (default 30; more than 0, at most 300), unless verify's options give one.
   */
  bodyTimeoutSeconds?: number;
}

/** Sharded mode: where a verifier reads the shards its decisions need, and its bounds. */
export interface ShardOptions {
  /**
   * Reads one shard by the SHA-256 (base64url) the signed manifest names for it. A shard is
   * used only when its bytes hash to that digest; one that does not is read once more with
   * `retry: true` (read it from the source of truth then), then the request fails closed.
   */
  load(shard: {
    readonly name: string;
    readonly sha256: string;
    readonly retry: boolean;
    /** Aborted when the read takes longer than `readTimeoutSeconds` (pass it to `fetch`). */
    readonly signal: AbortSignal;
  }): Promise<Uint8Array | ArrayBuffer>;
  /**
   * How long one read may take, in seconds (more than 0, at most 60; default 5). Past it the
   * requests waiting for the shard fail closed (`ERR_SHARD_UNAVAILABLE`, 503
   * `shard_unavailable` at the edge), the read is forgotten (the next request that needs the
   * shard reads it again) and what it answers later is dropped.
   */
  readTimeoutSeconds?: number;
  /** The most shards held (default 512, at least 9: all one request may need). */
  maxShards?: number;
  /** The most key entries held across shards (default 100,000). */
  maxKeys?: number;
  /** Cold shard reads per second, in a token bucket (default 50): every cold read takes from it. */
  loadsPerSecond?: number;
  /** The bucket's size (default 100). */
  burst?: number;
  /**
   * Of those, cold reads per second for shards only credentials not seen allowed by this
   * verifier want (an unknown API key, a made-up `keyid`), in a second bucket they also take
   * from (default half of `loadsPerSecond`, rounded up). A flood of unknown credentials then
   * takes at most this much; credentials seen allowed keep the rest.
   */
  unprovenLoadsPerSecond?: number;
  /** The second bucket's size (default half of `burst`, rounded up). */
  unprovenBurst?: number;
}

/** What a sharded verifier's shard cache holds and did (`Keygate#shards`). */
export interface ShardStats {
  /** Shards held now. */
  readonly held: number;
  /** Key entries held now, across shards. */
  readonly keys: number;
  readonly loads: number;
  /** Shards dropped to make room. */
  readonly evictions: number;
  /** Shards that did not hash to their digest or were invalid. */
  readonly refused: number;
  /** Keys changed by deltas since the manifest (applied to every shard as it loads). */
  readonly changed: number;
  /** The shard table's bits. */
  readonly bits: number;
  /** Keys in the whole set. */
  readonly totalKeys: number;
  /** Credentials remembered as seen allowed (at most 4096; kept across manifests). */
  readonly proven: number;
}

/** A request as `verify` and the signers read it: a Web Request, or these fields. */
export interface RequestLike {
  readonly method: string;
  /** The absolute URL. */
  readonly url: string;
  readonly headers: Headers | Record<string, string> | [string, string][];
  /** The body, when it matters (a signed request): bytes or text. */
  readonly body?: Uint8Array | ArrayBuffer | string | null;
}

export interface VerifyOptions {
  /** The client's address. A key with an allow list refuses a request whose address is unknown. */
  clientIp?: string | null;
  /** The time of the decision (default: now). */
  now?: Date | number;
  /** A shared replay store for this call (overrides the one given to `load`). */
  nonceStore?: NonceStore;
  /**
   * The largest signed body hashed, in bytes (default: no bound). A larger one rejects with
   * `ERR_BODY_TOO_LARGE` instead of being hashed: a declared Content-Length before any of it
   * is read, else at the chunk that crosses the bound. The middleware sets 8 MiB by default.
   */
  maxBodyBytes?: number;
  /**
   * The largest Standard Webhooks delivery body verified, in bytes (default 1 MiB, and never
   * more than `maxBodyBytes`): it is read before any proof. Larger: `ERR_BODY_TOO_LARGE`.
   */
  maxWebhookBodyBytes?: number;
  /**
   * How long a body read before the decision (a webhook delivery's, a signed body's for its
   * digests) may take to arrive whole, in seconds from the start of that read (default: the
   * `load` option, else 30; more than 0, at most 300). Past it the read is stopped (the
   * clone's reader cancelled) and `verify` rejects with `ERR_BODY_TIMEOUT`.
   */
  bodyTimeoutSeconds?: number;
}

export interface KeySetInfo {
  readonly revision: number;
  readonly issuedAt: string | null;
  /** The set's own expiry (past it requests get 503 keyset_stale, unless it serves stale). */
  readonly expiresAt: string | null;
  /** Number of keys. */
  readonly keys: number;
  /** Number of sealed secrets in the set (opened with `sealKeys`). */
  readonly sealed: number;
  /** The ids of the configured seal keys (never the keys). */
  readonly sealKeyIds: readonly string[];
  /**
   * base64url SHA-256 of the key set bytes (of an envelope: of its decoded payload). After a
   * delta: its `payload_sha256`, the digest of the full set it turned this one into.
   */
  readonly payloadSha256: string;
}

export interface UpdateOptions {
  /**
   * A pushed set: one that would replace the set in use must carry an `issued_at` at most
   * this many seconds old and not in the future beyond its clock skew (`ERR_ENVELOPE_STALE`).
   */
  maxAgeSeconds?: number;
}

export interface UpdateResult {
  /** False when the same revision with the same content was pushed again (a no-op). */
  readonly changed: boolean;
  readonly revision: number;
  /** What was given: a full set, a delta, or a sharded set's manifest. */
  readonly kind: 'full' | 'delta' | 'manifest';
}

export declare class Keygate {
  private constructor();
  /**
   * Validates a key set and returns a verifier; throws KeygateError (`ERR_KEYSET_INVALID`,
   * `ERR_ENVELOPE_INVALID`, `ERR_ENVELOPE_SIGNATURE`, `ERR_AUDIENCE_MISMATCH`,
   * `ERR_ENVELOPE_STALE`, `ERR_INVALID_OPTIONS`).
   */
  static load(keySet: KeySetInput, options?: LoadOptions): Promise<Keygate>;
  /**
   * Decides one request. A refusal resolves; only unusable input rejects. The body of a
   * signed request is streamed from a clone through the digest check; yours stays unread.
   */
  verify(request: Request | RequestLike, options?: VerifyOptions): Promise<Decision>;
  /**
   * Atomically swaps in a newer revision: a full set, or a delta (docs/keyset.md, "Deltas")
   * whose base is exactly the set in use. On any error throws KeygateError
   * (`ERR_ENVELOPE_INVALID`, `ERR_ENVELOPE_SIGNATURE`, `ERR_KEYSET_INVALID`,
   * `ERR_AUDIENCE_MISMATCH`, `ERR_KEYSET_ROLLBACK`, `ERR_DELTA_BASE`, `ERR_ENVELOPE_STALE`,
   * checked in that order, with `error` and `status`; `ERR_DELTA_CHAIN_FULL`) and keeps the
   * set in use. An envelope's payload is decoded only after its signature verified.
   */
  update(next: KeySetInput, options?: UpdateOptions): Promise<UpdateResult>;
  readonly info: KeySetInfo;
  readonly revision: number;
  /** Sharded mode: what the shard cache holds and did; null for a full key set. */
  readonly shards: ShardStats | null;
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
  options?: {
    now?: Date | number;
    /** Open sealed secrets with these keys; without, they are checked by form only. */
    sealKeys?: SealKeys;
  },
): {
  valid: boolean;
  errors: KeySetError[];
  warnings: KeySetWarning[];
};

/** The request signature algorithms (RFC 9421 registry names). */
export type SignatureAlgorithm = 'hmac-sha256' | 'ed25519';

/** An Ed25519 private JWK (`d` is the seed) or an HMAC JWK. */
export interface PrivateJwk {
  readonly kty: 'OKP' | 'oct';
  readonly crv?: 'Ed25519';
  readonly d?: string;
  readonly x?: string;
  readonly k?: string;
  readonly kid?: string;
  readonly alg?: string;
}

/**
 * `keygate keygen` output (the private half included), or `generateSigningKey()`'s result:
 * `key` is the secret (`private_key` / `secret`: its 0.1 CLI names, still printed).
 */
export interface KeygenOutput {
  readonly key?: string;
  readonly private_key?: string;
  readonly secret?: string;
  readonly signing: SigningEntry;
}

/**
 * A signing key: a base64url HMAC secret or Ed25519 seed (give `alg`), a `Uint8Array` (an
 * HMAC secret; an Ed25519 seed with `alg: 'ed25519'`), a private JWK or keygen output, or a
 * WebCrypto `CryptoKey` (Ed25519 private key or HMAC SHA-256 key; non-extractable works).
 */
export type SigningKeyInput = string | Uint8Array | PrivateJwk | KeygenOutput | CryptoKey;

export interface SignOptions {
  /** The key entry's id (the signature's `keyid` parameter). */
  keyId: string;
  key: SigningKeyInput;
  /** Needed for a bare base64url key; must agree with any other key form. */
  alg?: SignatureAlgorithm;
  /**
   * Covered components as in Signature-Input, without quotes around the name (default:
   * `@method`, `@target-uri`, plus `content-digest` with a body: the verifier's default).
   */
  components?: readonly string[];
  /** true: a fresh random nonce; a string: that nonce. */
  nonce?: boolean | string;
  /** Default: now. */
  created?: Date | number;
  expires?: Date | number;
  /** Default `sig1`. */
  label?: string;
  tag?: string;
}

export interface CreatedSignature {
  /** `Content-Digest` (with a body, when absent), `Signature-Input`, `Signature`: append each. */
  readonly headers: readonly (readonly [string, string])[];
  /** The signature base (RFC 9421 §2.5) that was signed. */
  readonly signatureBase: string;
}

/** A new Request: `request` with `Content-Digest`, `Signature-Input` and `Signature` added. */
export declare function signRequest(request: Request | RequestLike, options: SignOptions): Promise<Request>;

/** The fields that sign `request`, and the signature base (for tools and demos). */
export declare function createSignature(request: Request | RequestLike, options: SignOptions): Promise<CreatedSignature>;

/** The `signing` object of a key set entry. */
export type SigningEntry =
  | { readonly alg: 'ed25519'; readonly public_key: string }
  | { readonly alg: 'hmac-sha256'; readonly secret: string };

export interface GeneratedSigningKey {
  /** The secret: base64url HMAC secret or Ed25519 seed. Keep it with the client. */
  readonly key: string;
  /** Put this into the client's key entry as `signing`. */
  readonly signing: SigningEntry;
}

export declare function generateSigningKey(options: { alg: SignatureAlgorithm }): GeneratedSigningKey;

/**
 * Signs a (valid) key set or delta document into a JWS envelope (JSON text) for pushing. `privateKey`:
 * `keygate keygen ed25519` output (text or object), an Ed25519 JWK with `d`, or a base64url
 * seed. `kid` names the publisher key in the protected header.
 */
export declare function signKeySet(
  keySet: KeySetInput,
  privateKey: string | Uint8Array | PrivateJwk | KeygenOutput,
  options?: { kid?: string },
): string;

/** The Standard Webhooks signature schemes: `v1` HMAC-SHA256, `v1a` Ed25519. */
export type WebhookScheme =
  | 'v1'
  | 'v1a';

/**
 * A key that signs webhooks: `whsec_…` (v1) or `whsk_…` (v1a) text, a `Uint8Array` (a raw v1
 * secret of 24 to 64 bytes), or `generateWebhookKey()`'s result.
 */
export type WebhookSigningKey = string | Uint8Array | { readonly key: string };

export interface SignWebhookOptions {
  /** One key, or several (one token each, in order: the sender's side of a rotation). */
  key: WebhookSigningKey | readonly WebhookSigningKey[];
  /** The delivery's bytes, exactly as sent (text is UTF-8). */
  body: string | Uint8Array | ArrayBuffer;
  /** Default: `msg_` and 27 random characters. 1 to 256 visible ASCII characters, no `.`. */
  id?: string;
  /** Default: now (floored to seconds). */
  timestamp?: Date | number;
}

/** The three fields of a signed delivery, ready for `fetch`'s `headers`. */
export interface WebhookHeaders {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

/** Signs a Standard Webhooks delivery over `<id>.<timestamp>.<body>`. */
export declare function signWebhook(options: SignWebhookOptions): Promise<WebhookHeaders>;

/** The `webhook` object of a key set entry. */
export type WebhookEntry =
  | { readonly secret: string }
  | { readonly public_key: string }
  | { readonly sealed: string };

export interface GeneratedWebhookKey {
  /** `whsec_…` (v1) or `whsk_…` (v1a): give it to the sender, once. */
  readonly key: string;
  /** Put this into the key entry as `webhook` (`{secret}` v1: seal it; `{public_key}` v1a). */
  readonly webhook: WebhookEntry;
}

export declare function generateWebhookKey(options: { scheme: WebhookScheme }): GeneratedWebhookKey;
