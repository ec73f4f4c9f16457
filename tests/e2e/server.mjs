// Starts `wrangler dev` for the end-to-end tests: 127.0.0.1 only, a free port, the DEMO key
// set through an env file in a temp dir, KV persisted to that temp dir, bounded start-up,
// and a stop() that ends the whole process group (wrangler and its workerd).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort() {
  const srv = createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/**
 * @param {string} root the repository
 * @param {{ startupMs?: number }} [options]
 * @returns {Promise<{ url: string, logs: string[], stop: () => Promise<void> }>}
 */
export async function startGateway(root, { startupMs = 60_000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'keygate-e2e-'));
  const envFile = join(dir, 'dev.vars');
  execFileSync(process.execPath, [join(root, 'scripts/dev-vars.mjs'), envFile], {
    env: { ...process.env, ORIGIN_URL: '', KEYGATE_PUBLISHER_KEYS: '' },
    stdio: 'ignore',
  });
  const port = await freePort();
  const inspector = await freePort();
  const args = [
    join(root, 'node_modules/wrangler/bin/wrangler.js'), 'dev', '--env', 'dev',
    '--ip', '127.0.0.1', '--port', String(port),
    '--inspector-ip', '127.0.0.1', '--inspector-port', String(inspector),
    '--show-interactive-dev-session=false',
    '--env-file', envFile,
    '--persist-to', join(dir, 'state'),
  ];
  const child = spawn(process.execPath, args, {
    cwd: root,
    detached: true, // its own process group, so stop() also ends workerd
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', FORCE_COLOR: '0' },
  });
  const logs = [];
  const collect = (chunk) => logs.push(...chunk.toString().split('\n').filter(Boolean));
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exited = false;
  const exit = new Promise((resolve) => child.on('exit', () => { exited = true; resolve(); }));

  const stop = async () => {
    if (!exited) {
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
      const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 5_000);
      await exit;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + startupMs;
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(`${url}/health`);
      if (res.status === 200) return { url, logs, stop };
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not become ready within ${startupMs} ms:\n${logs.slice(-30).join('\n')}`);
}
