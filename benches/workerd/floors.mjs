// BENCH_PARTS=floor (run.mjs): the floor each case of issue 10 stands on. For each case of
// BENCH_CASES, in the bench's slice and round scheme (run.mjs's measureCase, a fresh isolate
// each), three pairs (floor-worker.mjs has the sides):
//   - floor ÷ bare: the bare WebCrypto work plus only what keygate's contract obliges any
//     verifier to do with the runtime's Request, beside the bare WebCrypto work;
//   - duties ÷ bare: the same obligations without the cryptography, beside the bare work: a
//     lower bound whatever way a verifier hashes or verifies;
//   - keygate ÷ floor: `gate.verify` beside the floor side.
// Medians of the paired rounds with p25–p75, beside issue 10's targets (keygate ÷ bare). Where
// duties ÷ bare is over a target, no verifier honouring the contract can meet it, however it
// does the cryptography; where only floor ÷ bare is, none that does it with the runtime's
// WebCrypto can (one doing it faster elsewhere might: keygate hashes small inputs in wasm).

/** Issue 10's targets, keygate ÷ bare WebCrypto (the `_20h` cases have none). */
export const TARGETS = { api_key: 1.0, hmac_get: 1.5, ed25519_get: 1.1, hmac_post_1k: 1.5, hmac_post_1m: 1.2 };

/** The three pairs of every case in `cases`, with `measureCase(name, [sideA, sideB])`. */
export async function floorBench({ cases, measureCase }) {
  const out = [];
  for (const name of cases) {
    const floor = await measureCase(name, ['floor', 'bare']);
    const duties = await measureCase(name, ['duties', 'bare']);
    const over = await measureCase(name, ['keygate', 'floor']);
    out.push({ case: name, target: TARGETS[name] ?? null, floor, duties, over });
  }
  return { cases: out };
}

/** Whether a target is under the floor: by the p25 of a ratio (the median could be luck). */
function verdict(c) {
  if (c.target === null) return '';
  if (c.duties.ratioP25 > c.target) return '**yes**, even without cryptography';
  if (c.floor.ratioP25 > c.target) return '**yes** with WebCrypto\'s cryptography';
  if (c.floor.ratio > c.target) return 'its median only';
  return 'no';
}

const r2 = (x) => x.toFixed(2);
const iqr = (c) => `${r2(c.ratioP25)}–${r2(c.ratioP75)}`;

/** The table (markdown): per case, floor ÷ bare and keygate ÷ floor beside the target. */
export function floorRows(res, what, fmtUs) {
  const lines = [
    '| case | target (keygate ÷ bare) | floor ÷ bare | p25–p75 | duties ÷ bare | p25–p75 | keygate ÷ floor | p25–p75 | ' +
      'per op: bare / duties / floor / keygate | target under the floor? |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const c of res.cases) {
    const { floor, duties, over } = c;
    lines.push(`| ${(what[c.case] ?? c.case).replace(/ \(vs .*\)$/, '')} | ${c.target === null ? '' : `≤ ${c.target.toFixed(1)}`} | ` +
      `${r2(floor.ratio)}× | ${iqr(floor)} | ${r2(duties.ratio)}× | ${iqr(duties)} | ${r2(over.ratio)}× | ${iqr(over)} | ` +
      `${fmtUs(floor.bUs)} / ${fmtUs(duties.aUs)} / ${fmtUs(floor.aUs)} / ${fmtUs(over.aUs)} | ${verdict(c)} |`);
  }
  return lines.join('\n');
}

/** `ratio floor_<case>`, `ratio duties_<case>` and `ratio over_floor_<case>` lines. */
export function floorMetrics(res) {
  return res.cases.flatMap((c) => [
    `ratio floor_${c.case} ${c.floor.ratio.toFixed(3)}`,
    `ratio duties_${c.case} ${c.duties.ratio.toFixed(3)}`,
    `ratio over_floor_${c.case} ${c.over.ratio.toFixed(3)}`,
  ]).join('\n');
}
