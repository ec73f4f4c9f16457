// Ed25519 through the runtime's WebCrypto. The wasm module parses the signature, builds its
// base, applies the policy and the checks `verify_strict` makes on the encodings (S below the
// group order, R not of small order; the key's own encoding was checked when the set loaded),
// then leaves only the curve equation to `crypto.subtle.verify`, which is native and faster
// than the module's (src/sig/ed25519.rs has the measurements behind this split). Where
// WebCrypto has no Ed25519, or fails its self-test, the module verifies itself.
//
// Imported keys are cached per key set and key (the caller's map: a KeyTable's), at most
// MAX_KEYS (the oldest is dropped first), so a key set of 100,000 keys pins no more than that.

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

/**
 * Answers an Ed25519 job of the module (public key, signature and message, 32 + 64 + rest
 * bytes, a copy) with the key cached in `keys` under `slot` (a KeyTable's: per key set):
 * 1 valid, 0 invalid, 2 when this runtime cannot say (the module then verifies it).
 */
export async function verifyEd25519(job, keys, slot) {
  if (support !== true) {
    if (support === undefined) {
      detecting ??= detect();
      support = await detecting;
    }
    if (!support) return 2;
  }
  try {
    let key = keys.get(slot);
    if (key === undefined) {
      if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value);
      key = crypto.subtle.importKey('raw', job.slice(0, 32), { name: 'Ed25519' }, false, ['verify']);
      keys.set(slot, key);
      key = await key;
      keys.set(slot, key);
    } else if (key instanceof Promise) {
      key = await key;
    }
    return (await crypto.subtle.verify('Ed25519', key, job.subarray(32, 96), job.subarray(96))) ? 1 : 0;
  } catch {
    keys.delete(slot);
    return 2;
  }
}
