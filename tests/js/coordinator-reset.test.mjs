// A coordinator reset (this isolate's set is not reachable from the coordinator's state, e.g.
// loaded from KV during an outage) replaces the isolate's Keygate. Decisions still waiting on
// the replaced one (here: at a nonce store) must not finish under its set, where a key the
// coordinator's head revoked is still active: they fail closed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keygate, generateSigningKey, signRequest } from '../../pkg/src/index.js';
import { CoordinatedSource } from '../../pkg/src/coordination.js';
import { coordinatorOption } from '../../pkg/src/coordinator-binding.js';

const NOW = Date.parse('2026-11-29T12:00:00Z');

test('a coordinator reset retires the replaced gate: its waiting decisions fail closed', async () => {
  const K = generateSigningKey({ alg: 'hmac-sha256' });
  const text = (revision, status) => JSON.stringify({ keygate: 1, revision, keys: [{ id: 'k', status, signing: K.signing }] });
  // The isolate holds revision 3 (k active); the coordinator's head is revision 2 (k revoked).
  const forked = text(3, 'active');
  const head = text(2, 'revoked');
  const info = async (t) => {
    const g = await Keygate.load(t);
    return { revision: g.revision, payloadSha256: g.info.payloadSha256 };
  };
  const states = { [forked]: await info(forked), [head]: await info(head) };
  let serving = forked;
  const blobs = new Map(Object.entries(states).map(([t, s]) => [s.payloadSha256, new TextEncoder().encode(t)]));
  const stub = {
    poll: async () => ({ status: 'base', base: states[serving], deltas: [], head: states[serving] }),
    readBlob: async (sha) => blobs.get(sha) ?? null,
  };
  const logs = [];
  const source = new CoordinatedSource({ refreshSeconds: 0, log: (e) => logs.push(e) }, coordinatorOption(() => ({ namespace: { getByName: () => stub } })));
  const old = await source.get({});
  assert.equal(old.revision, 3);

  const waiting = [];
  const nonceStore = { claim: () => new Promise((r) => waiting.push(r)) };
  const req = await signRequest(new Request('https://api.example.com/x'), { keyId: 'k', key: K.key, alg: 'hmac-sha256', created: NOW, nonce: 'n1' });
  const pending = old.verify(req, { now: NOW, nonceStore });
  pending.catch(() => {});
  while (waiting.length === 0) await new Promise((r) => setImmediate(r));

  serving = head; // the coordinator's state wins: the isolate resets to it
  const fresh = await source.get({});
  assert.equal(fresh.revision, 2);
  assert.notEqual(fresh, old);
  assert.ok(logs.some((e) => e.event === 'keygate.keyset_reset'), JSON.stringify(logs));

  waiting[0](true);
  await assert.rejects(pending, { code: 'ERR_VERIFIER_BUSY', message: /replaced/ });
  // The gate in use decides by the head: k is revoked.
  const again = await signRequest(new Request('https://api.example.com/x'), { keyId: 'k', key: K.key, alg: 'hmac-sha256', created: NOW, nonce: 'n2' });
  assert.equal((await fresh.verify(again, { now: NOW })).reason, 'key_revoked');
  await assert.rejects(old.verify(again, { now: NOW }), { code: 'ERR_VERIFIER_BUSY' }, 'a retired gate decides nothing');
});
