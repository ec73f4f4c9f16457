// The delta part of the bench Worker (benches/workerd/worker.mjs routes /delta-*): a verifier
// holding a signed 100k-key set, updated by signed one-key deltas or by whole signed sets, as
// a gateway isolate following the coordinator is. The driver (deltas.mjs) makes and signs
// every update in order, so each one applies to exactly the state the previous one left.

let state;

class DeltaBenchError extends Error {}

/**
 * POST /delta-setup: `{ envelope, publisherKey, waiter }` → the loaded set's revision, keys,
 * digest. `waiter` (`{ keyId, key }`, an HMAC key of the set) signs the requests that wait.
 */
export async function deltaSetup(request, keygate) {
  const { Keygate, signRequest } = await keygate();
  const { envelope, publisherKey, waiter } = await request.json();
  const gate = await Keygate.load(envelope, { publisherKeys: [publisherKey] });
  state = { gate, waiter, signRequest, nonce: 0 };
  return { revision: gate.revision, keys: gate.info.keys, payloadSha256: gate.info.payloadSha256 };
}

/**
 * POST /delta-slice: a JSON array of signed updates (deltas, or one whole set), applied in
 * order with `gate.update`, timed together (ms, in workerd's 1 ms steps). Each must change
 * the set: a refused or no-op update fails the slice.
 */
export async function deltaSlice(request) {
  if (!state) throw new DeltaBenchError('no /delta-setup yet');
  const enc = new TextEncoder();
  const wait = new URL(request.url).searchParams.has('wait');
  const updates = (await request.json()).map((t) => enc.encode(t));
  const { gate } = state;
  if (wait) return waitingSlice(gate, updates);
  const t0 = performance.now();
  for (const u of updates) {
    const r = await gate.update(u);
    if (!r.changed) throw new DeltaBenchError(`update to revision ${r.revision} changed nothing`);
  }
  const ms = performance.now() - t0;
  return { ms, revision: gate.revision, keys: gate.info.keys, payloadSha256: gate.info.payloadSha256 };
}

/**
 * `/delta-slice?wait`: each update applied while a decision waits, holding the set it started
 * with (a signed request whose nonce claim is not answered yet: what a slow body or a slow
 * nonce store does). The decision starts under the set in use, the update is timed alone, then
 * the claim is answered and the decision, made again under the new set, must come back
 * allowed. `ms` sums the updates' own times (each read off workerd's 1 ms clock steps, so a
 * single one reads 0 or 1 ms; over a slice the sum is unbiased, its error about ±1 ms).
 */
async function waitingSlice(gate, updates) {
  const { waiter, signRequest } = state;
  let ms = 0;
  for (const u of updates) {
    const nonce = `wait-${state.nonce++}`;
    let asked;
    const claimed = new Promise((r) => (asked = r));
    let answer;
    const nonceStore = { claim: () => new Promise((r) => { answer = r; asked(); }) };
    const req = await signRequest(new Request('https://api.example.com/v1/orders/1'), { keyId: waiter.keyId, key: waiter.key, alg: 'hmac-sha256', nonce });
    const pending = gate.verify(req, { nonceStore });
    await claimed;
    const t0 = performance.now();
    const r = await gate.update(u);
    ms += performance.now() - t0;
    if (!r.changed) throw new DeltaBenchError(`update to revision ${r.revision} changed nothing`);
    answer(true);
    const d = await pending;
    if (!d.allowed) throw new DeltaBenchError(`the waiting decision was refused: ${d.reason}`);
  }
  return { ms, revision: gate.revision, keys: gate.info.keys, payloadSha256: gate.info.payloadSha256 };
}
