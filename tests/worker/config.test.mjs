// Layer 4: wrangler.toml as wrangler reads it. Production (the top level) serves no demo page
// and no asset, carries no key set, logs to Workers Logs, binds KV and the coordinator (a
// SQLite Durable Object); the `dev` environment of `make dev` alone has the page, with every
// non-page path running the Worker first, and its own local coordinator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { unstable_readConfig } from 'wrangler';
import { ROOT } from '../js/helpers.mjs';

const read = (env) => unstable_readConfig({ config: join(ROOT, 'wrangler.toml'), env });
const plain = (v) => JSON.parse(JSON.stringify(v));

const coordinator = [{ name: 'KEYGATE_COORDINATOR', class_name: 'KeygateCoordinator' }];

test('production: no assets, no key set or demo var, observability on, KV and the coordinator bound', () => {
  const prod = read(undefined);
  assert.deepEqual(plain(prod.durable_objects.bindings), coordinator);
  assert.deepEqual(plain(prod.migrations), [{ tag: 'v1', new_sqlite_classes: ['KeygateCoordinator'] }]);
  assert.equal(prod.main, join(ROOT, 'gateway/src/index.js'));
  assert.equal(prod.assets, undefined, 'no static assets in production');
  assert.equal(prod.observability?.enabled, true);
  assert.deepEqual(prod.kv_namespaces.map((k) => k.binding), ['KEYGATE_KV']);
  for (const name of ['KEYGATE_KEYSET', 'KEYGATE_DEMO', 'KEYGATE_PUBLISHER_KEYS', 'ORIGIN_AUTH_HEADER']) {
    assert.equal(prod.vars[name], undefined, `${name} is not a var of the deployed config`);
  }
});

test('dev: the demo page as assets, run_worker_first for everything else, local KV', () => {
  const dev = read('dev');
  assert.equal(dev.assets.directory, 'www');
  assert.deepEqual(dev.assets.run_worker_first, ['/*', '!/', '!/index.html', '!/demo/*', '!/vendor/*']);
  assert.deepEqual(dev.kv_namespaces.map((k) => k.binding), ['KEYGATE_KV']);
  assert.deepEqual(plain(dev.durable_objects.bindings), coordinator, 'make dev runs the coordinator locally');
  assert.equal(dev.vars.KEYSET_REFRESH_SECONDS, read(undefined).vars.KEYSET_REFRESH_SECONDS);
});
