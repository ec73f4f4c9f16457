// Writes the gitignored .dev.vars that `wrangler dev` reads (`make dev`, the e2e test):
// the DEMO key set as one-line JSON in KEYGATE_KEYSET, plus ORIGIN_URL and
// KEYGATE_PUBLISHER_KEYS when they are set in the environment. This file is the only way the
// demo set reaches a gateway: wrangler.toml has no key set, so a deployed gateway without
// its own (KV or secret) answers 503 keyset_unavailable instead of trusting published keys.
//
// Usage: node scripts/dev-vars.mjs [OUT]   (KEYGATE_KEYSET_FILE overrides demo/keyset.json)

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const keysetFile = resolve(process.env.KEYGATE_KEYSET_FILE ?? join(root, 'demo/keyset.json'));
const out = resolve(process.argv[2] ?? join(root, '.dev.vars'));

// dotenv single-quoted values are taken literally: no quote or line break may occur inside.
function line(name, value) {
  if (/['\r\n]/.test(value)) {
    throw new Error(`${name}: a value for .dev.vars cannot contain a single quote or a line break`);
  }
  return `${name}='${value}'\n`;
}

let keyset;
try {
  keyset = JSON.stringify(JSON.parse(readFileSync(keysetFile, 'utf8')));
} catch (e) {
  console.error(`dev-vars: ${keysetFile}: ${e.message}`);
  process.exit(2);
}

let text = '# Written by scripts/dev-vars.mjs for `wrangler dev` only. DEMO key set: never deploy.\n';
text += line('KEYGATE_KEYSET', keyset);
for (const name of ['ORIGIN_URL', 'KEYGATE_PUBLISHER_KEYS']) {
  const v = process.env[name];
  if (v) text += line(name, v);
}
writeFileSync(out, text, { mode: 0o600 });
console.log(`dev-vars: wrote ${out} (key set ${keysetFile}${process.env.ORIGIN_URL ? `, ORIGIN_URL ${process.env.ORIGIN_URL}` : ', echo mode'})`);
