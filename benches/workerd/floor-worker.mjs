// The floor side of the bench Worker (BENCH_PARTS=floor, floors.mjs drives it): for each case,
// the bare WebCrypto work of that case plus only what keygate's contract obliges ANY verifier
// to do with the runtime's objects, done in the cheapest way found, with no wasm and no
// keygate code. It is given the same fresh Request keygate's `gate.verify` gets.
//
// What every case pays, and why no verifier with keygate's guarantees can skip it:
//   - `request.method` and `request.url`, each read once: the route (and so the decision)
//     depends on both, and a signature covers both.
//   - every header field visited once, with `headers.forEach` (measured cheapest in workerd:
//     one native call, no iterator and no [name, value] array per field; BENCHMARKS.md
//     "Reading only the header fields a decision needs"), with the least a visit can do per
//     field: count it, add its length, look for `_` in its name. keygate must: it refuses
//     requests over 256 fields or 64 KiB of fields (bounds of its own: a Request built in a
//     Worker has none) and refuses a `_` spelling of a field it reads (`X_API_Key`), which
//     CGI-style origins read as the same field (docs/security.md). The few fields the case reads
//     are picked up in the same visit by name (10–20 % cheaper than the visit then
//     `headers.get`; BENCHMARKS.md "The floor under each target").
// What the credential costs on top:
//   - API key: the Bearer value's text encoded to bytes (into a reused buffer) and hashed with
//     SHA-256 (keygate stores digests only), as the bare side hashes bytes it already holds.
//   - signed cases: the signature's bytes decoded from the `Signature` field, and the
//     signature base built from the request (`@method`, `@target-uri`, `content-digest` for a
//     body, and `@signature-params` taken from `Signature-Input` as it is), as bytes; then the
//     same `crypto.subtle.verify` as the bare side, which must succeed.
//   - a body: read from a clone (`clone().arrayBuffer()`, the cheapest way measured that leaves
//     the caller's body unread, "The waiting path"), hashed with `crypto.subtle.digest`, and
//     compared with the digest decoded from `Content-Digest`, after the signature check.
// Left out, though a verifier honouring the contract must do them (so the floor is a LOWER
// bound: a target under it cannot be met, one over it is not thereby shown reachable): finding
// the key (by the key's digest, by `keyid`), parsing the Structured Fields (the covered
// components, `created`, `expires`, `alg`) and checking them against the policy and the clock,
// matching the route and its scopes, checking the key's state, building the Decision; and the
// other fields keygate reads (`X-API-Key`, the method overrides, ...): the floor reads four.
//
// The `duties` side is the floor without its cryptography (see floorRun).

const MAX_FIELDS = 256;
const MAX_FIELD_BYTES = 64 * 1024;
// The fields the floor reads: a `_` spelling of one of them is a refusal.
const READ = new Set(['authorization', 'signature', 'signature-input', 'content-digest']);

const encoder = new TextEncoder();
// The API key's bytes: encoded into one reused buffer (cheaper than `encode`'s new array;
// `crypto.subtle.digest` copies its input before it returns). keygate refuses keys over 512
// bytes, and the bench's key is far shorter than this buffer.
const keyBuffer = new Uint8Array(1024);

// One header visit's state, in module variables so that the callback is one function made
// once, not a closure per request.
let fields = 0;
let fieldBytes = 0;
let underscore = false;
let authorization = null;
let signature = null;
let signatureInput = null;
let contentDigest = null;

function visit(value, name) {
  fields++;
  fieldBytes += name.length + value.length;
  if (name.indexOf('_') !== -1 && READ.has(name.replaceAll('_', '-'))) underscore = true;
  // forEach names are lower case; most fields are none of the four, and differ at once.
  switch (name) {
    case 'authorization':
      authorization = value;
      break;
    case 'signature':
      signature = value;
      break;
    case 'signature-input':
      signatureInput = value;
      break;
    case 'content-digest':
      contentDigest = value;
      break;
  }
}

/** Visits every field of `headers` once: whether keygate would let the request past them. */
function visitAll(headers) {
  fields = 0;
  fieldBytes = 0;
  underscore = false;
  authorization = signature = signatureInput = contentDigest = null;
  headers.forEach(visit);
  return fields <= MAX_FIELDS && fieldBytes <= MAX_FIELD_BYTES && !underscore;
}

/** The bytes of a byte sequence `:base64:` (RFC 8941) after `at`, or null. */
function byteSequence(text, at) {
  const end = text.length - 1;
  if (end <= at || text.charCodeAt(at) !== 58 || text.charCodeAt(end) !== 58) return null;
  return Uint8Array.fromBase64(text.slice(at + 1, end));
}

/**
 * The floor of case `name` (a base case: `hmac_get` also serves `hmac_get_20h`) over fresh
 * Requests; `bench` is the Worker's state from /setup (the WebCrypto keys imported once, as the
 * bare side has them). Every check must pass, or the slice fails with `fail()`.
 *
 * `withCrypto` false (the `duties` side): the same work without its cryptography (no digest of
 * the key, no signature verified, no body hashed; the key's, the signature's and the base's
 * bytes and the body are still made or read), so a lower bound whatever the cryptography
 * costs: WebCrypto's asynchronous calls are not the cheapest way to hash or MAC a few bytes
 * (keygate does that synchronously in wasm), so for the small cases the floor with WebCrypto
 * may sit above a verifier that does better.
 */
export function floorRun(name, bench, fail, withCrypto = true) {
  const subtle = crypto.subtle;
  if (name === 'api_key') {
    return async (requests) => {
      for (const request of requests) {
        const method = request.method;
        const url = request.url;
        if (!visitAll(request.headers) || method.length === 0 || url.length === 0) throw fail();
        if (authorization === null || !authorization.startsWith('Bearer ')) throw fail();
        const { written } = encoder.encodeInto(authorization.slice(7), keyBuffer);
        if (!withCrypto) {
          if (written === 0) throw fail();
        } else if ((await subtle.digest('SHA-256', keyBuffer.subarray(0, written))).byteLength !== 32) throw fail();
      }
    };
  }
  if (name === 'hmac_get' || name === 'ed25519_get') {
    const [alg, key] = name === 'hmac_get' ? ['HMAC', bench.hmacKey] : ['Ed25519', bench.edKey];
    return async (requests) => {
      for (const request of requests) {
        const method = request.method;
        const url = request.url;
        if (!visitAll(request.headers) || signature === null || signatureInput === null) throw fail();
        // `sig1=:…:` and `sig1=(…);created=…`: the label's length is known from the input field.
        const label = signatureInput.indexOf('=');
        const sig = byteSequence(signature, label + 1);
        const base = encoder.encode(`"@method": ${method}\n"@target-uri": ${url}\n"@signature-params": ${signatureInput.slice(label + 1)}`);
        if (sig === null) throw fail();
        if (!withCrypto) {
          if (base.length === 0) throw fail();
        } else if (!(await subtle.verify(alg, key, sig, base))) throw fail();
      }
    };
  }
  const key = bench.hmacKey;
  return async (requests) => {
    for (const request of requests) {
      const method = request.method;
      const url = request.url;
      if (!visitAll(request.headers) || signature === null || signatureInput === null || contentDigest === null) throw fail();
      const label = signatureInput.indexOf('=');
      const sig = byteSequence(signature, label + 1);
      const base = encoder.encode(`"@method": ${method}\n"@target-uri": ${url}\n"content-digest": ${contentDigest}\n` +
        `"@signature-params": ${signatureInput.slice(label + 1)}`);
      if (sig === null) throw fail();
      if (!withCrypto) {
        if (base.length === 0) throw fail();
      } else if (!(await subtle.verify('HMAC', key, sig, base))) throw fail();
      // `sha-256=:…:`, the one algorithm the signer names; the body only after the signature.
      const want = contentDigest.startsWith('sha-256=') ? byteSequence(contentDigest, 8) : null;
      const body = await request.clone().arrayBuffer();
      if (want === null || want.length !== 32) throw fail();
      if (!withCrypto) {
        if (body.byteLength === 0) throw fail();
        continue;
      }
      const d = new Uint8Array(await subtle.digest('SHA-256', body));
      let same = true;
      for (let j = 0; j < 32; j++) same = d[j] === want[j] && same;
      if (!same) throw fail();
    }
  };
}
