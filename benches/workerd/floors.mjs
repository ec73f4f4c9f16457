// BENCH_PARTS=floor (run.mjs): the floor each case of issue 10 stands on. For each case of
// BENCH_CASES, in the bench's slice and round scheme (run.mjs's measureCase, a fresh isolate
// each), two pairs: the floor side (benches/workerd/floor-worker.mjs: the bare WebCrypto work
// plus only what keygate's contract obliges any verifier to do with the runtime's Request) beside
// the bare side, and keygate's `gate.verify` beside the floor side. Reported: floor ÷ bare and
// keygate ÷ floor (medians of the paired rounds, p25–p75), beside issue 10's targets for
// keygate ÷ bare: where floor ÷ bare is over a target, no verifier honouring the contract can
// meet it.

/** Issue 10's targets, keygate ÷ bare WebCrypto (the `_20h` cases have none). */
export const TARGETS = { api_key: 1.0, hmac_get: 1.5, ed25519_get: 1.1, hmac_post_1k: 1.5, hmac_post_1m: 1.2 };

/** Both pairs of every case in `cases`, with `measureCase(name, [sideA, sideB])`. */
export async function floorBench({ cases, measureCase }) {
  const out = [];
  for (const name of cases) {
    const floor = await measureCase(name, ['floor', 'bare']);
    const over = await measureCase(name, ['keygate', 'floor']);
    out.push({ case: name, target: TARGETS[name] ?? null, floor, over });
  }
  return { cases: out };
}

const r2 = (x) => x.toFixed(2);
const iqr = (c) => `${r2(c.ratioP25)}–${r2(c.ratioP75)}`;

/** The table (markdown): per case, floor ÷ bare and keygate ÷ floor beside the target. */
export function floorRows(res, what, fmtUs) {
  const lines = [
    '| case | target (keygate ÷ bare) | floor ÷ bare (median) | p25–p75 | keygate ÷ floor (median) | p25–p75 | bare / floor / keygate per op | target below the floor? |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const c of res.cases) {
    const { floor, over } = c;
    const verdict = c.target === null ? '' : floor.ratioP25 > c.target ? '**yes** (even its p25)'
      : floor.ratio > c.target ? 'its median (not its p25)' : 'no';
    lines.push(`| ${(what[c.case] ?? c.case).replace(/ \(vs .*\)$/, '')} | ${c.target === null ? '' : `≤ ${c.target.toFixed(1)}`} | ${r2(floor.ratio)}× | ${iqr(floor)} | ` +
      `${r2(over.ratio)}× | ${iqr(over)} | ${fmtUs(floor.bUs)} / ${fmtUs(floor.aUs)} / ${fmtUs(over.aUs)} | ${verdict} |`);
  }
  return lines.join('\n');
}

/** `ratio floor_<case>` and `ratio over_floor_<case>` lines. */
export function floorMetrics(res) {
  return res.cases.flatMap((c) => [`ratio floor_${c.case} ${c.floor.ratio.toFixed(3)}`, `ratio over_floor_${c.case} ${c.over.ratio.toFixed(3)}`]).join('\n');
}
