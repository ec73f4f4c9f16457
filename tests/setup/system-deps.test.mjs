// scripts/system-deps.sh, the step of `make test` that brings what cargo and npm cannot
// (Debian's Chromium, python3-venv), on a simulated machine: CHROMIUM points at a path that
// does not exist, and stand-in `apt-get` and `id` commands first on PATH record what they are
// asked and play root or a user. The system's own Chromium and packages are never touched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../js/helpers.mjs';

const SCRIPT = join(ROOT, 'scripts/system-deps.sh');
let dir;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'keygate-setup-'));
});
after(() => dir && rmSync(dir, { recursive: true, force: true }));

function script(path, body) {
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
}

/**
 * A machine: `uid` is what `id -u` says; `aptGet` is the stand-in's behaviour: 'installs'
 * (creates the Chromium binary at CHROMIUM when asked for the chromium package), 'fails',
 * 'does-nothing', or null (no apt-get on PATH at all).
 */
function machine(name, { uid, aptGet = 'installs', python = true }) {
  const root = join(dir, name);
  const bin = join(root, 'bin');
  mkdirSync(bin, { recursive: true });
  const log = join(root, 'apt.log');
  const chromium = join(root, 'usr/bin/chromium');
  script(join(bin, 'id'), `[ "$1" = -u ] && echo ${uid} || exec /usr/bin/id "$@"`);
  if (aptGet !== null) {
    const act = {
      installs: `case " $* " in *" chromium "*) mkdir -p "$(dirname "$CHROMIUM")"; printf '#!/bin/sh\\n' > "$CHROMIUM"; chmod +x "$CHROMIUM";; esac`,
      fails: 'exit 100',
      'does-nothing': ':',
    }[aptGet];
    script(join(bin, 'apt-get'), `echo "apt-get $* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> "${log}"\n${act}`);
  }
  // A python without ensurepip (Debian's python3 before python3-venv is installed).
  const pythonPath = python ? 'python3' : join(bin, 'python-without-venv');
  if (!python) script(pythonPath, 'exit 1');
  // PATH is this directory alone: the stand-ins and the few tools the script and the
  // stand-ins run, so the system's apt-get is never found.
  for (const tool of ['bash', 'mkdir', 'dirname', 'chmod']) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (found) symlinkSync(found, join(bin, tool));
  }
  // The interpreter itself (python3 on PATH may be a version manager's shell shim).
  symlinkSync(spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim(), join(bin, 'python3'));
  const path = bin;
  return { root, bin, log, chromium, pythonPath, path };
}

function run(m, args = [], env = {}) {
  const r = spawnSync(SCRIPT, args, {
    env: { PATH: m.path, HOME: m.root, CHROMIUM: m.chromium, PYTHON: m.pythonPath, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  const apt = existsSync(m.log) ? readFileSync(m.log, 'utf8').trim().split('\n') : [];
  return { status: r.status, stderr: r.stderr, stdout: r.stdout, apt };
}

test('nothing missing: exits 0 and asks apt-get for nothing', () => {
  const m = machine('complete', { uid: 0 });
  mkdirSync(join(m.root, 'usr/bin'), { recursive: true });
  script(m.chromium, 'exit 0');
  const r = run(m);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.apt, []);
  assert.equal(r.stderr, '');
});

test('no Chromium, running as root: apt-get installs chromium and chromium-driver, then it is there', () => {
  const m = machine('root', { uid: 0 });
  const r = run(m, ['browser']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.apt, [
    'apt-get update -qq DEBIAN_FRONTEND=noninteractive',
    'apt-get install -y -qq --no-install-recommends chromium chromium-driver DEBIAN_FRONTEND=noninteractive',
  ]);
  assert.ok(existsSync(m.chromium));
  assert.match(r.stderr, /launch Chromium at .*usr\/bin\/chromium.*which is missing/);
  // Run again: now nothing is missing and apt-get is not asked again.
  assert.equal(run(m, ['browser']).apt.length, 2);
});

test('no Chromium, not root: nothing installed, the one command to run is printed, exit 1', () => {
  const m = machine('user', { uid: 1000 });
  const r = run(m, ['browser']);
  assert.equal(r.status, 1);
  assert.deepEqual(r.apt, [], 'apt-get is not called without root');
  assert.ok(
    r.stderr.includes("sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver'"),
    r.stderr,
  );
  assert.match(r.stderr, /Chromium at \S+ \(set CHROMIUM to use another\), which is missing/);
});

test('no python3-venv and no Chromium, not root: one command names both packages', () => {
  const m = machine('user-both', { uid: 1000, python: false });
  const r = run(m);
  assert.equal(r.status, 1);
  assert.ok(
    r.stderr.includes("sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver python3-venv'"),
    r.stderr,
  );
  assert.match(r.stderr, /interop tests make a venv .* lacks ensurepip\/venv/);
  // Only the browser asked for: python is not checked.
  assert.doesNotMatch(run(m, ['browser']).stderr, /python3-venv/);
});

test('root, but apt-get fails or installs nothing usable: exit non-zero with what is missing', () => {
  const failing = machine('apt-fails', { uid: 0, aptGet: 'fails' });
  const r1 = run(failing, ['browser']);
  assert.notEqual(r1.status, 0);
  assert.equal(r1.apt.length, 1, 'stops at the failing apt-get update');
  const useless = machine('apt-useless', { uid: 0, aptGet: 'does-nothing' });
  const r2 = run(useless, ['browser']);
  assert.equal(r2.status, 1);
  assert.match(r2.stderr, /still missing after apt-get install:\nsystem-deps: the browser tests launch Chromium at/);
});

test('no apt-get at all: says to use the system package manager and CHROMIUM', () => {
  const m = machine('no-apt', { uid: 0, aptGet: null });
  const r = run(m, ['browser']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no apt-get here: install Chromium .* point CHROMIUM/s);
});

test('make test runs the check first: a machine without Chromium stops before any build', () => {
  const m = machine('make', { uid: 1000 });
  // A make of its own, not a part of the `make test` that may be running this file.
  const env = { ...process.env, PATH: `${m.bin}:${process.env.PATH}` };
  for (const k of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES']) delete env[k];
  const r = spawnSync('make', ['-s', '--no-print-directory', 'browser', `CHROMIUM=${m.chromium}`], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.notEqual(r.status, 0);
  assert.ok(r.stderr.includes('sudo sh -c'), r.stderr);
  assert.equal(existsSync(m.log), false, 'apt-get not called');
  // `test` lists system-deps before every build and test step.
  const plan = spawnSync('make', ['-n', '--no-print-directory', 'test', `CHROMIUM=${m.chromium}`], {
    cwd: ROOT, env, encoding: 'utf8', timeout: 30_000,
  });
  const first = plan.stdout.split('\n').find((l) => l.trim() !== '');
  assert.match(first, /scripts\/system-deps\.sh browser python/);
});
