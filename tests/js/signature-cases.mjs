// The shared signed-request vectors (tests/vectors/signatures/requests.json) through
// `gate.verify` as Web Requests, for runtimes other than Node (workerd:
// tests/worker/fixtures/ed25519-worker.mjs; Chromium: tests/e2e/ed25519.test.mjs), where the
// runtime's WebCrypto verifies Ed25519 behind the module's checks. Node runs the same file in
// tests/js/body.test.mjs. No I/O here.

/** The cases whose decision differs from the vector's `expect` (empty when all agree). */
export async function signatureMismatches(Keygate, keySet, doc) {
  const gate = await Keygate.load(keySet);
  const wrong = [];
  for (const c of doc.cases) {
    const r = c.request;
    const request = new Request(r.url, { method: r.method, headers: r.headers, body: r.body ?? null });
    const d = await gate.verify(request, { clientIp: c.client_ip ?? undefined, now: new Date(c.now ?? doc.now) });
    const got = [d.allowed, d.status, d.reason ?? null, d.keyId ?? null];
    const want = [c.expect.allowed, c.expect.status, c.expect.reason ?? null, c.expect.key_id];
    if (JSON.stringify(got) !== JSON.stringify(want)) wrong.push(`${c.name}: ${JSON.stringify(got)}`);
  }
  return { cases: doc.cases.length, wrong };
}
