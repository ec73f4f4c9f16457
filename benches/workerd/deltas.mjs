// The delta part of `make bench` (BENCH_PARTS=delta): in one isolate holding a signed set of
// BENCH_SCALE_KEYS keys (100k), the time `gate.update` takes to apply a signed delta revoking
// one key, beside the time it takes to apply the whole signed set of the next revision (what a
// gateway without deltas does for the same revocation). Rounds alternate the two sides (the
// first side alternating between rounds); a delta slice applies BENCH_DELTA_K deltas in a
// chain, a full slice one set. Reported: medians per update, the median of the per-round
// ratios, and the size of one signed one-key delta. A third side applies the same deltas each
// while a decision waits (its nonce claim unanswered), holding the set it started with: what an
// unauthenticated sender keeps up at will with slow bodies; its delta must cost the same.
import { createHash } from 'node:crypto';
import { generateSigningKey, signKeySet } from 'keygate';
import { fillerKeys, keySetBytes } from './keysets.mjs';

const sha = (bytes) => createHash('sha256').update(bytes).digest('base64url');
const iso = (ms) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/**
 * `isolate()` starts a fresh bench isolate (run.mjs); `opts.scaleKeys`, `opts.deltaK`,
 * `opts.deltaRounds`; `median`, `quantile` and `log` from the driver.
 */
export async function deltaApply({ isolate, opts, median, quantile, log }) {
  const publisher = generateSigningKey({ alg: 'ed25519' });
  const now = Date.now();
  const keys = fillerKeys(opts.scaleKeys, now);
  // The last entry signs the requests that wait (an HMAC key allowed on the set's route).
  const waiter = generateSigningKey({ alg: 'hmac-sha256' });
  keys[keys.length - 1] = { id: 'bench-waiter', signing: waiter.signing, scopes: ['orders:read'] };
  const signedSet = (revision) => {
    const bytes = keySetBytes(keys, now, revision);
    return { envelope: signKeySet(new TextDecoder().decode(bytes), publisher.key), sha: sha(bytes) };
  };
  // The chain: each delta revokes the next key, from exactly the state before it.
  let state;
  let victim = 0;
  const revoke = () => {
    const i = victim++ % (keys.length - 1);
    const delta = {
      keygate: 1,
      kind: 'delta',
      base: { revision: state.revision, payload_sha256: state.sha },
      revision: state.revision + 1,
      payload_sha256: sha(`the publisher's revision ${state.revision + 1}`),
      issued_at: iso(now),
      changes: [{ op: 'revoke', id: keys[i].id, api_key_hash: keys[i].api_key_hash }],
    };
    state = { revision: delta.revision, sha: delta.payload_sha256 };
    return signKeySet(delta, publisher.key);
  };
  const full = () => {
    const s = signedSet(state.revision + 1);
    state = { revision: state.revision + 1, sha: s.sha };
    return s.envelope;
  };

  const { mf, call } = await isolate();
  try {
    const first = signedSet(1);
    state = { revision: 1, sha: first.sha };
    const loaded = await call('/delta-setup', { method: 'POST', body: JSON.stringify({ envelope: first.envelope, publisherKey: publisher.signing.public_key, waiter: { keyId: 'bench-waiter', key: waiter.key } }) });
    if (loaded.keys !== opts.scaleKeys || loaded.payloadSha256 !== first.sha) throw new Error(`delta setup: ${JSON.stringify(loaded)}`);
    const slice = async (side) => {
      const updates = side === 'full' ? [full()] : Array.from({ length: opts.deltaK }, revoke);
      const out = await call(side === 'wait' ? '/delta-slice?wait' : '/delta-slice', { method: 'POST', body: JSON.stringify(updates) });
      if (out.revision !== state.revision || out.payloadSha256 !== state.sha || out.keys !== opts.scaleKeys) {
        throw new Error(`delta slice: the isolate holds ${JSON.stringify(out)}, the chain ${JSON.stringify(state)}`);
      }
      return side === 'full' ? out.ms : out.ms / opts.deltaK;
    };
    await slice('delta'); // warm-up: the delta path compiled once
    await slice('wait');
    await slice('full');
    const delta = [];
    const waitMs = [];
    const fullMs = [];
    const ratio = [];
    const waitRatio = [];
    const SIDES = ['delta', 'wait', 'full'];
    for (let r = 0; r < opts.deltaRounds; r++) {
      const order = SIDES.map((_, j) => SIDES[(r + j) % SIDES.length]);
      const t = {};
      for (const side of order) t[side] = await slice(side);
      delta.push(t.delta);
      waitMs.push(t.wait);
      fullMs.push(t.full);
      ratio.push(t.delta / t.full);
      waitRatio.push(t.wait / t.delta);
    }
    const oneDelta = (() => {
      const saved = state;
      const env = revoke();
      state = saved;
      victim--;
      return env;
    })();
    const res = {
      keys: opts.scaleKeys,
      perSlice: opts.deltaK,
      rounds: opts.deltaRounds,
      deltaMs: median(delta),
      waitMs: median(waitMs),
      waitRatio: median(waitRatio),
      fullMs: median(fullMs),
      ratio: median(ratio),
      ratioP25: quantile(ratio, 0.25),
      ratioP75: quantile(ratio, 0.75),
      deltaEnvelopeBytes: oneDelta.length,
      fullEnvelopeBytes: first.envelope.length,
      samples: { delta, wait: waitMs, full: fullMs, ratio, waitRatio },
    };
    log(`delta: ${res.deltaMs.toFixed(3)} ms per one-key delta (${res.deltaEnvelopeBytes} B signed), ${res.waitMs.toFixed(3)} ms while a decision waits, vs ${res.fullMs} ms per whole set (${(res.fullEnvelopeBytes / 1e6).toFixed(1)} MB), ratio ${res.ratio.toFixed(4)}`);
    return res;
  } finally {
    await mf.dispose();
  }
}

/** The rows of the measurement table. */
export function deltaRows(d) {
  return [
    `| one-key revocation of a ${d.keys}-key signed set, \`gate.update\` with the signed delta | ${d.deltaMs.toFixed(3)} ms | ` +
      `${d.deltaEnvelopeBytes} B signed; ${d.rounds} rounds of ${d.perSlice} chained deltas a slice, alternating with the row below |`,
    `| the same deltas, each applied while a decision waits (holding the set it started with) | ${d.waitMs.toFixed(3)} ms | ` +
      `the updates alone timed; ÷ the row above: ${d.waitRatio.toFixed(2)} (median of the paired rounds) |`,
    `| the same isolate, \`gate.update\` with the whole signed set of the next revision | ${d.fullMs} ms | ` +
      `${(d.fullEnvelopeBytes / 1e6).toFixed(1)} MB signed; delta / whole set: ${d.ratio.toFixed(4)} (median of the paired rounds, p25–p75 ${d.ratioP25.toFixed(4)}–${d.ratioP75.toFixed(4)}) |`,
  ].join('\n');
}

/** The `metric` lines. */
export function deltaMetrics(d) {
  return [
    `metric delta_apply_ms ${d.deltaMs.toFixed(4)}`,
    `metric delta_apply_waiting_ms ${d.waitMs.toFixed(4)}`,
    `metric delta_waiting_vs_plain_ratio ${d.waitRatio.toFixed(3)}`,
    `metric delta_full_update_ms ${d.fullMs}`,
    `metric delta_vs_full_ratio ${d.ratio.toFixed(5)}`,
    `metric delta_envelope_bytes ${d.deltaEnvelopeBytes}`,
  ].join('\n');
}
