// Several gateway isolates sharing one coordinator, in one workerd (Miniflare): the bundle of
// `make bundle` runs as `host` (which defines the KeygateCoordinator Durable Object) and as
// each gateway named in `gateways`, whose KEYGATE_COORDINATOR binding points at the host's
// class. All share one KV namespace. Each `workers[]` entry is its own V8 isolate in workerd
// (one inspector target each: see `isolates()`), so module state is not shared between them.
import { after } from 'node:test';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { DIST, KV_ID } from './helpers.mjs';
import { ROOT } from '../js/helpers.mjs';

const BUNDLE = [
  { type: 'ESModule', path: join(DIST, 'index.js') },
  ...readdirSync(DIST)
    .filter((f) => f.endsWith('.wasm'))
    .map((f) => ({ type: 'CompiledWasm', path: join(DIST, f) })),
];

/**
 * A coordinator worker whose calls can be held and released (fixtures/hang-coordinator.mjs): its
 * KEYGATE_COORDINATOR class wraps the host's real one (REAL). Given to `cluster` as
 * `extra: [HANG_COORDINATOR]` with `coordinatorScript: 'hang'`.
 */
export const HANG_COORDINATOR = Object.freeze({
  name: 'hang',
  modules: [{ type: 'ESModule', path: join(ROOT, 'tests/worker/fixtures/hang-coordinator.mjs') }],
  compatibilityDate: '2026-11-01',
  durableObjects: {
    KEYGATE_COORDINATOR: { className: 'KeygateCoordinator', useSQLite: true },
    REAL: { className: 'KeygateCoordinator', scriptName: 'host', useSQLite: true },
  },
});

const started = new Set();
after(() => Promise.all([...started].map((mf) => mf.dispose())));

/**
 * A cluster: `{ mf, gw(name), logs(), events(event), restart(), coordinator(),
 * storage(name?), isolates() }`. `bindings` go to every gateway (and the host), `extra` adds
 * workers (e.g. a broken coordinator), `coordinatorScript` names the worker whose class the
 * gateways bind (default the host). `persist`: a directory for state that outlives restart().
 */
export async function cluster({ gateways = ['gw-a', 'gw-b'], bindings = {}, persist, extra = [], coordinatorScript = 'host', kv = true } = {}) {
  const logs = [];
  const worker = (name, durableObjects) => ({
    name,
    modulesRoot: DIST,
    modules: BUNDLE,
    compatibilityDate: '2026-11-01',
    kvNamespaces: kv ? { KEYGATE_KV: KV_ID } : {},
    durableObjects,
    bindings: { ...bindings },
  });
  const options = () =>
    convertV4MiniflareOptions({
      inspectorPort: 0,
      cf: false,
      unsafeInspectDurableObjects: true,
      // One stream for all isolates (workerd does not say which one logged).
      handleStructuredLogs: ({ message }) => logs.push(message),
      workers: [
        worker('host', { KEYGATE_COORDINATOR: { className: 'KeygateCoordinator', useSQLite: true } }),
        // A gateway is a name, or `{ name, bindings }` with bindings of its own.
        ...gateways.map((g) => {
          const w = worker(g.name ?? g, { KEYGATE_COORDINATOR: { className: 'KeygateCoordinator', scriptName: coordinatorScript, useSQLite: true } });
          return g.bindings ? { ...w, bindings: { ...w.bindings, ...g.bindings } } : w;
        }),
        ...extra,
      ],
    });
  const start = async () => {
    const opts = options();
    const mf = new Miniflare(persist ? { ...opts, resourcePersistencePath: join(persist, 'v3') } : opts);
    started.add(mf);
    await mf.ready;
    return mf;
  };
  const c = { mf: await start() };
  const fetchers = new Map();
  c.gw = async (name) => {
    if (!fetchers.has(name)) fetchers.set(name, await c.mf.getWorker(name));
    const w = fetchers.get(name);
    return { fetch: (path, init) => w.fetch(`http://gw.test${path}`, init) };
  };
  c.logs = () => logs;
  c.events = (event) => logs.filter((m) => m.startsWith('{')).map((m) => JSON.parse(m)).filter((l) => l.event === `keygate.${event}`);
  /** Stops every isolate (the coordinator too) and starts them again on the same state. */
  c.restart = async () => {
    await c.mf.dispose();
    started.delete(c.mf);
    fetchers.clear();
    logs.length = 0;
    c.mf = await start();
  };
  /** Stops every isolate for good (its persisted state stays for another cluster). */
  c.dispose = async () => {
    await c.mf.dispose();
    started.delete(c.mf);
  };
  /** The coordinator's namespace, from Node (RPC to its instances). */
  c.coordinator = () => c.mf.getDurableObjectNamespace('KEYGATE_COORDINATOR', 'host');
  /** SQL against an instance's storage (default: the key set's). */
  c.sql = async (query, name = 'keyset') => (await c.mf.unsafeGetDurableObjectStorage('host', 'KeygateCoordinator', { name })).exec(query);
  /** Evicts the coordinator instance from memory (its storage stays). */
  c.evict = (name = 'keyset') => c.mf.unsafeEvictDurableObject('host', 'KeygateCoordinator', { name });
  /** The V8 isolates workerd runs, by inspector target (one per isolate). */
  c.isolates = async () => {
    const url = await c.mf.getInspectorURL();
    const list = await (await fetch(`http://${url.host}/json/list`)).json();
    return list.map((t) => t.id);
  };
  c.kv = () => c.mf.getKVNamespace('KEYGATE_KV', 'host');
  return c;
}
