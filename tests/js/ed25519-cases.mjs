// Ed25519 edge cases for both verification paths, shared by the runtimes that test them: Node
// (tests/js/ed25519.test.mjs), workerd (tests/worker/ed25519.test.mjs) and Chromium
// (tests/e2e/ed25519.test.mjs). No I/O here: each caller reads the vector files its own way.
//
// The oracle is ed25519-dalek's `verify_strict` (tests/vectors/ed25519/README.md): CCTV vectors
// are valid when their flags are a subset of {low_order_component_A, low_order_component_R};
// of speccheck's twelve, only case 3; Wycheproof and RFC 8032 give their own results. keygate
// must match it on both paths: the module alone (`ed25519VerifyStrict`, the fallback), and the
// encoding checks in the module (`ed25519StrictSignature`, plus the key's own checks at load)
// followed by the runtime's `crypto.subtle.verify` — called directly, and through the package's
// own caller of it (pkg/src/ed25519.js: its key cache, and views into memory the module reuses).

import { Ed25519Keys, verifyEd25519 } from '../../pkg/src/ed25519.js';

const STRICT_ALLOWS = new Set(['low_order_component_A', 'low_order_component_R']);

export const hex = (s) => {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
};

/** Every case, `{ name, pk, sig, msg, valid }` (bytes), from the parsed vector files. */
export function ed25519Cases({ cctv, speccheck, wycheproof, rfc8032 }) {
  const out = [];
  const utf8 = new TextEncoder();
  for (const v of cctv) {
    out.push({
      name: `cctv #${v.number} [${v.flags?.join(' ') ?? ''}]`,
      pk: hex(v.key),
      sig: hex(v.sig),
      msg: utf8.encode(v.msg),
      valid: (v.flags ?? []).every((f) => STRICT_ALLOWS.has(f)),
    });
  }
  speccheck.forEach((c, i) => {
    out.push({ name: `speccheck #${i}`, pk: hex(c.pub_key), sig: hex(c.signature), msg: hex(c.message), valid: i === 3 });
  });
  for (const g of wycheproof.testGroups) {
    for (const t of g.tests) {
      out.push({ name: `wycheproof #${t.tcId} ${t.comment}`, pk: hex(g.publicKey.pk), sig: hex(t.sig), msg: hex(t.msg), valid: t.result === 'valid' });
    }
  }
  for (const t of rfc8032.tests) {
    out.push({ name: `rfc8032 ${t.name}`, pk: hex(t.public_key), sig: hex(t.signature), msg: hex(t.message), valid: true });
  }
  return out;
}

/**
 * Runs every case through both paths; resolves to the names of the cases where a path
 * disagrees with the oracle (empty when all agree), and how many cases reached WebCrypto.
 * `glue` is the wasm module's glue (`ed25519VerifyStrict`, `ed25519StrictSignature`).
 *
 * A case that reaches WebCrypto is also answered twice by the package's `verifyEd25519`, as
 * `gate.verify` calls it: one key cache for all cases (the first answer may import the key,
 * the second finds it), the job a view into a scratch buffer that is overwritten as soon as
 * the call returns (as the module's next call overwrites its output), and an answer of 2
 * ("cannot say") left to the module's `verify_strict`.
 */
export async function ed25519Mismatches(cases, glue, subtle = globalThis.crypto.subtle) {
  const wrong = [];
  let reachedRuntime = 0;
  const keys = new Ed25519Keys();
  const scratch = new Uint8Array(96 + Math.max(0, ...cases.map((c) => c.msg.length)));
  for (const c of cases) {
    const strict = glue.ed25519VerifyStrict(c.pk, c.sig, c.msg);
    if ((strict === 1) !== c.valid) wrong.push(`module: ${c.name}`);
    // The runtime path: a key the set would not load never gets there, nor a signature that
    // fails the encoding checks (workerd even throws for a length other than 64).
    let runtime = false;
    if (strict !== 2 && glue.ed25519StrictSignature(c.sig)) {
      reachedRuntime++;
      try {
        const key = await subtle.importKey('raw', c.pk, { name: 'Ed25519' }, false, ['verify']);
        runtime = await subtle.verify('Ed25519', key, c.sig, c.msg);
      } catch {
        runtime = false;
      }
      for (const pass of ['first', 'cached']) {
        const job = scratch.subarray(0, 96 + c.msg.length);
        job.set(c.pk);
        job.set(c.sig, 32);
        job.set(c.msg, 96);
        const answer = verifyEd25519(job, keys);
        scratch.fill(0xa5);
        const a = await answer;
        if ((a === 2 ? strict === 1 : a === 1) !== c.valid) wrong.push(`package (${pass}): ${c.name}`);
      }
    }
    if (runtime !== c.valid) wrong.push(`runtime: ${c.name}`);
  }
  return { wrong, reachedRuntime };
}
