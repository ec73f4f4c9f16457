// The declarations as TypeScript users resolve them: TypeScript 5.9 (from npm, into the
// project; the repository's own TypeScript 7 has dropped node10) type-checks a user's code
// (tests/types/consumer.ts) and an import of every typed export against the installed
// tarball under each module resolution:
//   node10 (module commonjs; reads `types` and `typesVersions`, ignores `exports`),
//   node16 and nodenext (ES module files; nodenext also a CommonJS file, which may import the
//   package since TypeScript 5.8 models require(esm)), and bundler.
// Each run must list the package's own .d.ts files, so a pass is never an unresolved `any`;
// and the node10 run fails without `typesVersions`, so that mode really tests it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../js/helpers.mjs';
import { ENV, linkDependency, packAndInstall, run } from './tarball.mjs';

const TYPESCRIPT = 'typescript@5.9.3';
const COMMON = {
  strict: true,
  noEmit: true,
  target: 'es2022',
  lib: ['es2022', 'dom'],
  types: [],
  skipLibCheck: false,
  exactOptionalPropertyTypes: true,
};
const MODES = {
  node10: { type: 'commonjs', module: 'commonjs', moduleResolution: 'node10' },
  node16: { type: 'module', module: 'node16', moduleResolution: 'node16' },
  'nodenext-esm': { type: 'module', module: 'nodenext', moduleResolution: 'nodenext' },
  'nodenext-cjs': { type: 'commonjs', module: 'nodenext', moduleResolution: 'nodenext' },
  bundler: { type: 'module', module: 'esnext', moduleResolution: 'bundler' },
};

let t;
let manifest;
let tsc;

before(async () => {
  t = await packAndInstall('types');
  manifest = JSON.parse(readFileSync(join(t.installed, 'package.json'), 'utf8'));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-save', TYPESCRIPT], {
    cwd: t.app, env: ENV, timeout: 120_000,
  });
  // After npm install, which would prune a link it did not make.
  linkDependency(t.app, 'hono');
  tsc = join(t.app, 'node_modules/typescript/bin/tsc');
});

after(() => t?.remove());

/** A file importing every export that has declarations, each checked not to be `any`. */
function everyExport() {
  const typed = Object.entries(manifest.exports).filter(([, v]) => typeof v === 'object' && v.types);
  const lines = typed.map(([s], i) => `import * as e${i} from '${s === '.' ? 'keygate' : `keygate/${s.slice(2)}`}';`);
  lines.push('type IsAny<T> = 0 extends 1 & T ? true : false;');
  lines.push(`export const notAny: [${typed.map((_, i) => `IsAny<typeof e${i}>`).join(', ')}] = [${typed.map(() => 'false').join(', ')}];`);
  return { text: `${lines.join('\n')}\n`, declarations: typed.map(([, v]) => v.types.replace(/^\.\//, '')) };
}

/** Type-checks consumer.ts and the every-export file in a project folder under `mode`. */
async function check(name, mode, dir = join(t.app, `types-${name}`)) {
  mkdirSync(dir, { recursive: true });
  const { type, ...options } = mode;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, type }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...COMMON, ...options }, files: ['consumer.ts', 'exports.ts'] }));
  copyFileSync(join(ROOT, 'tests/types/consumer.ts'), join(dir, 'consumer.ts'));
  const all = everyExport();
  writeFileSync(join(dir, 'exports.ts'), all.text);
  const out = await run(process.execPath, [tsc, '-p', dir, '--listFiles', '--pretty', 'false'], { cwd: dir, env: ENV, timeout: 120_000 })
    .then((r) => ({ code: 0, stdout: r.stdout }), (e) => ({ code: e.code, stdout: String(e.stdout) }));
  return { ...out, dir, declarations: all.declarations };
}

for (const [name, mode] of Object.entries(MODES)) {
  test(`TypeScript 5.9, ${name}: the package's declarations resolve and type the user's code`, { timeout: 120_000 }, async () => {
    const r = await check(name, mode);
    const errors = r.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    assert.deepEqual(errors, [], `${name}: tsc reports no errors`);
    assert.equal(r.code, 0);
    for (const d of r.declarations) {
      assert.ok(r.stdout.includes(join(t.installed, d)), `${name}: ${d} is what TypeScript resolved`);
    }
    assert.ok(r.stdout.includes(join(t.installed, 'src/edge.d.ts')), `${name}: the middleware's shared declarations too`);
  });
}

test('TypeScript 5.9, node10: without typesVersions every subpath import fails (TS2307)', { timeout: 120_000 }, async () => {
  // A project beside the app (node10 looks in every parent's node_modules) holding the package
  // minus typesVersions.
  const dir = join(t.dir, 'node10-bare');
  cpSync(t.installed, join(dir, 'node_modules/keygate'), { recursive: true });
  linkDependency(dir, 'hono');
  const pj = join(dir, 'node_modules/keygate/package.json');
  const { typesVersions, ...rest } = JSON.parse(readFileSync(pj, 'utf8'));
  assert.ok(typesVersions);
  writeFileSync(pj, JSON.stringify(rest));
  const r = await check('node10-bare', MODES.node10, dir);
  assert.notEqual(r.code, 0);
  const missing = [...r.stdout.matchAll(/error TS2307: Cannot find module '([^']+)'/g)].map((m) => m[1]);
  for (const s of ['keygate/init', 'keygate/worker', 'keygate/hono']) assert.ok(missing.includes(s), `${s} unresolved: ${missing}`);
  assert.ok(!missing.includes('keygate'), 'the root still resolves through `types`');
});
