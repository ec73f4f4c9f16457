// The delta part of the bench Worker (benches/workerd/worker.mjs routes /delta-*): a verifier
// holding a signed 100k-key set, updated by signed one-key deltas or by whole signed sets, as
// a gateway isolate following the coordinator is. The driver (deltas.mjs) makes and signs
// every update in order, so each one applies to exactly the state the previous one left.

let state;

class DeltaBenchError extends Error {}

/** POST /delta-setup: `{ envelope, publisherKey }` → the loaded set's revision, keys, digest. */
export async function deltaSetup(request, keygate) {
  const { Keygate } = await keygate();
  const { envelope, publisherKey } = await request.json();
  const gate = await Keygate.load(envelope, { publisherKeys: [publisherKey] });
  state = { gate };
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
  const updates = (await request.json()).map((t) => enc.encode(t));
  const { gate } = state;
  const t0 = performance.now();
  for (const u of updates) {
    const r = await gate.update(u);
    if (!r.changed) throw new DeltaBenchError(`update to revision ${r.revision} changed nothing`);
  }
  const ms = performance.now() - t0;
  return { ms, revision: gate.revision, keys: gate.info.keys, payloadSha256: gate.info.payloadSha256 };
}
