// Writes the gitignored .dev.vars that `wrangler dev` reads (`make dev`, the e2e test).
//
// By default the local gateway accepts signed pushes: KEYGATE_PUBLISHER_KEYS pins the DEMO
// publisher key (demo/publisher.json, DEMO ONLY: its private key is in the repository), and
// KEYGATE_KEYSET holds the DEMO key set signed by it (with publisher keys pinned, a bare key
// set is refused by design). The demo page signs its pushes with the same demo key.
//
//   KEYGATE_PUBLISHER_KEYS=<your keys>  pin those instead; the key set file must then already
//                                       be an envelope signed by one of them
//   KEYGATE_PUSH=off                    no publisher keys, a bare key set, pushes disabled (404)
//   KEYGATE_KEYSET_FILE=<file>          another key set (or envelope) than demo/keyset.json
//   ORIGIN_URL=<url>                    proxy to that origin instead of echoing
//
// This file is the only way the demo set reaches a gateway: wrangler.toml has no key set, so
// a deployed gateway without its own (KV or secret) answers 503 keyset_unavailable instead of
// trusting published keys.
//
// Usage: node scripts/dev-vars.mjs [OUT]

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { signKeySet } from 'keygate';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const keysetFile = resolve(process.env.KEYGATE_KEYSET_FILE ?? join(root, 'demo/keyset.json'));
const out = resolve(process.argv[2] ?? join(root, '.dev.vars'));
const pushOff = /^(off|0|false|no)$/i.test(process.env.KEYGATE_PUSH ?? '');
const ownKeys = process.env.KEYGATE_PUBLISHER_KEYS?.trim() || '';

// dotenv single-quoted values are taken literally: no quote or line break may occur inside.
function line(name, value) {
  if (/['\r\n]/.test(value)) {
    throw new Error(`${name}: a value for .dev.vars cannot contain a single quote or a line break`);
  }
  return `${name}='${value}'\n`;
}

function fail(message) {
  console.error(`dev-vars: ${message}`);
  process.exit(2);
}

let doc;
try {
  doc = JSON.parse(readFileSync(keysetFile, 'utf8'));
} catch (e) {
  fail(`${keysetFile}: ${e.message}`);
}
const isEnvelope = typeof doc.payload === 'string' && ('signature' in doc || 'signatures' in doc);

let keyset = JSON.stringify(doc);
let publisherKeys = '';
let demoPublisher = null;
let mode;
if (pushOff) {
  if (isEnvelope) fail(`${keysetFile} is a signed envelope; with KEYGATE_PUSH=off give a bare key set`);
  mode = 'pushes off';
} else if (ownKeys) {
  if (!isEnvelope) fail(`with KEYGATE_PUBLISHER_KEYS set, KEYGATE_KEYSET_FILE must be an envelope signed by one of them`);
  publisherKeys = ownKeys;
  mode = 'pushes to /.well-known/keygate/keyset with your publisher keys';
} else {
  // DEMO ONLY: the demo publisher key signs the set and is pinned.
  const demo = JSON.parse(readFileSync(join(root, 'demo/publisher.json'), 'utf8'));
  if (!isEnvelope) {
    try {
      keyset = signKeySet(keyset, demo); // kid: the key's RFC 7638 thumbprint
    } catch (e) {
      fail(`${keysetFile}: ${e.message}`);
    }
  }
  publisherKeys = demo.signing.public_key;
  demoPublisher = demo;
  mode = `pushes signed by the DEMO publisher key ${demo.signing.public_key}`;
}

let text = '# Written by scripts/dev-vars.mjs for `wrangler dev` only. DEMO keys: never deploy.\n';
text += line('KEYGATE_KEYSET', keyset);
if (publisherKeys) text += line('KEYGATE_PUBLISHER_KEYS', publisherKeys);
if (process.env.ORIGIN_URL) text += line('ORIGIN_URL', process.env.ORIGIN_URL);
// The demo page's starting set and (DEMO ONLY) publisher key, served by the gateway at
// /.well-known/keygate/demo only while this var exists, that is, only under `make dev`.
const demoSet = isEnvelope ? { keygate: 1, revision: 1, keys: [] } : doc;
text += line('KEYGATE_DEMO', JSON.stringify({ keyset: demoSet, publisher: demoPublisher }));
writeFileSync(out, text, { mode: 0o600 });
console.log(
  `dev-vars: wrote ${out} (key set ${keysetFile}; ${mode}; ${process.env.ORIGIN_URL ? `ORIGIN_URL ${process.env.ORIGIN_URL}` : 'echo mode'})`,
);
