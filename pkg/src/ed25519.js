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

// RFC 8032 §7.1 TEST 1: the public key, and the signature of the empty message.
const TEST_KEY = hex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
const TEST_SIG = hex(
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
);

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
    const key = await subtle.importKey('raw', TEST_KEY, { name: 'Ed25519' }, false, ['verify']);
    const good = await subtle.verify('Ed25519', key, TEST_SIG, new Uint8Array(0));
    const flipped = TEST_SIG.slice();
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

/**
 * The public keys one Keygate imported, by their 32 bytes (a Map by `keyName`; a value is the
 * import's promise until it settles). The key used last is also kept beside its bytes, so a
 * run of requests under one key finds it with a 32-byte comparison instead of a new string
 * and a map lookup.
 */
export class Ed25519Keys {
  #map = new Map();
  #lastPk = new Uint8Array(32);
  #lastKey = null;

  /**
   * The imported key whose bytes are the first 32 of `job` (a job, or a public key), or
   * undefined (not imported, or its import in flight).
   */
  ready(job) {
    const last = this.#lastPk;
    if (this.#lastKey !== null) {
      let same = true;
      for (let i = 0; i < 32; i++) {
        if (job[i] !== last[i]) {
          same = false;
          break;
        }
      }
      if (same) return this.#lastKey;
    }
    const pk = job.subarray(0, 32);
    const key = this.#map.get(keyName(pk));
    if (key === undefined || key instanceof Promise) return undefined;
    this.#remember(pk, key);
    return key;
  }

  #remember(pk, key) {
    this.#lastPk.set(pk);
    this.#lastKey = key;
  }

  /** The key for `pk` (a copy the caller owns), imported once; its promise while in flight. */
  async import(pk) {
    const name = keyName(pk);
    let key = this.#map.get(name);
    if (key === undefined) {
      if (this.#map.size >= MAX_KEYS) this.#map.delete(this.#map.keys().next().value);
      key = crypto.subtle.importKey('raw', pk, { name: 'Ed25519' }, false, ['verify']);
      this.#map.set(name, key);
      try {
        key = await key;
      } catch (e) {
        this.#map.delete(name);
        throw e;
      }
      // Unless it was dropped meanwhile (the map was full).
      if (this.#map.get(name) !== undefined) this.#map.set(name, key);
    } else if (key instanceof Promise) {
      key = await key;
    }
    this.#remember(pk, key);
    return key;
  }

  /** Forgets a key WebCrypto failed with (it is imported again next time). */
  drop(key) {
    if (this.#lastKey === key) this.#lastKey = null;
    for (const [name, k] of this.#map) if (k === key) this.#map.delete(name);
  }

  /** How many keys are held (tests). */
  get size() {
    return this.#map.size;
  }
}

const answer = (ok) => (ok ? 1 : 0);

/**
 * Answers an Ed25519 job of the module: `job` is the public key, signature and message
 * (32 + 64 + rest bytes), a view into the module's memory, read before this returns (never
 * after an await: the next call overwrites it). Resolves to 1 valid, 0 invalid, 2 when this
 * runtime cannot say (the module then verifies it).
 *
 * With the key already imported, `crypto.subtle.verify` is called at once on views of the
 * job: WebCrypto copies its BufferSource arguments before it returns (the "get a copy of the
 * bytes held by" step of every SubtleCrypto method), so nothing is copied here. Otherwise (the
 * first request under a key, or before the runtime's self-test ran) the job is copied and
 * answered after the key's import.
 */
export function verifyEd25519(job, keys) {
  if (support === true) {
    const key = keys.ready(job);
    if (key !== undefined) {
      let pending;
      try {
        pending = crypto.subtle.verify('Ed25519', key, job.subarray(32, 96), job.subarray(96));
      } catch {
        keys.drop(key);
        return Promise.resolve(2);
      }
      return pending.then(answer, () => {
        keys.drop(key);
        return 2;
      });
    }
  }
  return verifyCopy(job.slice(), keys);
}

/** `verifyEd25519` for a job copied out of the module's memory (`job` is owned). */
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
