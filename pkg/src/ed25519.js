// Ed25519 through the runtime's WebCrypto. The wasm module parses the signature, builds its
// base, applies the policy and the checks `verify_strict` makes on the encodings (S below the
// group order, R not of small order; the key's own encoding was checked when the set loaded),
// then leaves only the curve equation to `crypto.subtle.verify`, which is native and faster
// than the module's (src/sig/ed25519.rs has the measurements behind this split). Where
// WebCrypto has no Ed25519, or fails its self-test, the module verifies itself.
//
// Imported keys are cached by their 32 public key bytes (an Ed25519Keys, one per Keygate),
// never by a key's index: an index names another key after an update, and a cache keyed by it
// would verify one key's signatures with another's public key. At most MAX_KEYS are kept (the
// oldest is dropped first; the one used last is also held beside them), so a key set of
// 100,000 keys pins no more than that.

const MAX_KEYS = 4096;

// RFC 8032 §7.1 TEST 1: the public key, and the signature of the empty message (decoded when
// the self-test runs, not when the package is imported).
const TEST_KEY = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const TEST_SIG =
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';

function hex(s) {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** undefined: not tried yet; then whether WebCrypto verifies Ed25519 correctly here. */
let support;
let detecting = null;

async function detect() {
  try {
    const subtle = globalThis.crypto?.subtle;
    if (!subtle) return false;
    const sig = hex(TEST_SIG);
    const key = await subtle.importKey('raw', hex(TEST_KEY), { name: 'Ed25519' }, false, ['verify']);
    const good = await subtle.verify('Ed25519', key, sig, new Uint8Array(0));
    const flipped = sig.slice();
    flipped[0] ^= 1;
    const bad = await subtle.verify('Ed25519', key, flipped, new Uint8Array(0));
    return good === true && bad === false;
  } catch {
    return false;
  }
}

/** Whether to let the module leave Ed25519 to this runtime (true until shown otherwise). */
export function externalEd25519() {
  return support !== false;
}

/** The cache key of a public key: its 32 bytes as a string (one char per byte). */
function keyName(pk) {
  return String.fromCharCode.apply(null, pk);
}

/** One Keygate's imported keys, by `keyName` (a promise while in flight); the last one by its bytes. */
export class Ed25519Keys {
  #map = new Map();
  #pk = new Uint8Array(32);
  #key = null;

  /** The imported key of the first 32 bytes of `job`, or undefined (none yet, or in flight). */
  ready(job) {
    const pk = this.#pk;
    let i = 0;
    if (this.#key !== null) while (i < 32 && pk[i] === job[i]) i++;
    if (i === 32) return this.#key;
    const key = this.#map.get(keyName(job.subarray(0, 32)));
    if (key === undefined || key instanceof Promise) return undefined;
    return this.#last(job, key);
  }

  #last(job, key) {
    this.#pk.set(job.subarray(0, 32));
    return (this.#key = key);
  }

  /** The key of `pk` (owned by the caller), imported once. */
  async import(pk) {
    const name = keyName(pk);
    let key = this.#map.get(name);
    if (key === undefined) {
      if (this.#map.size >= MAX_KEYS) this.#map.delete(this.#map.keys().next().value);
      this.#map.set(name, (key = crypto.subtle.importKey('raw', pk, { name: 'Ed25519' }, false, ['verify'])));
      try {
        key = await key;
      } finally {
        // Kept unless it failed or was dropped meanwhile.
        if (this.#map.has(name)) this.#map.set(name, key);
        if (key instanceof Promise) this.#map.delete(name);
      }
    } else key = await key;
    return this.#last(pk, key);
  }

  /** Forgets a key WebCrypto failed with. */
  drop(key) {
    if (this.#key === key) this.#key = null;
    for (const [name, k] of this.#map) if (k === key) this.#map.delete(name);
  }

  get size() {
    return this.#map.size;
  }
}

const answer = (ok) => (ok ? 1 : 0);

/**
 * Answers the module's Ed25519 job (key, signature, message: 32 + 64 + rest bytes; a view of its
 * memory, read before this returns): 1 valid, 0 invalid, 2 cannot say (the module verifies). With
 * the key imported, the views go to `crypto.subtle.verify` at once (WebCrypto copies its
 * arguments before it returns); else the job is copied and waits for the import.
 */
export function verifyEd25519(job, keys) {
  const key = support === true ? keys.ready(job) : undefined;
  if (key === undefined) return verifyCopy(job.slice(), keys);
  const fail = () => {
    keys.drop(key);
    return 2;
  };
  try {
    return crypto.subtle.verify('Ed25519', key, job.subarray(32, 96), job.subarray(96)).then(answer, fail);
  } catch {
    return Promise.resolve(fail());
  }
}

/** `verifyEd25519` for a job copied out of the module's memory. */
async function verifyCopy(job, keys) {
  if (support !== true) {
    if (support === undefined) {
      detecting ??= detect();
      support = await detecting;
    }
    if (!support) return 2;
  }
  let key;
  try {
    key = await keys.import(job.slice(0, 32));
    return answer(await crypto.subtle.verify('Ed25519', key, job.subarray(32, 96), job.subarray(96)));
  } catch {
    if (key !== undefined) keys.drop(key);
    return 2;
  }
}
