// Shared helpers for the Node tests of the npm package (tests/js/*.test.mjs).
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const VECTORS = join(ROOT, 'tests/vectors');

export const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
export const readText = (path) => readFileSync(path, 'utf8');

/** The *.json files of a vector folder whose names start with `prefix`, sorted. */
export function vectorFiles(dir, prefix = '') {
  return readdirSync(join(VECTORS, dir))
    .filter((f) => f.endsWith('.json') && f.startsWith(prefix))
    .sort()
    .map((f) => join(VECTORS, dir, f));
}

export const DEMO_KEYSET = readText(join(ROOT, 'demo/keyset.json'));

/** The demo keys (published in demo/README.md). */
export const DEMO = {
  reader: 'kg_demo_sShpJC3TNbwKN9OeKaxNThwrEUHyPMufAZRt6Q8yapa2m9M5j',
  admin: 'kg_demo_g7g4GsaIPwpNZdV9KXcRfL7DEAKwv9De3dPK2skBqe61RN5UT',
  expired: 'kg_demo_9ZmWBeSOLDjwVqd13WfvGGI0Aj4UrShQOkp2fhLiuDk3tXIui',
  disabled: 'kg_demo_u8og7eB0kWBFlS3UcsxNN3WCPyftSRl0lSMR5PL5BlD0taPFQ',
};

/** A GET with a bearer key. */
export function get(url, key, headers = {}) {
  return new Request(url, { headers: key ? { authorization: `Bearer ${key}`, ...headers } : headers });
}

/** A minimal valid key set holding the given entries. */
export function keySet(revision, keys, extra = {}) {
  return { keygate: 1, revision, keys, ...extra };
}

/** A body stream that stays open: `pulled` resolves once it is read; `end(bytes)` ends it. */
export function openStream() {
  let pulled;
  const pulling = new Promise((r) => (pulled = r));
  let ctl;
  const stream = new ReadableStream({
    start(c) {
      ctl = c;
    },
    pull() {
      pulled();
      return new Promise(() => {});
    },
  });
  const end = (bytes) => {
    if (bytes) ctl.enqueue(bytes);
    ctl.close();
  };
  return { stream, pulling, end };
}
