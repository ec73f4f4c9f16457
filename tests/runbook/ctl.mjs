// The runbook's stand-ins talk to the test through this (tests/runbook/shim.sh):
//   node ctl.mjs deploy          the bundle in $RUNBOOK_DIR/dist becomes the deployed version
//   node ctl.mjs secret NAME     the value on stdin becomes the secret NAME (a new version)
//   node ctl.mjs curl ARGS...    the subset of curl the runbook uses, sent to that version:
//                                -s -S -i -X METHOD -H 'Name: value' --data-binary @FILE|TEXT URL
// The test listens at $RUNBOOK_CONTROL (127.0.0.1).
import { readFileSync } from 'node:fs';

const control = process.env.RUNBOOK_CONTROL;
const [verb, ...args] = process.argv.slice(2);

async function call(path, body) {
  const res = await fetch(`${control}${path}`, { method: 'POST', body });
  const text = await res.text();
  if (!res.ok) {
    console.error(`runbook: ${verb} failed: ${text}`);
    process.exit(1);
  }
  return text;
}

function parseCurl(argv) {
  const req = { method: undefined, headers: [], body: null, url: undefined, include: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (/^-[sSi]+$/.test(a)) {
      if (a.includes('i')) req.include = true;
    } else if (a === '-X') {
      req.method = argv[++i];
    } else if (a === '-H') {
      const h = argv[++i];
      const at = h.indexOf(':');
      req.headers.push([h.slice(0, at).trim(), h.slice(at + 1).trim()]);
    } else if (a === '--data-binary') {
      const d = argv[++i];
      req.body = d.startsWith('@') ? readFileSync(d.slice(1)).toString('base64') : Buffer.from(d).toString('base64');
    } else if (!a.startsWith('-') && req.url === undefined) {
      req.url = a;
    } else {
      console.error(`runbook: the curl stand-in does not know ${a}; keep the runbook to -s -S -i -X -H --data-binary`);
      process.exit(2);
    }
  }
  req.method ??= req.body === null ? 'GET' : 'POST';
  return req;
}

if (verb === 'deploy') {
  process.stdout.write(await call('/deploy', ''));
} else if (verb === 'secret') {
  const value = readFileSync(0, 'utf8').trimEnd(); // as wrangler reads a piped secret
  process.stdout.write(await call(`/secret?name=${encodeURIComponent(args[0])}`, value));
} else if (verb === 'curl') {
  const req = parseCurl(args);
  const res = JSON.parse(await call('/curl', JSON.stringify(req)));
  if (req.include) {
    process.stdout.write(`HTTP/1.1 ${res.status}\r\n${res.headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
  }
  process.stdout.write(`${Buffer.from(res.body, 'base64').toString()}\n`);
} else {
  console.error(`runbook: unknown verb ${verb}`);
  process.exit(2);
}
