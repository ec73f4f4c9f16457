// The package as users get it, for the tests in this folder: `npm pack` of pkg/ into a
// temporary directory and an offline install of the tarball into a fresh project there
// (the package has no dependencies). Every child process has a time limit; remove() deletes
// everything.
import { execFile } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../js/helpers.mjs';

export const run = promisify(execFile);
export const ENV = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', FORCE_COLOR: '0', NO_UPDATE_NOTIFIER: '1' };

/**
 * Packs pkg/ and installs the tarball into `<dir>/app` (a `"type": "module"` project).
 * Returns { dir, app, packed (npm pack --json entry), installed (the package's folder), remove }.
 */
export async function packAndInstall(name) {
  const dir = mkdtempSync(join(tmpdir(), `keygate-${name}-`));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    return { dir, ...(await packInto(dir)), remove };
  } catch (e) {
    remove(); // nothing is returned to remove it later
    throw e;
  }
}

async function packInto(dir) {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: join(ROOT, 'pkg'), env: ENV, timeout: 60_000,
  });
  const [packed] = JSON.parse(stdout);
  const app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'keygate-user', private: true, type: 'module' }));
  await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, packed.filename)], {
    cwd: app, env: ENV, timeout: 60_000,
  });
  const installed = join(app, 'node_modules/keygate');
  if (!lstatSync(installed).isDirectory() || lstatSync(installed).isSymbolicLink()) {
    throw new Error('keygate was linked, not installed from the tarball');
  }
  return { app, packed, installed };
}

/** Links a package the repository already has into the project (a user's own dependency). */
export function linkDependency(app, name) {
  mkdirSync(join(app, 'node_modules', ...name.split('/').slice(0, -1)), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules', name), join(app, 'node_modules', name), 'dir');
}

/** The Node binaries the package is tested with: this one (Node 22) and the system's (20). */
export function nodes() {
  const found = [process.execPath];
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    try {
      if (lstatSync(candidate) && candidate !== process.execPath) {
        found.push(candidate);
        break;
      }
    } catch {
      /* not installed */
    }
  }
  return found;
}
